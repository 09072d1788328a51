"""Latency jobs: progress, result, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from ..dependencies import JobsDep
from ..jobs import ProfileJob

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _job(jobs: JobsDep, job_id: str) -> ProfileJob:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (jobs are kept in memory and lost on restart)")
    return job


_UNKNOWN = {404: {"description": "no such job (jobs are kept in memory, not across restarts)"}}


@router.get("/{job_id}", responses=_UNKNOWN)
def job_status(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """State, per-device progress (steps done / total: the whole forward, then each layer), and the report
    once every device is done."""
    return _job(jobs, job_id).status()


@router.delete("/{job_id}", responses=_UNKNOWN)
def cancel_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    job = _job(jobs, job_id)
    job.cancel()
    return job.status()
