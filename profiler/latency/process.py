"""Measurements in a process of their own, one long-lived process per device.

Timing in the process that also serves requests measures the server as much as the model: a thread timing a
forward shares the GIL with the event loop and with counting threads, and under counting load a CPU figure
came out at 9.8x its quiet value; in a process of its own, at 0.99x (bench/results/latency_under_load.txt).
On a GPU the same holds for eager mode, which is bound by the CPU launching kernels. A child process has
its own interpreter; it also keeps a crash or the kernel's OOM killer away from the server.

The child is started with ``spawn`` (safe beside threads and CUDA), once per device, and reused; it is
started again after it dies. Progress and cancellation cross over in shared memory, the measurement and
its result through a pipe.

A measurement is bounded from here, whatever it does inside: one that overruns its budget by more than a
grace is ended by killing its process (a forward cannot be interrupted otherwise); a cancelled one that has
not stopped within a second is killed too; the process is started again for the next measurement. The child
dies with the server however the server dies, and on the CPU its memory is capped (``profiler.bounds``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..bounds import bound_child, child_context
from ..errors import MeasurementCancelled, MeasurementFailed, MeasurementOutOfMemory
from .measure import LatencyResult
from .peak_memory import warm_up_profiler
from .progress import Progress
from .roofline import measure_roofs

_CTX = child_context()
_POLL_S = 0.05
GRACE_S = 10.0  # past its budget, a measurement may take this long to finish (warm-up, the last chunk, roofs)
STARTUP_S = 120.0  # a new process's start (its imports) before the measurement's clock starts
CANCEL_S = 1.0  # a cancelled measurement that has not stopped by then is killed


class SharedFlag:
    """A flag both processes see, in shared memory: ``multiprocessing.Event`` would hold five named semaphores
    that outlive a server stopped by SIGTERM (uvicorn ends by re-raising it, so no exit handler unlinks them:
    "leaked semaphore objects" at every stop)."""

    def __init__(self) -> None:
        self._value = _CTX.RawValue("b", 0)

    def set(self) -> None:
        self._value.value = 1

    def clear(self) -> None:
        self._value.value = 0

    def is_set(self) -> bool:
        return bool(self._value.value)


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


def _child(
    conn: Connection,
    device: str,
    cancelled: Any,
    done: Any,
    total: Any,
    began: Any,
    parent: int,
    memory_bytes: int | None,
) -> None:
    bound_child(parent, memory_bytes)
    # What a first measurement would otherwise pay inside its budget: the device's roofs, the profiler's start.
    with contextlib.suppress(Exception):  # a failure here is met again, and reported, by the measurement
        measure_roofs(device)
        warm_up_profiler(device)
    while True:
        try:
            measure = conn.recv()
        except EOFError:  # the server went away
            return
        began.value = time.time()  # the measurement's clock starts now, not at the process's start
        conn.send(run_message(measure, _SharedProgress(cancelled, done, total)))


def run_message(measure: Callable[[Any], Any], progress: Any) -> tuple:
    """Where a measurement runs (a timing process, a Ray actor): its result, or its error as plain text, as a
    message that any pickle can carry; ``answer`` turns it back on the server's side."""
    try:
        return ("result", measure(progress))
    except BaseException as exc:
        return ("error", type(exc).__name__, str(exc))


class TimingProcess:
    """Runs measurements for one device in a child process, one at a time (the caller serialises them).
    ``memory_bytes`` caps what a measurement may allocate (CPU only: a GPU's driver maps host memory of its own).
    """

    def __init__(self, device: str, memory_bytes: int | None = None, grace_s: float = GRACE_S) -> None:
        self.device = device
        self.memory_bytes = memory_bytes if device == "cpu" else None
        self.grace_s = grace_s
        self.process: Any = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        self._conn, child_conn = _CTX.Pipe()
        self._cancelled = SharedFlag()
        self._done = _CTX.Value("i", 0, lock=False)
        self._total = _CTX.Value("i", 1, lock=False)
        self._began = _CTX.Value("d", 0.0, lock=False)
        self.process = _CTX.Process(
            target=_child,
            args=(
                child_conn,
                self.device,
                self._cancelled,
                self._done,
                self._total,
                self._began,
                os.getpid(),
                self.memory_bytes,
            ),
            name=f"timing-{self.device}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()

    def _kill(self) -> None:
        self.process.kill()
        self.process.join(30)
        self.process = None  # started again for the next measurement

    def run(
        self, measure: Callable[[Progress], LatencyResult], progress: Progress, budget_s: float | None = None
    ) -> LatencyResult:
        """Run ``measure`` in the child; with ``budget_s``, kill it once it overruns that by ``GRACE_S``."""
        with self._lock:
            if self.process is None or not self.process.is_alive():
                self._start()
            self._cancelled.clear()
            self._done.value, self._total.value, self._began.value = 0, progress.total_steps, 0.0
            sent = time.time()
            try:
                self._conn.send(measure)
            except OSError:  # it died since the last measurement: once more, with a new one
                self._start()
                self._conn.send(measure)
            cancelled_at = None
            while True:
                if progress.cancelled.is_set() and cancelled_at is None:
                    self._cancelled.set()  # the child stops at its next check
                    cancelled_at = time.monotonic()
                try:
                    message = self._conn.recv() if self._conn.poll(_POLL_S) else None
                except (EOFError, OSError):  # the child is gone; said below
                    message = None
                progress.done_steps, progress.total_steps = self._done.value, self._total.value
                if message is not None:
                    return answer(message, self.device)
                if not self.process.is_alive():
                    code = self.process.exitcode
                    self.process = None  # started again for the next measurement
                    raise MeasurementFailed(
                        f"the timing process for {self.device} died (exit code {code}"
                        f"{', killed: by the OOM killer?' if code == -9 else ''}); it is restarted for the next "
                        "request"
                    )
                if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_S:
                    self._kill()  # mid-forward: it would stop only when the forward ends
                    raise MeasurementCancelled("the measurement was cancelled (its timing process was stopped)")
                if budget_s is not None and self._overran(sent, budget_s):
                    self._kill()
                    raise overran_error(self.device, budget_s, self.grace_s)

    def _overran(self, sent: float, budget_s: float) -> bool:
        return overran(self._began.value, sent, budget_s, self.grace_s)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


def overran(began: float, sent: float, budget_s: float, grace_s: float) -> bool:
    """Past its budget plus the grace, by the wall clock: from when it began (``began``, 0 while the runner
    still starts: its imports get their own allowance from when it was ``sent``)."""
    start = began if began else sent + STARTUP_S
    return time.time() > start + budget_s + grace_s


def overran_error(device: str, budget_s: float, grace_s: float) -> MeasurementFailed:
    return MeasurementFailed(
        f"the measurement on {device} overran its budget of {budget_s:g} s by more than {grace_s:g} s and was "
        "stopped: one forward takes longer than the budget allows. Raise latency.budget_s, or lower the batch, the "
        "resolution or the model's size"
    )


def answer(message: tuple, device: str) -> LatencyResult:
    """A ``run_message`` message turned back into its result, or its error raised as the core's own."""
    if message[0] == "result":
        return message[1]
    _, kind, text = message
    if kind == "MeasurementCancelled":
        raise MeasurementCancelled(text)
    if kind == "MeasurementOutOfMemory":
        raise MeasurementOutOfMemory(device, text)
    raise MeasurementFailed(f"{kind}: {text}")
