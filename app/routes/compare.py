"""POST /compare: two specs side by side (the depthwise-vs-normal-convolution question)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from profiler import ModelSpec, compare

from ..settings import SettingsDep

router = APIRouter(tags=["compare"])

_DILATED = {"in_channels": 64, "resolution": 640, "classifier": None}
COMPARE_EXAMPLES: dict[str, dict[str, Any]] = {
    "dw_vs_normal": {
        "summary": "3x3 dilated conv 64->128 against its depthwise-separable version, 64x640x640 input",
        "value": {
            "a": {**_DILATED, "name": "normal", "stages": [{"block": "conv", "c": 128, "k": 3, "dilation": 2}]},
            "b": {**_DILATED, "name": "separable",
                  "stages": [{"block": "depthwise_separable", "c": 128, "k": 3, "dilation": 2}]},
        },
    },  # fmt: skip
    "widths": {
        "summary": "MobileNetV2 at width 1.0 against 0.5",
        "value": {"a": {"preset": "mobilenet_v2"}, "b": {"preset": "mobilenet_v2", "width_multiplier": 0.5}},
    },
}


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: ModelSpec
    b: ModelSpec
    batch_size: StrictInt = Field(default=1, ge=1)
    counter: Literal["shapes", "fvcore"] = "shapes"


@router.post("/compare", responses={422: {"description": "either spec cannot be built, or is over a limit"}})
async def compare_specs(
    request: Annotated[CompareRequest, Body(openapi_examples=COMPARE_EXAMPLES)], settings: SettingsDep
) -> JSONResponse:
    """Both reports, the ratio b/a of every total, and per-layer alignment where layer names match."""
    result = await run_in_threadpool(
        compare, request.a, request.b, batch_size=request.batch_size, counter=request.counter,
        limits=settings.limits(),
    )  # fmt: skip
    return JSONResponse(result)
