"""Blocks: each row kind plans its leaf layers (named by role, as timm names them) and a module class
builds them and runs them in a straight line. The plan is what the counter reads; the module is what
runs; both come from the same ``Node`` list.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from .errors import SpecError
from .layers import Act, BatchNorm, Conv, GlobalAvgPool, Layer, MaxPool, act_or_none
from .spec import (
    BasicRow,
    BottleneckRow,
    ConvRow,
    DepthwiseSeparableRow,
    InvertedResidualRow,
    MaxPoolRow,
    make_divisible,
    scale_channels,
)

INPUT = "input"  # a node whose src is INPUT reads the block's input, not the previous node's output


@dataclass(frozen=True)
class Node:
    name: str  # dotted, relative to the block: "conv_dw", "se.fc1"
    layer: Layer
    src: str | None = None  # None: previous node's output; INPUT or an earlier node's name otherwise


@dataclass(frozen=True)
class BlockPlan:
    module_cls: type[nn.Module]
    nodes: tuple[Node, ...]
    in_chs: int
    out_chs: int
    loc: tuple[str | int, ...] = ()  # the spec row it came from, for error messages
    ops: tuple[tuple[str, str], ...] = ()  # (part, aten op) run in forward outside any leaf: skip add, SE mul

    def part(self, name: str) -> nn.Module:
        """The module of node ``name``, or Identity when the plan leaves that part out."""
        for node in self.nodes:
            if node.name == name:
                return node.layer.module()
        return nn.Identity()

    def sub(self, prefix: str) -> BlockPlan | None:
        """The plan of a nested part (``se``, ``downsample``), names relative to it."""
        nodes = tuple(
            Node(n.name[len(prefix) + 1 :], n.layer, n.src) for n in self.nodes if n.name.startswith(prefix + ".")
        )
        if not nodes:
            return None
        ops = tuple((p[len(prefix) + 1 :] if p != prefix else "", op) for p, op in self.ops if p.startswith(prefix))
        return BlockPlan(self.module_cls, nodes, self.in_chs, self.out_chs, self.loc, ops)

    def build(self) -> nn.Module:
        return self.module_cls(self)


def same_padding(k: int, dilation: int) -> int:
    return dilation * (k - 1) // 2


def _conv_bn_act(prefix: str, conv: Conv, act: str, bn: bool = True) -> list[Node]:
    """Conv, then BN, then activation, named ``conv``/``bn``/``act`` with an optional prefix."""
    nodes = [Node(f"{prefix}conv", conv)]
    if bn:
        nodes.append(Node(f"{prefix}bn", BatchNorm(conv.out_chs)))
    if (a := act_or_none(act)) is not None:
        nodes.append(Node(f"{prefix}act", a))
    return nodes


def _nodes(*groups: list[Node] | Node | None) -> tuple[Node, ...]:
    out: list[Node] = []
    for g in groups:
        if g is None:
            continue
        out.extend(g if isinstance(g, list) else [g])
    return tuple(out)


def _act_node(name: str, kind: str) -> Node | None:
    a = act_or_none(kind)
    return None if a is None else Node(name, a)


def _last_name(nodes: tuple[Node, ...]) -> str:
    return nodes[-1].name


# ---- modules -----------------------------------------------------------------------------------------


class ConvBlock(nn.Module):
    """conv -> bn -> act (any of bn/act may be Identity)."""

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.conv = plan.part("conv")
        self.bn = plan.part("bn")
        self.act = plan.part("act")

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))


class DepthwiseSeparable(nn.Module):
    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.conv_dw = plan.part("conv_dw")
        self.bn1 = plan.part("bn1")
        self.act1 = plan.part("act1")
        self.conv_pw = plan.part("conv_pw")
        self.bn2 = plan.part("bn2")
        self.act2 = plan.part("act2")

    def forward(self, x: Tensor) -> Tensor:
        x = self.act1(self.bn1(self.conv_dw(x)))
        return self.act2(self.bn2(self.conv_pw(x)))


class SqueezeExcite(nn.Module):
    """MobileNetV3's SE: global pool, 1x1 reduce + ReLU, 1x1 expand, gate, scale the input."""

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.pool = plan.part("pool")
        self.fc1 = plan.part("fc1")
        self.act = plan.part("act")
        self.fc2 = plan.part("fc2")
        self.gate = plan.part("gate")

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))


