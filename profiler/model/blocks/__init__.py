"""The block types, one file each, registered here once: the spec's row union, the planner and the
module all come from this table. Adding a block is one new file and one line below."""

from __future__ import annotations

from . import (
    act,
    basic,
    bottleneck,
    conv,
    depthwise_separable,
    fire,
    fused_mbconv,
    ghost_bottleneck,
    inverted_residual,
    maxpool,
    mobileone,
    pool,
    regnet_bottleneck,
    repvgg,
    shuffle_v2,
    uib,
)
from .base import BlockContext, BlockPlan, BlockType

BLOCKS: dict[str, BlockType] = {
    b.name: b
    for b in (
        conv.BLOCK,
        depthwise_separable.BLOCK,
        inverted_residual.BLOCK,
        basic.BLOCK,
        bottleneck.BLOCK,
        maxpool.BLOCK,
        fire.BLOCK,
        act.BLOCK,
        pool.BLOCK,
        fused_mbconv.BLOCK,
        shuffle_v2.BLOCK,
        regnet_bottleneck.BLOCK,
        ghost_bottleneck.BLOCK,
        uib.BLOCK,
        repvgg.BLOCK,
        mobileone.BLOCK,
    )
}

__all__ = ["BLOCKS", "BlockContext", "BlockPlan", "BlockType"]
