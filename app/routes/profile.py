"""POST /profile: spec -> per-layer report, with measured latency when asked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from ..schemas import PROFILE_EXAMPLES, ProfileRequest, ReportOut
from ..services import ServiceDep

router = APIRouter(tags=["profile"])


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
    request: Annotated[ProfileRequest, Body(openapi_examples=PROFILE_EXAMPLES)], http: Request, service: ServiceDep
) -> Response:
    """Count a spec layer by layer (MACs, FLOPs, fvcore's flops, parameters, activations) and, with
    ``latency``, measure it on each requested device. Every answer is stored under its ``id``
    (``GET /profiles/{id}``); an identical count-only request is answered from the store (``cached``)."""
    return await service.profile(request, http.is_disconnected)
