"""Shared objects of the running application, as ``Annotated`` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from profiler import DeviceWorkers

from .jobs import JobStore
from .store import ResultStore


def get_workers(request: Request) -> DeviceWorkers:
    return request.app.state.workers


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def get_store(request: Request) -> ResultStore:
    return request.app.state.store


StoreDep = Annotated[ResultStore, Depends(get_store)]
WorkersDep = Annotated[DeviceWorkers, Depends(get_workers)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
