"""Map the core's typed errors to 4xx responses whose ``detail`` names the field and the reason, in the
shape FastAPI uses for its own validation errors."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from profiler import ClusterUnavailableError, DeviceBusyError, DeviceUnavailableError, LimitError, SpecError
from profiler.spec.problems import clean_errors

from .jobs import JobsFull
from .settings import ENV_PREFIX
from .store import StoreUnavailable


def _body_loc(loc: tuple) -> list:
    return ["body", *loc]


async def spec_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpecError)
    detail = [{"type": "spec", "loc": _body_loc(loc), "msg": msg} for loc, msg in exc.problems]
    return JSONResponse({"detail": detail}, status_code=422)


async def limit_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LimitError)
    env = ENV_PREFIX + exc.setting.upper()
    msg = f"{exc}; the server's operator can raise it with the environment variable {env}"
    return JSONResponse({"detail": [{"type": "limit", "loc": _body_loc(exc.loc), "msg": msg}]}, status_code=422)


async def device_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeviceUnavailableError)
    detail = [{"type": "device", "loc": ["body", "latency", "devices"], "msg": str(exc)}]
    return JSONResponse({"detail": detail}, status_code=422)


async def device_busy(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DeviceBusyError)
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after_s)})


async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    detail = f"{exc}; the answer was not kept: send the request again once the server's operator has made room"
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "30"})


async def jobs_full(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "10"})


async def cluster_unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "10"})


def _json_safe(value: Any) -> bool:
    try:
        json.dumps(jsonable_encoder(value), allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """A 422 in the spec's terms (``profiler.spec.problems``): one error per mistake, unknown fields named with the
    closest known one; an input JSON cannot carry (NaN, Infinity) is left out, not a 500."""
    assert isinstance(exc, RequestValidationError)
    body_field = getattr(request.scope.get("route"), "body_field", None)
    root = getattr(getattr(body_field, "field_info", None), "annotation", None)
    body = [e for e in exc.errors() if tuple(e.get("loc", ()))[:1] == ("body",)]
    other = [e for e in exc.errors() if tuple(e.get("loc", ()))[:1] != ("body",)]
    detail = []
    for error in [*clean_errors(body, root, ("body",)), *other]:
        item = {k: error[k] for k in ("type", "loc", "msg") if k in error}
        for key in ("input", "ctx"):
            if key in error and _json_safe(error[key]):
                item[key] = jsonable_encoder(error[key])
        detail.append(item)
    return JSONResponse({"detail": detail}, status_code=422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, request_validation_error)
    app.add_exception_handler(DeviceUnavailableError, device_unavailable)
    app.add_exception_handler(DeviceBusyError, device_busy)
    app.add_exception_handler(ClusterUnavailableError, cluster_unavailable)
    app.add_exception_handler(StoreUnavailable, store_unavailable)
    app.add_exception_handler(JobsFull, jobs_full)
    app.add_exception_handler(SpecError, spec_error)
    app.add_exception_handler(LimitError, limit_error)
