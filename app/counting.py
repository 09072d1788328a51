"""Where counting work runs: closed-form counts on a few threads of their own, fvcore's traced forwards on
the general thread pool behind their own bound, so that neither waits behind the other (nor behind timing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from anyio import CapacityLimiter
from fastapi import HTTPException


@contextmanager
def fvcore_slot(slots: threading.Semaphore, wait_s: float) -> Iterator[None]:
    """One of the few fvcore traces allowed at once (each runs a real forward); 503 after ``wait_s``."""
    if not slots.acquire(timeout=wait_s):
        raise HTTPException(503, "the fvcore counter is busy; retry later or use counter=shapes",
                            headers={"Retry-After": "5"})  # fmt: skip
    try:
        yield
    finally:
        slots.release()


def limiter_for(counter: str, counting_threads: CapacityLimiter) -> CapacityLimiter | None:
    """The shapes counter's own threads; None (anyio's default pool) for fvcore, which may wait for a slot."""
    return counting_threads if counter == "shapes" else None
