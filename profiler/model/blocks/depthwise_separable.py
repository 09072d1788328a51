"""``depthwise_separable``: MobileNetV1's k x k depthwise conv + BN + act, then 1x1 pointwise conv + BN + act."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from ...spec.fields import ROW_CONFIG, Activation, Channels, Dilation, Kernel, Repeats, Stride, WidthRule
from ..graph import Graph, Node, sequence
from ..layers import BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, act_node, same_padding


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class DepthwiseSeparableRow:
    """MobileNetV1: k x k depthwise conv + BN + act, then 1x1 pointwise conv + BN + act."""

    block: Literal["depthwise_separable"] = "depthwise_separable"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    dilation: Dilation = 1
    act: Activation = "relu"
    width: WidthRule = "scale"


def plan(row: DepthwiseSeparableRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    pad = same_padding(row.k, row.dilation)
    nodes = sequence(
        Node("conv_dw", Conv(in_chs, in_chs, row.k, ctx.stride, in_chs, row.dilation, pad)),
        Node("bn1", BatchNorm(in_chs)),
        act_node("act1", row.act),
        Node("conv_pw", Conv(in_chs, out_chs, 1)),
        Node("bn2", BatchNorm(out_chs)),
        act_node("act2", row.act),
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(DepthwiseSeparableRow, plan)
