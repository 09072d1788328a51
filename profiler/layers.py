"""Leaf layers as plain descriptions. A block's plan is made of these; the same description builds the
``nn.Module`` (``module()``) and is counted from shapes (``profiler.counting``), so the two cannot disagree
about what a layer is.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "silu": nn.SiLU,
}


@dataclass(frozen=True)
class Conv:
    in_chs: int
    out_chs: int
    k: int
    s: int = 1
    groups: int = 1
    dilation: int = 1
    padding: int = 0
    bias: bool = False

    def module(self) -> nn.Module:
        return nn.Conv2d(
            self.in_chs, self.out_chs, self.k, self.s, self.padding, self.dilation, self.groups, bias=self.bias
        )


@dataclass(frozen=True)
class BatchNorm:
    chs: int

    def module(self) -> nn.Module:
        return nn.BatchNorm2d(self.chs)


@dataclass(frozen=True)
class Act:
    kind: str

    def module(self) -> nn.Module:
        return _ACTIVATIONS[self.kind]()


@dataclass(frozen=True)
class MaxPool:
    k: int
    s: int
    padding: int

    def module(self) -> nn.Module:
        return nn.MaxPool2d(self.k, self.s, self.padding)


@dataclass(frozen=True)
class GlobalAvgPool:
    def module(self) -> nn.Module:
        return nn.AdaptiveAvgPool2d(1)


@dataclass(frozen=True)
class Flatten:
    def module(self) -> nn.Module:
        return nn.Flatten(1)


@dataclass(frozen=True)
class Dropout:
    p: float

    def module(self) -> nn.Module:
        return nn.Dropout(self.p)


@dataclass(frozen=True)
class Linear:
    in_features: int
    out_features: int
    bias: bool = True

    def module(self) -> nn.Module:
        return nn.Linear(self.in_features, self.out_features, bias=self.bias)


Layer = Conv | BatchNorm | Act | MaxPool | GlobalAvgPool | Flatten | Dropout | Linear


def act_or_none(kind: str) -> Act | None:
    """``"none"`` means no activation layer at all (an Identity in the module, no row in the report)."""
    return None if kind == "none" else Act(kind)
