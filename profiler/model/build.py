"""Spec -> plan -> ``nn.Module``. The loop reads like the papers: for each row, scale ``c`` once, repeat
``n`` times, stride only on the first repetition. Planning allocates no tensors; building does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from ..errors import Loc, SpecError
from ..limits import Limits
from ..spec import ClassifierSpec, ModelSpec, scale_channels
from .blocks import BLOCKS, BlockContext
from .codegen import generate
from .graph import Graph, Node, sequence
from .layers import BatchNorm, Conv, Dropout, Flatten, GlobalAvgPool, Linear, act_or_none

__all__ = ["Block", "ModelPlan", "build_model", "plan_model"]


@dataclass(frozen=True)
class Block:
    """One repetition of a row: ``features.{i}`` in the model."""

    graph: Graph
    in_chs: int
    out_chs: int
    loc: Loc  # the spec row it came from, for error messages


@dataclass(frozen=True)
class ModelPlan:
    spec: ModelSpec
    blocks: tuple[Block, ...]  # features.0, features.1, ...
    head: tuple[Node, ...]  # global_pool, flatten, classifier (empty when classifier is null)

    @property
    def graph(self) -> Graph:
        """The whole model: ``features`` (one node per block), then the head."""
        features = Graph(tuple(Node(str(i), b.graph) for i, b in enumerate(self.blocks)))
        return Graph((Node("features", features), *self.head))

    def build(self, inplace: bool = True) -> fx.GraphModule:
        """The model as generated code (``codegen.generate``); ``inplace=False`` keeps every activation and op
        out of place (what fvcore counts: it names in-place ops apart, ``aten::hardtanh_``)."""
        return generate(self.graph, inplace)


def plan_model(spec: ModelSpec, limits: Limits | None = None) -> ModelPlan:
    """Plan every layer of ``spec`` and check the structural limits, before anything is allocated."""
    limits = limits or Limits()
    h, w = spec.hw
    limits.check("max_resolution", max(h, w), ("resolution",))
    limits.check("max_channels", spec.in_channels, ("in_channels",), "in_channels")
    limits.check("max_channels", spec.num_classes, ("num_classes",), "num_classes")
    repeats = [_repeats(row, spec.depth_multiplier, spec.depth_rounding) for row in spec.stages]
    total_blocks = sum(repeats)
    limits.check("max_blocks", total_blocks, ("stages",), "number of blocks (sum of n over the rows)")

    blocks: list[Block] = []
    in_chs = spec.in_channels
    for i, row in enumerate(spec.stages):
        loc = ("stages", i)
        c = scale_channels(row.c, spec.width_multiplier, row.width) if hasattr(row, "c") else in_chs
        limits.check("max_channels", c, (*loc, "c"))
        block_type = BLOCKS[row.block]
        for rep in range(repeats[i]):
            stride = (getattr(row, "s", 1) or 1) if rep == 0 else 1  # rows without ``s`` keep the resolution
            ctx = BlockContext(in_chs, c, stride, spec.width_multiplier, loc, spec.form)
            plan = block_type.plan(row, ctx)
            _check_widths(plan.graph, limits, loc)
            blocks.append(Block(plan.graph, in_chs, plan.out_chs, loc))
            in_chs = plan.out_chs
    model = ModelPlan(spec, tuple(blocks), _plan_head(spec.classifier, in_chs, spec, limits))
    limits.check("max_layers", _layers(model.graph), ("stages",), "layers (rows of the report)")
    return model


def _repeats(row: Any, depth_multiplier: float, rounding: str = "up") -> int:
    """A row's ``n`` scaled by the depth multiplier, rounded up (EfficientNet) or to the nearest (TinyNet); stems,
    heads and pools keep theirs."""
    if depth_multiplier == 1.0 or not BLOCKS[row.block].scales_depth:
        return int(row.n)
    scaled = row.n * depth_multiplier
    return math.ceil(scaled) if rounding == "up" else max(1, round(scaled))


def _layers(graph: Graph) -> int:
    """Leaf layers and ops: the rows a report (and a per-layer measurement) will have."""
    return sum(_layers(node.op) if isinstance(node.op, Graph) else 1 for node in graph.nodes)


def _check_widths(graph: Graph, limits: Limits, loc: Loc) -> None:
    """Every layer's width within ``max_channels`` (a block may widen inside: an expansion, a bottleneck)."""
    for node in graph.nodes:
        if isinstance(node.op, Graph):
            _check_widths(node.op, limits, loc)
        for chs in (getattr(node.op, "out_chs", 0), getattr(node.op, "in_chs", 0)):
            limits.check("max_channels", chs, loc)


def _plan_head(cls: ClassifierSpec | None, in_chs: int, spec: ModelSpec, limits: Limits) -> tuple[Node, ...]:
    if cls is None:
        return ()
    features = in_chs
    hidden: list[Node] = []
    conv_head: list[Node] = []  # a 1x1 conv on the pooled map, before flattening (timm's conv_head)
    if cls.hidden is not None:
        hidden_chs = scale_channels(cls.hidden, spec.width_multiplier, cls.hidden_width)
        limits.check("max_channels", hidden_chs, ("classifier", "hidden"))
        act = act_or_none(cls.act)
        bias = not cls.hidden_bn if cls.hidden_bias is None else cls.hidden_bias
        if cls.hidden_layer == "conv":
            conv_head = [
                Node("conv_head", Conv(features, hidden_chs, 1, bias=bias)),
                *([Node("bn_head", BatchNorm(hidden_chs))] if cls.hidden_bn else []),
                *([Node("act_head", act)] if act else []),
            ]
        elif cls.hidden_bn:
            raise SpecError.at(("classifier", "hidden_bn"), 'a BN after the hidden layer needs "hidden_layer": "conv"')
        else:
            hidden = [Node("fc1", Linear(features, hidden_chs, bias=bias)), *([Node("act", act)] if act else [])]
        features = hidden_chs
    classifier = sequence(
        hidden,
        Node("dropout", Dropout(cls.dropout)) if cls.dropout > 0 else None,
        Node("fc", Linear(features, spec.num_classes)),
    )
    pool = Node("global_pool", GlobalAvgPool())
    return (pool, *conv_head, Node("flatten", Flatten()), Node("classifier", Graph(classifier)))


def build_model(spec: ModelSpec, limits: Limits | None = None, device: str | torch.device = "cpu") -> fx.GraphModule:
    """Build the model, in eval mode, on ``device``."""
    with torch.device(device):
        return plan_model(spec, limits).build().eval()
