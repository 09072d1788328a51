"""Latency measurements in flight or done: a report's counts (already encoded) plus one device job per
device. Kept in memory, bounded; the oldest finished entries go first. A finished measurement is written to
the result store under the job's id, unless it was cancelled (nothing half-done is stored)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from profiler import Job, MeasurementCancelled, MeasurementFailed, MeasurementOutOfMemory

from .store import Kind, ResultStore, TooLargeToStore, encode, latency_summary

log = logging.getLogger(__name__)


class Finishes:
    """A job that sets its ``_finished`` event once its answer is final (stored, or known not to be)."""

    _finished: threading.Event

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)


@dataclass
class ProfileJob(Finishes):
    """Once every device is done (in the thread that finished last), the report with its latency is stored
    (when a store is given and nothing was cancelled), then ``done`` turns true."""

    report: bytes  # the count report, a JSON object
    summary: dict[str, Any]  # what the store's list shows of it
    jobs: list[Job]
    store: ResultStore | None = None
    kind: Kind = "profile"  # or "compare": A against B on each device and runtime
    on_saved: Callable[[bytes], None] | None = None  # given the stored body (a predictor learns from it)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None  # when every device was done and the result stored
    cancel_requested: bool = False
    saved: bool = False  # stored under ``id``; the body then lives in the store only
    save_error: str | None = None
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _remaining: int = field(default=0, repr=False)
    _unsaved: list[dict[str, Any]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
        """Watch the device jobs; call once they are all submitted."""
        self._remaining = len(self.jobs)
        for j in self.jobs:
            j.future.add_done_callback(self._one_done)

    def _one_done(self, _: Any) -> None:
        with self._lock:
            self._remaining -= 1
            last = self._remaining == 0
        if not last:
            return
        try:
            if self.store is not None and all(j.state != "cancelled" for j in self.jobs):
                latency = self.latency()
                key = "b_over_a" if self.kind == "compare" else "latency_ms"
                summary = {**self.summary, key: latency_summary(latency, key)}
                body = self._body(latency)
                self.store.add_encoded(self.kind, body, summary=summary, result_id=self.id)
                self.saved = True
                if self.on_saved is not None:
                    self.on_saved(body)
        except Exception as exc:  # the measurement is still answered; only keeping it failed
            self.save_error = store_error(self.id, exc)
        finally:
            # Finished results live in the store, not here. A cancelled job keeps only its devices' entries;
            # one whose store failed (or that has none) keeps its report, to be answered still.
            if self.saved:
                self.report = b""
            elif self.store is not None and self.save_error is None:  # cancelled
                self._unsaved = self.latency()
                self.report = b""
            self.finished = time.monotonic()
            self._finished.set()

    def cancel(self) -> None:
        self.cancel_requested = True
        for j in self.jobs:
            j.cancel()

    def state(self) -> str:
        """queued, running, cancelling (asked to stop: each device stops at its next check), then (once every
        device is done and the result stored) cancelled, failed or done."""
        states = {j.state for j in self.jobs}
        if not self.done:
            if self.cancel_requested:
                return "cancelling"
            return "queued" if states == {"queued"} else "running"
        for s in ("cancelled", "failed"):
            if s in states:
                return s
        return "done"

    def latency(self) -> list[dict[str, Any]]:
        """One entry per device: its figures, or why it has none."""
        return [latency_entry(j) for j in self.jobs]

    def _body(self, latency: list[dict[str, Any]]) -> bytes:
        return self.report[:-1] + b',"latency":' + encode(latency) + b"}"

    def result(self) -> bytes:
        """Once done: the report with its latency as stored (with ``id`` and ``created``), or, when nothing was
        stored (cancelled, or the store failed), each device's latency entry (why it has no figures)."""
        if self.saved and self.store is not None:
            stored = self.store.get(self.id)
            if stored is not None:
                return stored.body.encode()
            return encode({"id": self.id, "error": "the result was removed from the store (its size or age cap)"})
        if self._unsaved is not None:
            return encode({"id": self.id, "latency": self._unsaved, "stored": False})
        return self._body(self.latency())

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state(),
            "elapsed_s": round((self.finished if self.finished is not None else time.monotonic()) - self.created, 3),
            "devices": [j.status() for j in self.jobs],
        }
        if self.done and self.save_error:
            out["store_error"] = self.save_error
        return out

    def status_body(self) -> bytes:
        """``status()`` as JSON, with the report (already encoded) under ``report`` once done."""
        status = encode(self.status())
        return status[:-1] + b',"report":' + self.result() + b"}" if self.done else status


