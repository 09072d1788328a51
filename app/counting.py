"""Where counting work runs.

Closed-form counts are pure Python: in the server's process they take its one interpreter from the event
loop (and threads add no parallelism). So they run in counting processes (``PROFILER_COUNTING_PROCESSES``,
spawned at startup), which send back the report already encoded as JSON with its list summary; the server
threads that wait for them are few (``PROFILER_COUNTING_THREADS``). fvcore's traced forwards run on the
general thread pool behind their own bound, so that neither waits behind the other (nor behind timing).
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from anyio import CapacityLimiter
from fastapi import HTTPException

from profiler import (
    Alignment,
    CounterName,
    LatencyOptions,
    Limits,
    Measurement,
    MemoryOptions,
    ModelSpec,
    Report,
    compare,
    latency_measurement,
    profile,
)
from profiler.bounds import bound_child, child_context
from profiler.export import write_comparison_csv, write_layers_csv, write_sweep_csv
from profiler.latency.paired import PairedMeasurement
from profiler.latency.roofline import Roofs
from profiler.predict import LatencyPredictor, model_units, predicted_entry
from profiler.report import totals_dict

from .settings import ENV_PREFIX, Settings
from .store import compare_summary, encode, latency_summary, profile_summary

Encoded = tuple[bytes, dict[str, Any]]  # a response body as JSON, and the summary the store's list shows
T = TypeVar("T")


def count_encoded(
    spec: ModelSpec, batch_size: int, counter: CounterName, limits: Limits, memory: MemoryOptions | None = None
) -> Encoded:
    """The report encoded where it is counted (from a counting process, one bytes object crosses back faster
    than a nested dict)."""
    report = profile(spec, batch_size=batch_size, counter=counter, limits=limits, memory=memory)
    return report.to_json(), report_summary(report)


def report_summary(report: Report) -> dict[str, Any]:
    """``profile_summary`` of a report's body, from the report itself (its body is never built as a dict)."""
    spec = report.spec
    head = {
        "width_multiplier": spec.width_multiplier,
        "resolution": list(spec.hw) if not isinstance(spec.resolution, int) else spec.resolution,
    }
    return profile_summary(
        {
            "name": spec.name,
            "preset": spec.preset,
            "spec": head,
            "batch_size": report.batch_size,
            "totals": totals_dict(report.counts.totals),
        }
    )


def count_for_latency(
    spec: ModelSpec,
    batch_size: int,
    counter: CounterName,
    limits: Limits,
    options: list[LatencyOptions],
    roofs: dict[str, Roofs],
    memory: MemoryOptions | None = None,
) -> tuple[bytes, dict[str, Any], list[Measurement]]:
    """``count_encoded``, and the checked measurement of each device (refused here, before any is queued,
    when a device is missing, a limit passed, or one forward cannot fit the budget at the device's roofs)."""
    report = profile(spec, batch_size=batch_size, counter=counter, limits=limits, memory=memory)
    measurements = [latency_measurement(report, opts, limits, roofs) for opts in options]
    return report.to_json(), report_summary(report), measurements


def predicted_entries(
    report: Report, predictors: list[LatencyPredictor], batch_size: int, per_layer: bool = True
) -> list[dict[str, Any]]:
    """Each predictor's latency entry for ``report``'s model at ``batch_size`` (features from its plan)."""
    assert report.plan is not None
    units = model_units(report.plan, batch_size)
    return [predicted_entry(p, p.predict(units), units, per_layer=per_layer) for p in predictors]


def count_predicted(
    spec: ModelSpec,
    batch_size: int,
    counter: CounterName,
    limits: Limits,
    memory: MemoryOptions | None,
    predictors: list[LatencyPredictor],
    latency_batch: int,
) -> Encoded:
    """``count_encoded`` with predicted latency: in a server thread (the predictors live there)."""
    report = profile(spec, batch_size=batch_size, counter=counter, limits=limits, memory=memory)
    latency = predicted_entries(report, predictors, latency_batch)
    summary = {**report_summary(report), "latency_ms": latency_summary(latency), "latency_method": "predicted"}
    return report.to_json()[:-1] + b',"latency":' + encode(latency) + b"}", summary


