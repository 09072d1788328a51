"""POST /profile: spec -> per-layer report, with measured latency when asked."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter

from profiler import DeviceBusyError, Job, LatencyOptions, Report, latency_measurement, profile

from ..counting import count_encoded, fvcore_slot, limiter_for, run_count
from ..dependencies import JobsDep, StoreDep, WorkersDep
from ..jobs import ProfileJob
from ..schemas import PROFILE_EXAMPLES, LatencyRequest, ProfileRequest, ReportOut
from ..settings import Settings, SettingsDep
from ..store import ResultStore, profile_summary, request_digest, stored_response

router = APIRouter(tags=["profile"])
_REQUEST_JSON = TypeAdapter(ProfileRequest)

def _count(request: ProfileRequest, settings: Settings, fvcore_slots: threading.Semaphore) -> Report:
    """Blocking work: runs in the thread pool, never on the event loop, never behind a timing job."""
    if request.counter != "fvcore":
        return profile(request.spec(), batch_size=request.batch_size, limits=settings.limits())
    with fvcore_slot(fvcore_slots, settings.fvcore_wait_s):
        return profile(request.spec(), batch_size=request.batch_size, counter="fvcore", limits=settings.limits())


def _count_stored(request: ProfileRequest, digest: str, settings: Settings, state: Any,
                  store: ResultStore) -> Response:  # fmt: skip
    """A count-only request: the stored answer to an identical request, or a new count, stored first."""
    found = store.find_request(digest)
    if found is not None:
        return stored_response(found, cached=True)
    body, summary = run_count(state, settings, request.counter, count_encoded, request.spec(), request.batch_size,
                              request.counter, settings.limits())  # fmt: skip
    return stored_response(store.add_encoded("profile", body, summary=summary, request=digest), cached=False)


def _options(latency: LatencyRequest, device: str, batch_size: int) -> LatencyOptions:
    return LatencyOptions(
        device=device,
        batch_size=latency.batch_size or batch_size,
        dtype=latency.dtype,
        channels_last=latency.channels_last,
        cuda_graph=latency.cuda_graph and device != "cpu",
        per_layer=latency.per_layer,
        warmup=latency.warmup,
        min_repeats=latency.min_repeats,
        target_ci=latency.target_ci,
        budget_s=latency.budget_s,
        threads=latency.threads,
    )


@router.post(
    "/profile",
    response_model=ReportOut,
    responses={
        202: {"description": "latency job accepted (latency.job = true): poll GET /jobs/{id}"},
        422: {"description": "a spec that cannot be built, a device this host lacks, or a limit passed"},
        503: {"description": "the device's queue (or the fvcore counter) is full; retry after Retry-After"},
        504: {"description": "a synchronous latency measurement outlived PROFILER_SYNC_WAIT_S; it was cancelled"},
    },
)
async def profile_spec(
    request: Annotated[ProfileRequest, Body(openapi_examples=PROFILE_EXAMPLES)],
    http: Request,
    settings: SettingsDep,
    workers: WorkersDep,
    jobs: JobsDep,
    store: StoreDep,
) -> Response:
    """Count a spec layer by layer (MACs, FLOPs, fvcore's flops, parameters, activations) and, with
    ``latency``, measure it on each requested device. Every answer is stored under its ``id``
    (``GET /profiles/{id}``); an identical count-only request is answered from the store (``cached``)."""
    latency = request.latency
    limiter = limiter_for(request.counter, http.app.state.counting_threads)
    if latency is None:
        digest = request_digest(b"profile:" + _REQUEST_JSON.dump_json(request))
        recent = store.recall(digest)  # answered on the event loop: no thread hop, no wait on the database
        if recent is not None:
            return stored_response(recent, cached=True)
        return await to_thread.run_sync(_count_stored, request, digest, settings, http.app.state, store,
                                        limiter=limiter)  # fmt: skip
    report = await to_thread.run_sync(_count, request, settings, http.app.state.fvcore_slots, limiter=limiter)

    measurements = [
        (device, latency_measurement(report, _options(latency, device, request.batch_size), settings.limits()))
        for device in dict.fromkeys(latency.devices)
    ]
    submitted: list[Job] = []
    try:
        for device, measure in measurements:
            submitted.append(workers.submit(device, measure, expected_s=latency.budget_s))
    except DeviceBusyError:
        for job in submitted:
            job.cancel()
        raise
    profile_job = ProfileJob(report.to_dict(), submitted, save=_saver(store))
    profile_job.start()
    if latency.job:
        jobs.add(profile_job)
        return JSONResponse(profile_job.status(), status_code=202, headers={"Location": f"/jobs/{profile_job.id}"})
    return JSONResponse(await _wait(profile_job, http, settings.sync_wait_s))


async def _wait(job: ProfileJob, http: Request, timeout_s: float) -> dict[str, Any]:
    """Wait for every device; a client that goes away, or a wait past ``timeout_s``, cancels them all."""
    deadline = time.monotonic() + timeout_s
    try:
        while not job.done:
            if await http.is_disconnected():
                job.cancel()
                return {}
            if time.monotonic() > deadline:
                job.cancel()
                raise HTTPException(504, f"latency measurement took longer than {timeout_s:.0f} s and was "
                                    "cancelled; send latency.job = true to run it as a job")  # fmt: skip
            await asyncio.sleep(0.05)
    except asyncio.CancelledError:
        job.cancel()
        raise
    return {"cached": False, **(job.saved or job.result())}


def _saver(store: ResultStore):
    def save(job: ProfileJob, result: dict[str, Any]) -> dict[str, Any]:
        return json.loads(store.add("profile", result, summary=profile_summary(result), result_id=job.id).body)

    return save
