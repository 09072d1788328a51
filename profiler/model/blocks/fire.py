"""``fire``: SqueezeNet's Fire module. A 1x1 squeeze conv + ReLU, then two expand convs side by side on its
output (1x1 and 3x3, each + ReLU), concatenated along channels. Convs have biases and no BN, as in the paper
and torchvision. ``c`` is the output width (half from each expand), ``squeeze`` the squeeze width; both are
scaled by the width multiplier."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import ROW_CONFIG, Channels, Repeats, Width, WidthRule, scale_channels
from ..graph import Concat, Graph, Node
from ..layers import Act, Conv
from .base import BlockContext, BlockPlan, BlockType


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class FireRow:
    """SqueezeNet's Fire module: squeeze 1x1, then expand 1x1 and 3x3 in parallel, concatenated."""

    block: Literal["fire"] = "fire"
    c: Channels = Field(description="output channels, half from the 1x1 expand and half from the 3x3")
    squeeze: Annotated[Width, Field(description="channels of the squeeze conv")]
    n: Repeats = 1
    width: WidthRule = "scale"


def plan(row: FireRow, ctx: BlockContext) -> BlockPlan:
    if ctx.c % 2:
        raise SpecError.at((*ctx.loc, "c"), f"a fire module splits its {ctx.c} output channels in two halves")
    squeeze = scale_channels(row.squeeze, ctx.width_multiplier, row.width)
    half = ctx.c // 2
    nodes = (
        Node("squeeze", Conv(ctx.in_chs, squeeze, 1, bias=True)),
        Node("squeeze_act", Act("relu")),
        Node("expand1x1", Conv(squeeze, half, 1, bias=True), ("squeeze_act",)),
        Node("expand1x1_act", Act("relu")),
        Node("expand3x3", Conv(squeeze, half, 3, padding=1, bias=True), ("squeeze_act",)),
        Node("expand3x3_act", Act("relu")),
        Node("cat", Concat(), ("expand1x1_act", "expand3x3_act")),
    )
    return BlockPlan(Graph(nodes), ctx.c)


BLOCK = BlockType(FireRow, plan)
