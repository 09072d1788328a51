"""``uib``: MobileNetV4's Universal Inverted Bottleneck: an optional depthwise conv before the 1x1 expansion,
the expansion, an optional depthwise conv after it, optional SE, the 1x1 projection, an optional depthwise conv
after that; skip when s=1, in=out. Its variants are which depthwise convs it has: inverted bottleneck
(``dw_mid``), ConvNeXt-like (``dw_start``), ExtraDW (both), FFN (neither) (Qin et al., MobileNetV4, 2024, as
timm builds it)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Repeats,
    SeField,
    SqueezeExcite,
    Stride,
    WidthRule,
    make_divisible,
    squeeze_excite_options,
)
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import BatchNorm, Conv, LayerScale
from .base import BlockContext, BlockPlan, BlockType, act_node, same_padding, squeeze_excite

DwKernel = Annotated[StrictInt, Field(ge=0, le=31, description="kernel of this depthwise conv; 0: none")]


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class UibRow:
    """MobileNetV4's UIB: [depthwise k_start] -> 1x1 expand + act -> [depthwise k_mid + act] -> [SE] -> 1x1
    project -> [depthwise k_end]; skip when s=1, in=out. The expanded width is make_divisible(in * t) (timm)."""

    block: Literal["uib"] = "uib"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    t: Annotated[StrictFloat, Field(gt=0, le=1024)] = 4.0
    dw_start: DwKernel = 0
    dw_mid: DwKernel = 3
    dw_end: DwKernel = 0
    se: SeField = 0.0
    se_gate: Activation = Field(default="sigmoid", description="the SE gate when se is a number or true")
    act: Activation = "relu"
    skip: StrictBool = Field(default=True, description="add the input when s=1 and in=out; false: never")
    layer_scale: StrictBool = Field(
        default=False, description="a learnable per-channel scale on the block's output (MobileNetV4 hybrids)"
    )
    width: WidthRule = "scale"

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        return squeeze_excite_options(self.se, self.se_gate)


def plan(row: UibRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs, stride = ctx.in_chs, ctx.c, ctx.stride
    if stride > 1 and not (row.dw_start or row.dw_mid or row.dw_end):
        raise SpecError.at((*ctx.loc, "s"), "a UIB strides in a depthwise conv: give dw_start, dw_mid or dw_end")
    mid_chs = make_divisible(in_chs * row.t)
    # The stride goes to the middle depthwise conv, else the first, else the last (timm).
    start_stride = stride if not row.dw_mid else 1
    end_stride = stride if not (row.dw_start or row.dw_mid) else 1

    def dw(name: str, chs: int, k: int, s: int, act: str) -> list[Node]:
        conv = Conv(chs, chs, k, s, chs, padding=same_padding(k, 1))
        return [
            Node(f"conv_{name}", conv),
            Node(f"bn_{name}", BatchNorm(chs)),
            *([a] if (a := act_node(f"act_{name}", act)) else []),
        ]

    nodes = sequence(
        dw("dw_start", in_chs, row.dw_start, start_stride, "none") if row.dw_start else None,
        Node("conv_pw", Conv(in_chs, mid_chs, 1)),
        Node("bn_pw", BatchNorm(mid_chs)),
        act_node("act_pw", row.act),
        dw("dw_mid", mid_chs, row.dw_mid, stride, row.act) if row.dw_mid else None,
        Node("se", squeeze_excite(mid_chs, in_chs, se)) if (se := row.squeeze_excite) else None,
        Node("conv_pwl", Conv(mid_chs, out_chs, 1)),
        Node("bn_pwl", BatchNorm(out_chs)),
        dw("dw_end", out_chs, row.dw_end, end_stride, "none") if row.dw_end else None,
        Node("layer_scale", LayerScale(out_chs)) if row.layer_scale else None,
    )
    if row.skip and stride == 1 and in_chs == out_chs:
        nodes = (*nodes, Node("add", Add(), (nodes[-1].name, INPUT)))
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(UibRow, plan)