class InvertedResidual(nn.Module):
    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.has_skip = ("", "aten::add") in plan.ops
        self.conv_pw = plan.part("conv_pw")
        self.bn1 = plan.part("bn1")
        self.act1 = plan.part("act1")
        self.conv_dw = plan.part("conv_dw")
        self.bn2 = plan.part("bn2")
        self.act2 = plan.part("act2")
        se = plan.sub("se")
        self.se = SqueezeExcite(se) if se is not None else nn.Identity()
        self.conv_pwl = plan.part("conv_pwl")
        self.bn3 = plan.part("bn3")

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.act1(self.bn1(self.conv_pw(x)))
        x = self.act2(self.bn2(self.conv_dw(x)))
        x = self.bn3(self.conv_pwl(self.se(x)))
        return x + shortcut if self.has_skip else x


class _ResidualBase(nn.Module):
    def _downsample(self, plan: BlockPlan) -> nn.Module:
        sub = plan.sub("downsample")
        return ConvBlock(sub) if sub is not None else nn.Identity()


class BasicBlock(_ResidualBase):
    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.conv1 = plan.part("conv1")
        self.bn1 = plan.part("bn1")
        self.act1 = plan.part("act1")
        self.conv2 = plan.part("conv2")
        self.bn2 = plan.part("bn2")
        self.downsample = self._downsample(plan)
        self.act2 = plan.part("act2")

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return self.act2(x + shortcut)


class Bottleneck(_ResidualBase):
    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.conv1 = plan.part("conv1")
        self.bn1 = plan.part("bn1")
        self.act1 = plan.part("act1")
        self.conv2 = plan.part("conv2")
        self.bn2 = plan.part("bn2")
        self.act2 = plan.part("act2")
        self.conv3 = plan.part("conv3")
        self.bn3 = plan.part("bn3")
        self.downsample = self._downsample(plan)
        self.act3 = plan.part("act3")

    def forward(self, x: Tensor) -> Tensor:
        shortcut = self.downsample(x)
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.act2(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x))
        return self.act3(x + shortcut)


class MaxPoolBlock(nn.Module):
    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.pool = plan.part("pool")

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(x)


# ---- plans: one function per row kind, called once per repetition ---------------------------------


def plan_conv(row: ConvRow, in_chs: int, out_chs: int, stride: int, loc: tuple, width_multiplier: float) -> BlockPlan:
    groups = in_chs if row.groups == "depthwise" else row.groups
    if row.groups == "depthwise" and out_chs % in_chs:
        raise SpecError.at(
            loc + ("c",), f"a depthwise conv needs output channels ({out_chs}) to be a multiple of its input ({in_chs})"
        )
    for what, chs in (("input", in_chs), ("output", out_chs)):
        if chs % groups:
            raise SpecError.at(loc + ("groups",), f"groups={groups} does not divide the {what} channels ({chs})")
    padding = same_padding(row.k, row.dilation) if row.padding is None else row.padding
    bias = (not row.bn) if row.bias is None else row.bias
    conv = Conv(in_chs, out_chs, row.k, stride, groups, row.dilation, padding, bias)
    return BlockPlan(ConvBlock, _nodes(_conv_bn_act("", conv, row.act, row.bn)), in_chs, out_chs, loc)


def plan_depthwise_separable(
    row: DepthwiseSeparableRow, in_chs: int, out_chs: int, stride: int, loc: tuple, width_multiplier: float
) -> BlockPlan:
    pad = same_padding(row.k, row.dilation)
    nodes = _nodes(
        Node("conv_dw", Conv(in_chs, in_chs, row.k, stride, in_chs, row.dilation, pad)),
        Node("bn1", BatchNorm(in_chs)),
        _act_node("act1", row.act),
        Node("conv_pw", Conv(in_chs, out_chs, 1)),
        Node("bn2", BatchNorm(out_chs)),
        _act_node("act2", row.act),
    )
    return BlockPlan(DepthwiseSeparable, nodes, in_chs, out_chs, loc)


