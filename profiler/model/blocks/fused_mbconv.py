"""``fused_mbconv``: EfficientNetV2's fused inverted residual: a k x k conv that expands (in place of the 1x1
expand and the depthwise conv), optional squeeze-excite, a 1x1 linear projection; with t = 1, one k x k conv
+ BN + act. A skip add when the stride is 1 and the width unchanged."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictFloat
from pydantic.dataclasses import dataclass

from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Kernel,
    Repeats,
    SeField,
    SqueezeExcite,
    Stride,
    WidthRule,
    make_divisible,
    squeeze_excite_options,
)
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, conv_bn_act, same_padding, squeeze_excite


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class FusedMBConvRow:
    """EfficientNetV2: k x k expanding conv + BN + act, optional SE, 1x1 projection + BN (t = 1: the k x k conv
    alone, to c); skip when s=1, in=out. The expanded width is make_divisible(in * t) (torchvision)."""

    block: Literal["fused_mbconv"] = "fused_mbconv"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    t: Annotated[StrictFloat, Field(gt=0, le=1024)] = 4.0
    k: Kernel = 3
    se: SeField = 0.0
    se_gate: Activation = Field(default="sigmoid", description="the SE gate when se is a number or true")
    act: Activation = "silu"
    stochastic_depth: Annotated[StrictFloat, Field(ge=0, lt=1)] = Field(
        default=0.0, description="drop-path rate: training only, no layer and no work at inference"
    )
    width: WidthRule = "scale"

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        return squeeze_excite_options(self.se, self.se_gate)


def plan(row: FusedMBConvRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    mid_chs = make_divisible(in_chs * row.t)
    pad = same_padding(row.k, 1)
    skip = ctx.stride == 1 and in_chs == out_chs
    if mid_chs == in_chs:
        nodes = sequence(
            conv_bn_act(Conv(in_chs, out_chs, row.k, ctx.stride, padding=pad), row.act),
            Node("add", Add(), ("act" if row.act != "none" else "bn", INPUT)) if skip else None,
        )
        return BlockPlan(Graph(nodes), out_chs)
    nodes = sequence(
        conv_bn_act(Conv(in_chs, mid_chs, row.k, ctx.stride, padding=pad), row.act, suffix="_exp"),
        Node("se", squeeze_excite(mid_chs, in_chs, se)) if (se := row.squeeze_excite) else None,
        Node("conv_pwl", Conv(mid_chs, out_chs, 1)),
        Node("bn_pwl", BatchNorm(out_chs)),
        Node("add", Add(), ("bn_pwl", INPUT)) if skip else None,
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(FusedMBConvRow, plan)
