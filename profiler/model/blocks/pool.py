"""``pool``: average or max pooling, k x k or global (to 1 x 1)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import ROW_CONFIG, Kernel, Padding, Repeats, Stride
from ..graph import Graph, Node
from ..layers import AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool
from .base import BlockContext, BlockPlan, BlockType


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class PoolRow:
    """Average or max pooling: k x k with stride s (padding default (k-1)//2), or global."""

    block: Literal["pool"] = "pool"
    type: Literal["avg", "max"] = "avg"
    k: Kernel | Literal["global"] = Field(default=2, description="kernel size, or global (to 1 x 1)")
    s: Stride | None = Field(default=None, description="stride (default: k)")
    padding: Padding = None
    n: Repeats = 1


def plan(row: PoolRow, ctx: BlockContext) -> BlockPlan:
    if row.k == "global":
        return BlockPlan(Graph((Node("pool", GlobalAvgPool() if row.type == "avg" else GlobalMaxPool()),)), ctx.in_chs)
    padding = (row.k - 1) // 2 if row.padding is None else row.padding
    if 2 * padding > row.k:
        raise SpecError.at((*ctx.loc, "padding"), f"padding {padding} is more than half the kernel {row.k}")
    stride = row.k if row.s is None else ctx.stride
    layer = AvgPool(row.k, stride, padding) if row.type == "avg" else MaxPool(row.k, stride, padding)
    return BlockPlan(Graph((Node("pool", layer),)), ctx.in_chs)


BLOCK = BlockType(PoolRow, plan, scales_depth=False)
