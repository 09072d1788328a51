"""What a running measurement has done, and how to stop it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..errors import MeasurementCancelled

__all__ = ["Progress"]


@dataclass
class Progress:
    """Read by other threads (job polling). A measurement in another process gets an object with the same
    attributes, kept in shared memory (``profiler.latency.process``)."""

    total_steps: int = 1
    done_steps: int = 0
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None  # when the measurement ended (its worker sets it)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise MeasurementCancelled("the measurement was cancelled")
