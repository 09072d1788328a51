"""POST /sweep: one base spec, many variants; their totals, the Pareto front, and latency as a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
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
    request: Annotated[SweepRequest, Body(openapi_examples=SWEEP_EXAMPLES)], service: ServiceDep
) -> Response:
    """Count every variant of a base spec (a grid's combinations and explicit points): totals only, unless
    ``layers``; a point whose spec is invalid carries its own ``error``. ``pareto`` holds the indices of the
    points no other point beats on MACs, parameters and, when measured, latency. With ``latency`` the points
    are measured as a job, spread over the devices asked."""
    return await service.sweep(request)


@router.get("/sweeps/{sweep_id}", responses=_UNKNOWN)
def get_sweep(sweep_id: str, service: ServiceDep) -> Response:
    """A sweep's answer; while its points are measured, the answer so far (``state``, ``points_measured``)."""
    return service.sweep_result(sweep_id)


@router.get("/sweeps/{sweep_id}/points.csv", responses={200: {"content": {"text/csv": {}}}, **_UNKNOWN})
def sweep_csv(sweep_id: str, service: ServiceDep) -> Response:
    """One row per point: the values it sets, its totals or error, on the Pareto front or not, its latency (the
    points measured so far while a sweep runs, or when it was cancelled)."""
    return service.sweep_points_csv(sweep_id)


@router.delete("/sweeps/{sweep_id}", responses=_UNKNOWN)
def delete_sweep(sweep_id: str, service: ServiceDep) -> Response:
    """Cancel a sweep being measured (200 with its status), or remove a stored one (204)."""
    return service.delete_sweep(sweep_id)
