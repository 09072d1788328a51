"""``basic``: ResNet's basic block, two 3x3 convs (expansion 1), a 1x1 projection on the skip when the
shape changes, then the add and ReLU."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from ...spec.fields import ROW_CONFIG, Channels, Repeats, Stride, WidthRule
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import Act, BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, downsample


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class BasicRow:
    """ResNet basic block (two 3x3 convs, expansion 1); 1x1 downsample on the skip when the shape changes."""

    block: Literal["basic"] = "basic"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    width: WidthRule = "scale"


def plan(row: BasicRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    shortcut = downsample(in_chs, out_chs, ctx.stride)
    nodes = sequence(
        Node("conv1", Conv(in_chs, out_chs, 3, ctx.stride, padding=1)),
        Node("bn1", BatchNorm(out_chs)),
        Node("act1", Act("relu")),
        Node("conv2", Conv(out_chs, out_chs, 3, padding=1)),
        Node("bn2", BatchNorm(out_chs)),
        shortcut,
        Node("add", Add(), ("bn2", shortcut.name if shortcut else INPUT)),
        Node("act2", Act("relu")),
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(BasicRow, plan)
