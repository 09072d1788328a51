"""POST /compare: two specs side by side (the depthwise-vs-normal-convolution question)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from ..schemas import COMPARE_EXAMPLES, CompareRequest
from ..services import ServiceDep

router = APIRouter(tags=["compare"])


@router.post("/compare", responses={422: {"description": "either spec cannot be built, or is over a limit"}})
async def compare_specs(
    request: Annotated[CompareRequest, Body(openapi_examples=COMPARE_EXAMPLES)], http: Request, service: ServiceDep
) -> Response:
    """Both reports, the ratio b/a of every total, and per-layer alignment where layer names match; stored
    under its ``id`` like a profile, and an identical request is answered from the store (``cached``). With
    ``latency``, A and B are measured against each other on each device and runtime (``latency``: one entry
    each, ``b_over_a`` with its ``ci95`` and ``verdict``)."""
    return await service.compare(request, http.is_disconnected)
