"""What a latency predictor sees of a model: one row of closed-form features per unit (each leaf layer and each
op a block runs, named as the report names its rows), read from the plan's counting program at an input
shape. No tensor is allocated and no module built, so a prediction costs about what a count does."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..count.shapes import Shape, TotalsProgram
from ..model.build import ModelPlan
from ..model.layers import Conv, Linear

__all__ = ["FEATURES", "UnitProgram", "Units", "model_units", "unit_kind"]

# The numeric features of a unit, in column order (the kind is kept apart: a category).
FEATURES = (
    "batch",
    "c_in",
    "c_out",
    "hw_in",
    "hw_out",
    "kernel",
    "stride",
    "groups",
    "dilation",
    "macs",
    "elements_in",
    "elements_out",
    "params",
    "intensity",
)


@dataclass(frozen=True)
class Units:
    """A model's units at one input shape: names, kinds and a feature row each."""

    names: list[str]
    kinds: list[str]
    x: np.ndarray  # (units, len(FEATURES)), float64
    macs: int  # the model's totals, for the baselines and for scale
    fvcore_flops: int

    def __len__(self) -> int:
        return len(self.names)


def unit_kind(op: object, in_shape: Shape) -> str:
    """A conv by how it runs (its kernels differ): depthwise, grouped, pointwise or dense; an op by its
    class (add, mul, concat, ...); any other layer by its torch class."""
    if isinstance(op, Conv):
        if op.groups > 1:
            return "conv_dw" if op.groups == in_shape[1] else "conv_grouped"
        return "conv_1x1" if op.k == 1 else "conv"
    module_type = getattr(op, "module_type", None)
    return str(module_type) if module_type is not None else type(op).__name__.lower()


def _channels_hw(shape: Shape) -> tuple[int, int]:
    return (shape[1] if len(shape) > 1 else 1), (math.prod(shape[2:]) if len(shape) > 2 else 1)


class UnitProgram:
    """A plan's units compiled once (its counting program's steps); ``units`` reads them at an input shape."""

    def __init__(self, plan: ModelPlan, program: TotalsProgram | None = None) -> None:
        self.program = program or TotalsProgram(plan)

    def units(self, input_shape: Shape) -> Units:
        program = self.program
        values, totals = program.run_values(input_shape)
        rows: list[tuple[float, ...]] = []
        kinds: list[str] = []
        batch = input_shape[0]
        for k, (is_op, fn, op, sources, _) in enumerate(program.steps):
            ins = [values[s] for s in sources]
            out = values[k + 1]
            c_in, hw_in = _channels_hw(ins[0])
            c_out, hw_out = _channels_hw(out)
            elements_in = sum(math.prod(s) for s in ins)
            elements_out = math.prod(out)
            macs = params = 0
            kernel = stride = groups = dilation = 0
            if not is_op:
                counted = fn(op, ins[0])
                macs, params = counted.macs, counted.params
                kernel, stride = getattr(op, "k", 0), getattr(op, "s", 0)
                groups, dilation = getattr(op, "groups", 0), getattr(op, "dilation", 0)
                if isinstance(op, Linear):
                    kernel = stride = groups = dilation = 1
            moved = elements_in + elements_out + params
            rows.append(
                (
                    batch,
                    c_in,
                    c_out,
                    hw_in,
                    hw_out,
                    kernel,
                    stride,
                    groups,
                    dilation,
                    macs,
                    elements_in,
                    elements_out,
                    params,
                    macs / moved if moved else 0.0,
                )
            )
            kinds.append(unit_kind(op, ins[0]))
        x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))
        return Units(list(program.names), kinds, x, totals.macs, totals.fvcore_flops)


def model_units(plan: ModelPlan, batch_size: int = 1) -> Units:
    """``plan``'s units at its spec's resolution and ``batch_size``."""
    return UnitProgram(plan).units((batch_size, plan.spec.in_channels, *plan.spec.hw))
