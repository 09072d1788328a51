"""``inverted_residual``: MobileNetV2/V3's 1x1 expand, k x k depthwise, optional squeeze-excite, 1x1 linear
projection, and a skip add when the stride is 1 and the width unchanged."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat
from pydantic.dataclasses import dataclass

from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Dilation,
    Kernel,
    Repeats,
    Stride,
    Width,
    WidthRule,
    make_divisible,
    scale_channels,
)
from ..graph import INPUT, Add, Graph, Mul, Node, sequence
from ..layers import Act, BatchNorm, Conv, GlobalAvgPool
from .base import BlockContext, BlockPlan, BlockType, act_node, same_padding


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class InvertedResidualRow:
    """MobileNetV2/V3: 1x1 expand, k x k depthwise, optional SE, 1x1 linear projection; skip when s=1, in=out.

    The expansion is ``t`` (V2 tables: expanded = round(in*t)) or ``exp`` (V3 tables: expanded channels,
    width-scaled like ``c``). The expand conv is left out when expanded == in.
    """

    block: Literal["inverted_residual"] = "inverted_residual"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    t: Annotated[StrictFloat, Field(gt=0, le=1024)] | None = None
    exp: Width | None = None
    k: Kernel = 3
    se: Annotated[StrictFloat, Field(ge=0, lt=1)] | StrictBool = Field(
        default=0.0, description="squeeze-excite ratio of the expanded channels; true = 0.25 (MobileNetV3)"
    )
    se_gate: Activation = "hardsigmoid"
    act: Activation = "relu6"
    dilation: Dilation = 1
    width: WidthRule = "scale"

    def __post_init__(self) -> None:
        if self.t is not None and self.exp is not None:
            raise ValueError("give either t (expansion ratio) or exp (expanded channels), not both")

    @property
    def se_ratio(self) -> float:
        return 0.25 if self.se is True else float(self.se)


def squeeze_excite(chs: int, ratio: float, gate: str) -> Graph:
    """MobileNetV3's SE: global pool, 1x1 reduce + ReLU, 1x1 expand, gate, then scale the input by it."""
    rd_chs = make_divisible(int(chs * ratio))  # MobileNetV3: _make_divisible(exp // 4, 8)
    nodes = sequence(
        Node("pool", GlobalAvgPool()),
        Node("fc1", Conv(chs, rd_chs, 1, bias=True)),
        Node("act", Act("relu")),
        Node("fc2", Conv(rd_chs, chs, 1, bias=True)),
        act_node("gate", gate),
    )
    return Graph((*nodes, Node("scale", Mul(), (INPUT, nodes[-1].name))))


def plan(row: InvertedResidualRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    if row.exp is not None:
        mid_chs = scale_channels(row.exp, ctx.width_multiplier, row.width)
    else:
        mid_chs = round(in_chs * (row.t if row.t is not None else 6.0))  # torchvision's MobileNetV2 rule
    mid_chs = max(mid_chs, 1)
    expand = None
    if mid_chs != in_chs:
        expand = sequence(
            Node("conv_pw", Conv(in_chs, mid_chs, 1)), Node("bn1", BatchNorm(mid_chs)), act_node("act1", row.act)
        )
    pad = same_padding(row.k, row.dilation)
    nodes = sequence(
        expand,
        Node("conv_dw", Conv(mid_chs, mid_chs, row.k, ctx.stride, mid_chs, row.dilation, pad)),
        Node("bn2", BatchNorm(mid_chs)),
        act_node("act2", row.act),
        Node("se", squeeze_excite(mid_chs, row.se_ratio, row.se_gate)) if row.se_ratio > 0 else None,
        Node("conv_pwl", Conv(mid_chs, out_chs, 1)),
        Node("bn3", BatchNorm(out_chs)),
        Node("add", Add(), ("bn3", INPUT)) if ctx.stride == 1 and in_chs == out_chs else None,
    )
    return BlockPlan(Graph(nodes), out_chs)


BLOCK = BlockType(InvertedResidualRow, plan)
