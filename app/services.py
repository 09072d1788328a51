"""The orchestration behind the routes: where a count runs, answering identical requests from the store,
submitting latency measurements, waiting for them (or answering with a job), and storing what was answered.
A route hands its request here and returns what it gets."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any, TypeVar

import orjson
from anyio import to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from profiler import (
    DeviceBusyError,
    DeviceWorkers,
    Job,
    LatencyOptions,
    ModelSpec,
    ProfilerError,
    SpecError,
    spec_onnx,
)
from profiler.predict import LatencyPredictor
from profiler.sweep import Sweep, check_answer_size, pareto_front, plan_sweep

from .counting import (
    Encoded,
    compare_encoded,
    compare_for_latency,
    compare_predicted,
    count_encoded,
    count_for_latency,
    count_predicted,
    layers_csv,
    limiter_for,
    run_count,
)
from .jobs import AnyJob, JobStore, ProfileJob
from .predictors import CalibrationJob, samples_of
from .schemas import (
    CalibrationRequest,
    CompareRequest,
    DeviceLatency,
    LatencyRequest,
    ProfileRequest,
    SweepRequest,
)
from .settings import Settings, SettingsDep
from .store import Kind, ResultStore, Stored, TooLargeToStore, request_digest, stored_response, unstored_response
from .sweeps import Chunk, SweepJob, assemble, check_total, chunks, count_chunk, sweep_summary

_PROFILE_JSON = TypeAdapter(ProfileRequest)
_POLL_S = 0.05
_DISCONNECT_POLL_S = 0.25
log = logging.getLogger("uvicorn.error")  # uvicorn's own logger: shown wherever its messages are
T = TypeVar("T")


class ProfileService:
    """Per request: the application's shared objects and the request's settings."""

    def __init__(self, state: Any, settings: Settings) -> None:
        self.state = state
        self.settings = settings

    @property
    def store(self) -> ResultStore:
        return self.state.store

    @property
    def workers(self) -> DeviceWorkers:
        return self.state.workers

    @property
    def jobs(self) -> JobStore:
        return self.state.jobs

    def _count_in_place(self, counter: str, fn: Callable[..., Any], *args: Any) -> Any:
        return run_count(self.state, self.settings, counter, fn, *args)

    async def _in_thread(self, counter: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Blocking work in a server thread (never on the event loop, never behind a timing job)."""
        return await to_thread.run_sync(fn, *args, limiter=limiter_for(counter, self.state.counting_threads))

    # ---- profile ---------------------------------------------------------------------------------------

    async def profile(self, request: ProfileRequest, is_disconnected: Callable[[], Awaitable[bool]]) -> Response:
        if request.latency is None:
            digest = request_digest(b"profile:" + _PROFILE_JSON.dump_json(request))
            recent = self.store.recall(digest)  # answered on the event loop: no thread hop, no database
            if recent is not None:
                return stored_response(recent, cached=True)
            if request.counter == "shapes" and self.state.counting is not None:
                counted = await self._find_or_count_async(request, digest)
            else:
                counted = await self._in_thread(request.counter, self._find_or_count, request, digest)
            return await self._stored(counted, "profile", digest)
        if request.latency.predict:
            predictors = self._predictors_for(request.latency)
            digest = request_digest(
                b"profile:" + _PROFILE_JSON.dump_json(request) + ",".join(p.id for p in predictors).encode()
            )
            counted = await self._in_thread("shapes", self._predict_profile, request, predictors, digest)
            return await self._stored(counted, "profile", digest)
        return await self._measured(request.counter, request.latency, self._submit, request, is_disconnected)

    def _predictors_for(self, latency: DeviceLatency) -> list[LatencyPredictor]:
        """The predictor of each device and runtime asked (a 422 saying how to calibrate one where none is)."""
        found = []
        for i, device in enumerate(latency.devices):
            name = "cuda:0" if device == "cuda" else device
            for runtime in dict.fromkeys(latency.runtimes):
                predictor = self.state.predictors.find(name, runtime, latency.dtype, latency.threads)
                if predictor is None:
                    body: dict[str, Any] = {"device": name, "runtime": runtime, "dtype": latency.dtype}
                    if latency.threads:
                        body["threads"] = latency.threads
                    raise SpecError.at(
                        ("latency", "devices", i),
                        f"no latency predictor for {runtime} on {name} at {latency.dtype}"
                        f"{f' with {latency.threads} threads' if latency.threads else ''}: calibrate one with "
                        f"POST /predictors {json.dumps(body)} (about 15 minutes, a job), or leave latency.predict "
                        "out to measure",
                    )
                found.append(predictor)
        return found

    def _predict_profile(
        self, request: ProfileRequest, predictors: list[LatencyPredictor], digest: str
    ) -> Response | Encoded:
        found = self.store.find_request(digest)
        if found is not None:
            return stored_response(found, cached=True)
        assert request.latency is not None
        return count_predicted(
            request.spec(),
            request.batch_size,
            request.counter,
            self.settings.limits,
            request.memory,
            predictors,
            request.latency.batch_size or request.batch_size,
        )

    async def _measured(
        self,
        counter: str,
        latency: LatencyRequest,
        submit: Callable[..., ProfileJob],
        request: Any,
        is_disconnected: Callable[[], Awaitable[bool]],
    ) -> Response:
        """Count and queue the measurements (``submit``), then answer 202 with the job, or wait for it."""
        if latency.job:
            self.jobs.check_room()  # before counting and queueing anything
        job = await self._in_thread(counter, submit, request, latency)
        if latency.job:
            self.jobs.add(job)
            return JSONResponse(job.status(), status_code=202, headers={"Location": f"/jobs/{job.id}"})
        await self._wait(job, is_disconnected)
        headers = {"Location": f"/profiles/{job.id}"} if job.saved else {}
        return Response(b'{"cached":false,' + job.result()[1:], media_type="application/json", headers=headers)

    def _find_or_count(self, request: ProfileRequest, digest: str) -> Response | Encoded:
        """A count-only request: the stored answer to an identical request, or a new count (to be stored)."""
        found = self.store.find_request(digest)
        if found is not None:
            return stored_response(found, cached=True)
        return self._count_in_place(
            request.counter,
            count_encoded,
            request.spec(),
            request.batch_size,
            request.counter,
            self.settings.limits,
            request.memory,
        )

    async def _find_or_count_async(self, request: ProfileRequest, digest: str) -> Response | Encoded:
        """``_find_or_count`` without a server thread: the store's index read on the event loop (WAL readers
        never wait for the writer), the count awaited from the counting process. Each thread hop costs more
        than either under load."""
        found = self.store.find_request(digest)
        if found is not None:
            return stored_response(found, cached=True)
        async with self.state.counting_slots:
            return await self.state.counting.run_async(
                count_encoded, request.spec(), request.batch_size, request.counter, self.settings.limits, request.memory
            )

    async def _stored(self, counted: Response | Encoded, kind: Kind, digest: str) -> Response:
        """A new answer stored, then sent. The write runs on the general threads, not the counting ones: counts
        go on while answers wait for their (shared) commit."""
        if isinstance(counted, Response):
            return counted
        body, summary = counted
        return await to_thread.run_sync(partial(self._add, kind, body, summary, digest))

    def _add(self, kind: Kind, body: bytes, summary: dict[str, Any], digest: str) -> Response:
        """Store a new answer and send it; one too large to keep is sent with ``stored: false`` and why."""
        try:
            stored = self.store.add_encoded(kind, body, summary=summary, request=digest)
        except TooLargeToStore as exc:
            return unstored_response(body, str(exc))
        return stored_response(stored, cached=False)

    def _submit(self, request: ProfileRequest, latency: LatencyRequest) -> ProfileJob:
        """Count (where counts run), check every device's measurement, then queue them all or none."""
        options = self._options(latency, request.batch_size)
        body, summary, measurements = self._count_in_place(
            request.counter,
            count_for_latency,
            request.spec(),
            request.batch_size,
            request.counter,
            self.settings.limits,
            options,
            dict(self.workers.roofs),  # each device's roofs, from its earlier measurements
            request.memory,
        )
        return self._queue(body, summary, measurements, latency, "profile")

    def _queue(
        self, body: bytes, summary: dict[str, Any], measurements: list[Any], latency: LatencyRequest, kind: Kind
    ) -> ProfileJob:
        """Queue every measurement, or none (a full device queue cancels those already queued)."""
        submitted: list[Job] = []
        try:
            for measurement in measurements:
                submitted.append(self.workers.submit(measurement.device, measurement, expected_s=latency.budget_s))
        except DeviceBusyError:
            for job in submitted:
                job.cancel()
            raise
        profile_job = ProfileJob(body, summary, submitted, store=self.store, kind=kind, on_saved=self._learn)
        profile_job.start()
        return profile_job

    def _learn(self, body: bytes) -> None:
        """A measured profile's per-layer times become samples of its device and runtime's predictor."""
        try:
            self.state.predictors.learn(samples_of(orjson.loads(body), self.settings.limits))
        except Exception:  # learning is a side effect: the measurement is answered whatever happens here
            log.exception("keeping a measured profile's samples failed")

    def _options(self, latency: DeviceLatency, batch_size: int) -> list[LatencyOptions]:
        """One measurement's options per device (cuda and cuda:0 are one) and runtime."""
        devices = dict.fromkeys(self.workers.pick(name) for name in latency.devices)
        return [
            latency.options(device, batch_size, runtime) for device in devices for runtime in self._runtimes(latency)
        ]

    def _runtimes(self, latency: DeviceLatency) -> list[str]:
        """The runtimes asked, each once; one this server does not offer is a 422."""
        offered = self.settings.runtimes
        for i, runtime in enumerate(latency.runtimes):
            if runtime not in offered:
                raise SpecError.at(
                    ("latency", "runtimes", i),
                    f"this server does not offer the {runtime} runtime (PROFILER_RUNTIMES: {', '.join(offered)})",
                )
        return list(dict.fromkeys(latency.runtimes))

    async def _wait(self, job: ProfileJob, is_disconnected: Callable[[], Awaitable[bool]]) -> None:
        """Wait for every device; a client that goes away, or a wait past the sync wait, cancels them all."""
        timeout_s = self.settings.sync_wait_s
        deadline = time.monotonic() + timeout_s
        try:
            while not job.done:
                if await is_disconnected():
                    job.cancel()
                    raise HTTPException(499, "the client went away; the measurement was cancelled")
                if time.monotonic() > deadline:
                    job.cancel()
                    raise HTTPException(
                        504,
                        f"latency measurement took longer than {timeout_s:.0f} s and was "
                        "cancelled; send latency.job = true to run it as a job",
                    )
                await asyncio.sleep(_POLL_S)
        except asyncio.CancelledError:
            job.cancel()
            raise

    # ---- compare ---------------------------------------------------------------------------------------

    async def compare(self, request: CompareRequest, is_disconnected: Callable[[], Awaitable[bool]]) -> Response:
        if request.latency is not None and request.latency.predict:
            predictors = self._predictors_for(request.latency)
            counted = await self._in_thread(
                "shapes",
                compare_predicted,
                request.a,
                request.b,
                request.batch_size,
                request.counter,
                self.settings.limits,
                request.align,
                predictors,
                request.latency.batch_size or request.batch_size,
            )
            ids = ",".join(p.id for p in predictors).encode()
            return await self._stored(counted, "compare", request_digest(request.model_dump_json().encode() + ids))
        if request.latency is not None:
            return await self._measured(
                request.counter, request.latency, self._submit_compare, request, is_disconnected
            )
        digest = request_digest(b"compare:" + request.model_dump_json().encode())
        counted = await self._in_thread(request.counter, self._compare_find_or_count, request, digest)
        return await self._stored(counted, "compare", digest)

    def _submit_compare(self, request: CompareRequest, latency: LatencyRequest) -> ProfileJob:
        """Count both, check each device and runtime's paired measurement, then queue them all or none."""
        body, summary, measurements = self._count_in_place(
            request.counter,
            compare_for_latency,
            request.a,
            request.b,
            request.batch_size,
            request.counter,
            self.settings.limits,
            request.align,
            self._options(latency, request.batch_size),
            dict(self.workers.roofs),
        )
        return self._queue(body, summary, measurements, latency, "compare")

    def _compare_find_or_count(self, request: CompareRequest, digest: str) -> Response | Encoded:
        found = self.store.find_request(digest)
        if found is not None:
            return stored_response(found, cached=True)
        return self._count_in_place(
            request.counter,
            compare_encoded,
            request.a,
            request.b,
            request.batch_size,
            request.counter,
            self.settings.limits,
            request.align,
        )

    # ---- sweeps ----------------------------------------------------------------------------------------

    async def sweep(self, request: SweepRequest, is_disconnected: Callable[[], Awaitable[bool]]) -> Response:
        """A count-only sweep is answered (and stored, or answered from the store when identical); one with
        latency is counted, then measured as a job (202). One sweep counts at a time (each takes every sweep
        process); a client that leaves while its sweep counts stops it."""
        latency = request.latency
        if latency is None or latency.predict:
            predictors = self._sweep_predictors(request)
            ids = ",".join(p.id for p in predictors).encode()
            digest = request_digest(b"sweep:" + request.model_dump_json().encode() + ids)
            verify = latency is not None and latency.verify > 0
            if verify:
                self.jobs.check_room()  # before its points are counted
                self._runtimes(latency)  # type: ignore[arg-type]
            else:
                recent = self.store.recall(digest)
                if recent is not None:
                    return stored_response(recent, cached=True)
            async with self.state.sweep_threads:
                if not verify:
                    found = await to_thread.run_sync(self.store.find_request, digest)
                    if found is not None:
                        return stored_response(found, cached=True)
                began = time.time()
                planned = await to_thread.run_sync(self._plan_sweep, request, request.layers or verify)
                chunked = await self._count_sweep(planned, request, began, is_disconnected, predictors)
                if not verify:
                    body = await to_thread.run_sync(
                        assemble, planned, request.batch_size, chunked, time.time() - began, predictors
                    )
            if not verify:
                errors = sum(c is None for _, costs in chunked for c in costs)
                return await to_thread.run_sync(self._add, "sweep", body, sweep_summary(planned, errors), digest)
            assert latency is not None
            costs = [c for _, chunk_costs in chunked for c in chunk_costs]
            front = sorted(pareto_front(costs), key=lambda i: costs[i][-1])  # type: ignore[index]
            job = await to_thread.run_sync(
                partial(self._sweep_job, request, latency, planned, chunked, began, verify=front[: latency.verify])
            )
            job.predictors = [p.describe() for p in predictors]
            self.jobs.add(job)
            return JSONResponse(job.status(), status_code=202, headers={"Location": f"/sweeps/{job.id}"})
        self.jobs.check_room()  # before its points are counted
        self._runtimes(latency)
        async with self.state.sweep_threads:
            began = time.time()
            planned = await to_thread.run_sync(self._plan_sweep, request, True)
            chunked = await self._count_sweep(planned, request, began, is_disconnected)
        job = await to_thread.run_sync(self._sweep_job, request, latency, planned, chunked, began)
        self.jobs.add(job)
        return JSONResponse(job.status(), status_code=202, headers={"Location": f"/sweeps/{job.id}"})

    def _sweep_predictors(self, request: SweepRequest) -> list[LatencyPredictor]:
        latency = request.latency
        if latency is None:
            return []
        if latency.batch_size is not None and latency.batch_size != request.batch_size:
            raise SpecError.at(
                ("latency", "batch_size"), "a predicted sweep predicts at the sweep's batch_size: leave this out"
            )
        return self._predictors_for(latency)

    def _plan_sweep(self, request: SweepRequest, detailed: bool) -> Sweep:
        """The checked sweep, its answer's estimated size within the limit, before any point is counted."""
        planned = plan_sweep(
            request.base, request.grid, request.points, self.settings.limits, detailed=detailed, memory=request.memory
        )
        check_answer_size(planned, request.batch_size, self.settings.limits, layers=request.layers)
        return planned

    async def _count_sweep(
        self,
        planned: Sweep,
        request: SweepRequest,
        began: float,
        is_disconnected: Callable[[], Awaitable[bool]],
        predictors: list[LatencyPredictor] | None = None,
    ) -> list[Chunk]:
        """``count_chunk`` over contiguous chunks of the sweep's points, in the sweep processes (in parallel), or, for a
        sweep larger than this host counts in about a second, in Ray tasks over the cluster's free CPUs. Each
        chunk stops at the count deadline; a client that goes away stops the sweep processes at once."""
        cluster, pool = self.state.cluster, self.state.sweeping
        limits = self.settings.limits
        cpus = cluster.free_cpus() if cluster is not None and len(planned) > self.settings.ray_sweep_points else 0
        ranges = chunks(len(planned), cpus or (pool.processes if pool else 1))
        tails = [(a, b, request.batch_size, limits, request.layers, began, predictors or ()) for a, b in ranges]
        counted: list[Chunk]
        if cpus:
            try:
                counted = await to_thread.run_sync(cluster.map, count_chunk, planned, tails)
            except ProfilerError:
                raise
            except Exception as exc:  # a node lost mid-sweep: nothing was stored, the request may be sent again
                raise HTTPException(
                    503, f"counting on the cluster failed ({type(exc).__name__}); retry", headers={"Retry-After": "2"}
                ) from None
            check_total(counted, limits)
            return counted
        args = [(planned, *tail) for tail in tails]
        if pool is None:
            counted = await to_thread.run_sync(lambda: [count_chunk(*a) for a in args])
            check_total(counted, limits)
            return counted
        futures = [asyncio.wrap_future(f) for f in pool.submit_many(count_chunk, args)]
        try:
            while True:
                _, pending = await asyncio.wait(futures, timeout=_DISCONNECT_POLL_S)
                if not pending:
                    break
                if await is_disconnected():
                    log.info("a sweep of %d points was stopped: its client went away", len(planned))
                    raise HTTPException(499, "the client went away; the sweep was stopped")
        except BaseException:
            await pool.abandon(futures)  # the chunks still counting stop at their next point
            raise
        counted = pool.results(futures)
        check_total(counted, limits)
        return counted

    def _sweep_job(
        self,
        request: SweepRequest,
        latency: DeviceLatency,
        planned: Sweep,
        chunked: list[Chunk],
        began: float,
        verify: list[int] | None = None,
    ) -> SweepJob:
        """Check each device (a device this host lacks is a 422 here, not an error per point), then start
        measuring the counted points."""
        # Each name's devices (every device of a kind), each once: cuda and cuda:0 are one.
        devices = dict.fromkeys(device for name in latency.devices for device in self.workers.expand(name))
        runtimes = self._runtimes(latency)
        options = [latency.options(device, request.batch_size, runtime) for device in devices for runtime in runtimes]
        job = SweepJob(
            planned,
            request.batch_size,
            [p for points, _ in chunked for p in points],
            [c for _, costs in chunked for c in costs],
            options,
            self.workers,
            self.settings.limits,
            store=self.store,
            count_seconds=time.time() - began,
            verify=verify,
        )
        job.start()
        return job

    def sweep_points_csv(self, sweep_id: str) -> Response:
        """A sweep's points as CSV: as stored, or as they stand while (or after) it is measured and unstored."""
        stored = self.store.get(sweep_id)
        if stored is not None and stored.kind == "sweep":
            return self.layers_csv(stored)
        job = self.jobs.get(sweep_id)
        if not isinstance(job, SweepJob):
            raise HTTPException(404, f"no sweep {sweep_id!r}; GET /profiles?kind=sweep lists the stored ones")
        return Response(
            job.points_csv(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{sweep_id}.csv"'},
        )

    def sweep_result(self, sweep_id: str, offset: int = 0, limit: int | None = None) -> Response:
        """A sweep's answer: as it stands while it is measured (a page of its points when asked), then as stored."""
        job = self.jobs.get(sweep_id)
        if isinstance(job, SweepJob) and not job.saved:
            return Response(job.result(offset, limit), media_type="application/json")
        stored = self.store.get(sweep_id)
        if stored is None or stored.kind != "sweep":
            raise HTTPException(404, f"no sweep {sweep_id!r}; GET /profiles?kind=sweep lists the stored ones")
        return Response(stored.body, media_type="application/json")

    def delete_sweep(self, sweep_id: str) -> Response:
        """Cancel a sweep being measured (its answer so far stays readable, nothing is stored), or remove a
        stored one."""
        job = self.jobs.get(sweep_id)
        if isinstance(job, SweepJob) and not job.done:
            job.cancel()
            return Response(job.status_body(), media_type="application/json")
        stored = self.store.get(sweep_id)
        if stored is None or stored.kind != "sweep" or not self.store.delete(sweep_id):
            raise HTTPException(404, f"no sweep {sweep_id!r}; GET /profiles?kind=sweep lists the stored ones")
        return Response(status_code=204)

    # ---- export ----------------------------------------------------------------------------------------

    async def export_onnx(self, spec: ModelSpec, batch_size: int) -> bytes:
        """A traced export allocates the model and runs a forward: where fvcore's traced forwards run (their
        own processes, memory cap and deadline), never in the server."""
        return await self._in_thread(
            "fvcore", self._count_in_place, "fvcore", spec_onnx, spec, batch_size, self.settings.limits
        )

    # ---- stored results --------------------------------------------------------------------------------

    def layers_csv(self, stored: Stored) -> Response:
        text = self._count_in_place("shapes", layers_csv, stored.kind, stored.body)  # decoded away from here
        return Response(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{stored.id}.csv"'},
        )

    # ---- devices ---------------------------------------------------------------------------------------

    def devices(self) -> list[dict[str, Any]]:
        return self.workers.describe()

    # ---- predictors ------------------------------------------------------------------------------------

    def calibrate(self, request: CalibrationRequest) -> JSONResponse:
        """Check the device and runtime as a measurement would be, then start the calibration job."""
        if request.budget_s > self.settings.max_calibration_s:
            raise SpecError.at(
                ("budget_s",),
                f"at most {self.settings.max_calibration_s:g} s (PROFILER_MAX_CALIBRATION_S)",
            )
        self.jobs.check_room()
        device = self.workers.pick(request.device)
        self._runtimes(DeviceLatency(runtimes=[request.runtime]))
        try:  # the measurement's own checks (threads within this host's cores), in the request's terms
            options = LatencyOptions(
                device=device,
                runtime=request.runtime,
                dtype=request.dtype,
                threads=request.threads,
                budget_s=request.design_budget_s,
                per_layer=True,
            )
        except ValidationError as exc:
            names = {"budget_s": "design_budget_s"}
            raise SpecError([(tuple(names.get(str(p), p) for p in e["loc"]), e["msg"]) for e in exc.errors()]) from None
        limits = self.settings.limits
        limits.check("max_budget_s", request.design_budget_s, ("design_budget_s",), "design_budget_s")
        job = CalibrationJob(
            options,
            request.budget_s,
            tuple(request.batch_sizes),
            request.max_macs,
            request.max_designs,
            request.seed,
            self.workers,
            self.state.predictors,
            limits,
        )
        running = self.state.predictors.claim(device, job)
        if running is not None:
            raise HTTPException(
                409,
                f"a calibration is already running on {device} (job {running.id}): wait for it (GET /jobs/"
                f"{running.id}) or stop it (DELETE /jobs/{running.id})",
            )
        try:
            self.jobs.add(job)
        except Exception:
            self.state.predictors.release(device, job)
            raise
        job.start()
        return JSONResponse(job.status(), status_code=202, headers={"Location": f"/jobs/{job.id}"})

    def list_predictors(self) -> dict[str, Any]:
        predictors = self.state.predictors
        counts = predictors.store.sample_counts()
        return {
            "predictors": [
                {**p.describe(), "samples_stored": counts.get(p.key, 0)} for p in reversed(predictors.all())
            ],
            "samples": [{**dataclasses.asdict(key), "designs": n} for key, n in counts.items()],
        }

    def _predictor(self, predictor_id: str) -> LatencyPredictor:
        found = self.state.predictors.get(predictor_id)
        if found is None:
            raise HTTPException(404, f"no predictor {predictor_id!r}; GET /predictors lists them")
        return found

    def predictor(self, predictor_id: str) -> dict[str, Any]:
        predictor = self._predictor(predictor_id)
        return {**predictor.describe(), "held_out": predictor.held_out}

    def refit_predictor(self, predictor_id: str) -> dict[str, Any]:
        predictor = self._predictor(predictor_id)
        return self.state.predictors.refit(predictor.key).describe()

    def delete_predictor(self, predictor_id: str) -> None:
        if not self.state.predictors.delete(predictor_id):
            raise HTTPException(404, f"no predictor {predictor_id!r}; GET /predictors lists them")

    # ---- jobs ------------------------------------------------------------------------------------------

    def _job(self, job_id: str) -> AnyJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r} (jobs are kept in memory and lost on restart)")
        return job

    def job_status(self, job_id: str) -> Response:
        return Response(self._job(job_id).status_body(), media_type="application/json")

    def cancel_job(self, job_id: str) -> Response:
        job = self._job(job_id)
        if job.done:  # a finished job stays as it finished (its result may be stored)
            raise HTTPException(409, f"job {job_id!r} has already finished; GET /jobs/{job_id} gives its result")
        job.cancel()
        return Response(job.status_body(), media_type="application/json")


def get_service(http: Request, settings: SettingsDep) -> ProfileService:
    return ProfileService(http.app.state, settings)


ServiceDep = Annotated[ProfileService, Depends(get_service)]
