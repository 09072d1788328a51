"""The built model as a file to time elsewhere: ONNX, with node names carrying the spec's layer names."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException
from fastapi.responses import Response

from profiler import parse_spec

from ..dependencies import StoreDep
from ..schemas import PROFILE_EXAMPLES, ProfileRequest
from ..services import ServiceDep

router = APIRouter(tags=["export"])

_ONNX: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the ONNX file (opset 17)"},
    422: {"description": "a spec that cannot be built, or one whose forward is over the memory limit"},
}


@router.post("/export/onnx", responses=_ONNX)
async def export_onnx(
    request: Annotated[ProfileRequest, Body(openapi_examples=PROFILE_EXAMPLES)], service: ServiceDep
) -> Response:
    """The spec's model as ONNX, traced at ``batch_size`` (a ``POST /profile`` body; its ``latency`` is not
    used): weights from a fixed seed, batch norm folded, the spec and the exporter in its metadata. Time it
    with ``onnxruntime_perf_test`` or OpenVINO's ``benchmark_app``; ``latency.runtimes`` does it here."""
    data = await service.export_onnx(request.spec(), request.batch_size)
    return _onnx_file(data, request.name or request.preset or "model")


@router.get(
    "/profiles/{result_id}/model.onnx",
    tags=["profiles"],
    responses={**_ONNX, 404: {"description": "no stored profile with this id"}},
)
async def stored_model_onnx(result_id: str, store: StoreDep, service: ServiceDep) -> Response:
    """The ONNX file of a stored profile's spec, at its batch size."""
    stored = store.get(result_id)
    if stored is None or stored.kind != "profile":
        raise HTTPException(404, f"no stored profile {result_id!r}; GET /profiles?kind=profile lists them")
    body = json.loads(stored.body)
    data = await service.export_onnx(parse_spec(body["spec"]), body["batch_size"])
    return _onnx_file(data, body.get("name") or body.get("preset") or result_id)


def _onnx_file(data: bytes, name: str) -> Response:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "model"
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}.onnx"'},
    )
