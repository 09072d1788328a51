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
from collections.abc import Sequence
from concurrent.futures import wait
from dataclasses import dataclass, field
from typing import Any

import orjson

from profiler import (
    DeviceBusyError,
    DeviceWorkers,
    Job,
    LatencyOptions,
    LimitError,
    Limits,
    ProfilerError,
    latency_measurement,
    parse_spec,
    profile,
)
from profiler.export import write_sweep_csv
from profiler.predict import LatencyPredictor
from profiler.sweep import (
    Sweep,
    iter_points,
    memory_options,
    objectives,
    pareto_front,
    pareto_objectives,
    point_spec,
)

from .counting import stop_requested
from .jobs import Finishes, latency_entry, store_error
from .store import ResultStore, encode

log = logging.getLogger(__name__)

Costs = list[tuple[float, ...] | None]
Chunk = tuple[list[bytes], Costs]  # a range of points, each encoded, and their Pareto objectives
_CHUNK_POINTS = 256  # below this a sweep is one chunk: a process's round trip costs more than the split saves


def chunks(total: int, processes: int) -> list[tuple[int, int]]:
    """Contiguous ranges, two per process (so that one slow range does not leave a process idle): an α × ρ
    grid keeps each α's points together, so each range plans few models."""
    parts = max(1, min(2 * processes, total // _CHUNK_POINTS))
    bounds = [total * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def count_chunk(
    planned: Sweep,
    start: int,
    stop: int,
    batch_size: int,
    limits: Limits,
    layers: bool,
    began: float,
    predictors: Sequence[LatencyPredictor] = (),
) -> Chunk:
    """In a sweep process: points ``start`` to ``stop``, each encoded there as it is counted, and their Pareto
    objectives. It stops past ``max_response_bytes`` (a point with more blocks than the estimate took),
    ``count_timeout_s`` after ``began`` (wall-clock seconds, as every process and host reads them), and when the
    server asks its processes to (the client left)."""
    encoded: list[bytes] = []
    costs: Costs = []
    size = 0
    points = iter_points(
        planned, start, stop, batch_size=batch_size, limits=limits, layers=layers, predictors=predictors
    )
    for point in points:
        encoded.append(encode(point))
        costs.append(objectives(point, measured=bool(predictors)))
        size += len(encoded[-1])
        limits.check("max_response_bytes", size, ("grid",), "bytes of the answer")
        if (elapsed := time.time() - began) > limits.count_timeout_s:
            raise LimitError("seconds of counting", round(elapsed, 1), limits.count_timeout_s, (), "count_timeout_s")
        if stop_requested():
            raise CountStopped

    return encoded, costs


class CountStopped(Exception):
    """The sweep's client went away: its chunks stop (nobody reads what they would answer)."""


def assemble(
    planned: Sweep,
    batch_size: int,
    chunks: list[Chunk],
    seconds: float,
    predictors: Sequence[LatencyPredictor] = (),
) -> bytes:
    """A count-only (or predicted) sweep's answer from its chunks' bytes: no point decoded or encoded again."""
    costs = [c for _, chunk_costs in chunks for c in chunk_costs]
    head = encode(
        {
            **_head(planned, batch_size, seconds),
            "errors": sum(c is None for c in costs),
            "pareto": pareto_front(costs),
            "pareto_objectives": pareto_objectives(planned, measured=bool(predictors)),
            **({"latency_method": "predicted", "predictors": [p.describe() for p in predictors]} if predictors else {}),
        }
    )
    return head[:-1] + b',"points":[' + b",".join(p for points, _ in chunks for p in points) + b"]}"


def check_total(chunks: list[Chunk], limits: Limits) -> None:
    """The chunks together within ``max_response_bytes`` (each was checked alone where it was counted)."""
    size = sum(len(p) for points, _ in chunks for p in points)
    limits.check("max_response_bytes", size, ("grid",), "bytes of the answer")


def _head(planned: Sweep, batch_size: int, seconds: float) -> dict[str, Any]:
    return {
        **({"memory_options": memory_options(planned)} if planned.memory else {}),
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


def _verified(point: dict[str, Any]) -> dict[str, Any]:
    """A verified point: its first predicted median against the measured one on the same device and runtime."""
    predicted = point["latency"][0]
    key = (predicted["device"], predicted["runtime"]["name"])
    measured = next(
        (e for e in point["measured"] if (e.get("device"), (e.get("runtime") or {}).get("name")) == key), None
    )
    predicted_ms = predicted["end_to_end"]["median_ms"]
    measured_ms = ((measured or {}).get("end_to_end") or {}).get("median_ms")
    return {
        "values": point["values"],
        "predicted_ms": predicted_ms,
        "measured_ms": measured_ms,
        "error": None if not measured_ms else (predicted_ms - measured_ms) / measured_ms,
        "extrapolated": predicted.get("extrapolated", False),
    }


def _verify_summary(verified: dict[int, dict[str, Any]]) -> dict[str, Any]:
    errors = [abs(v["error"]) for v in verified.values() if v["error"] is not None]
    return {
        "points": [{"point": i, **v} for i, v in sorted(verified.items())],
        "within_10pct": sum(e <= 0.1 for e in errors) / len(errors) if errors else None,
        "mape": sum(errors) / len(errors) if errors else None,
        "how": "the Pareto front on predicted latency; its fastest predicted points measured as usual",
    }


@dataclass
class SweepJob(Finishes):
    """A sweep whose points are measured, spread over ``options``' devices (one feeder each; each point on
    the first device free for it). Once every feeder is done the answer is stored under ``id`` unless it was
    cancelled (nothing half-done is stored; the partial answer stays readable from the job, without the
    points' per-layer rows, which a cancel frees). Points are held encoded, as they will be sent: a request
    for the answer joins bytes (one page of them when asked), it never builds the points again."""

    planned: Sweep
    batch_size: int
    points: list[bytes]  # each point as JSON; a measured point is replaced by its encoding with latency
    counted: Costs  # each point's (MACs, params), None where its spec could not be counted
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
    layers_freed: bool = False
    verify: list[int] | None = None  # a predicted sweep's points to measure (its front); None: every point
    predictors: list[dict[str, Any]] = field(default_factory=list)  # a predicted sweep's, as described
    measured: int = 0  # points done (measured, failed or refused)
    _next: int = 0
    _running: dict[str, Job] = field(default_factory=dict)
    _feeders: int = 0
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._todo = [i for i, c in enumerate(self.counted) if c is not None]  # points with an error are not timed
        self._costs: Costs = [None] * len(self.points)  # (MACs, params, median ms) once measured
        self._verified: dict[int, dict[str, Any]] = {}
        if self.verify is not None:  # the front stays the predicted one; the chosen points are measured too
            self._todo = list(self.verify)
            self._costs = list(self.counted)

    def start(self) -> None:
        """One feeder per device; each measures its points on every runtime asked, in turn."""
        by_device: dict[str, list[LatencyOptions]] = {}
        for opts in self.options:
            by_device.setdefault(opts.device, []).append(opts)
        self._feeders = len(by_device)
        for device, runtimes in by_device.items():
            threading.Thread(target=self._feed, args=(runtimes,), name=f"sweep-{self.id[:8]}-{device}").start()
        if not self.options:
            self._finish()

    def _take(self) -> int | None:
        with self._lock:
            if self.cancel_requested or self._next >= len(self._todo):
                return None
            self._next += 1
            return self._todo[self._next - 1]

    def _feed(self, runtimes: list[LatencyOptions]) -> None:
        try:
            while (i := self._take()) is not None:
                point = orjson.loads(self.points[i])
                entries = []
                for opts in runtimes:
                    try:
                        entry = self._measure(point, opts)
                    except ProfilerError as exc:  # refused for this point (a limit, a budget it cannot fit)
                        entry = {"device": opts.device, "runtime": {"name": opts.runtime}, "error": str(exc)}
                    if entry is None:  # cancelled
                        break
                    entries.append(entry)
                complete = len(entries) == len(runtimes)
                if complete:
                    if self.verify is not None:
                        point["measured"] = entries
                        self._verified[i] = _verified(point)
                    else:
                        point["latency"] = entries
                    encoded = encode(point)
                with self._lock:
                    if complete:
                        self.points[i] = encoded
                        if self.verify is None:
                            self._costs[i] = objectives(point, measured=True)
                    self.measured += 1
        except Exception:  # a feeder must never leave the job unfinished
            log.exception("sweep %s: feeder for %s failed", self.id, runtimes[0].device)
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
            wait([job.future])  # a cancel ends the measurement at its next check (or before it starts)
        finally:
            self._running.pop(opts.device, None)
        return None if job.state == "cancelled" else latency_entry(job)

    def _finish(self) -> None:
        self.cancelled = self.cancel_requested
        try:
            if self.cancelled:
                self._free_layers()
            elif self.store is not None:
                timed = [c[2] for c in self._costs if c is not None]
                summary = sweep_summary(
                    self.planned,
                    sum(c is None for c in self.counted),
                    {"measured": len(timed), "fastest_ms": min(timed, default=None)},
                )
                self.store.add_encoded("sweep", self.answer(), summary=summary, result_id=self.id)
                self.saved = True
                self.points = []  # the answer lives in the store now
        except Exception as exc:
            self.save_error = store_error(self.id, exc)
        finally:
            self.finished = time.monotonic()
            self._finished.set()

    def _free_layers(self) -> None:
        """A cancelled sweep keeps its points' values, totals and latency, not their per-layer rows."""
        for i, point in enumerate(self.points):
            if b'"layers":' in point:
                decoded = orjson.loads(point)
                if decoded.pop("layers", None) is not None:
                    self.points[i] = encode(decoded)
                    self.layers_freed = True

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

    def answer(self, offset: int = 0, limit: int | None = None, extra: dict[str, Any] | None = None) -> bytes:
        """The answer as it stands (``extra`` first): every point (or ``limit`` of them from ``offset``), the
        measured ones with their latency, the Pareto front over the points measured so far."""
        with self._lock:
            costs = list(self._costs)
            page = self.points[offset : None if limit is None else offset + limit]
        head: dict[str, Any] = {
            **(extra or {}),
            **_head(self.planned, self.batch_size, self.count_seconds),
            "errors": sum(c is None for c in self.counted),
            "pareto": pareto_front(costs),
            "pareto_objectives": pareto_objectives(self.planned, measured=True),
            "latency_devices": list(dict.fromkeys(o.device for o in self.options)),
            "latency_runtimes": list(dict.fromkeys(o.runtime for o in self.options)),
            "points_measured": self.measured,
            "points_to_measure": len(self._todo),
        }
        if self.verify is not None:
            head["latency_method"] = "predicted"
            head["predictors"] = self.predictors
            head["verify"] = _verify_summary(self._verified)
        if offset or limit is not None:
            head["points_offset"] = offset
        if self.layers_freed:
            head["note"] = "cancelled: the points' per-layer rows were freed; their totals and latency stay"
        return encode(head)[:-1] + b',"points":[' + b",".join(page) + b"]}"

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

    def result(self, offset: int = 0, limit: int | None = None) -> bytes:
        """The stored answer once saved, else the answer as it stands (marked with its state), paged when asked."""
        if self.saved and self.store is not None:
            stored = self.store.get(self.id)
            if stored is not None:
                return stored.body.encode()
            return encode({"id": self.id, "error": "the result was removed from the store (its size or age cap)"})
        return self.answer(offset, limit, {"id": self.id, "state": self.state(), "stored": False})

    def points_csv(self) -> str:
        out = io.StringIO()
        write_sweep_csv(orjson.loads(self.answer()), out)
        return out.getvalue()

    def status_body(self) -> bytes:
        status = encode(self.status())
        return status[:-1] + b',"report":' + self.result() + b"}" if self.done else status
