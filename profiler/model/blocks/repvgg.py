"""``repvgg``: RepVGG's block. Trained as three parallel branches summed before the activation: a k x k conv +
BN, a 1x1 conv + BN, and (s=1, in=out) a BN of the input alone; deployed as the one k x k conv with bias they
fold into (the spec's ``form``). Ding et al., RepVGG (2021), as timm builds it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt
from pydantic.dataclasses import dataclass

from ...spec.fields import MAX_WIDTH, ROW_CONFIG, Activation, Channels, Kernel, Repeats, Stride, WidthRule
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, act_node, check_groups, same_padding


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class RepVggRow:
    """RepVGG: k x k conv + BN, 1x1 conv + BN and (s=1, in=out) an identity BN, summed, then act; one k x k conv
    with bias in the deployed form."""

    block: Literal["repvgg"] = "repvgg"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    groups: Annotated[StrictInt, Field(ge=1, le=MAX_WIDTH)] = Field(
        default=1, description="groups of both convs (RepVGG's g2/g4 variants)"
    )
    act: Activation = "relu"
    width: WidthRule = "scale"


def plan(row: RepVggRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs, stride = ctx.in_chs, ctx.c, ctx.stride
    check_groups(row.groups, in_chs, out_chs, (*ctx.loc, "groups"))
    pad = same_padding(row.k, 1)
    if ctx.form == "deploy":
        nodes = sequence(
            Node("reparam_conv", Conv(in_chs, out_chs, row.k, stride, row.groups, padding=pad, bias=True)),
            act_node("act", row.act),
        )
        return BlockPlan(Graph(nodes), out_chs)
    identity = stride == 1 and in_chs == out_chs
    kxk = Graph(
        (Node("conv", Conv(in_chs, out_chs, row.k, stride, row.groups, padding=pad)), Node("bn", BatchNorm(out_chs)))
    )
    one = Graph((Node("conv", Conv(in_chs, out_chs, 1, stride, row.groups)), Node("bn", BatchNorm(out_chs))))
    nodes = sequence(
        Node("identity", BatchNorm(in_chs), (INPUT,)) if identity else None,
        Node("conv_kxk", kxk, (INPUT,)),
        Node("conv_1x1", one, (INPUT,)),
        Node("add", Add(), ("conv_kxk", "conv_1x1")),
        Node("add_identity", Add(), ("add", "identity")) if identity else None,
        act_node("act", row.act),
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(RepVggRow, plan, reparameterizable=True)
