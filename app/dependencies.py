"""Shared objects of the running application, as ``Annotated`` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from profiler import DeviceWorkers

from .cache import ResponseCache
from .jobs import JobStore


def get_workers(request: Request) -> DeviceWorkers:
    return request.app.state.workers


def get_jobs(request: Request) -> JobStore:
    return request.app.state.jobs


def get_cache(request: Request) -> ResponseCache:
    return request.app.state.cache


CacheDep = Annotated[ResponseCache, Depends(get_cache)]
WorkersDep = Annotated[DeviceWorkers, Depends(get_workers)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
