"""``regnet_bottleneck``: RegNet's X block (1x1, 3x3 group conv of ``group_width`` channels per group, 1x1,
residual) and Y block (the same with squeeze-excite on the 3x3's output, squeezed from the block's input)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictFloat
from pydantic.dataclasses import dataclass

from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Repeats,
    SeField,
    SqueezeExcite,
    Stride,
    Width,
    WidthRule,
    make_divisible,
)
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import Conv
from .base import BlockContext, BlockPlan, BlockType, act_node, conv_bn_act, squeeze_excite


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class RegNetBottleneckRow:
    """RegNet X (``se`` 0) and Y (``se`` 0.25): a 1x1 conv to ``c * bottleneck`` channels, a 3x3 group conv with
    ``group_width`` channels per group (stride here), optional SE, a 1x1 conv to ``c``; a projection on the
    input when the shape changes; add, then act."""

    block: Literal["regnet_bottleneck"] = "regnet_bottleneck"
    c: Channels
    n: Repeats = 1
    s: Stride = 2
    group_width: Width = Field(default=16, description="channels per group of the 3x3 conv")
    bottleneck: Annotated[StrictFloat, Field(ge=1 / 64, le=64)] = Field(
        default=1.0, description="inner width over c (RegNet's bottleneck multiplier)"
    )
    se: SeField = Field(
        default=0.0,
        description="squeeze-excite (RegNet-Y: 0.25); a number is a ratio of the block's input width, with a ReLU "
        "and a sigmoid gate",
    )
    act: Activation = "relu"
    width: WidthRule = "scale"

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        if isinstance(self.se, SqueezeExcite):
            return self.se
        ratio = 0.25 if self.se is True else float(self.se)
        return SqueezeExcite(ratio=ratio, base="input", act="relu", gate="sigmoid", divisor=1) if ratio else None


def plan(row: RegNetBottleneckRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    # Widths made compatible with the groups, as RegNet's generator does (exact for its published models).
    inner = max(1, round(out_chs * row.bottleneck))
    group_width = min(row.group_width, inner)
    inner = make_divisible(inner, group_width)
    out_chs = max(1, int(inner / row.bottleneck))
    proj = None
    if in_chs != out_chs or ctx.stride != 1:
        proj = Node("proj", Graph(tuple(conv_bn_act(Conv(in_chs, out_chs, 1, ctx.stride), "none"))), (INPUT,))
    nodes = sequence(
        proj,
        _from_input(conv_bn_act(Conv(in_chs, inner, 1), row.act, suffix="_a")),
        conv_bn_act(Conv(inner, inner, 3, ctx.stride, inner // group_width, padding=1), row.act, suffix="_b"),
        Node("se", squeeze_excite(inner, in_chs, se)) if (se := row.squeeze_excite) else None,
        conv_bn_act(Conv(inner, out_chs, 1), "none", suffix="_c"),
        Node("add", Add(), ("bn_c", "proj" if proj else INPUT)),
        act_node("act", row.act),
    )
    return BlockPlan(Graph(nodes), out_chs)


def _from_input(nodes: list[Node]) -> list[Node]:
    """The first node reads the block's input (the projection, when there is one, came before it)."""
    return [Node(nodes[0].name, nodes[0].op, (INPUT,)), *nodes[1:]]


BLOCK = BlockType(RegNetBottleneckRow, plan)
