"""``mobileone``: MobileOne's block. Trained as parallel branches summed before the activation: ``branches``
k x k convs + BN, a 1x1 conv + BN when k > 1, and (s=1, in=out) a BN of the input alone, with optional SE;
deployed as the one conv with bias they fold into (the spec's ``form``). A MobileOne stage alternates a
depthwise 3x3 block and a pointwise 1x1 block. Vasu et al., MobileOne (2023), as timm builds it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import (
    MAX_WIDTH,
    ROW_CONFIG,
    Activation,
    Channels,
    Kernel,
    Repeats,
    SeField,
    SqueezeExcite,
    Stride,
    WidthRule,
    squeeze_excite_options,
)
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, act_node, check_groups, same_padding, squeeze_excite


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class MobileOneRow:
    """MobileOne: ``branches`` k x k conv + BN, a 1x1 conv + BN (k > 1) and (s=1, in=out) an identity BN,
    summed, optional SE, then act; one conv with bias in the deployed form."""

    block: Literal["mobileone"] = "mobileone"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    groups: Literal["depthwise"] | Annotated[StrictInt, Field(ge=1, le=MAX_WIDTH)] = Field(
        default=1, description="groups of every branch's conv; depthwise: one per input channel (c = in)"
    )
    branches: Annotated[StrictInt, Field(ge=1, le=16)] = Field(
        default=1, description="parallel k x k conv + BN branches in the trained form (MobileOne-S0: 4)"
    )
    se: SeField = 0.0
    se_gate: Activation = Field(default="sigmoid", description="the SE gate when se is a number or true")
    act: Activation = "relu"
    width: WidthRule = "scale"

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        return squeeze_excite_options(self.se, self.se_gate)


def _conv_bn(conv: Conv) -> Graph:
    return Graph((Node("conv", conv), Node("bn", BatchNorm(conv.out_chs))))


def plan(row: MobileOneRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs, stride = ctx.in_chs, ctx.c, ctx.stride
    groups = in_chs if row.groups == "depthwise" else row.groups
    if row.groups == "depthwise" and out_chs != in_chs:
        raise SpecError.at((*ctx.loc, "c"), f"a depthwise MobileOne block keeps its {in_chs} channels: c = {in_chs}")
    check_groups(groups, in_chs, out_chs, (*ctx.loc, "groups"))
    pad = same_padding(row.k, 1)
    se = row.squeeze_excite
    tail = sequence(
        Node("se", squeeze_excite(out_chs, in_chs, se)) if se else None,
        act_node("act", row.act),
    )
    if ctx.form == "deploy":
        conv = Conv(in_chs, out_chs, row.k, stride, groups, padding=pad, bias=True)
        return BlockPlan(Graph((Node("reparam_conv", conv), *tail)), out_chs)
    identity = stride == 1 and in_chs == out_chs
    branches = [
        Node(str(i), _conv_bn(Conv(in_chs, out_chs, row.k, stride, groups, padding=pad)), (INPUT,))
        for i in range(row.branches)
    ]
    sums = [Node(f"add{i}", Add(), (f"add{i - 1}" if i > 1 else "0", str(i))) for i in range(1, row.branches)]
    kxk = Graph((*branches, *sums))
    nodes = sequence(
        Node("identity", BatchNorm(in_chs), (INPUT,)) if identity else None,
        Node("conv_kxk", kxk, (INPUT,)),
        Node("conv_scale", _conv_bn(Conv(in_chs, out_chs, 1, stride, groups)), (INPUT,)) if row.k > 1 else None,
        Node("add", Add(), ("conv_kxk", "conv_scale")) if row.k > 1 else None,
        Node("add_identity", Add(), ("add" if row.k > 1 else "conv_kxk", "identity")) if identity else None,
        *tail,
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(MobileOneRow, plan, reparameterizable=True)
