"""Latency predictors in the server: the ones fitted (loaded from the store at start, answered from memory),
calibration jobs that fit new ones, and the samples every measured profile adds (a predictor is fitted again
in the background once its samples have grown by half)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import wait
from dataclasses import dataclass, field
from typing import Any

from profiler import DeviceBusyError, DeviceWorkers, Limits, ProfilerError, latency_measurement, profile
from profiler.latency.options import LatencyOptions
from profiler.model.build import plan_model
from profiler.predict import (
    MIN_DESIGNS,
    CalibrationProgress,
    Design,
    DesignSample,
    LatencyPredictor,
    PredictorKey,
    calibrate,
    design_sample,
    fit_predictor,
)
from profiler.spec import parse_spec

from .jobs import Finishes, latency_entry
from .predictor_store import PredictorStore
from .store import encode

log = logging.getLogger("uvicorn.error")
_REFIT_GROWTH = 1.5  # samples grown this much since the fit: fit again


class Predictors:
    """The newest predictor of each key in memory; the store keeps them and their samples."""

    def __init__(self, store: PredictorStore) -> None:
        self.store = store
        self._by_key: dict[PredictorKey, LatencyPredictor] = {}
        self._lock = threading.Lock()
        self._refitting: set[PredictorKey] = set()
        self._calibrating: dict[str, Any] = {}  # device -> its calibration job (one at a time per device)

    def claim(self, device: str, job: Any) -> Any | None:
        """Make ``job`` the device's calibration; the one already running there instead, if any (a second would
        only queue behind it on the device, and double the host's load meanwhile)."""
        with self._lock:
            running = self._calibrating.get(device)
            if running is not None and not running.done:
                return running
            self._calibrating[device] = job
            return None

    def release(self, device: str, job: Any) -> None:
        """Give the device back: ``job`` was claimed but never started."""
        with self._lock:
            if self._calibrating.get(device) is job:
                del self._calibrating[device]

    def load(self) -> None:
        """The stored predictors; one that no longer loads, or that an older fit made, is fitted again in the
        background from its key's samples (its replacement is answered once fitted)."""
        loaded, stale = self.store.predictors()
        for predictor in loaded:
            self._by_key[predictor.key] = predictor
        for key in stale - self._by_key.keys():
            with self._lock:
                self._refitting.add(key)
            self._refit_in_background(key)

    def add(self, predictor: LatencyPredictor) -> None:
        self.store.add_predictor(predictor)
        with self._lock:
            self._by_key[predictor.key] = predictor

    def all(self) -> list[LatencyPredictor]:
        with self._lock:
            return sorted(self._by_key.values(), key=lambda p: p.fitted_at)

    def get(self, predictor_id: str) -> LatencyPredictor | None:
        return next((p for p in self.all() if p.id == predictor_id), None)

    def delete(self, predictor_id: str) -> bool:
        with self._lock:
            found = [k for k, p in self._by_key.items() if p.id == predictor_id]
            for key in found:
                del self._by_key[key]
        return self.store.delete_predictor(predictor_id) or bool(found)

    def find(self, device: str, runtime: str, dtype: str, threads: int | None) -> LatencyPredictor | None:
        """The predictor for a device (``cpu``, ``cuda:0``), runtime and dtype; with ``threads``, one fitted at
        those threads, else the newest at any."""
        matches = [
            p
            for p in self.all()
            if p.key.device == device
            and p.key.runtime == runtime
            and p.key.dtype == dtype
            and (threads is None or p.key.threads == threads)
        ]
        return matches[-1] if matches else None

    def learn(self, samples: list[DesignSample]) -> None:
        """Keep a measured profile's samples; fit again, in the background, a predictor whose samples grew."""
        if not samples:
            return
        self.store.add_samples(samples)
        counts = self.store.sample_counts()
        for key in {s.key for s in samples}:
            with self._lock:
                current = self._by_key.get(key)
                due = (
                    current is not None
                    and counts.get(key, 0) >= _REFIT_GROWTH * (current.designs / 0.8)
                    and key not in self._refitting
                )
                if due:
                    self._refitting.add(key)
            if due:
                self._refit_in_background(key)

    def _refit_in_background(self, key: PredictorKey) -> None:
        """``refit(key)`` on its own thread, a failure logged (the caller has put ``key`` in ``_refitting``)."""
        threading.Thread(target=self._refit_quietly, args=(key,), name="predictor-refit", daemon=True).start()

    def _refit_quietly(self, key: PredictorKey) -> None:
        try:
            self.refit(key)
        except Exception:
            log.exception("refitting the predictor for %s failed", key.label())
        finally:
            with self._lock:
                self._refitting.discard(key)

    def refit(self, key: PredictorKey) -> LatencyPredictor:
        """A new predictor from every stored sample of ``key`` (raises SpecError with too few)."""
        predictor = fit_predictor(self.store.samples(key))
        self.add(predictor)
        log.info("predictor %s fitted for %s on %d designs", predictor.id, key.label(), predictor.designs)
        return predictor


