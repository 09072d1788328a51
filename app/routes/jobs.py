"""Latency jobs: progress, result, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ..services import ServiceDep

router = APIRouter(prefix="/jobs", tags=["jobs"])

_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such job (jobs are kept in memory, not across restarts)"}
}


@router.get("/{job_id}", responses=_UNKNOWN)
def job_status(job_id: str, service: ServiceDep) -> Response:
    """State, per-device progress (steps done / total: the whole forward, then each layer), and the report
    once every device is done."""
    return service.job_status(job_id)


@router.delete("/{job_id}", responses=_UNKNOWN)
def cancel_job(job_id: str, service: ServiceDep) -> Response:
    return service.cancel_job(job_id)
