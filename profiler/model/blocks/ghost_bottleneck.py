"""``ghost_bottleneck``: GhostNet's bottleneck. A ghost module makes half its output with a 1x1 conv and the
other half from that half with a cheap 3x3 depthwise conv, concatenated; the bottleneck is ghost (expand,
ReLU), a k x k depthwise conv when it strides, optional squeeze-excite, ghost (project, no activation), plus
the input, or a depthwise k x k + 1x1 projection of it when the shape changes (Han et al., GhostNet, 2020, as
timm builds it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Kernel,
    Repeats,
    SeField,
    SqueezeExcite,
    Stride,
    Width,
    WidthRule,
    scale_channels,
    squeeze_excite_options,
)
from ..graph import INPUT, Add, Concat, Graph, Node, sequence
from ..layers import BatchNorm, Conv
from .base import BlockContext, BlockPlan, BlockType, act_node, same_padding, squeeze_excite


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class GhostBottleneckRow:
    """GhostNet: ghost module (expand to ``exp``), depthwise k x k when strided, optional SE, ghost module
    (project to ``c``), plus the input (or its depthwise + 1x1 projection when the shape changes)."""

    block: Literal["ghost_bottleneck"] = "ghost_bottleneck"
    c: Channels
    exp: Width = Field(description="the expanded width the first ghost module makes, width-scaled like c")
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = Field(default=3, description="kernel of the strided depthwise conv and of the shortcut's")
    se: SeField = 0.0
    se_gate: Activation = Field(default="hardsigmoid", description="the SE gate when se is a number or true")
    act: Activation = Field(default="relu", description="after the first ghost module's two convs")
    dw_size: Kernel = Field(default=3, description="the ghost modules' cheap depthwise conv")
    width: WidthRule = "scale"

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        return squeeze_excite_options(self.se, self.se_gate)


def ghost_module(in_chs: int, out_chs: int, act: str, dw_size: int, where: tuple) -> Graph:
    """A 1x1 conv to half the output (+ BN, act), a depthwise conv of that half to the other (+ BN, act), the
    two concatenated."""
    if out_chs % 2:
        raise SpecError.at(where, f"a ghost module makes its {out_chs} channels in two equal halves: use an even width")
    half = out_chs // 2
    nodes = sequence(
        Node("primary_conv", Conv(in_chs, half, 1)),
        Node("primary_bn", BatchNorm(half)),
        act_node("primary_act", act),
    )
    cheap = sequence(
        Node("cheap_conv", Conv(half, half, dw_size, groups=half, padding=same_padding(dw_size, 1))),
        Node("cheap_bn", BatchNorm(half)),
        act_node("cheap_act", act),
    )
    return Graph((*nodes, *cheap, Node("cat", Concat(), (nodes[-1].name, cheap[-1].name))))


def plan(row: GhostBottleneckRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs, stride = ctx.in_chs, ctx.c, ctx.stride
    mid_chs = scale_channels(row.exp, ctx.width_multiplier, row.width)
    pad = same_padding(row.k, 1)
    strided = [
        Node("conv_dw", Conv(mid_chs, mid_chs, row.k, stride, mid_chs, padding=pad)),
        Node("bn_dw", BatchNorm(mid_chs)),
    ]
    shortcut = None
    if stride != 1 or in_chs != out_chs:
        shortcut = Graph(
            (
                Node("conv_dw", Conv(in_chs, in_chs, row.k, stride, in_chs, padding=pad)),
                Node("bn_dw", BatchNorm(in_chs)),
                Node("conv", Conv(in_chs, out_chs, 1)),
                Node("bn", BatchNorm(out_chs)),
            )
        )
    nodes = sequence(
        Node("ghost1", ghost_module(in_chs, mid_chs, row.act, row.dw_size, (*ctx.loc, "exp"))),
        strided if stride > 1 else None,
        Node("se", squeeze_excite(mid_chs, in_chs, se)) if (se := row.squeeze_excite) else None,
        Node("ghost2", ghost_module(mid_chs, out_chs, "none", row.dw_size, (*ctx.loc, "c"))),
        Node("shortcut", shortcut, (INPUT,)) if shortcut else None,
        Node("add", Add(), ("ghost2", "shortcut" if shortcut else INPUT)),
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(GhostBottleneckRow, plan)
