"""Request and response shapes. The spec itself is the core's ``ModelSpec`` (a pydantic dataclass whose
rows are a discriminated union on ``block``); a request adds the options of one profile."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic.dataclasses import dataclass

from profiler import Alignment, CounterName, LatencyOptions, MeasureOptions, MemoryOptions, ModelSpec
from profiler.latency.options import MAX_BATCH, Dtype
from profiler.latency.runtimes import RuntimeName
from profiler.predict import MIN_DESIGNS

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)
_SPEC_FIELDS = tuple(f.name for f in fields(ModelSpec))


def _eager() -> list[RuntimeName]:
    return ["eager"]


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class DeviceLatency(MeasureOptions):
    """Where to measure: the core's measurement options (their defaults and bounds) on these devices, one
    measurement at a time per device."""

    devices: list[str] = Field(
        default_factory=lambda: ["cpu"],
        min_length=1,
        max_length=8,
        description="cpu, cuda or cuda:N on the server's host; with PROFILER_BACKEND=ray also a cluster device's id "
        "(<node>/cuda:0, as GET /devices lists it) or a kind (kind:H100, kind:cpu_bench, kind:gpu: the least busy "
        "matching device; a sweep spreads its points over all of them)",
    )
    batch_size: StrictInt | None = Field(
        default=None, ge=1, le=MAX_BATCH, description="default: the request's batch_size"
    )
    runtimes: list[RuntimeName] = Field(
        default_factory=_eager,
        min_length=1,
        max_length=5,
        description="what runs the model, one latency entry per device and runtime: eager (PyTorch as built), "
        "onnxruntime (the exported ONNX model, every graph optimization on; its CUDA provider on a GPU with "
        "'archprofiler[gpu]'), openvino (its CPU plugin; pip install 'archprofiler[openvino]'), compiled "
        "(torch.compile with inductor), tensorrt (CUDA only; 'archprofiler[gpu]')",
    )

    predict: StrictBool = Field(
        default=False,
        description="answer at counting speed from the device and runtime's latency predictor (GET /predictors) "
        "instead of measuring; 422 when none was calibrated (POST /predictors)",
    )

    def options(self, device: str, batch_size: int, runtime: str = "eager") -> LatencyOptions:
        """The core's options of one device's measurement on one runtime."""
        knobs = {f.name: getattr(self, f.name) for f in fields(MeasureOptions)}
        return LatencyOptions(**knobs, device=device, runtime=runtime, batch_size=self.batch_size or batch_size)


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class SweepLatency(DeviceLatency):
    """A sweep's latency: measured for every point, or predicted (and the best ones verified)."""

    verify: StrictInt = Field(
        default=0,
        ge=0,
        le=1000,
        description="with predict: measure this many Pareto-front points (the fastest predicted first) and report "
        "predicted against measured (a job)",
    )


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class LatencyRequest(DeviceLatency):
    """Measure a profile's latency too: each device gets its own measurement."""

    job: StrictBool = Field(default=False, description="answer 202 with a job id at once; poll GET /jobs/{id}")


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class ProfileRequest(ModelSpec):
    """A spec (a preset with overrides, or a whole table) and how to profile it."""

    batch_size: StrictInt = Field(default=1, ge=1, le=MAX_BATCH, description="batch of the input the counts are for")
    counter: CounterName = Field(
        default="shapes",
        description="shapes: closed-form counts, no tensor allocated (fast); fvcore: also trace a real forward "
        "with fvcore.nn.FlopCountAnalysis for fvcore_flops and unsupported_ops",
    )

    latency: LatencyRequest | None = Field(default=None, description="measure latency on these devices too")
    memory: MemoryOptions | None = Field(
        default=None,
        description="how activation memory is figured: dtype (float32), inplace_depthwise (false), budget_bytes "
        "(none: no fits answer)",
    )

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
    live_bytes: int = Field(description="bytes of every tensor alive while it runs (memory's deployment convention)")


class MemoryStep(BaseModel):
    name: str = Field(description="a layer, or an op a block runs (features.3 (add))")
    live_bytes: int = Field(description="deployment convention")
    eager_bytes: int = Field(description="what PyTorch eager holds allocated (eager convention)")


class MemoryOut(BaseModel):
    dtype: str
    inplace_depthwise: bool
    peak_activation_bytes: int = Field(description="the most bytes alive at once (deployment convention)")
    peak_layer: str | None
    eager_peak_bytes: int = Field(description="the most bytes PyTorch eager holds during a forward on the CPU")
    eager_peak_layer: str | None
    weight_bytes: int
    budget_bytes: int | None = None
    fits: bool | None = Field(default=None, description="peak_activation_bytes <= budget_bytes (with a budget)")
    over_budget: list[str] | None = Field(default=None, description="the steps whose live bytes pass the budget")
    timeline: list[MemoryStep] = Field(description="every layer and op in execution order")
    conventions: dict[str, str]


class CounterOut(BaseModel):
    method: CounterName
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
    memory: MemoryOut = Field(description="activation memory by liveness, from the plan (no tensor allocated)")
    deployed_totals: Totals | None = Field(
        default=None,
        description="form train with reparameterizable blocks (repvgg): what the deployed form (one fused conv per "
        "block) counts",
    )


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
    kind: Literal["profile", "compare", "sweep"]
    created: str = Field(description="UTC, ISO 8601")
    name: str | None
    model_config = ConfigDict(extra="allow")  # the kind's own figures: totals, ratios, latency medians


