"""Shared objects of the running application, as ``Annotated`` dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .store import ResultStore


def get_store(request: Request) -> ResultStore:
    return request.app.state.store


StoreDep = Annotated[ResultStore, Depends(get_store)]
