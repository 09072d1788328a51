"""Spec -> plan -> ``nn.Module``. The loop reads like the papers: for each row, scale ``c`` once, repeat
``n`` times, stride only on the first repetition. Planning allocates no tensors; building does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .blocks import (
    BlockPlan,
    Node,
    plan_basic,
    plan_bottleneck,
    plan_conv,
    plan_depthwise_separable,
    plan_inverted_residual,
    plan_maxpool,
)
from .layers import Dropout, Flatten, GlobalAvgPool, Linear, act_or_none
from .limits import Limits
from .spec import (
    BasicRow,
    BottleneckRow,
    ClassifierSpec,
    ConvRow,
    DepthwiseSeparableRow,
    InvertedResidualRow,
    MaxPoolRow,
    ModelSpec,
    scale_channels,
)

# The one table that knows the block kinds: row type -> planner.
PLANNERS: dict[type, Callable[..., BlockPlan]] = {
    ConvRow: plan_conv,
    DepthwiseSeparableRow: plan_depthwise_separable,
    InvertedResidualRow: plan_inverted_residual,
    BasicRow: plan_basic,
    BottleneckRow: plan_bottleneck,
    MaxPoolRow: plan_maxpool,
}


@dataclass(frozen=True)
class ModelPlan:
    spec: ModelSpec
    blocks: tuple[BlockPlan, ...]  # features.0, features.1, ...
    head: tuple[Node, ...]  # global_pool, flatten, classifier.* (empty when classifier is null)

    def build(self) -> Model:
        return Model(self)


def plan_model(spec: ModelSpec, limits: Limits | None = None) -> ModelPlan:
    """Plan every layer of ``spec`` and check the structural limits, before anything is allocated."""
    limits = limits or Limits()
    h, w = spec.hw
    limits.check("max_resolution", max(h, w), ("resolution",))
    limits.check("max_channels", spec.in_channels, ("in_channels",), "in_channels")
    limits.check("max_channels", spec.num_classes, ("num_classes",), "num_classes")
    total_blocks = sum(row.n for row in spec.stages)
    limits.check("max_blocks", total_blocks, ("stages",), "number of blocks (sum of n over the rows)")

    blocks: list[BlockPlan] = []
    in_chs = spec.in_channels
    for i, row in enumerate(spec.stages):
        loc = ("stages", i)
        out_chs = scale_channels(row.c, spec.width_multiplier, row.width) if hasattr(row, "c") else in_chs
        limits.check("max_channels", out_chs, loc + ("c",))
        planner = PLANNERS[type(row)]
        for rep in range(row.n):
            stride = row.s if rep == 0 else 1
            plan = planner(row, in_chs, out_chs, stride, loc, spec.width_multiplier)
            for node in plan.nodes:
                for chs in (getattr(node.layer, "out_chs", 0), getattr(node.layer, "in_chs", 0)):
                    limits.check("max_channels", chs, loc)
            blocks.append(plan)
            in_chs = plan.out_chs
    return ModelPlan(spec, tuple(blocks), _plan_head(spec.classifier, in_chs, spec, limits))


def _plan_head(cls: ClassifierSpec | None, in_chs: int, spec: ModelSpec, limits: Limits) -> tuple[Node, ...]:
    if cls is None:
        return ()
    nodes = [Node("global_pool", GlobalAvgPool()), Node("flatten", Flatten())]
    features = in_chs
    if cls.hidden is not None:
        hidden = scale_channels(cls.hidden, spec.width_multiplier, cls.hidden_width)
        limits.check("max_channels", hidden, ("classifier", "hidden"))
        nodes.append(Node("classifier.fc1", Linear(features, hidden)))
        if (a := act_or_none(cls.act)) is not None:
            nodes.append(Node("classifier.act", a))
        features = hidden
    if cls.dropout > 0:
        nodes.append(Node("classifier.dropout", Dropout(cls.dropout)))
    nodes.append(Node("classifier.fc", Linear(features, spec.num_classes)))
    return tuple(nodes)


class Classifier(nn.Module):
    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.fc1 = plan.part("fc1")
        self.act = plan.part("act")
        self.dropout = plan.part("dropout")
        self.fc = plan.part("fc")

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.dropout(self.act(self.fc1(x))))


class Model(nn.Module):
    """``features`` (one entry per block), then ``global_pool``, ``flatten``, ``classifier``."""

    def __init__(self, plan: ModelPlan) -> None:
        super().__init__()
        self.features = nn.Sequential(*(b.build() for b in plan.blocks))
        head = BlockPlan(Classifier, plan.head, 0, 0)
        self.global_pool = head.part("global_pool")
        self.flatten = head.part("flatten")
        classifier = head.sub("classifier")
        self.classifier = Classifier(classifier) if classifier is not None else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.global_pool(self.features(x))))


def build_model(spec: ModelSpec, limits: Limits | None = None, device: str | torch.device = "cpu") -> Model:
    """Build the model, in eval mode, on ``device``."""
    with torch.device(device):
        return plan_model(spec, limits).build().eval()


__all__ = ["PLANNERS", "Model", "ModelPlan", "build_model", "plan_model"]
