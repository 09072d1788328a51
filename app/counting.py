"""Where counting work runs.

Closed-form counts are pure Python: in the server's process they take its one interpreter from the event
loop (and threads add no parallelism). So they run in counting processes (``PROFILER_COUNTING_PROCESSES``,
spawned at startup), which send back the report already encoded as JSON with its list summary; the server
threads that wait for them are few (``PROFILER_COUNTING_THREADS``). fvcore's traced forwards run on the
general thread pool behind their own bound, so that neither waits behind the other (nor behind timing).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from anyio import CapacityLimiter
from fastapi import HTTPException

from profiler import CounterName, LatencyOptions, Limits, Measurement, ModelSpec, compare, latency_measurement, profile
from profiler.latency.roofline import Roofs

from .settings import Settings
from .store import compare_summary, encode, profile_summary

Encoded = tuple[bytes, dict[str, Any]]  # a response body as JSON, and the summary the store's list shows
T = TypeVar("T")


def count_encoded(spec: ModelSpec, batch_size: int, counter: CounterName, limits: Limits) -> Encoded:
    """The report encoded where it is counted (from a counting process, one bytes object crosses back faster
    than a nested dict)."""
    body = profile(spec, batch_size=batch_size, counter=counter, limits=limits).to_dict()
    return encode(body), profile_summary(body)


def count_for_latency(
    spec: ModelSpec,
    batch_size: int,
    counter: CounterName,
    limits: Limits,
    options: list[LatencyOptions],
    roofs: dict[str, Roofs],
) -> tuple[bytes, dict[str, Any], list[Measurement]]:
    """``count_encoded``, and the checked measurement of each device (refused here, before any is queued,
    when a device is missing, a limit passed, or one forward cannot fit the budget at the device's roofs)."""
    report = profile(spec, batch_size=batch_size, counter=counter, limits=limits)
    measurements = [latency_measurement(report, opts, limits, roofs) for opts in options]
    body = report.to_dict()
    return encode(body), profile_summary(body), measurements


def compare_encoded(a: ModelSpec, b: ModelSpec, batch_size: int, counter: CounterName, limits: Limits) -> Encoded:
    body = compare(a, b, batch_size=batch_size, counter=counter, limits=limits)
    return encode(body), compare_summary(body)


def run_count(state: Any, settings: Settings, counter: str, fn: Callable[..., T], *args: Any) -> T:
    """Blocking, from a server thread: ``fn(*args)`` where its counter belongs. fvcore traces a real forward
    here, behind its slot; closed-form counts go to the counting process when there is one."""
    if counter == "fvcore":
        with fvcore_slot(state.fvcore_slots, settings.fvcore_wait_s):
            return fn(*args)
    if state.counting is not None:
        return state.counting.run(fn, *args)
    return fn(*args)


class CountingProcesses:
    """A pool of spawned processes for closed-form counts; a pool that breaks (a process killed) is replaced,
    and the request that saw it gets a 503 to retry."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_prepare,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def start(self) -> None:
        """Spawn the processes and import the core in them now, not on the first request."""
        executor = self._executor()
        for future in [executor.submit(_ready) for _ in range(self.processes)]:
            future.result()

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking: called from a server thread."""
        executor = self._executor()
        try:
            return executor.submit(fn, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is executor:
                    self._pool = None  # the next request starts a new pool
            executor.shutdown(wait=False, cancel_futures=True)
            raise HTTPException(
                503, "a counting process died and is being replaced; retry", headers={"Retry-After": "2"}
            ) from None

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # counts are short; the processes exit with the server


def _ready() -> bool:
    return True


def _prepare(parent: int) -> None:
    """In each counting process, once: keep the imports out of the collector's full passes (as the server
    does), and exit with the server. A pool process holds both ends of its task queue, so it never sees the
    server go: it looks instead."""
    gc.freeze()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)  # the server was killed (SIGKILL, the OOM killer): nothing here is worth finishing

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


@contextmanager
def fvcore_slot(slots: threading.Semaphore, wait_s: float) -> Iterator[None]:
    """One of the few fvcore traces allowed at once (each runs a real forward); 503 after ``wait_s``."""
    if not slots.acquire(timeout=wait_s):
        raise HTTPException(
            503, "the fvcore counter is busy; retry later or use counter=shapes", headers={"Retry-After": "5"}
        )
    try:
        yield
    finally:
        slots.release()


def limiter_for(counter: str, counting_threads: CapacityLimiter) -> CapacityLimiter | None:
    """The shapes counter's own threads; None (anyio's default pool) for fvcore, which may wait for a slot."""
    return counting_threads if counter == "shapes" else None
