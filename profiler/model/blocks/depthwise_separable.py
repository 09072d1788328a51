"""``depthwise_separable``: MobileNetV1's k x k depthwise conv + BN + act, then 1x1 pointwise conv + BN + act.
Padding, BN, bias and each part's activation can be set (MnasNet's stem block has no activation after the
pointwise conv), and a squeeze-excite between the two (PP-LCNet's last blocks)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool
from pydantic.dataclasses import dataclass

from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Dilation,
    Kernel,
    Padding,
    Repeats,
    SeField,
    SqueezeExcite,
    Stride,
    WidthRule,
    squeeze_excite_options,
)
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import Conv
from .base import BlockContext, BlockPlan, BlockType, conv_bn_act, same_padding, squeeze_excite


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class DepthwiseSeparableRow:
    """MobileNetV1: k x k depthwise conv + BN + act, then 1x1 pointwise conv + BN + act."""

    block: Literal["depthwise_separable"] = "depthwise_separable"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    dilation: Dilation = 1
    padding: Padding = None
    act: Activation = Field(default="relu", description="the activation of both parts, unless act_dw / act_pw say")
    act_dw: Activation | None = Field(default=None, description="after the depthwise conv (default: act)")
    act_pw: Activation | None = Field(default=None, description="after the pointwise conv (default: act)")
    bn: StrictBool = Field(default=True, description="BN after each conv")
    bias: StrictBool | None = Field(default=None, description="conv biases; default: only when there is no BN")
    se: SeField = 0.0
    se_gate: Activation = Field(default="hardsigmoid", description="the SE gate when se is a number or true")
    skip: StrictBool = Field(
        default=False,
        description="add the input when s=1 and in=out (timm's depthwise-separable; MobileNetV1 has none)",
    )
    width: WidthRule = "scale"

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        return squeeze_excite_options(self.se, self.se_gate)


def plan(row: DepthwiseSeparableRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    pad = same_padding(row.k, row.dilation) if row.padding is None else row.padding
    bias = (not row.bn) if row.bias is None else row.bias
    dw = conv_bn_act(
        Conv(in_chs, in_chs, row.k, ctx.stride, in_chs, row.dilation, pad, bias), row.act_dw or row.act, bn=row.bn
    )
    pw = conv_bn_act(Conv(in_chs, out_chs, 1, bias=bias), row.act_pw or row.act, bn=row.bn)
    # Named as before the options existed: conv_dw, bn1, act1, conv_pw, bn2, act2.
    names = {"conv": "conv_dw", "bn": "bn1", "act": "act1"}, {"conv": "conv_pw", "bn": "bn2", "act": "act2"}
    nodes = sequence(
        [Node(names[0][n.name], n.op) for n in dw],
        Node("se", squeeze_excite(in_chs, in_chs, se)) if (se := row.squeeze_excite) else None,
        [Node(names[1][n.name], n.op) for n in pw],
    )
    if row.skip and ctx.stride == 1 and in_chs == out_chs:
        nodes = (*nodes, Node("add", Add(), (nodes[-1].name, INPUT)))
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(DepthwiseSeparableRow, plan)