class ProfileList(BaseModel):
    total: int = Field(description="stored results matching the filter")
    limit: int
    offset: int
    items: list[StoredSummary]


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: ModelSpec
    b: ModelSpec
    batch_size: StrictInt = Field(default=1, ge=1, le=MAX_BATCH)
    counter: CounterName = "shapes"
    align: Alignment = Field(
        default="auto",
        description="how layers are paired: name (same layer names), role (stem, stage i block j, head, then "
        "execution order, layers of one type paired), auto (name when both have the same layers, else role)",
    )
    latency: LatencyRequest | None = Field(
        default=None,
        description="measure A against B on each device and runtime, in alternating chunks: B's time over A's "
        "with a 95% interval and a verdict (B faster, A faster, no difference within the interval)",
    )


_DILATED = {"in_channels": 64, "resolution": 640, "classifier": None}
COMPARE_EXAMPLES: dict[str, dict[str, Any]] = {
    "dw_vs_normal": {
        "summary": "3x3 dilated conv 64->128 against its depthwise-separable version, 64x640x640 input",
        "value": {
            "a": {**_DILATED, "name": "normal", "stages": [{"block": "conv", "c": 128, "k": 3, "dilation": 2}]},
            "b": {
                **_DILATED,
                "name": "separable",
                "stages": [{"block": "depthwise_separable", "c": 128, "k": 3, "dilation": 2}],
            },
        },
    },
    "widths": {
        "summary": "MobileNetV2 at width 1.0 against 0.5",
        "value": {"a": {"preset": "mobilenet_v2"}, "b": {"preset": "mobilenet_v2", "width_multiplier": 0.5}},
    },
}


class SweepRequest(BaseModel):
    """One base spec and its variants: every combination of the grid's values, then the explicit points."""

    model_config = ConfigDict(extra="forbid")

    base: dict[str, Any] = Field(description="a spec as POST /profile takes it: a preset with overrides, or a table")
    grid: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="field path -> values; every combination is a point, the first field outermost. A path is "
        "a top-level field (width_multiplier, resolution, preset), a nested one (classifier.dropout) or a row's "
        "(stages.3.t, rows counted from 0 in the base's resolved table)",
    )
    points: list[dict[str, Any]] = Field(
        default_factory=list, description="explicit points after the grid's, each {field path: value}"
    )
    batch_size: StrictInt = Field(default=1, ge=1, le=MAX_BATCH)
    latency: SweepLatency | None = Field(
        default=None,
        description="measure every point too, as a job (202; GET /jobs/{id} or GET /sweeps/{id}), the points "
        "spread over these devices, each point measured on one of them",
    )
    layers: StrictBool = Field(default=False, description="each point's per-layer rows too (a full report each)")
    memory: MemoryOptions | None = Field(
        default=None,
        description="each point's activation memory too (peak_activation_bytes, eager_peak_bytes, weight_bytes, and "
        "fits with a budget_bytes); the Pareto front then minimises peak_activation_bytes as well",
    )


class CalibrationRequest(BaseModel):
    """Fit a latency predictor for one device and runtime on designs drawn around the presets."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(default="cpu", description="cpu, cuda, cuda:N, or a cluster device's id (GET /devices)")
    runtime: RuntimeName = "eager"
    dtype: Dtype = "float32"
    threads: StrictInt | None = Field(default=None, ge=1, le=1024, description="CPU threads (default: torch's)")
    budget_s: float = Field(default=900.0, gt=0, description="measuring and fitting, in all (the fit takes a tenth)")
    design_budget_s: float = Field(default=1.0, gt=0, le=60, description="measuring time of each design")
    batch_sizes: list[StrictInt] = Field(default_factory=lambda: [1], min_length=1, max_length=8)
    max_macs: StrictInt = Field(default=400_000_000, ge=1, description="designs heavier than this are not drawn")
    max_designs: StrictInt | None = Field(
        default=None,
        ge=MIN_DESIGNS,
        description="stop once this many designs are measured (budget_s still bounds the time)",
    )
    seed: StrictInt = Field(default=0, description="the same seed draws the same designs")

    @field_validator("batch_sizes")
    @classmethod
    def _batches(cls, sizes: list[int]) -> list[int]:
        if any(not 1 <= b <= 256 for b in sizes):
            raise ValueError("each batch size between 1 and 256")
        return sizes


SWEEP_EXAMPLES: dict[str, dict[str, Any]] = {
    "alpha_rho": {
        "summary": "MobileNetV1's width x resolution table (the paper's tables 6 and 7)",
        "value": {
            "base": {"preset": "mobilenet_v1"},
            "grid": {"width_multiplier": [1.0, 0.75, 0.5, 0.25], "resolution": [224, 192, 160, 128]},
        },
    },
    "row_field": {
        "summary": "MobileNetV2's expansion factor of its fourth row, and two explicit points",
        "value": {
            "base": {"preset": "mobilenet_v2"},
            "grid": {"stages.3.t": [2, 4, 6]},
            "points": [{"width_multiplier": 0.5, "resolution": 160}, {"preset": "mobilenet_v3_small"}],
        },
    },
    "latency": {
        "summary": "Four widths measured on the CPU (a job)",
        "value": {
            "base": {"preset": "mobilenet_v2", "resolution": 160},
            "grid": {"width_multiplier": [0.35, 0.5, 0.75, 1.0]},
            "latency": {"devices": ["cpu"], "budget_s": 2},
        },
    },
}
