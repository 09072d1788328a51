"""``inverted_residual``: MobileNetV2/V3's 1x1 expand, k x k depthwise, optional squeeze-excite, 1x1 linear
projection, and a skip add when the stride is 1 and the width unchanged."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import (
    ROW_CONFIG,
    Activation,
    Channels,
    Dilation,
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
from ..graph import INPUT, Add, Graph, Node, sequence
from ..layers import BatchNorm
from .base import BlockContext, BlockPlan, BlockType, act_node, mixed_conv, squeeze_excite


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
    k: Kernel | Annotated[tuple[Kernel, ...], Field(min_length=1, max_length=8)] = Field(
        default=3, description="the depthwise kernel; a list mixes kernels over equal channel groups (MixConv)"
    )
    exp_groups: Annotated[StrictInt, Field(ge=1, le=8)] = Field(
        default=1, description="the 1x1 expansion split into this many channel groups (MixNet's grouped pointwise)"
    )
    pw_groups: Annotated[StrictInt, Field(ge=1, le=8)] = Field(
        default=1, description="the 1x1 projection split into this many channel groups"
    )
    se: SeField = 0.0
    se_gate: Activation = Field(default="hardsigmoid", description="the SE gate when se is a number or true")
    act: Activation = "relu6"
    expand: Literal["auto", "always"] = Field(
        default="auto",
        description="auto: no 1x1 expand conv when the expanded width equals the input width (torchvision); "
        "always: keep it",
    )
    stochastic_depth: Annotated[StrictFloat, Field(ge=0, lt=1)] = Field(
        default=0.0, description="drop-path rate: training only, no layer and no work at inference"
    )
    dilation: Dilation = 1
    skip: StrictBool = Field(default=True, description="add the input when s=1 and in=out; false: never")
    width: WidthRule = "scale"

    def __post_init__(self) -> None:
        if self.t is not None and self.exp is not None:
            raise ValueError("give either t (expansion ratio) or exp (expanded channels), not both")

    @property
    def squeeze_excite(self) -> SqueezeExcite | None:
        return squeeze_excite_options(self.se, self.se_gate)


def plan(row: InvertedResidualRow, ctx: BlockContext) -> BlockPlan:
    in_chs, out_chs = ctx.in_chs, ctx.c
    if row.exp is not None:
        mid_chs = scale_channels(row.exp, ctx.width_multiplier, row.width)
    else:
        mid_chs = round(in_chs * (row.t if row.t is not None else 6.0))  # torchvision's MobileNetV2 rule
    mid_chs = max(mid_chs, 1)
    expand = None
    if mid_chs != in_chs or row.expand == "always":
        expand = sequence(
            mixed_conv("conv_pw", in_chs, mid_chs, (1,) * row.exp_groups, 1, depthwise=False),
            Node("bn1", BatchNorm(mid_chs)),
            act_node("act1", row.act),
        )
    kernels = row.k if isinstance(row.k, tuple) else (row.k,)
    _check_split(ctx, "k", len(kernels), mid_chs, "mixed depthwise kernels")
    if expand is not None:
        _check_split(ctx, "exp_groups", row.exp_groups, min(in_chs, mid_chs), "expansion groups")
    _check_split(ctx, "pw_groups", row.pw_groups, min(mid_chs, out_chs), "projection groups")
    nodes = sequence(
        expand,
        mixed_conv("conv_dw", mid_chs, mid_chs, kernels, ctx.stride, depthwise=True, dilation=row.dilation),
        Node("bn2", BatchNorm(mid_chs)),
        act_node("act2", row.act),
        Node("se", squeeze_excite(mid_chs, in_chs, se)) if (se := row.squeeze_excite) else None,
        mixed_conv("conv_pwl", mid_chs, out_chs, (1,) * row.pw_groups, 1, depthwise=False),
        Node("bn3", BatchNorm(out_chs)),
        Node("add", Add(), ("bn3", INPUT)) if row.skip and ctx.stride == 1 and in_chs == out_chs else None,
    )
    return BlockPlan(Graph(nodes), out_chs)


def _check_split(ctx: BlockContext, field: str, groups: int, chs: int, what: str) -> None:
    """MixConv splits channels into groups: each needs one at least."""
    if groups > chs:
        raise SpecError.at((*ctx.loc, field), f"{groups} {what} over {chs} channels: at most one group per channel")


BLOCK = BlockType(InvertedResidualRow, plan)
