"""POST /profile: spec -> per-layer report."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import JSONResponse

from profiler import profile

from ..schemas import PROFILE_EXAMPLES, ProfileRequest, ReportOut
from ..settings import SettingsDep

router = APIRouter(tags=["profile"])

_fvcore_slots: threading.BoundedSemaphore | None = None
_fvcore_lock = threading.Lock()


def _fvcore_semaphore(n: int) -> threading.BoundedSemaphore:
    global _fvcore_slots
    with _fvcore_lock:
        if _fvcore_slots is None:
            _fvcore_slots = threading.BoundedSemaphore(n)
        return _fvcore_slots


@router.post(
    "/profile",
    response_model=ReportOut,
    responses={422: {"description": "a spec that cannot be built, or is over a limit"},
               503: {"description": "the fvcore counter is busy; retry after Retry-After seconds"}},
)  # fmt: skip
def profile_spec(
    request: Annotated[ProfileRequest, Body(openapi_examples=PROFILE_EXAMPLES)], settings: SettingsDep
) -> JSONResponse:
    """Count a spec layer by layer: MACs, FLOPs, fvcore's flops, parameters and activations.

    A plain ``def``: FastAPI runs it in its thread pool, never on the event loop.
    """
    if request.counter == "fvcore":
        slots = _fvcore_semaphore(settings.fvcore_concurrency)
        if not slots.acquire(timeout=settings.fvcore_wait_s):
            raise HTTPException(503, "the fvcore counter is busy; retry later or use counter=shapes",
                                headers={"Retry-After": "5"})  # fmt: skip
        try:
            report = profile(request.spec(), batch_size=request.batch_size, counter="fvcore", limits=settings.limits())
        finally:
            slots.release()
    else:
        report = profile(request.spec(), batch_size=request.batch_size, limits=settings.limits())
    # Built by the core as plain data; skipping response re-validation keeps a count in milliseconds.
    return JSONResponse(report.to_dict())
