"""What the service can time on: this host's devices, or (PROFILER_BACKEND=ray) every device of the cluster."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..services import ServiceDep

router = APIRouter(tags=["devices"])


@router.get("/devices")
def devices(service: ServiceDep) -> list[dict[str, Any]]:
    """What the service can time on: name, memory, versions, CPU model and threads; the measured roofs (peak
    FLOP/s per dtype, copy bytes/s) once the device has been used, and how many measurements wait for it. With
    PROFILER_BACKEND=ray, every device of the cluster: its id (``<node>/cpu``, ``<node>/cuda:<i>``, as a request
    names it), node, host, kind (CPU model, GPU name) and state."""
    return service.devices()
