"""Sweeps at the edge. A count-only sweep is split into contiguous chunks counted in parallel by the sweep
processes, each sending back its points already encoded; the answer is assembled from those bytes. A sweep
with latency is a job: one feeder thread per device takes the next point, hands its measurement to the
device's worker (one at a time, as every measurement), and writes the result into the point, so that the
partial answer can be read while it runs."""

from __future__ import annotations

import io
import itertools
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from profiler import (
    DeviceBusyError,
    DeviceWorkers,
    Job,
    LatencyOptions,
    Limits,
    ProfilerError,
    latency_measurement,
    parse_spec,
    profile,
)
from profiler.export import write_sweep_csv
from profiler.sweep import Sweep, count_points, objectives, pareto_front, point_spec, sweep_body

from .jobs import Finishes, latency_entry
from .store import ResultStore, encode

log = logging.getLogger(__name__)

Costs = list[tuple[float, ...] | None]
_CHUNK_POINTS = 256  # below this a sweep is one chunk: a process's round trip costs more than the split saves


def chunks(total: int, processes: int) -> list[tuple[int, int]]:
    """Contiguous ranges, two per process (so that one slow range does not leave a process idle): an α × ρ
    grid keeps each α's points together, so each range plans few models."""
    parts = max(1, min(2 * processes, total // _CHUNK_POINTS))
    bounds = [total * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def count_chunk(
    planned: Sweep, start: int, stop: int, batch_size: int, limits: Limits, layers: bool
) -> tuple[bytes, Costs]:
    """In a sweep process: points ``start`` to ``stop``, encoded there, and their Pareto objectives."""
    points = count_points(planned, start, stop, batch_size=batch_size, limits=limits, layers=layers)
    return encode(points), [objectives(p, measured=False) for p in points]


def counted_points(
    planned: Sweep, start: int, stop: int, batch_size: int, limits: Limits, layers: bool
) -> list[dict[str, Any]]:
    """In a sweep process: the points as data (a measured sweep adds each point's latency to them)."""
    return count_points(planned, start, stop, batch_size=batch_size, limits=limits, layers=layers)


def assemble(planned: Sweep, batch_size: int, encoded: list[tuple[bytes, Costs]], seconds: float) -> bytes:
    """A count-only sweep's answer from its chunks' bytes: no point decoded or encoded again."""
    costs = [c for _, chunk_costs in encoded for c in chunk_costs]
    head = encode(
        {
            **_head(planned, batch_size, seconds),
            "errors": sum(c is None for c in costs),
            "pareto": pareto_front(costs),
            "pareto_objectives": ["macs", "params"],
        }
    )
    arrays = [points[1:-1] for points, _ in encoded if points != b"[]"]
    return head[:-1] + b',"points":[' + b",".join(arrays) + b"]}"


def _head(planned: Sweep, batch_size: int, seconds: float) -> dict[str, Any]:
    return {
        "kind": "sweep",
        "name": planned.resolved.get("name"),
        "preset": planned.resolved.get("preset"),
        "base": planned.resolved,
        "fields": list(planned.fields),
        "batch_size": batch_size,
        "count_seconds": round(seconds, 6),
        "points_total": len(planned),
    }


def sweep_summary(planned: Sweep, errors: int, measured: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the stored list shows of a sweep."""
    out: dict[str, Any] = {
        "name": planned.resolved.get("name") or planned.resolved.get("preset"),
        "preset": planned.resolved.get("preset"),
        "fields": list(planned.fields),
        "points": len(planned),
        "errors": errors,
    }
    if measured:
        out["latency"] = measured
    return out


@dataclass
class SweepJob(Finishes):
    """A sweep whose points are measured, spread over ``options``' devices (one feeder each; each point on
    the first device free for it). Once every feeder is done the answer is stored under ``id`` unless it was
    cancelled (nothing half-done is stored; the partial answer stays readable from the job)."""

    planned: Sweep
    batch_size: int
    points: list[dict[str, Any]]
    options: list[LatencyOptions]
    workers: DeviceWorkers
    limits: Limits
    store: ResultStore | None = None
    count_seconds: float = 0.0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None
    cancel_requested: bool = False
    cancelled: bool = False  # how it finished: set once, when it does (a later cancel changes nothing)
    saved: bool = False
    save_error: str | None = None
    measured: int = 0  # points done (measured, failed or refused)
    _next: int = 0
    _running: dict[str, Job] = field(default_factory=dict)
    _feeders: int = 0
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._todo = [i for i, p in enumerate(self.points) if "totals" in p]  # points with an error are not timed

    def start(self) -> None:
        self._feeders = len(self.options)
        for opts in self.options:
            threading.Thread(target=self._feed, args=(opts,), name=f"sweep-{self.id[:8]}-{opts.device}").start()
        if not self.options:
            self._finish()

    def _take(self) -> int | None:
        with self._lock:
            if self.cancel_requested or self._next >= len(self._todo):
                return None
            self._next += 1
            return self._todo[self._next - 1]

    def _feed(self, opts: LatencyOptions) -> None:
        try:
            while (i := self._take()) is not None:
                point = self.points[i]
                try:
                    entry = self._measure(point, opts)
                except ProfilerError as exc:  # refused for this point (a limit, a budget it cannot fit)
                    entry = {"device": opts.device, "error": str(exc)}
                if entry is not None:
                    point["latency"] = [entry]
                with self._lock:
                    self.measured += 1
        except Exception:  # a feeder must never leave the job unfinished
            log.exception("sweep %s: feeder for %s failed", self.id, opts.device)
        finally:
            with self._lock:
                self._feeders -= 1
                last = self._feeders == 0
            if last:
                self._finish()

    def _measure(self, point: dict[str, Any], opts: LatencyOptions) -> dict[str, Any] | None:
        """One point on one device; None when the sweep was cancelled before its measurement ran."""
        report = profile(parse_spec(point_spec(self.planned, point["values"])), limits=self.limits)
        measurement = latency_measurement(report, opts, self.limits, dict(self.workers.roofs))
        while True:
            if self.cancel_requested:
                return None
            try:
                job = self.workers.submit(measurement.device, measurement, expected_s=opts.budget_s)
                break
            except DeviceBusyError:  # other requests fill the device's queue: wait for room, as a client would
                time.sleep(0.5)
        self._running[opts.device] = job
        try:
            if self.cancel_requested:
                job.cancel()
            job.future.exception()  # waits; a cancel ends the measurement at its next check
        finally:
            self._running.pop(opts.device, None)
        return None if job.state == "cancelled" else latency_entry(job)

    def _finish(self) -> None:
        self.cancelled = self.cancel_requested
        try:
            if self.store is not None and not self.cancelled:
                body = self.body()
                medians = [
                    p["latency"][0].get("end_to_end", {}).get("median_ms") for p in self.points if "latency" in p
                ]
                timed = [m for m in medians if m is not None]
                summary = sweep_summary(
                    self.planned,
                    body["errors"],
                    {"measured": len(timed), "fastest_ms": min(timed, default=None)},
                )
                self.store.add_encoded("sweep", encode(body), summary=summary, result_id=self.id)
                self.saved = True
        except Exception as exc:
            log.exception("storing sweep %s failed", self.id)
            self.save_error = f"the result could not be stored: {type(exc).__name__}: {exc}"
        finally:
            self.finished = time.monotonic()
            self._finished.set()

    def cancel(self) -> None:
        if self.done:
            return
        self.cancel_requested = True
        for job in list(self._running.values()):
            job.cancel()

    def state(self) -> str:
        if not self.done:
            if self.cancel_requested:
                return "cancelling"
            return "running" if self.measured or self._running else "queued"
        return "cancelled" if self.cancelled else "done"

    def body(self) -> dict[str, Any]:
        """The answer as it stands: every point, the measured ones with their latency, the Pareto front over
        the points measured so far."""
        body = sweep_body(self.planned, self.points, self.batch_size, self.count_seconds, measured=True)
        return {
            **_head(self.planned, self.batch_size, self.count_seconds),
            **body,
            "latency_devices": [o.device for o in self.options],
            "points_measured": self.measured,
            "points_to_measure": len(self._todo),
        }

    def status(self) -> dict[str, Any]:
        end = self.finished if self.finished is not None else time.monotonic()
        out: dict[str, Any] = {
            "id": self.id,
            "kind": "sweep",
            "state": self.state(),
            "elapsed_s": round(end - self.created, 3),
            "points_measured": self.measured,
            "points_to_measure": len(self._todo),
            "devices": [job.status() for job in list(self._running.values())],
        }
        if self.done and self.save_error:
            out["store_error"] = self.save_error
        return out

    def result(self) -> bytes:
        """The stored answer once saved, else the answer as it stands (marked with its state)."""
        if self.saved and self.store is not None:
            stored = self.store.get(self.id)
            if stored is not None:
                return stored.body.encode()
        return encode({"id": self.id, "state": self.state(), "stored": False, **self.body()})

    def points_csv(self) -> str:
        out = io.StringIO()
        write_sweep_csv(self.body(), out)
        return out.getvalue()

    def status_body(self) -> bytes:
        status = encode(self.status())
        return status[:-1] + b',"report":' + self.result() + b"}" if self.done else status
