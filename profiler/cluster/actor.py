"""One long-lived timing actor per physical device, on that device's node, and the server's side of it.

The actor (``TimingActor``) measures one at a time: measurements run in its default concurrency group, one
thread, whoever sends them (every server of the cluster shares it by name). Progress and cancellation are
answered from a second group while a measurement runs. Ray starts a worker with one torch thread
(OMP_NUM_THREADS=1, which measured CPU figures about 2x slow), so the actor sets its thread count explicitly.

The server's side (``ActorTiming``) is a runner as ``TimingProcess`` is: the same budget, grace and cancel
rules, the same messages. A measurement that overruns, or that a cancel does not stop within a second, is
ended by killing the actor, which Ray then starts again; so is one whose actor crashed: it fails with an error
that says so, and the next measurement runs on the restarted actor.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import ray
import torch
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayError

from ..errors import MeasurementCancelled, MeasurementFailed
from ..latency.devices import cpu_name, local_name
from ..latency.measure import LatencyResult
from ..latency.measurement import Measurement
from ..latency.peak_memory import warm_up_profiler
from ..latency.process import CANCEL_S, GRACE_S, STARTUP_S, answer, overran, overran_error, run_message
from ..latency.progress import Progress
from ..latency.roofline import measure_roofs

__all__ = ["ActorTiming", "TimingActor", "actor_class"]

_POLL_S = 0.05
_PROGRESS_S = 0.25  # how often the server asks a running measurement how far it is


class TimingActor:
    """Runs in a Ray worker on the device's node. ``device`` is the device as the actor sees it: ``cpu``, or
    ``cuda:0`` (Ray shows a GPU actor its own GPU only)."""

    def __init__(self, device: str, threads: int) -> None:
        torch.set_num_threads(threads)
        self.device = device
        self._token: str | None = None
        self._progress = Progress()
        self._began = 0.0
        self._cancelled: set[str] = set()  # a cancel can arrive before its measurement starts
        self._lock = threading.Lock()
        with contextlib.suppress(Exception):  # a failure here is met again, and reported, by the measurement
            measure_roofs(device)  # what a first measurement would otherwise pay inside its budget
            warm_up_profiler(device)

    def describe(self) -> dict[str, Any]:
        """What the node says of the device: its name, memory, threads, versions, the GPU Ray gave it."""
        out: dict[str, Any] = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        }
        if self.device == "cpu":
            out["name"] = cpu_name()
            out["memory_bytes"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        else:
            out["gpu_ids"] = [str(i) for i in ray.get_gpu_ids()]
            if torch.cuda.is_available():
                props = torch.cuda.get_device_properties(0)
                out.update(name=props.name, memory_bytes=props.total_memory, capability=f"{props.major}.{props.minor}")
                out.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
            else:
                out["cuda_available"] = False
        return out

    def measure(self, token: str, measure: Callable[[Progress], Any]) -> tuple:
        with self._lock:
            self._token, self._progress, self._began = token, Progress(), time.time()
            if token in self._cancelled:
                self._cancelled.discard(token)
                return ("error", "MeasurementCancelled", "the measurement was cancelled")
        try:
            return run_message(measure, self._progress)
        finally:
            with self._lock:
                self._token = None

    def progress(self, token: str) -> tuple[int, int, float] | None:
        """Steps done, steps in all, and when it began (wall clock), while ``token`` runs."""
        with self._lock:
            if self._token != token:
                return None
            return self._progress.done_steps, self._progress.total_steps, self._began

    def pid(self) -> int:
        return os.getpid()

    def cancel(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._progress.cancelled.set()  # it stops at its next check
            else:
                self._cancelled.add(token)


def actor_class() -> Any:
    """``TimingActor`` as a Ray actor class: measurements in the default group (one thread), ``progress``,
    ``cancel`` and ``describe`` in a group of their own."""
    for method in (TimingActor.progress, TimingActor.cancel, TimingActor.describe, TimingActor.pid):
        ray.method(concurrency_group="control")(method)
    return ray.remote(concurrency_groups={"control": 1})(TimingActor)  # type: ignore[call-overload]  # Ray's stubs lack it


class ActorTiming:
    """The server's side of one device's actor: ``run`` as ``TimingProcess.run`` does, over Ray. ``connect``
    gives the actor's handle (created, or found by name), again after it died."""

    def __init__(self, device: str, connect: Callable[[], Any], host: str | None, grace_s: float = GRACE_S) -> None:
        self.device = device  # the cluster's name of it: ``<node>/cuda:0``
        self.local = local_name(device)
        self.host = host
        self.grace_s = grace_s
        self._connect = connect
        self._actor: Any = None

    @property
    def actor(self) -> Any:
        if self._actor is None:
            self._actor = self._connect()
        return self._actor

    def forget(self) -> None:
        """Find the actor again next time (it died for good, or never started)."""
        self._actor = None

    def run(self, measure: Callable[[Progress], Any], progress: Progress, budget_s: float | None = None) -> Any:
        if isinstance(measure, Measurement):  # the actor names its device as its own node does
            measure = dataclasses.replace(measure, options=dataclasses.replace(measure.options, device=self.local))
        actor = self._alive()
        token = uuid.uuid4().hex
        sent = time.time()
        ref = actor.measure.remote(token, measure)
        asked: Any = None
        last_asked = 0.0
        began = 0.0
        cancelled_at: float | None = None
        while True:
            if progress.cancelled.is_set() and cancelled_at is None:
                actor.cancel.remote(token)
                cancelled_at = time.monotonic()
            ready, _ = ray.wait([ref], timeout=_POLL_S)
            if ready:
                return self._result(ref)
            if asked is None and time.monotonic() - last_asked > _PROGRESS_S:
                asked, last_asked = actor.progress.remote(token), time.monotonic()
            elif asked is not None and ray.wait([asked], timeout=0)[0]:
                with contextlib.suppress(RayError):
                    state = ray.get(asked)
                    if state is not None:
                        progress.done_steps, progress.total_steps, began = state
                asked = None
            if cancelled_at is not None and time.monotonic() - cancelled_at > CANCEL_S:
                self._kill()  # mid-forward: it would stop only when the forward ends
                raise MeasurementCancelled("the measurement was cancelled (its timing actor was restarted)")
            if budget_s is not None and overran(began, sent, budget_s, self.grace_s):
                self._kill()
                raise overran_error(self.device, budget_s, self.grace_s)

    def _alive(self) -> Any:
        """The actor, once it answers: one that is (re)starting refuses calls (ActorUnavailableError), and a
        measurement is never sent twice, so it waits for the actor instead."""
        deadline = time.monotonic() + STARTUP_S
        while True:
            actor = self.actor
            try:
                ray.get(actor.progress.remote(""), timeout=5.0)
                return actor
            except (ActorUnavailableError, GetTimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise MeasurementFailed(
                        f"the timing actor for {self.device} did not answer within {STARTUP_S:g} s ({_why(exc)})"
                    ) from None
                time.sleep(0.2)
            except RayActorError as exc:  # gone for good (its owner or node died): started anew next time round
                self.forget()
                if time.monotonic() > deadline:
                    raise MeasurementFailed(f"the timing actor for {self.device} cannot start: {_why(exc)}") from None
                time.sleep(0.2)

    def _result(self, ref: Any) -> Any:
        try:
            message = ray.get(ref)
        except RayActorError as exc:
            self.forget()  # found again (restarted by Ray, or created anew) by the next measurement
            raise MeasurementFailed(
                f"the timing actor for {self.device} died while measuring ({_why(exc)}); Ray restarts it for the "
                "next request"
            ) from None
        except RayError as exc:
            raise MeasurementFailed(f"the measurement on {self.device} failed in Ray: {_why(exc)}") from None
        result = answer(message, self.device)
        if isinstance(result, LatencyResult):
            return dataclasses.replace(result, device=self.device, host=self.host)
        return result

    def _kill(self) -> None:
        """Kill the actor (Ray restarts it) and wait until the old one is gone: ``ray.kill`` returns at once, and
        a measurement sent before it takes effect would be lost with it."""
        actor = self.actor
        try:
            pid = ray.get(actor.pid.remote(), timeout=5.0)
            ray.kill(actor, no_restart=False)
        except RayError:
            return  # already gone
        deadline = time.monotonic() + 30.0
        while time.monotonic() < deadline:
            try:
                if ray.get(actor.pid.remote(), timeout=5.0) != pid:
                    return  # restarted already
            except RayError:
                return  # dead or restarting: the next measurement waits for it (``_alive``)
            time.sleep(0.05)

    def stop(self) -> None:
        """Nothing to stop from here: the actor belongs to the cluster (and ends with its owner)."""


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
