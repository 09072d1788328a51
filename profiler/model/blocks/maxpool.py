"""``maxpool``: max pooling (ResNet's stem). Padding defaults to (k-1)//2."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from ...errors import SpecError
from ...spec.fields import ROW_CONFIG, Kernel, Padding, Repeats, Stride
from ..graph import Graph, Node
from ..layers import MaxPool
from .base import BlockContext, BlockPlan, BlockType


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class MaxPoolRow:
    """Max pooling (ResNet stem). Padding defaults to (k-1)//2."""

    block: Literal["maxpool"] = "maxpool"
    k: Kernel = 3
    s: Stride = 2
    padding: Padding = None
    n: Repeats = 1


def plan(row: MaxPoolRow, ctx: BlockContext) -> BlockPlan:
    padding = (row.k - 1) // 2 if row.padding is None else row.padding
    if 2 * padding > row.k:
        raise SpecError.at((*ctx.loc, "padding"), f"padding {padding} is more than half the kernel {row.k}")
    return BlockPlan(Graph((Node("pool", MaxPool(row.k, ctx.stride, padding)),)), ctx.in_chs)


BLOCK = BlockType(MaxPoolRow, plan, scales_depth=False)
