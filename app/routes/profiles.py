"""Stored results: one by id (JSON or per-layer CSV), and the list, newest first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from ..dependencies import StoreDep
from ..schemas import ProfileList
from ..services import ServiceDep
from ..store import Kind, Stored

router = APIRouter(prefix="/profiles", tags=["profiles"])

_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "no stored result with this id"}}


def _stored(store: StoreDep, result_id: str) -> Stored:
    found = store.get(result_id)
    if found is None:
        raise HTTPException(
            404,
            f"no stored result {result_id!r}; GET /profiles lists the stored ones (a latency "
            "job is stored under its id once done: GET /jobs/{id} until then)",
        )
    return found


def _seconds(field: str, text: str | None, *, end: bool = False) -> float | None:
    """Unix seconds of a date or an ISO time (UTC unless it names a zone); a date's end is the next midnight."""
    if text is None:
        return None
    try:
        if len(text) == 10:  # a date: 2026-11-24
            day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta())
            return datetime.combine(day, time(), timezone.utc).timestamp()
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()
    except (ValueError, OverflowError):  # not a date, or one past what a timestamp holds (9999-12-31 + 1 day)
        raise HTTPException(
            422,
            [
                {
                    "type": "value_error",
                    "loc": ["query", field],
                    "msg": f"{text!r} is not a date (2026-11-24) or an ISO time (2026-11-24T09:30:00Z)",
                }
            ],
        ) from None


@router.get("", response_model=ProfileList)
def list_profiles(
    store: StoreDep,
    name: Annotated[str | None, Query(max_length=200, description="part of the name, any case")] = None,
    kind: Kind | None = None,
    since: Annotated[
        str | None,
        Query(max_length=40, description="stored at or after: a date (2026-11-24) or an ISO time (UTC if no zone)"),
    ] = None,
    until: Annotated[
        str | None,
        Query(max_length=40, description="stored before; a date means its end (until=2026-11-24 keeps that day)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> ProfileList:
    """Stored profiles, comparisons and sweeps, newest first, one page at a time."""
    total, items = store.list(
        limit=limit,
        offset=offset,
        name=name,
        kind=kind,
        since=_seconds("since", since),
        until=_seconds("until", until, end=True),
    )
    return ProfileList(total=total, limit=limit, offset=offset, items=items)


@router.get("/{result_id}", responses={200: {"description": "the stored response body, as it was sent"}, **_UNKNOWN})
def get_profile(result_id: str, store: StoreDep) -> Response:
    return Response(_stored(store, result_id).body, media_type="application/json")


@router.delete("/{result_id}", status_code=204, responses=_UNKNOWN)
def delete_profile(result_id: str, store: StoreDep) -> Response:
    """Remove a stored result (its id then answers 404; an identical request is counted again)."""
    if not store.delete(result_id):
        raise HTTPException(404, f"no stored result {result_id!r}; GET /profiles lists the stored ones")
    return Response(status_code=204)


@router.get("/{result_id}/layers.csv", responses={200: {"content": {"text/csv": {}}}, **_UNKNOWN})
def export_layers(result_id: str, store: StoreDep, service: ServiceDep) -> Response:
    """Per-layer CSV: a profile's layers (with per-layer latency and roofline columns where measured), a
    comparison's aligned layers with a's and b's figures side by side, or a sweep's points, one row each."""
    return service.layers_csv(_stored(store, result_id))
