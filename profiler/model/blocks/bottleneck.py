"""``bottleneck``: ResNet's bottleneck, 1x1 reduce, 3x3 (the stride, as in V1.5), 1x1 expand to 4c, a 1x1
projection on the skip when the shape changes, then the add and ReLU. ``c`` is the inner width."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from ...spec.fields import ROW_CONFIG, Channels, Repeats, Stride, WidthRule
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import Act, BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, downsample

EXPANSION = 4


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class BottleneckRow:
    """ResNet bottleneck (1x1, 3x3, 1x1; ``c`` is the inner width, output is 4c); stride on the 3x3 (V1.5)."""

    block: Literal["bottleneck"] = "bottleneck"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    width: WidthRule = "scale"


def plan(row: BottleneckRow, ctx: BlockContext) -> BlockPlan:
    in_chs, width = ctx.in_chs, ctx.c
    out_chs = width * EXPANSION
    shortcut = downsample(in_chs, out_chs, ctx.stride)
    nodes = sequence(
        Node("conv1", Conv(in_chs, width, 1)),
        Node("bn1", BatchNorm(width)),
        Node("act1", Act("relu")),
        Node("conv2", Conv(width, width, 3, ctx.stride, padding=1)),
        Node("bn2", BatchNorm(width)),
        Node("act2", Act("relu")),
        Node("conv3", Conv(width, out_chs, 1)),
        Node("bn3", BatchNorm(out_chs)),
        shortcut,
        Node("add", Add(), ("bn3", shortcut.name if shortcut else INPUT)),
        Node("act3", Act("relu")),
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(BottleneckRow, plan)
