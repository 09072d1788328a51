"""A measurement of a counted model, checked and ready to send to a device's worker."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from ..count import Counts
from ..errors import SpecError
from ..limits import Limits
from ..model.build import plan_model
from ..spec import ModelSpec
from .devices import local_name, resolve_device
from .measure import LatencyResult, measure_latency
from .options import DTYPE_BYTES, LatencyOptions
from .progress import Progress
from .roofline import LayerCost, Roofs
from .runtimes import get_runtime

if TYPE_CHECKING:
    from ..report import Report

__all__ = ["Measurement", "latency_measurement"]

_SPEC_JSON = TypeAdapter(ModelSpec)


@dataclass(frozen=True)
class Measurement:
    """One latency measurement, ready to run: plain data (it can be sent to a timing process) and a call."""

    spec: ModelSpec
    input_shape: tuple[int, ...]
    options: LatencyOptions
    limits: Limits
    costs: dict[str, LayerCost] = field(default_factory=dict)  # per layer and op, at this batch and dtype

    @property
    def device(self) -> str:
        return self.options.device

    @property
    def budget_s(self) -> float:
        """The wall time it may take in the timing process: its budget, and a runtime's preparation."""
        if self.options.runtime == "eager":
            return self.options.budget_s
        return self.options.budget_s + get_runtime(self.options.runtime).prepare_budget_s

    def __call__(self, progress: Progress) -> LatencyResult:
        model = plan_model(self.spec, self.limits).build()
        key = _SPEC_JSON.dump_json(self.spec).decode()
        return measure_latency(model, self.input_shape, self.options, progress, self.costs, model_key=key)


def latency_measurement(
    report: Report,
    options: LatencyOptions,
    limits: Limits | None = None,
    roofs: Mapping[str, Roofs] | None = None,
) -> Measurement:
    """A measurement of ``report``'s model as ``options`` say, to run on a device worker.

    Checked here, before anything is allocated: the device exists (its name made canonical: ``cuda`` ->
    ``cuda:0``), and the forward's memory (every activation kept for per-layer inputs, plus parameters) is
    within ``max_timing_bytes``; and, where the device's roofs are known (``roofs``, by device name, from its
    earlier measurements), that one forward can fit the budget. CUDA graphs apply to CUDA devices only.
    """
    limits = limits or Limits()
    # A cluster device (``<node>/cuda:0``) is checked on its own node, where the measurement runs.
    device = options.device if "/" in options.device else str(resolve_device(options.device))
    on_cuda = local_name(device).startswith("cuda")
    limits.check("max_batch", options.batch_size, ("latency", "batch_size"), "batch_size")
    limits.check("max_budget_s", options.budget_s, ("latency", "budget_s"), "budget_s")
    counts = report.counts
    needed = timing_bytes(counts, options)
    limits.check("max_timing_bytes", needed, ("latency",), "memory the measurement needs (bytes)")
    known = (roofs or {}).get(device)
    if known is not None:
        _check_forward_fits(counts, options, known, device)
    if options.runtime != "eager":
        get_runtime(options.runtime).check(options, "cuda" if on_cuda else "cpu")
    elif options.dtype == "int8":
        raise SpecError.at(
            ("latency", "dtype"),
            'int8 is measured on a quantized model: add runtimes: ["onnxruntime"] (its static quantization)',
        )
    options = dataclasses.replace(options, device=device, cuda_graph=options.cuda_graph and on_cuda)
    input_shape = (options.batch_size, *counts.input_shape[1:])
    return Measurement(report.spec, input_shape, options, limits, _costs(counts, options))


def _check_forward_fits(counts: Counts, options: LatencyOptions, roofs: Roofs, device: str) -> None:
    """Refuse a measurement whose single forward cannot fit its budget even at the device's measured roofs:
    its FLOPs at peak, or its bytes at full bandwidth, whichever takes longer (a lower bound on its time)."""
    scale = options.batch_size / counts.input_shape[0]
    flops = 2 * counts.totals.macs * scale
    moved = DTYPE_BYTES[options.dtype] * (counts.totals.activations * scale + counts.totals.params)
    peak, bandwidth = roofs.flops_per_s.get(options.dtype), roofs.bytes_per_s
    at_least = max(flops / peak if peak else 0.0, moved / bandwidth if bandwidth else 0.0)
    if at_least > options.budget_s:
        raise SpecError.at(
            ("latency", "budget_s"),
            f"one forward of this model is predicted to take at least {at_least:,.1f} s on {device} "
            f"({flops:.3g} FLOPs at its measured {peak or 0:.3g} FLOP/s, {moved:.3g} bytes at "
            f"{bandwidth or 0:.3g} B/s), over latency.budget_s = {options.budget_s:g} s: raise the budget, or "
            "lower latency.batch_size, the resolution or the model's size",
        )


def timing_bytes(counts: Counts, options: LatencyOptions) -> int:
    """Everything a measurement allocates, at its batch and dtype: the input, the weights, every activation
    (as if all were alive at once) and, for isolated per-layer timing, a copy of every leaf's input."""
    scale = options.batch_size / counts.input_shape[0]
    elements = math.prod(counts.input_shape) + counts.totals.activations + sum(counts.op_elements.values())
    if options.per_layer and options.per_layer_method == "isolated":
        elements += sum(math.prod(row.input_shape) for row in counts.rows)
    return DTYPE_BYTES[options.dtype] * (int(elements * scale) + counts.totals.params)


def _costs(counts: Counts, options: LatencyOptions) -> dict[str, LayerCost]:
    """Each layer's FLOPs and bytes at the measured batch and dtype: input and output activations and
    weights for a layer, inputs and output for an op."""
    scale = options.batch_size / counts.input_shape[0]
    width = DTYPE_BYTES[options.dtype]
    costs = {
        row.name: LayerCost(
            int(row.flops * scale),
            width * int((math.prod(row.input_shape) + row.activations) * scale + row.params),
        )
        for row in counts.rows
    }
    costs.update({name: LayerCost(0, width * int(n * scale)) for name, n in counts.op_elements.items()})
    return costs