def plan_inverted_residual(
    row: InvertedResidualRow, in_chs: int, out_chs: int, stride: int, loc: tuple, width_multiplier: float
) -> BlockPlan:
    if row.exp is not None:
        mid_chs = scale_channels(row.exp, width_multiplier, row.width)
    else:
        mid_chs = int(round(in_chs * (row.t if row.t is not None else 6.0)))  # torchvision's MobileNetV2 rule
    mid_chs = max(mid_chs, 1)
    pad = same_padding(row.k, row.dilation)
    expand = None
    if mid_chs != in_chs:
        expand = [Node("conv_pw", Conv(in_chs, mid_chs, 1)), Node("bn1", BatchNorm(mid_chs))]
        expand += _nodes(_act_node("act1", row.act))
    dw = _nodes(
        Node("conv_dw", Conv(mid_chs, mid_chs, row.k, stride, mid_chs, row.dilation, pad)),
        Node("bn2", BatchNorm(mid_chs)),
        _act_node("act2", row.act),
    )
    ops: list[tuple[str, str]] = []
    se: list[Node] = []
    before_se = _last_name(dw)
    if row.se_ratio > 0:
        rd_chs = make_divisible(int(mid_chs * row.se_ratio))  # MobileNetV3: _make_divisible(exp // 4, 8)
        se = list(
            _nodes(
                Node("se.pool", GlobalAvgPool()),
                Node("se.fc1", Conv(mid_chs, rd_chs, 1, bias=True)),
                Node("se.act", Act("relu")),
                Node("se.fc2", Conv(rd_chs, mid_chs, 1, bias=True)),
                _act_node("se.gate", row.se_gate),
            )
        )
        ops.append(("se", "aten::mul"))
    proj = [Node("conv_pwl", Conv(mid_chs, out_chs, 1), src=before_se if se else None), Node("bn3", BatchNorm(out_chs))]
    if stride == 1 and in_chs == out_chs:
        ops.append(("", "aten::add"))
    nodes = _nodes(expand, list(dw), se, proj)
    return BlockPlan(InvertedResidual, nodes, in_chs, out_chs, loc, tuple(ops))


def _downsample_nodes(in_chs: int, out_chs: int, stride: int) -> list[Node]:
    if stride == 1 and in_chs == out_chs:
        return []
    return [
        Node("downsample.conv", Conv(in_chs, out_chs, 1, stride), src=INPUT),
        Node("downsample.bn", BatchNorm(out_chs)),
    ]


def plan_basic(row: BasicRow, in_chs: int, out_chs: int, stride: int, loc: tuple, width_multiplier: float) -> BlockPlan:
    nodes = _nodes(
        Node("conv1", Conv(in_chs, out_chs, 3, stride, padding=1)),
        Node("bn1", BatchNorm(out_chs)),
        Node("act1", Act("relu")),
        Node("conv2", Conv(out_chs, out_chs, 3, padding=1)),
        Node("bn2", BatchNorm(out_chs)),
        _downsample_nodes(in_chs, out_chs, stride),
        Node("act2", Act("relu"), src="bn2"),
    )
    return BlockPlan(BasicBlock, nodes, in_chs, out_chs, loc, (("", "aten::add"),))


BOTTLENECK_EXPANSION = 4


def plan_bottleneck(
    row: BottleneckRow, in_chs: int, width: int, stride: int, loc: tuple, width_multiplier: float
) -> BlockPlan:
    """``width`` is the row's scaled ``c``; the block outputs ``4 * width``."""
    out_chs = width * BOTTLENECK_EXPANSION
    nodes = _nodes(
        Node("conv1", Conv(in_chs, width, 1)),
        Node("bn1", BatchNorm(width)),
        Node("act1", Act("relu")),
        Node("conv2", Conv(width, width, 3, stride, padding=1)),
        Node("bn2", BatchNorm(width)),
        Node("act2", Act("relu")),
        Node("conv3", Conv(width, out_chs, 1)),
        Node("bn3", BatchNorm(out_chs)),
        _downsample_nodes(in_chs, out_chs, stride),
        Node("act3", Act("relu"), src="bn3"),
    )
    return BlockPlan(Bottleneck, nodes, in_chs, out_chs, loc, (("", "aten::add"),))


def plan_maxpool(row: MaxPoolRow, in_chs: int, out_chs: int, stride: int, loc: tuple, width_multiplier: float) -> BlockPlan:
    padding = (row.k - 1) // 2 if row.padding is None else row.padding
    if 2 * padding > row.k:
        raise SpecError.at(loc + ("padding",), f"padding {padding} is more than half the kernel {row.k}")
    return BlockPlan(MaxPoolBlock, (Node("pool", MaxPool(row.k, stride, padding)),), in_chs, in_chs, loc)

