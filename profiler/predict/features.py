"""What a latency predictor sees of a model: one row of closed-form features per unit (each leaf layer and each
op a block runs, named as the report names its rows), read from the plan's counting program at an input
shape. No tensor is allocated and no module built, so a prediction costs about what a count does."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..count.shapes import ModuleTotals, Shape, TotalsProgram
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


class UnitProgram:
    """A plan's units compiled once (its counting program's steps); ``units`` reads them at an input shape.

    For one plan only the batch and the spatial sizes change between input shapes: channels, kernels, groups and
    parameters do not, and a conv's or linear's MACs are a fixed number per output element. So the first call
    reads every step (the counting handles), and later ones scale those by the shapes' sizes, vectorized: a
    sweep's points cost a tenth of a count each."""

    def __init__(self, plan: ModelPlan, program: TotalsProgram | None = None) -> None:
        self.program = program or TotalsProgram(plan)
        steps = self.program.steps
        self._sources = np.array([sources[0] for _, _, _, sources, _ in steps], dtype=np.intp)
        flat = [(k, s) for k, (_, _, _, sources, _) in enumerate(steps) for s in sources]
        self._flat_steps = np.array([k for k, _ in flat], dtype=np.intp)
        self._flat_sources = np.array([s for _, s in flat], dtype=np.intp)
        self._static: tuple[list[str], np.ndarray, np.ndarray] | None = None  # kinds, fixed columns, MACs/out
        self._names = list(self.program.names)
        self._layout: tuple[np.ndarray, np.ndarray, int] | None = None

    def _read_steps(self, values: list[Shape]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Each step's kind, its shape-free features and its MACs per output element (from its handle)."""
        kinds: list[str] = []
        fixed = np.zeros((len(self.program.steps), len(FEATURES)), dtype=np.float64)
        per_out = np.zeros(len(self.program.steps), dtype=np.float64)
        for k, (is_op, fn, op, sources, _) in enumerate(self.program.steps):
            ins = values[sources[0]]
            kinds.append(unit_kind(op, ins))
            fixed[k, _C_IN] = ins[1] if len(ins) > 1 else 1
            out = values[k + 1]
            fixed[k, _C_OUT] = out[1] if len(out) > 1 else 1
            if is_op:
                continue
            counted = fn(op, ins)
            per_out[k] = counted.macs / math.prod(out)
            fixed[k, _PARAMS] = counted.params
            if isinstance(op, Linear):
                fixed[k, _GEOMETRY] = 1
            else:
                fixed[k, _GEOMETRY] = [getattr(op, a, 0) for a in ("k", "s", "groups", "dilation")]
        return kinds, fixed, per_out

    def units(self, input_shape: Shape, values: list[Shape] | None = None, totals: ModuleTotals | None = None) -> Units:
        """The units at ``input_shape``; ``values`` and ``totals``: the program's run there, when already run."""
        if values is None or totals is None:
            values, totals = self.program.run_values(input_shape)
        if self._static is None:
            self._static = self._read_steps(values)
        kinds, fixed, per_out = self._static
        if self._layout is None:  # the shapes' ranks are the plan's: where each starts in them laid end to end
            ranks = np.array([len(v) for v in values], dtype=np.intp)
            assert ranks.min() >= 1, "every shape has a batch dimension"
            starts = np.concatenate([[0], np.cumsum(ranks)[:-1]])
            not_spatial = np.concatenate([starts, (starts + 1)[ranks > 1]])
            self._layout = starts, not_spatial, int(ranks.sum())
        starts, not_spatial, total = self._layout
        dims = np.fromiter(itertools.chain.from_iterable(values), dtype=np.float64)
        assert dims.size == total, "a plan's shapes keep their ranks at every input shape"
        elements = np.multiply.reduceat(dims, starts)
        dims[not_spatial] = 1.0  # batch and channels: what is left of each shape multiplies to its spatial size
        hw = np.multiply.reduceat(dims, starts)
        x = fixed.copy()
        x[:, _BATCH] = input_shape[0]
        x[:, _HW_IN] = hw[self._sources]
        x[:, _HW_OUT] = hw[1:]
        x[:, _ELEMENTS_IN] = np.bincount(self._flat_steps, weights=elements[self._flat_sources], minlength=len(x))
        x[:, _ELEMENTS_OUT] = elements[1:]
        x[:, _MACS] = np.rint(per_out * elements[1:])
        moved = x[:, _ELEMENTS_IN] + x[:, _ELEMENTS_OUT] + x[:, _PARAMS]
        x[:, _INTENSITY] = np.divide(x[:, _MACS], moved, out=np.zeros(len(x)), where=moved > 0)
        # The plan's names and kinds lists are shared by every Units it reads (a predictor looks kinds up once).
        return Units(self._names, kinds, x, totals.macs, totals.fvcore_flops)


_BATCH, _C_IN, _C_OUT, _HW_IN, _HW_OUT = (FEATURES.index(n) for n in ("batch", "c_in", "c_out", "hw_in", "hw_out"))
_GEOMETRY = [FEATURES.index(n) for n in ("kernel", "stride", "groups", "dilation")]
_MACS, _ELEMENTS_IN, _ELEMENTS_OUT = (FEATURES.index(n) for n in ("macs", "elements_in", "elements_out"))
_PARAMS, _INTENSITY = FEATURES.index("params"), FEATURES.index("intensity")


def model_units(plan: ModelPlan, batch_size: int = 1) -> Units:
    """``plan``'s units at its spec's resolution and ``batch_size``."""
    return UnitProgram(plan).units((batch_size, plan.spec.in_channels, *plan.spec.hw))
