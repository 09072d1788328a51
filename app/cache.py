"""Count-only responses by request, in memory: identical requests (a dashboard re-asking, a sweep repeated)
are answered with the bytes already sent, and say so in the ``X-Profile-Cache`` header."""

from __future__ import annotations

import threading
from collections import OrderedDict


class ResponseCache:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: bytes, body: bytes) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
