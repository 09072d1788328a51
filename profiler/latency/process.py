"""Measurements in a process of their own, one long-lived process per device.

Timing in the process that also serves requests measures the server as much as the model: a thread timing a
forward shares the GIL with the event loop and with counting threads, and under counting load a CPU figure
came out at 9.8x its quiet value; in a process of its own, at 0.99x (bench/results/latency_under_load.txt).
On a GPU the same holds for eager mode, which is bound by the CPU launching kernels. A child process has
its own interpreter; it also keeps a crash or the kernel's OOM killer away from the server.

The child is started with ``spawn`` (safe beside threads and CUDA), once per device, and reused; it is
started again after it dies. Progress and cancellation cross over in shared memory, the measurement and
its result through a pipe.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..errors import MeasurementCancelled, MeasurementFailed, MeasurementOutOfMemory
from .measure import LatencyResult
from .progress import Progress

_CTX = multiprocessing.get_context("spawn")
_POLL_S = 0.05


class _SharedProgress:
    """The child's side of a Progress: the same attributes, kept in shared memory."""

    def __init__(self, cancelled: Any, done: Any, total: Any) -> None:
        self.cancelled = cancelled
        self._done, self._total = done, total
        self.started = time.monotonic()

    done_steps = property(lambda self: self._done.value, lambda self, v: setattr(self._done, "value", v))
    total_steps = property(lambda self: self._total.value, lambda self, v: setattr(self._total, "value", v))

    def check(self) -> None:
        if self.cancelled.is_set():
            raise MeasurementCancelled("the measurement was cancelled")


def _child(conn: Connection, cancelled: Any, done: Any, total: Any) -> None:
    while True:
        try:
            measure = conn.recv()
        except EOFError:  # the server went away
            return
        try:
            result = measure(_SharedProgress(cancelled, done, total))
        except BaseException as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
        else:
            conn.send(("result", result))


class TimingProcess:
    """Runs measurements for one device in a child process, one at a time (the caller serialises them)."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.process: Any = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        self._conn, child_conn = _CTX.Pipe()
        self._cancelled = _CTX.Event()
        self._done = _CTX.Value("i", 0, lock=False)
        self._total = _CTX.Value("i", 1, lock=False)
        self.process = _CTX.Process(
            target=_child,
            args=(child_conn, self._cancelled, self._done, self._total),
            name=f"timing-{self.device}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()

    def run(self, measure: Callable[[Progress], LatencyResult], progress: Progress) -> LatencyResult:
        with self._lock:
            if self.process is None or not self.process.is_alive():
                self._start()
            self._cancelled.clear()
            self._done.value, self._total.value = 0, progress.total_steps
            try:
                self._conn.send(measure)
            except OSError:  # it died since the last measurement: once more, with a new one
                self._start()
                self._conn.send(measure)
            while True:
                if progress.cancelled.is_set():
                    self._cancelled.set()  # the child stops at its next chunk of repeats
                try:
                    message = self._conn.recv() if self._conn.poll(_POLL_S) else None
                except (EOFError, OSError):  # the child is gone; said below
                    message = None
                progress.done_steps, progress.total_steps = self._done.value, self._total.value
                if message is not None:
                    return _answer(message, self.device)
                if not self.process.is_alive():
                    code = self.process.exitcode
                    self.process = None  # started again for the next measurement
                    raise MeasurementFailed(
                        f"the timing process for {self.device} died (exit code {code}"
                        f"{', killed: by the OOM killer?' if code == -9 else ''}); it is restarted for the next "
                        "request"
                    )

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


def _answer(message: tuple, device: str) -> LatencyResult:
    if message[0] == "result":
        return message[1]
    _, kind, text = message
    if kind == "MeasurementCancelled":
        raise MeasurementCancelled(text)
    if kind == "MeasurementOutOfMemory":
        raise MeasurementOutOfMemory(device, text)
    raise MeasurementFailed(f"{kind}: {text}")
