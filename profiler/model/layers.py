"""Leaf layers as plain descriptions. A block's graph is made of these; the same description builds the
``nn.Module`` (``module()``) and is counted from shapes (``profiler.count.shapes``), so the two cannot
disagree about what a layer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

__all__ = [
    "ACTIVATIONS",
    "Act",
    "ActivationKind",
    "AvgPool",
    "BatchNorm",
    "Conv",
    "Dropout",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "Layer",
    "Linear",
    "MaxPool",
    "act_or_none",
]


@dataclass(frozen=True)
class ActivationKind:
    """One activation a spec may name: the module it builds, and the aten op it traces to when fvcore does
    not count that op (listed in ``unsupported_ops``; ``None`` when fvcore ignores it on purpose)."""

    module_cls: type[nn.Module]
    unsupported_op: str | None
    has_inplace: bool = True  # takes ``inplace=True`` (nn.Sigmoid does not)


# The one table of activations: the spec's accepted names, the modules, the report's types and fvcore's ops
# all come from it. ReLU traces to aten::relu, which fvcore ignores on purpose (as it ignores dropout).
ACTIVATIONS: dict[str, ActivationKind] = {
    "relu": ActivationKind(nn.ReLU, None),
    "relu6": ActivationKind(nn.ReLU6, "aten::hardtanh"),
    "hardswish": ActivationKind(nn.Hardswish, "aten::hardswish"),
    "hardsigmoid": ActivationKind(nn.Hardsigmoid, "aten::hardsigmoid"),
    "silu": ActivationKind(nn.SiLU, "aten::silu"),
    "sigmoid": ActivationKind(nn.Sigmoid, "aten::sigmoid", has_inplace=False),
    "gelu": ActivationKind(nn.GELU, "aten::gelu", has_inplace=False),
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

    module_type: ClassVar[str] = "Conv2d"

    def module(self) -> nn.Module:
        return nn.Conv2d(
            self.in_chs, self.out_chs, self.k, self.s, self.padding, self.dilation, self.groups, bias=self.bias
        )


@dataclass(frozen=True)
class BatchNorm:
    chs: int

    module_type: ClassVar[str] = "BatchNorm2d"

    def module(self) -> nn.Module:
        return nn.BatchNorm2d(self.chs)


@dataclass(frozen=True)
class Act:
    kind: str  # a key of ACTIVATIONS

    aliases_input: ClassVar[bool] = False

    @property
    def module_type(self) -> str:
        return ACTIVATIONS[self.kind].module_cls.__name__

    @property
    def can_be_inplace(self) -> bool:
        return ACTIVATIONS[self.kind].has_inplace

    def module(self, inplace: bool = False) -> nn.Module:
        kind = ACTIVATIONS[self.kind]
        return kind.module_cls(inplace=True) if inplace and kind.has_inplace else kind.module_cls()


@dataclass(frozen=True)
class MaxPool:
    k: int
    s: int
    padding: int

    module_type: ClassVar[str] = "MaxPool2d"

    def module(self) -> nn.Module:
        return nn.MaxPool2d(self.k, self.s, self.padding)


@dataclass(frozen=True)
class AvgPool:
    k: int
    s: int
    padding: int

    module_type: ClassVar[str] = "AvgPool2d"

    def module(self) -> nn.Module:
        return nn.AvgPool2d(self.k, self.s, self.padding)


@dataclass(frozen=True)
class GlobalMaxPool:
    module_type: ClassVar[str] = "AdaptiveMaxPool2d"

    def module(self) -> nn.Module:
        return nn.AdaptiveMaxPool2d(1)


@dataclass(frozen=True)
class GlobalAvgPool:
    module_type: ClassVar[str] = "AdaptiveAvgPool2d"

    def module(self) -> nn.Module:
        return nn.AdaptiveAvgPool2d(1)


@dataclass(frozen=True)
class Flatten:
    module_type: ClassVar[str] = "Flatten"
    aliases_input: ClassVar[bool] = True  # a view

    def module(self) -> nn.Module:
        return nn.Flatten(1)


@dataclass(frozen=True)
class Dropout:
    p: float

    module_type: ClassVar[str] = "Dropout"
    aliases_input: ClassVar[bool] = True  # in eval mode it returns its input

    def module(self) -> nn.Module:
        return nn.Dropout(self.p)


@dataclass(frozen=True)
class Linear:
    in_features: int
    out_features: int
    bias: bool = True

    module_type: ClassVar[str] = "Linear"

    def module(self) -> nn.Module:
        return nn.Linear(self.in_features, self.out_features, bias=self.bias)


class LayerScale2d(nn.Module):
    """A learnable per-channel scale (timm's ``LayerScale2d``): C parameters, one multiply per element."""

    def __init__(self, chs: int, init_value: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((chs,), init_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.view(1, -1, 1, 1)


@dataclass(frozen=True)
class LayerScale:
    chs: int

    module_type: ClassVar[str] = "LayerScale2d"

    def module(self) -> nn.Module:
        return LayerScale2d(self.chs)


Layer = (
    Conv | BatchNorm | Act | MaxPool | AvgPool | GlobalAvgPool | GlobalMaxPool | Flatten | Dropout | Linear | LayerScale
)


def act_or_none(kind: str) -> Act | None:
    """``"none"`` means no activation layer at all (no module, no row in the report)."""
    return None if kind == "none" else Act(kind)