def compare_predicted(
    a: ModelSpec,
    b: ModelSpec,
    batch_size: int,
    counter: CounterName,
    limits: Limits,
    align: Alignment,
    predictors: list[LatencyPredictor],
    latency_batch: int,
) -> Encoded:
    """``compare_encoded`` with each predictor's latency of A and B, and B over A."""
    body = compare(a, b, batch_size=batch_size, counter=counter, limits=limits, align=align)
    sides = [predicted_entries(profile(s, limits=limits), predictors, latency_batch, False) for s in (a, b)]
    latency = []
    for entry_a, entry_b in zip(*sides, strict=True):
        median_a, median_b = entry_a["end_to_end"]["median_ms"], entry_b["end_to_end"]["median_ms"]
        latency.append(
            {
                **{k: entry_a[k] for k in ("device", "device_name", "batch_size", "dtype", "threads", "runtime")},
                "method": "predicted",
                "a": entry_a["end_to_end"],
                "b": entry_b["end_to_end"],
                "b_over_a": median_b / median_a,
                "extrapolated": entry_a["extrapolated"] or entry_b["extrapolated"],
                "predictor": entry_a["predictor"],
            }
        )
    body["latency"] = latency
    summary = {**compare_summary(body), "b_over_a": latency_summary(latency, "b_over_a"), "latency_method": "predicted"}
    return encode(body), summary


def layers_csv(kind: str, body: str) -> str:
    """A stored result's per-layer CSV: decoded and written here, where counts run, not in the server."""
    out = io.StringIO()
    writers = {"profile": write_layers_csv, "compare": write_comparison_csv, "sweep": write_sweep_csv}
    writers[kind](json.loads(body), out)
    return out.getvalue()


def compare_encoded(
    a: ModelSpec, b: ModelSpec, batch_size: int, counter: CounterName, limits: Limits, align: Alignment = "auto"
) -> Encoded:
    body = compare(a, b, batch_size=batch_size, counter=counter, limits=limits, align=align)
    return encode(body), compare_summary(body)


def compare_for_latency(
    a: ModelSpec,
    b: ModelSpec,
    batch_size: int,
    counter: CounterName,
    limits: Limits,
    align: Alignment,
    options: list[LatencyOptions],
    roofs: dict[str, Roofs],
) -> tuple[bytes, dict[str, Any], list[PairedMeasurement]]:
    """``compare_encoded``, and for each device and runtime the checked measurement of A against B."""
    body, summary = compare_encoded(a, b, batch_size, counter, limits, align)
    reports = [profile(spec, batch_size=batch_size, limits=limits) for spec in (a, b)]
    paired = [
        PairedMeasurement(*(latency_measurement(report, opts, limits, roofs) for report in reports)) for opts in options
    ]
    return body, summary, paired


class CountTimeout(Exception):
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(f"the count did not finish within {timeout_s:g} s")


def run_count(state: Any, settings: Settings, counter: str, fn: Callable[..., T], *args: Any) -> T:
    """Blocking, from a server thread: ``fn(*args)`` where its counter belongs. fvcore traces a real forward:
    in its own processes (never the server's), behind its slot and under its deadline; closed-form counts go
    to the counting process when there is one."""
    if counter == "fvcore":
        with fvcore_slot(state.fvcore_slots, settings.fvcore_wait_s):
            try:
                return state.fvcore_counting.run(fn, *args, timeout_s=settings.fvcore_timeout_s)
            except CountTimeout as exc:
                raise HTTPException(
                    422,
                    [
                        {
                            "type": "limit",
                            "loc": ["body", "counter"],
                            "msg": "the traced forward on the CPU (fvcore's count, an ONNX export) took longer than "
                            f"{exc.timeout_s:g} s and was stopped: use counter=shapes (the same figures from shapes), "
                            f"a smaller spec, or raise {ENV_PREFIX}FVCORE_TIMEOUT_S",
                        }
                    ],
                ) from None
    if state.counting is not None:
        return state.counting.run(fn, *args)
    return fn(*args)