def samples_of(body: dict[str, Any], limits: Limits) -> list[DesignSample]:
    """The samples a measured profile gives: one per latency entry with per-layer times."""
    entries = [e for e in body.get("latency") or () if (e.get("per_layer") or {}).get("layers")]
    if not entries or body.get("kind") == "compare":
        return []
    try:
        plan = plan_model(parse_spec(body["spec"]), limits)
    except ProfilerError:
        return []
    label = f"{body.get('preset') or body.get('name') or 'table'} (a measured profile)"
    return [s for e in entries if (s := design_sample(plan, e, label)) is not None]


@dataclass
class CalibrationJob(Finishes):
    """Measure drawn designs on one device and runtime until the budget is spent, then fit and keep the
    predictor. Cancelled: the samples measured so far stay in the store, no predictor is fitted."""

    key_options: LatencyOptions  # the device, runtime, dtype, threads, and each design's measurement budget
    budget_s: float
    batch_sizes: tuple[int, ...]
    max_macs: int
    max_designs: int | None
    seed: int
    workers: DeviceWorkers
    predictors: Predictors
    limits: Limits
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.monotonic)
    finished: float | None = None
    cancel_requested: bool = False
    error: str | None = None
    predictor: LatencyPredictor | None = None
    progress: CalibrationProgress = field(default_factory=CalibrationProgress)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False)
    _running: Any = None

    def start(self) -> None:
        threading.Thread(target=self._run, name=f"calibration-{self.id[:8]}", daemon=True).start()

    def _measure(self, design: Design) -> dict[str, Any]:
        try:
            report = profile(design.spec, batch_size=design.batch_size, limits=self.limits)
            options = LatencyOptions(
                **{**vars(self.key_options), "batch_size": design.batch_size, "per_layer": True},
            )
            measurement = latency_measurement(report, options, self.limits, dict(self.workers.roofs))
        except ProfilerError as exc:
            return {"error": str(exc)}
        while not self.cancel_requested:
            try:
                job = self.workers.submit(measurement.device, measurement, expected_s=options.budget_s)
                break
            except DeviceBusyError:  # other requests fill the device's queue: wait for room
                time.sleep(0.5)
        else:
            return {"error": "cancelled"}
        self._running = job
        try:
            wait([job.future])
        finally:
            self._running = None
        return latency_entry(job)

    def _run(self) -> None:
        try:
            calibrate(
                self._measure,
                self.budget_s,
                seed=self.seed,
                batch_sizes=self.batch_sizes,
                max_macs=self.max_macs,
                max_designs=self.max_designs,
                stop=lambda: self.cancel_requested,
                progress=self.progress,
                on_sample=lambda sample: self.predictors.store.add_samples([sample]),
            )
            if self.cancel_requested:
                return
            samples = self.progress.samples
            if len(samples) < MIN_DESIGNS:
                self.error = (
                    f"{len(samples)} designs were measured in {self.budget_s:g} s ({self.progress.designs_failed} "
                    f"failed: {self.progress.last_error}); a predictor needs {MIN_DESIGNS}: raise budget_s"
                )
                return
            self.predictor = fit_predictor(samples, seed=self.seed)
            self.predictors.add(self.predictor)
        except Exception as exc:  # the job must finish whatever happens
            log.exception("calibration %s failed", self.id)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.monotonic()
            self._finished.set()

    def cancel(self) -> None:
        self.cancel_requested = True
        running = self._running
        if running is not None:
            running.cancel()

    def state(self) -> str:
        if not self.done:
            return "cancelling" if self.cancel_requested else "running"
        if self.cancel_requested:
            return "cancelled"
        return "failed" if self.error else "done"

    def status(self) -> dict[str, Any]:
        opts = self.key_options
        end = self.finished if self.finished is not None else time.monotonic()
        out: dict[str, Any] = {
            "id": self.id,
            "kind": "calibration",
            "state": self.state(),
            "device": opts.device,
            "runtime": opts.runtime,
            "dtype": opts.dtype,
            "threads": opts.threads,
            "elapsed_s": round(end - self.created, 3),
            "budget_s": self.budget_s,
            "max_designs": self.max_designs,
            "designs_measured": self.progress.designs_measured,
            "designs_failed": self.progress.designs_failed,
            "last_error": self.progress.last_error,
            "samples_stored": self.cancel_requested or self.progress.designs_measured > 0,
        }
        if self.error:
            out["error"] = self.error
        if self.predictor is not None:
            out["predictor"] = self.predictor.describe()
        return out

    def status_body(self) -> bytes:
        """``status()``, with the predictor (and its held-out designs) under ``report`` once fitted."""
        status = self.status()
        if self.predictor is not None:
            status["report"] = {**self.predictor.describe(), "held_out": self.predictor.held_out}
        return encode(status)
