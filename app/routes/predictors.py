"""Latency predictors: calibrate one (a job), list them with their accuracy, read one (its held-out designs,
predicted against measured), fit one again from its samples, remove one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ..schemas import CalibrationRequest
from ..services import ServiceDep

router = APIRouter(prefix="/predictors", tags=["predictors"])

_UNKNOWN: dict[int | str, dict[str, Any]] = {404: {"description": "no such predictor"}}


@router.post(
    "",
    status_code=202,
    responses={
        202: {"description": "the calibration job: poll GET /jobs/{id}"},
        409: {"description": "a calibration is already running on that device"},
    },
)
def calibrate(request: CalibrationRequest, service: ServiceDep) -> JSONResponse:
    """Measure designs drawn around the presets on one device and runtime (per layer, in context) until
    ``budget_s`` is spent, then fit a predictor and measure its accuracy on designs it did not fit on. Poll
    ``GET /jobs/{id}`` (designs measured so far); ``DELETE /jobs/{id}`` stops it (what was measured is kept as
    samples). Then ``"latency": {"predict": true}`` on /profile, /compare and /sweep uses it."""
    return service.calibrate(request)


@router.get("")
def list_predictors(service: ServiceDep) -> dict[str, Any]:
    """Every predictor (the newest per device, runtime, dtype and threads) with its held-out accuracy and data,
    the samples stored per key, and the calibrations running."""
    return service.list_predictors()


@router.get("/{predictor_id}", responses=_UNKNOWN)
def get_predictor(predictor_id: str, service: ServiceDep) -> dict[str, Any]:
    """One predictor, with each held-out design's measured and predicted latency (a scatter)."""
    return service.predictor(predictor_id)


@router.post("/{predictor_id}/refit", responses=_UNKNOWN)
def refit(predictor_id: str, service: ServiceDep) -> dict[str, Any]:
    """Fit it again on every sample stored for its key (calibrations and measured profiles since)."""
    return service.refit_predictor(predictor_id)


@router.delete("/{predictor_id}", status_code=204, responses=_UNKNOWN)
def delete(predictor_id: str, service: ServiceDep) -> Response:
    service.delete_predictor(predictor_id)
    return Response(status_code=204)
