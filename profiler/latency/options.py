"""How to measure: the knobs a request may set (with their bounds and defaults, defined once here), and the
options of one measurement on one device."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt, field_validator
from pydantic.dataclasses import dataclass

__all__ = ["DTYPE_BYTES", "Dtype", "LatencyOptions", "MeasureOptions"]

Dtype = Literal["float32", "float16", "bfloat16", "int8"]  # int8: a runtime's quantized model (onnxruntime)
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
MAX_BATCH = 2**24  # the schema's range; the operator's limit (PROFILER_MAX_BATCH) is far below

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class MeasureOptions:
    """How a measurement runs and when it stops, whatever the device."""

    dtype: Dtype = "float32"
    channels_last: StrictBool = Field(default=False, description="channels_last memory format for model and input")
    cuda_graph: StrictBool = Field(default=False, description="time replays of a captured CUDA graph (GPU only)")
    per_layer: StrictBool = Field(default=False, description="also time every leaf layer (and every op of a block)")
    per_layer_method: Literal["in_context", "isolated"] = Field(
        default="in_context",
        description="in_context: each layer's time inside whole forwards (clock reads around each node on the CPU, "
        "its kernels' device time on CUDA); isolated: each leaf timed alone on the input it received",
    )
    warmup: StrictInt = Field(default=10, ge=0, le=10_000, description="forwards before any sample")
    budget_s: StrictFloat = Field(default=10.0, gt=0, le=86_400, description="time budget of each device's measurement")
    target_ci: StrictFloat = Field(
        default=0.02, gt=0, le=1, description="stop when the 95% CI of the median is within this share of it"
    )
    min_repeats: StrictInt = Field(default=10, ge=2, le=100_000)
    threads: StrictInt | None = Field(
        default=None, ge=1, le=1024, description="CPU threads, at most the host's cores; default: torch's"
    )

    @field_validator("threads")
    @classmethod
    def _at_most_the_cores(cls, threads: int | None) -> int | None:
        cores = os.cpu_count() or 1
        if threads is not None and threads > cores:  # more threads than cores only measures their contention
            raise ValueError(f"Input should be at most this host's {cores} cores")
        return threads


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class LatencyOptions(MeasureOptions):
    """One measurement: the knobs above, on one device, at one batch size."""

    device: str = "cpu"
    runtime: str = Field(default="eager", description="what runs the model: eager PyTorch, or a registered runtime")
    batch_size: StrictInt = Field(default=1, ge=1, le=MAX_BATCH)
    max_repeats: StrictInt = Field(default=10_000, ge=1)
