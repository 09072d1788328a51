"""POST /compare: two specs side by side (the depthwise-vs-normal-convolution question)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from profiler import ModelSpec

from ..counting import compare_encoded, limiter_for, run_count
from ..dependencies import StoreDep
from ..settings import Settings, SettingsDep
from ..store import ResultStore, request_digest, stored_response

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


def _compare_stored(request: CompareRequest, settings: Settings, store: ResultStore, state: Any) -> Response:
    digest = request_digest(b"compare:" + request.model_dump_json().encode())
    found = store.find_request(digest)
    if found is not None:
        return stored_response(found, cached=True)
    body, summary = run_count(state, settings, request.counter, compare_encoded, request.a, request.b,
                              request.batch_size, request.counter, settings.limits())  # fmt: skip
    return stored_response(store.add_encoded("compare", body, summary=summary, request=digest), cached=False)


@router.post("/compare", responses={422: {"description": "either spec cannot be built, or is over a limit"}})
async def compare_specs(
    request: Annotated[CompareRequest, Body(openapi_examples=COMPARE_EXAMPLES)], settings: SettingsDep,
    store: StoreDep, http: Request,
) -> Response:
    """Both reports, the ratio b/a of every total, and per-layer alignment where layer names match; stored
    under its ``id`` like a profile, and an identical request is answered from the store (``cached``)."""
    state = http.app.state
    return await to_thread.run_sync(_compare_stored, request, settings, store, state,
                                    limiter=limiter_for(request.counter, state.counting_threads))  # fmt: skip
