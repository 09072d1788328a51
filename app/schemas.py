"""Request and response shapes. The spec itself is the core's ``ModelSpec`` (a pydantic dataclass whose
rows are a discriminated union on ``block``); a request adds the options of one profile."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass

from profiler import ModelSpec

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)
_SPEC_FIELDS = tuple(f.name for f in fields(ModelSpec))


class LatencyRequest(BaseModel):
    """Measure latency too. Each device gets its own measurement, one at a time per device."""

    model_config = _CONFIG

    devices: list[str] = Field(default=["cpu"], min_length=1, max_length=8, description="cpu, cuda or cuda:N")
    batch_size: StrictInt | None = Field(default=None, ge=1, description="default: the request's batch_size")
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"
    channels_last: StrictBool = False
    cuda_graph: StrictBool = Field(default=False, description="time replays of a captured CUDA graph (GPU only)")
    per_layer: StrictBool = Field(default=False, description="also time every leaf layer alone on its recorded input")
    warmup: StrictInt = Field(default=10, ge=0, le=10_000, description="forwards before any sample")
    budget_s: StrictFloat = Field(default=10.0, gt=0, description="time budget of each device's measurement")
    target_ci: StrictFloat = Field(default=0.02, gt=0, le=1, description="stop when the 95% CI of the median is "
                             "within this share of it")  # fmt: skip
    min_repeats: StrictInt = Field(default=10, ge=2, le=100_000)
    threads: StrictInt | None = Field(default=None, ge=1, le=1024, description="CPU threads; default: torch's")
    job: StrictBool = Field(default=False, description="answer 202 with a job id at once; poll GET /jobs/{id}")


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class ProfileRequest(ModelSpec):
    """A spec (a preset with overrides, or a whole table) and how to profile it."""

    batch_size: StrictInt = Field(default=1, ge=1, description="batch of the input the counts are for")
    counter: Literal["shapes", "fvcore"] = Field(
        default="shapes",
        description="shapes: closed-form counts, no tensor allocated (fast); fvcore: also trace a real forward "
        "with fvcore.nn.FlopCountAnalysis for fvcore_flops and unsupported_ops",
    )

    latency: LatencyRequest | None = Field(default=None, description="measure latency on these devices too")

    def spec(self) -> ModelSpec:
        return ModelSpec(**{name: getattr(self, name) for name in _SPEC_FIELDS})


PROFILE_EXAMPLES: dict[str, dict[str, Any]] = {
    "preset": {
        "summary": "MobileNetV2 at width 0.75, 160x160",
        "value": {"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160},
    },
    "table": {
        "summary": "A table of rows, as in the papers",
        "value": {
            "name": "tiny-mnv2",
            "width_multiplier": 1.0,
            "resolution": 224,
            "stages": [
                {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu6"},
                {"block": "inverted_residual", "t": 1, "c": 16, "n": 1, "s": 1},
                {"block": "inverted_residual", "t": 6, "c": 24, "n": 2, "s": 2},
                {"block": "conv", "c": 1280, "k": 1, "act": "relu6", "width": "no_shrink"},
            ],
        },
    },
    "one_layer": {
        "summary": "One dilated 3x3 conv alone (no classifier)",
        "value": {
            "in_channels": 64,
            "resolution": 256,
            "classifier": None,
            "stages": [{"block": "conv", "c": 128, "k": 3, "dilation": 2, "bn": False, "act": "none"}],
        },
    },
}


class Totals(BaseModel):
    macs: int
    flops: int
    fvcore_flops: int
    params: int
    activations: int
    unsupported_ops: dict[str, int] = Field(description="ops fvcore does not count, with how often they run")


class LayerOut(BaseModel):
    name: str = Field(description="dotted module name, e.g. features.4.conv_dw")
    type: str = Field(description="torch.nn class")
    input_shape: list[int]
    output_shape: list[int]
    kernel: int | None
    stride: int | None
    groups: int | None
    dilation: int | None
    padding: int | None
    macs: int
    flops: int
    fvcore_flops: int
    params: int
    activations: int
    unsupported_ops: list[str]


class CounterOut(BaseModel):
    method: Literal["shapes", "fvcore"]
    seconds: float
    how: str


class ReportOut(BaseModel):
    cached: bool = Field(description="answered from the store: an identical request was profiled before")
    id: str = Field(description="stored result: GET /profiles/{id}")
    created: str = Field(description="when it was profiled (UTC, ISO 8601)")
    name: str | None
    preset: str | None
    spec: dict[str, Any] = Field(description="the resolved spec: the preset's table with the overrides applied")
    batch_size: int
    input_shape: list[int]
    output_shape: list[int]
    counter: CounterOut
    conventions: dict[str, str] = Field(description="what each figure means")
    totals: Totals
    unsupported_ops: dict[str, int]
    layers: list[LayerOut] = Field(description="leaf modules in execution order; they sum to the totals")
    modules: dict[str, Totals] = Field(description="every non-leaf module, the sum of its leaves")


class PresetSummary(BaseModel):
    name: str
    citation: str


class PresetOut(PresetSummary):
    spec: dict[str, Any] = Field(description="the paper's table as an editable spec for POST /profile")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    torch: str
    cuda: str


class StoredSummary(BaseModel):
    id: str
    kind: Literal["profile", "compare"]
    created: str = Field(description="UTC, ISO 8601")
    name: str | None
    model_config = ConfigDict(extra="allow")  # the kind's own figures: totals, ratios, latency medians


class ProfileList(BaseModel):
    total: int = Field(description="stored results matching the filter")
    limit: int
    offset: int
    items: list[StoredSummary]
