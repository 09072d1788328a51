"""One measurement per device at a time: a single worker thread per device with a bounded queue.

The interface is small on purpose: name a device (``pick``), submit a measurement for it, get a ``Job`` (a
future with progress). Where a device's measurements run is its runner's business: this host's timing
process, or a Ray actor on another host (``profiler.cluster.ClusterDevices`` extends this class).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import DeviceBusyError, DeviceUnavailableError, MeasurementCancelled
from .devices import describe_devices, resolve_device
from .measure import LatencyResult
from .process import TimingProcess
from .progress import Progress
from .roofline import Roofs

__all__ = ["DeviceWorkers", "Job"]


class Runner(Protocol):
    """Where one device's measurements run, one at a time: ``TimingProcess`` here, ``ActorTiming`` on Ray."""

    def run(self, measure: Callable[[Progress], Any], progress: Progress, budget_s: float | None = None) -> Any: ...
    def stop(self) -> None: ...


@dataclass
class Job:
    """A submitted measurement: its future, its progress, and a way to cancel it."""

    device: str
    future: Future
    progress: Progress
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    submitted: float = field(default_factory=time.monotonic)
    runtime: str = "eager"  # what runs the model (a Measurement's options say)

    def cancel(self) -> None:
        self.progress.cancelled.set()  # a running measurement stops at its next check
        if self.future.cancel():  # a queued one never starts: it ends now
            self.progress.finished = time.monotonic()

    @property
    def state(self) -> str:
        """queued, running, cancelling (asked to stop, not stopped yet), then cancelled, failed or done."""
        if self.future.cancelled() or (
            self.future.done() and isinstance(self.future.exception(), MeasurementCancelled)
        ):
            return "cancelled"
        if self.future.done():
            return "failed" if self.future.exception() else "done"
        if self.progress.cancelled.is_set():
            return "cancelling"
        return "running" if self.future.running() else "queued"

    @property
    def elapsed_s(self) -> float:
        """From submission to the end of the measurement (to now while it runs)."""
        end = self.progress.finished
        return (end if end is not None else time.monotonic()) - self.submitted

    def status(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device": self.device,
            "runtime": self.runtime,
            "state": self.state,
            "steps_done": self.progress.done_steps,
            "steps_total": self.progress.total_steps,
            "elapsed_s": round(self.elapsed_s, 3),
        }


class DeviceWorkers:
    """One worker thread per device, at most ``queue_size`` measurements waiting on each.

    With ``isolated``, the worker thread hands each measurement to the device's own timing process
    (``profiler.latency.process``; the measurement must then be picklable, as ``Measurement`` is), so that
    nothing else this process does runs on the measured interpreter. A server wants that; a one-off CLI
    run, or a test with a closure, does not need it.
    """

    def __init__(self, queue_size: int = 4, *, isolated: bool = False, memory_bytes: int | None = None) -> None:
        self.queue_size = queue_size
        self.isolated = isolated
        self.memory_bytes = memory_bytes  # what one measurement may allocate in its timing process (CPU)
        self.processes: dict[str, Runner] = {}
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()
        self._live: dict[str, Job] = {}  # submitted, not yet done
        self._closed = False
        self.roofs: dict[str, Roofs] = {}  # each device's roofs, as its last measurement measured them

    def pick(self, name: str) -> str:
        """The device that takes a request for ``name`` (``cpu``, ``cuda``, ``cuda:N``), its name made canonical;
        DeviceUnavailableError when this host has none."""
        return str(resolve_device(name))

    def expand(self, name: str) -> list[str]:
        """Every device ``name`` stands for (a sweep spreads its points over them)."""
        return [self.pick(name)]

    def describe(self) -> list[dict[str, Any]]:
        """What ``GET /devices`` lists: each device, its roofs once measured, and how many measurements wait."""
        return [self._with_state(device) for device in describe_devices()]

    def _with_state(self, device: dict[str, Any]) -> dict[str, Any]:
        roofs = self.roofs.get(device["device"])
        return {
            **device,
            "roofs": roofs.to_dict() if roofs else None,
            "roofs_note": None if roofs else "measured by the device's first latency measurement",
            "waiting": self.waiting(device["device"]),
        }

    def _runner(self, device: str) -> Runner | None:
        """What runs ``device``'s measurements: its timing process when isolated, else the worker thread itself."""
        return TimingProcess(device, self.memory_bytes) if self.isolated else None

    def waiting(self, device: str) -> int:
        """Measurements queued or running on ``device``."""
        with self._lock:
            return self._pending.get(device, 0)

    def submit(self, device: str, measure: Callable[[Progress], Any], expected_s: float = 10.0) -> Job:
        """Queue ``measure(progress)`` on ``device`` (a name as ``pick`` gives it: ``cpu``, ``cuda:0``);
        DeviceBusyError when its queue is full."""
        key = device
        progress = Progress()
        with self._lock:
            if self._closed:
                raise DeviceUnavailableError(key, "the server is stopping", [])
            pending = self._pending.get(key, 0)
            if pending >= self.queue_size + 1:  # the running one plus the queue
                raise DeviceBusyError(key, pending, max(1, int(expected_s * pending)))
            self._pending[key] = pending + 1
            executor = self._executors.get(key)
            if executor is None:
                executor = self._executors[key] = ThreadPoolExecutor(1, thread_name_prefix=f"timing-{key}")
                runner = self._runner(key)
                if runner is not None:
                    self.processes[key] = runner
        future = executor.submit(self._run, key, measure, progress, self.processes.get(key))
        options = getattr(measure, "options", None)
        job = Job(key, future, progress, runtime=getattr(options, "runtime", "eager"))
        with self._lock:
            self._live[job.id] = job
        future.add_done_callback(lambda _: self._release(key, job))
        return job

    def _run(self, key: str, measure: Callable[[Progress], Any], progress: Progress, process: Runner | None) -> Any:
        try:
            progress.check()
            progress.started = time.monotonic()
            budget_s = getattr(measure, "budget_s", None)  # a Measurement's; a bare callable has none
            result = process.run(measure, progress, budget_s) if process else measure(progress)
        finally:
            progress.finished = time.monotonic()  # before the future is done: a reader never sees it unset
        if isinstance(result, LatencyResult) and result.roofs is not None:
            self.roofs[key] = result.roofs
        return result

    def _release(self, key: str, job: Job) -> None:
        with self._lock:
            self._pending[key] -= 1
            self._live.pop(job.id, None)

    def shutdown(self) -> None:
        """Refuse new measurements, cancel those queued or running (a running one stops at its next check, or
        its process is killed), wait for the worker threads, then stop the timing processes: nothing is left
        running, and nothing is left for the interpreter's exit to clean up."""
        with self._lock:
            self._closed = True
            live = list(self._live.values())
        for job in live:
            job.cancel()
        for executor in self._executors.values():
            executor.shutdown(wait=True, cancel_futures=True)
        for process in self.processes.values():
            process.stop()
