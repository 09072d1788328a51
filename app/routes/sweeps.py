"""POST /sweep: one base spec, many variants; their totals, the Pareto front, and latency as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from ..schemas import SWEEP_EXAMPLES, SweepRequest
from ..services import ServiceDep

router = APIRouter(tags=["sweeps"])

_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "no sweep with this id"}}


@router.post(
    "/sweep",
    responses={
        200: {"description": "every point's totals (or its error) and the Pareto front; stored under its id"},
        202: {"description": "with latency: the sweep runs as a job; GET /jobs/{id} or GET /sweeps/{id}"},
        422: {"description": "a base that is not a valid spec, a field path it lacks, or too many points"},
    },
)
async def sweep(
    request: Annotated[SweepRequest, Body(openapi_examples=SWEEP_EXAMPLES)], http: Request, service: ServiceDep
) -> Response:
    """Count every variant of a base spec (a grid's combinations and explicit points): totals only, unless
    ``layers``; a point whose spec is invalid carries its own ``error``. ``pareto`` holds the indices of the
    points no other point beats on MACs, parameters and, when measured, latency. With ``latency`` the points
    are measured as a job, spread over the devices asked. The answer's size is estimated before counting and
    refused past PROFILER_MAX_RESPONSE_BYTES; counting stops after PROFILER_COUNT_TIMEOUT_S, or when the client
    goes away."""
    return await service.sweep(request, http.is_disconnected)


@router.get("/sweeps/{sweep_id}", responses=_UNKNOWN)
def get_sweep(
    sweep_id: str,
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0, le=10**9, description="first point of the page")] = 0,
    limit: Annotated[int | None, Query(ge=1, le=10**6, description="points in the page (all when unset)")] = None,
) -> Response:
    """A sweep's answer; while its points are measured, the answer so far (``state``, ``points_measured``).
    ``offset`` and ``limit`` page the points of a sweep its job still holds (running, cancelled, or not stored);
    a stored sweep is answered as stored."""
    return service.sweep_result(sweep_id, offset, limit)


@router.get("/sweeps/{sweep_id}/points.csv", responses={200: {"content": {"text/csv": {}}}, **_UNKNOWN})
def sweep_csv(sweep_id: str, service: ServiceDep) -> Response:
    """One row per point: the values it sets, its totals or error, on the Pareto front or not, its latency (the
    points measured so far while a sweep runs, or when it was cancelled)."""
    return service.sweep_points_csv(sweep_id)


@router.delete("/sweeps/{sweep_id}", responses=_UNKNOWN)
def delete_sweep(sweep_id: str, service: ServiceDep) -> Response:
    """Cancel a sweep being measured (200 with its status), or remove a stored one (204)."""
    return service.delete_sweep(sweep_id)
