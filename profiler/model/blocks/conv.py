"""``conv``: a normal convolution + BN + activation. ``groups`` may be ``"depthwise"`` (one group per input
channel); depthwise and normal convolutions are one block with one parameter."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Dilation,
    Kernel,
    Padding,
    Repeats,
    Stride,
    Width,
    WidthRule,
)
from ..graph import Graph
from ..layers import Conv
from .base import BlockContext, BlockPlan, BlockType, conv_bn_act, same_padding


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class ConvRow:
    """Normal convolution + BN + activation. ``groups`` may be ``"depthwise"`` (one group per input channel)."""

    block: Literal["conv"] = "conv"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    groups: Width | Literal["depthwise"] = 1
    dilation: Dilation = 1
    padding: Padding = None
    act: Activation = "relu"
    bn: StrictBool = True
    bias: StrictBool | None = Field(default=None, description="conv bias; default: only when there is no BN")
    width: WidthRule = "scale"


def plan(row: ConvRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    groups = in_chs if row.groups == "depthwise" else row.groups
    if row.groups == "depthwise" and out_chs % in_chs:
        raise SpecError.at(
            (*ctx.loc, "c"),
            f"a depthwise conv needs output channels ({out_chs}) to be a multiple of its input ({in_chs})",
        )
    for what, chs in (("input", in_chs), ("output", out_chs)):
        if chs % groups:
            raise SpecError.at((*ctx.loc, "groups"), f"groups={groups} does not divide the {what} channels ({chs})")
    padding = same_padding(row.k, row.dilation) if row.padding is None else row.padding
    bias = (not row.bn) if row.bias is None else row.bias
    conv = Conv(in_chs, out_chs, row.k, ctx.stride, groups, row.dilation, padding, bias)
    return BlockPlan(Graph(tuple(conv_bn_act(conv, row.act, bn=row.bn))), out_chs)


BLOCK = BlockType(ConvRow, plan, scales_depth=False)