def store_error(job_id: str, exc: Exception) -> str:
    """Why a finished job's answer was not stored (answered from the job only)."""
    if isinstance(exc, TooLargeToStore):
        return str(exc)
    log.exception("storing job %s failed", job_id)
    return f"the result could not be stored: {type(exc).__name__}: {exc}"


def latency_entry(job: Job) -> dict[str, Any]:
    """A device's (and runtime's) figures, or why it has none."""
    if job.future.cancelled():
        return _failed(job, "cancelled")
    exc = job.future.exception()
    if exc is None:
        return job.future.result().to_dict()
    if isinstance(exc, MeasurementCancelled):
        return _failed(job, "cancelled")
    if isinstance(exc, (MeasurementOutOfMemory, MeasurementFailed)):
        return _failed(job, str(exc))
    return _failed(job, f"{type(exc).__name__}: {exc}")


def _failed(job: Job, error: str) -> dict[str, Any]:
    return {"device": job.device, "runtime": {"name": job.runtime}, "error": error}


class AnyJob(Protocol):
    """What the job routes need of a latency job (a profile's or a sweep's)."""

    id: str

    @property
    def done(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def cancel(self) -> None: ...
    def status_body(self) -> bytes: ...


class JobsFull(RuntimeError):
    """Every job slot holds a job still running: a new one must wait for one to finish."""

    def __init__(self, capacity: int) -> None:
        super().__init__(
            f"{capacity} jobs are running (PROFILER_MAX_JOBS); retry once one has finished, or cancel one "
            "(DELETE /jobs/{id})"
        )


class JobStore:
    """Jobs of every kind (profiles, sweeps, ...) in memory, at most ``capacity``: a new job takes the slot of
    the oldest finished one, and is refused (JobsFull) when every slot holds a running job."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._jobs: OrderedDict[str, AnyJob] = OrderedDict()
        self._lock = threading.Lock()

    def _make_room(self) -> None:
        while len(self._jobs) >= self.capacity:
            finished = next((k for k, v in self._jobs.items() if v.done), None)
            if finished is None:
                raise JobsFull(self.capacity)
            del self._jobs[finished]

    def check_room(self) -> None:
        """Raise JobsFull now, before a job's work (counting its points) is done, if it could not be added."""
        with self._lock:
            self._make_room()

    def add(self, job: AnyJob) -> None:
        """Keep ``job``; JobsFull (and the job cancelled) when every slot holds a running job."""
        with self._lock:
            try:
                self._make_room()
            except JobsFull:
                job.cancel()
                raise
            self._jobs[job.id] = job

    def get(self, job_id: str) -> AnyJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def finish(self, grace_s: float, cancel_wait_s: float = 30.0) -> tuple[int, int]:
        """At shutdown: jobs in flight may finish (and be stored) within ``grace_s``; the rest are cancelled and
        waited for (each stops at its next check, or its process is killed). Returns (in flight, cancelled)."""
        with self._lock:
            running = [job for job in self._jobs.values() if not job.done]
        deadline = time.monotonic() + grace_s
        for job in running:
            job.wait(max(0.0, deadline - time.monotonic()))
        left = [job for job in running if not job.done]
        for job in left:
            job.cancel()
        for job in left:
            job.wait(cancel_wait_s)
        return len(running), len(left)
