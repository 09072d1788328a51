"""The outside references the tests hold our numbers to, run live: fvcore, ptflops, torch's flop counter,
torchvision. Nothing here computes an expected figure itself."""

from __future__ import annotations

import logging

import torch
from fvcore.nn import FlopCountAnalysis
from ptflops.pytorch_ops import MODULES_MAPPING
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def fvcore_analysis(model: nn.Module, x: torch.Tensor) -> FlopCountAnalysis:
    analysis = FlopCountAnalysis(model.eval(), x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    logging.disable(logging.WARNING)
    try:
        analysis.total()  # runs the trace
    finally:
        logging.disable(logging.NOTSET)
    return analysis


def ptflops_macs(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """ptflops' own per-module hooks for every Conv2d and Linear: name -> MACs (ptflops adds bias adds)."""
    handles, mods = [], {}
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.__flops__ = 0
            handles.append(m.register_forward_hook(MODULES_MAPPING[type(m)]))
            mods[name] = m
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    out = {name: int(m.__flops__) for name, m in mods.items()}
    for m in mods.values():
        del m.__flops__
    return out


def torch_flops(model: nn.Module, x: torch.Tensor, ops: tuple[str, ...] | None = None) -> int:
    """torch's flop counter over a forward: every op it counts, or only ``ops`` (named as ``aten.convolution``)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(x)
    if ops is None:
        return counter.get_total_flops()
    return sum(n for op, n in counter.get_flop_counts()["Global"].items() if str(op) in ops)


def param_shapes(model: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in model.parameters()]


def leaf_modules(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if not list(m.children()) and not isinstance(m, nn.Identity)}