class CountingProcesses:
    """A pool of spawned processes for counts; a pool that breaks (a process killed) is replaced, and the
    request that saw it gets a 503 to retry. Each process may allocate ``memory_bytes`` (plus a fixed slack)."""

    def __init__(self, processes: int, memory_bytes: int = 0, name: str = "counting") -> None:
        self.processes = processes
        self.memory_bytes = memory_bytes
        self.name = name
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._context = child_context()
        # 1: the processes drop the work in hand (stop_requested). A shared byte, no lock: an Event's semaphores
        # would outlive the server (the resource tracker reports them at exit).
        self._stop = self._context.RawValue("b", 0)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.processes,
                    mp_context=self._context,
                    initializer=_prepare,
                    initargs=(os.getpid(), self.memory_bytes, self._stop),
                )
            return self._pool

    def start(self) -> None:
        """Spawn the processes and import the core in them now, not on the first request."""
        executor = self._executor()
        for future in [executor.submit(_ready) for _ in range(self.processes)]:
            future.result()

    def run(self, fn: Callable[..., T], *args: Any, timeout_s: float | None = None) -> T:
        """Blocking: called from a server thread. Past ``timeout_s`` the pool's processes are killed (a count
        cannot be interrupted otherwise) and CountTimeout raised; the next call starts a new pool."""
        executor = self._executor()
        if timeout_s is not None:
            self.start()  # a new pool's start (spawn, imports) is not the count's time
        try:
            return executor.submit(fn, *args).result(timeout=timeout_s)
        except TimeoutError:
            self._replace(executor, kill=True)
            raise CountTimeout(timeout_s or 0.0) from None
        except BrokenProcessPool:
            self._replace(executor, kill=False)
            raise HTTPException(
                503, f"a {self.name} process died and is being replaced; retry", headers={"Retry-After": "2"}
            ) from None

    async def run_async(self, fn: Callable[..., T], *args: Any) -> T:
        """``run`` awaited on the event loop: no server thread waits for the process."""
        executor = self._executor()
        try:
            return await asyncio.wrap_future(executor.submit(fn, *args))
        except BrokenProcessPool:
            self._replace(executor, kill=False)
            raise HTTPException(
                503, f"a {self.name} process died and is being replaced; retry", headers={"Retry-After": "2"}
            ) from None

    def submit_many(self, fn: Callable[..., T], arg_lists: list[tuple[Any, ...]]) -> list[Future[T]]:
        """``fn(*args)`` for each of ``arg_lists``, spread over the processes; ``results`` collects them."""
        executor = self._executor()
        return [executor.submit(fn, *args) for args in arg_lists]

    def results(self, futures: list[Any]) -> list[Any]:
        """The results of finished ``submit_many`` futures, in order (503 when a process died meanwhile)."""
        try:
            return [future.result() for future in futures]
        except BrokenProcessPool:
            with self._lock:
                executor = self._pool
            if executor is not None:
                self._replace(executor, kill=False)
            raise HTTPException(
                503, f"a {self.name} process died and is being replaced; retry", headers={"Retry-After": "2"}
            ) from None

    async def abandon(self, futures: list[asyncio.Future[Any]], wait_s: float = 30.0) -> None:
        """Stop ``futures`` (their work is no longer wanted): work that checks ``stop_requested`` ends at its
        next check; past ``wait_s`` the processes are killed (the next call starts new ones)."""
        self._stop.value = 1
        try:
            _, pending = await asyncio.wait(futures, timeout=wait_s)
        finally:
            self._stop.value = 0
        for future in futures:
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a stopped chunk's exception is the expected end, not an error
        if pending:
            with self._lock:
                executor = self._pool
            if executor is not None:
                self._replace(executor, kill=True)

    def _replace(self, executor: ProcessPoolExecutor, *, kill: bool) -> None:
        with self._lock:
            if self._pool is executor:
                self._pool = None  # the next request starts a new pool
        if kill:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)  # counts are short; the processes exit with the server


def _ready() -> bool:
    return True


_stop_flag: Any = None  # in a counting process: its pool's stop flag


def stop_requested() -> bool:
    """In a counting process: whether the server wants the work in hand dropped (its client left)."""
    return _stop_flag is not None and bool(_stop_flag.value)


def _prepare(parent: int, memory_bytes: int, stop: Any) -> None:
    """In each counting process, once: keep the imports out of the collector's full passes (as the server
    does), exit with the server (a pool process holds both ends of its task queue, so it never sees the server
    go), cap its memory, and keep the pool's stop flag."""
    global _stop_flag
    _stop_flag = stop
    gc.freeze()
    bound_child(parent, memory_bytes)


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
