"""fvcore as a counter, on request: it traces a real forward (CPU, real tensors), so it costs time and the
memory of every activation; the shape counter is held to it in the tests."""

from __future__ import annotations

import logging
from dataclasses import replace

import torch
from fvcore.nn import FlopCountAnalysis

from ..limits import Limits
from ..model.build import ModelPlan
from .shapes import Counts, aggregate

_FP32_BYTES = 4


def fvcore_counts(plan: ModelPlan, counts: Counts, limits: Limits) -> Counts:
    """``counts`` with fvcore_flops and unsupported ops replaced by what fvcore reports per module."""
    activation_bytes = _FP32_BYTES * (counts.totals.activations + counts.totals.params + _numel(counts.input_shape))
    limits.check("max_activation_bytes", activation_bytes, (), "memory for fvcore's forward (bytes)")
    model = plan.build(inplace=False).eval()  # the op names fvcore lists are the out-of-place ones
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, torch.zeros(counts.input_shape))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)  # fvcore warns through logging for every op it skips; we list them
        try:
            by_module = analysis.by_module()
        finally:
            logging.disable(previous)
    rows = [
        replace(r, fvcore_flops=int(by_module[r.name]), unsupported_ops=_ops(analysis, r.name)) for r in counts.rows
    ]
    modules = aggregate(rows, [])
    for name, totals in modules.items():
        totals.fvcore_flops = int(by_module[name])
        totals.unsupported_ops.clear()
        totals.unsupported_ops.update(analysis.unsupported_ops(name))
    return Counts(counts.input_shape, counts.output_shape, rows, modules, counts.op_elements)


def _ops(analysis: FlopCountAnalysis, name: str) -> tuple[str, ...]:
    return tuple(op for op, n in analysis.unsupported_ops(name).items() for _ in range(n))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
