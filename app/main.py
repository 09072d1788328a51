"""Assemble the application: routers and error handlers."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from profiler import DeviceWorkers
from profiler.cluster import RayCluster

from . import errors
from .counting import CountingProcesses
from .jobs import JobStore
from .middleware import BodySizeLimit, JsonBodyCheck, RequireToken
from .predictor_store import PredictorStore
from .predictors import Predictors
from .routes import (
    compare,
    dashboard,
    devices,
    docs,
    export,
    health,
    jobs,
    predictors,
    presets,
    profile,
    profiles,
    sweeps,
)
from .settings import Settings, get_settings
from .store import ResultStore

log = logging.getLogger("uvicorn.error")  # uvicorn's own logger: shown wherever its messages are


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.store.open()  # a store path that cannot be written fails the start, not the first request
    app.state.store.check_writable()  # ... nor an existing store on a read-only mount
    await run_in_threadpool(app.state.predictors.load)
    if app.state.counting is not None:
        await run_in_threadpool(app.state.counting.start)
    # The many objects of torch, fvcore and the app's imports live as long as the process: keep them out of
    # the collector's full passes, which otherwise walk them all and set the tail latency (p99 x4 measured).
    gc.freeze()
    yield
    # Uvicorn has let the requests in flight finish; latency jobs get a grace, then are cancelled.
    grace_s = app.state.settings.shutdown_grace_s
    running, cancelled = await run_in_threadpool(app.state.jobs.finish, grace_s)
    if running:
        log.info("shutdown: %d latency job(s) were in flight; %d cancelled after %g s", running, cancelled, grace_s)
    await run_in_threadpool(app.state.workers.shutdown)  # it joins the worker threads: off the event loop
    if app.state.cluster is not None:
        await run_in_threadpool(app.state.cluster.shutdown)
    if app.state.counting is not None:
        app.state.counting.shutdown()
    app.state.fvcore_counting.shutdown()
    if app.state.sweeping is not None:
        app.state.sweeping.shutdown()
    app.state.store.close()
    app.state.predictors.store.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        title="Architecture profiler",
        summary="Per-layer MACs, FLOPs, parameters, activations and measured latency of mobile CNNs from a JSON spec.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from vendored assets
        redoc_url=None,
        responses={
            400: {"description": "the body could not be read as JSON"},
            401: {"description": "missing or wrong API token (only when PROFILER_API_TOKEN is set)"},
            413: {"description": "request body over PROFILER_MAX_BODY_BYTES"},
        },
    )
    if settings is None:
        settings = get_settings()
    else:
        app.dependency_overrides[get_settings] = lambda: settings
    app.state.settings = settings
    app.state.cluster = (
        RayCluster(settings.ray_address, settings.ray_cpu_resource) if settings.backend == "ray" else None
    )
    app.state.workers = _devices(settings, app.state.cluster)
    app.state.jobs = JobStore(settings.max_jobs)
    app.state.store = ResultStore(  # opened at startup or on first use
        settings.store_path,
        settings.memory_results,
        memory_bytes=settings.memory_results_bytes,
        max_bytes=settings.store_max_bytes,
        max_age_s=settings.store_max_age_days * 86_400 if settings.store_max_age_days else None,
        max_result_share=settings.store_max_result_share,
    )
    app.state.predictors = Predictors(PredictorStore(settings.store_path, settings.predictor_sample_bytes))
    app.state.fvcore_slots = threading.BoundedSemaphore(settings.fvcore_concurrency)  # fvcore traces at once
    # Counting is pure Python: threads add no parallelism under the GIL, only switching. A few threads keep
    # the event loop free; more made p99 almost twice as long at the same rate (bench/results/load.txt).
    app.state.counting_threads = CapacityLimiter(settings.counting_threads)
    app.state.counting_slots = asyncio.Semaphore(settings.counting_threads)  # counts in flight, awaited
    app.state.counting = CountingProcesses(settings.counting_processes) if settings.counting_processes else None
    # fvcore's traced forwards: their own processes, each allowed the memory of one forward.
    app.state.sweeping = (
        CountingProcesses(settings.sweep_processes, settings.sweep_memory_bytes, name="sweep counting")
        if settings.sweep_processes
        else None
    )
    app.state.sweep_threads = CapacityLimiter(1)  # one count-only sweep at a time: each takes every process
    app.state.fvcore_counting = CountingProcesses(
        settings.fvcore_concurrency, memory_bytes=settings.max_activation_bytes, name="fvcore counting"
    )
    app.add_middleware(JsonBodyCheck, max_depth=settings.max_json_depth, timeout_s=settings.body_timeout_s)
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )  # outside the check: it reads the body
    if settings.api_token:
        app.add_middleware(RequireToken, token=settings.api_token)
    if settings.cors_origins:  # outermost, so browsers get CORS headers on 401 and 413 too
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    app.include_router(profile.router)
    app.include_router(compare.router)
    app.include_router(sweeps.router)
    app.include_router(export.router)  # before profiles: /profiles/{id}/model.onnx is its route
    app.include_router(profiles.router)
    app.include_router(jobs.router)
    app.include_router(devices.router)
    app.include_router(predictors.router)
    app.include_router(presets.router)
    app.include_router(health.router)
    app.include_router(dashboard.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=dashboard.STATIC_DIR), name="static")
    errors.install(app)
    return app


def _devices(settings: Settings, cluster: RayCluster | None) -> DeviceWorkers:
    """Where measurements run: this host's devices, or (ray) every device of the cluster."""
    if cluster is None:
        return DeviceWorkers(
            settings.timing_queue_size, isolated=settings.timing_process, memory_bytes=settings.max_timing_bytes
        )
    from profiler.cluster.devices import ClusterDevices  # imports Ray, there only when asked for

    return ClusterDevices(
        cluster,
        settings.timing_queue_size,
        memory_bytes=settings.max_timing_bytes,
        cpu_threads=settings.ray_cpu_threads,
    )


app = create_app()
