"""Latency measurements in flight or done: a report's counts plus one device job per device. Kept in
memory, bounded; the oldest finished entries go first."""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import torch

from profiler import Job
from profiler.timing import MeasurementCancelled


@dataclass
class ProfileJob:
    report: dict[str, Any]
    jobs: list[Job]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> bool:
        return all(j.future.done() for j in self.jobs)

    def cancel(self) -> None:
        for j in self.jobs:
            j.cancel()

    def state(self) -> str:
        states = {j.state for j in self.jobs}
        for s in ("running", "queued", "cancelled", "failed"):
            if s in states:
                return s
        return "done"

    def result(self) -> dict[str, Any]:
        """The report with one latency entry per device (its figures, or why it has none)."""
        return {**self.report, "latency": [_latency_entry(j) for j in self.jobs]}

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "state": self.state(),
            "elapsed_s": round(time.monotonic() - self.created, 3),
            "devices": [j.status() for j in self.jobs],
        }
        if self.done:
            out["report"] = self.result()
        return out


def _latency_entry(job: Job) -> dict[str, Any]:
    if job.future.cancelled():
        return {"device": job.device, "error": "cancelled"}
    exc = job.future.exception()
    if exc is None:
        return job.future.result().to_dict()
    if isinstance(exc, MeasurementCancelled):
        return {"device": job.device, "error": "cancelled"}
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return {"device": job.device, "error": f"out of memory on {job.device}; lower batch_size or resolution"}
    return {"device": job.device, "error": f"{type(exc).__name__}: {exc}"}


class JobStore:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._jobs: OrderedDict[str, ProfileJob] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, job: ProfileJob) -> None:
        with self._lock:
            while len(self._jobs) >= self.capacity:
                finished = next((k for k, v in self._jobs.items() if v.done), None)
                if finished is None:
                    break  # never drop a running job: the device queue bounds how many there are
                del self._jobs[finished]
            self._jobs[job.id] = job

    def get(self, job_id: str) -> ProfileJob | None:
        with self._lock:
            return self._jobs.get(job_id)
