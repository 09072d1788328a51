"""What this host can time on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..services import ServiceDep

router = APIRouter(tags=["devices"])


@router.get("/devices")
def devices(service: ServiceDep) -> list[dict[str, Any]]:
    """What this host can time on: name, memory, versions, CPU model and threads; the measured roofs (peak
    FLOP/s per dtype, copy bytes/s) once the device has been used, and how many measurements wait for it."""
    return service.devices()
