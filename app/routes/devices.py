from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from profiler import describe_devices

router = APIRouter(tags=["devices"])


@router.get("/devices")
def devices() -> list[dict[str, Any]]:
    """What this host can time on: name, memory, versions, CPU model and threads."""
    return describe_devices()
