"""``shuffle_v2``: ShuffleNetV2's unit. Stride 1: the channels split in two halves, one passes, the other goes
through 1x1 conv + BN + act, 3x3 depthwise + BN, 1x1 conv + BN + act; both halves concatenated, then the
channels shuffled (2 groups). Stride 2: no split; a second branch (3x3 depthwise + BN, 1x1 conv + BN + act)
takes the input's place, so the width may change."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import ROW_CONFIG, Activation, Channels, Kernel, Repeats, Stride, WidthRule
from ..graph import INPUT, ChannelShuffle, ChannelSplit, Concat, Graph, Node, sequence
from ..layers import BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, act_node, same_padding


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class ShuffleV2Row:
    """ShuffleNetV2 units: the first (stride s, usually 2) with two branches, the others split, concat and
    shuffle. ``c`` is the unit's output width (even)."""

    block: Literal["shuffle_v2"] = "shuffle_v2"
    c: Channels
    n: Repeats = 1
    s: Stride = 2
    k: Kernel = 3
    act: Activation = "relu"
    width: WidthRule = "scale"


def _depthwise(chs: int, row: ShuffleV2Row, stride: int, name: str) -> list[Node]:
    conv = Conv(chs, chs, row.k, stride, chs, padding=same_padding(row.k, 1))
    return [Node(f"conv_dw{name}", conv), Node(f"bn_dw{name}", BatchNorm(chs))]


def _pointwise(in_chs: int, out_chs: int, act: str, name: str) -> tuple[Node, ...]:
    return sequence(
        Node(f"conv_pw{name}", Conv(in_chs, out_chs, 1)),
        Node(f"bn_pw{name}", BatchNorm(out_chs)),
        act_node(f"act{name}", act),
    )


def plan(row: ShuffleV2Row, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    if out_chs % 2:
        raise SpecError.at((*ctx.loc, "c"), f"a ShuffleNetV2 unit's output width must be even, not {out_chs}")
    half = out_chs // 2
    if ctx.stride == 1 and in_chs != out_chs:
        raise SpecError.at(
            (*ctx.loc, "s"),
            f"a ShuffleNetV2 unit with stride 1 keeps its width: its input has {in_chs} channels, c is {out_chs}; "
            "give the row's first unit a stride of 2",
        )
    branch_in = in_chs if ctx.stride > 1 else half
    branch2 = Graph(
        sequence(
            _pointwise(branch_in, half, row.act, "1"),
            _depthwise(half, row, ctx.stride, ""),
            _pointwise(half, half, row.act, "2"),
        )
    )
    if ctx.stride > 1:
        branch1 = Graph(sequence(_depthwise(in_chs, row, ctx.stride, ""), _pointwise(in_chs, half, row.act, "")))
        nodes: tuple[Node, ...] = (
            Node("branch1", branch1, (INPUT,)),
            Node("branch2", branch2, (INPUT,)),
            Node("concat", Concat(), ("branch1", "branch2")),
        )
    else:
        nodes = (
            Node("split1", ChannelSplit(0), (INPUT,)),
            Node("split2", ChannelSplit(1), (INPUT,)),
            Node("branch2", branch2, ("split2",)),
            Node("concat", Concat(), ("split1", "branch2")),
        )
    return BlockPlan(Graph((*nodes, Node("shuffle", ChannelShuffle(2)))), out_chs)


BLOCK = BlockType(ShuffleV2Row, plan)
