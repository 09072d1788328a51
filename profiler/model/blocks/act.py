"""``act``: an activation alone (after a block whose code applies one outside it)."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from ...spec.fields import ROW_CONFIG, Activation, Repeats
from ..graph import Graph, Node
from ..layers import Act
from .base import BlockContext, BlockPlan, BlockType


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class ActRow:
    """An activation alone; the width and resolution stay as they are."""

    block: Literal["act"] = "act"
    act: Activation = "relu"
    n: Repeats = 1


def plan(row: ActRow, ctx: BlockContext) -> BlockPlan:
    nodes = () if row.act == "none" else (Node("act", Act(row.act)),)
    return BlockPlan(Graph(nodes), ctx.in_chs)


BLOCK = BlockType(ActRow, plan, scales_depth=False)
