"""What every block file provides, and the small parts blocks are made of.

A block type is one file: its row (a pydantic dataclass whose ``block`` field names it), and its plan
(row + context -> a ``Graph`` of named nodes and the output width). The graph is the only description of
the block's data flow: the counter reads it and ``GraphModule`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from ...errors import Loc, SpecError
from ...spec.fields import SqueezeExcite, make_divisible
from ..graph import INPUT, ChannelSplit, Concat, Graph, Mul, Node, sequence
from ..layers import BatchNorm, Conv, GlobalAvgPool, act_or_none

__all__ = [
    "BlockContext",
    "BlockPlan",
    "BlockType",
    "act_node",
    "check_groups",
    "conv_bn_act",
    "downsample",
    "mixed_conv",
    "same_padding",
    "squeeze_excite",
]


@dataclass(frozen=True)
class BlockContext:
    """Where one repetition of a row sits in the model."""

    in_chs: int
    c: int  # the row's ``c`` after width scaling (``in_chs`` for rows without ``c``)
    stride: int  # the row's ``s`` on its first repetition, 1 after
    width_multiplier: float
    loc: Loc  # the row in the spec, for error messages: ("stages", i)
    form: str = "train"  # the spec's form: reparameterizable blocks plan their branches, or one fused conv


@dataclass(frozen=True)
class BlockPlan:
    graph: Graph
    out_chs: int


@dataclass(frozen=True)
class BlockType:
    row: type  # the row's pydantic dataclass; its ``block`` default is the kind's name
    plan: Callable[[Any, BlockContext], BlockPlan]
    scales_depth: bool = True  # its ``n`` grows with the spec's depth_multiplier (stems, heads and pools do not)
    reparameterizable: bool = False  # plans a training and a deployed form (the spec's ``form``)

    @property
    def name(self) -> str:
        return str(next(f.default for f in fields(self.row) if f.name == "block"))


def check_groups(groups: int, in_chs: int, out_chs: int, loc: Loc) -> None:
    """A grouped conv's groups divide its input and output channels."""
    if in_chs % groups or out_chs % groups:
        raise SpecError.at(loc, f"{groups} groups must divide the {in_chs} input and {out_chs} output channels")


def same_padding(k: int, dilation: int) -> int:
    return dilation * (k - 1) // 2


def act_node(name: str, kind: str) -> Node | None:
    act = act_or_none(kind)
    return None if act is None else Node(name, act)


def conv_bn_act(conv: Conv, act: str, *, bn: bool = True, suffix: str = "") -> list[Node]:
    """Conv, then BN, then the activation, named ``conv``/``bn``/``act`` + ``suffix`` (bn and act optional)."""
    nodes = [Node(f"conv{suffix}", conv)]
    if bn:
        nodes.append(Node(f"bn{suffix}", BatchNorm(conv.out_chs)))
    if (a := act_node(f"act{suffix}", act)) is not None:
        nodes.append(a)
    return nodes


def downsample(in_chs: int, out_chs: int, stride: int) -> Node | None:
    """ResNet's shortcut projection (1x1 conv + BN on the block's input) when the shape changes, else None."""
    if stride == 1 and in_chs == out_chs:
        return None
    graph = Graph((Node("conv", Conv(in_chs, out_chs, 1, stride)), Node("bn", BatchNorm(out_chs))))
    return Node("downsample", graph, (INPUT,))


def squeeze_excite(chs: int, in_chs: int, se: SqueezeExcite) -> Graph:
    """SE on ``chs`` features of a block whose input has ``in_chs``: global pool, 1x1 reduce + act, 1x1 expand,
    gate, then the features scaled by it."""
    base = in_chs if se.base == "input" else chs
    rd_chs = make_divisible(int(base * se.ratio), se.divisor)  # MobileNetV3: _make_divisible(exp // 4, 8)
    nodes = sequence(
        Node("pool", GlobalAvgPool()),
        Node("fc1", Conv(chs, rd_chs, 1, bias=se.bias)),
        act_node("act", se.act),
        Node("fc2", Conv(rd_chs, chs, 1, bias=se.bias)),
        act_node("gate", se.gate),
    )
    return Graph((*nodes, Node("scale", Mul(), (INPUT, nodes[-1].name))))


def split_channels(chs: int, groups: int) -> tuple[int, ...]:
    """``chs`` in ``groups`` equal parts, the remainder to the first (MixNet, timm's ``_split_channels``)."""
    split = [chs // groups] * groups
    split[0] += chs - sum(split)
    return tuple(split)


def mixed_conv(
    name: str, in_chs: int, out_chs: int, kernels: tuple[int, ...], stride: int, *, depthwise: bool, dilation: int = 1
) -> Node:
    """MixConv: one conv, or, with several kernels, the channels split in as many groups (equal, the remainder
    to the first), each convolved with its own kernel (same stride), the outputs concatenated."""
    if len(kernels) == 1:
        k = kernels[0]
        groups = in_chs if depthwise else 1
        return Node(name, Conv(in_chs, out_chs, k, stride, groups, dilation, same_padding(k, dilation)))
    ins, outs = split_channels(in_chs, len(kernels)), split_channels(out_chs, len(kernels))
    nodes: list[Node] = []
    for i, (k, cin, cout) in enumerate(zip(kernels, ins, outs, strict=True)):
        nodes.append(Node(f"split{i}", ChannelSplit(i, sizes=ins), (INPUT,)))
        conv = Conv(cin, cout, k, stride, cin if depthwise else 1, dilation, same_padding(k, dilation))
        nodes.append(Node(str(i), conv, (f"split{i}",)))
    return Node(name, Graph((*nodes, Node("cat", Concat(), tuple(str(i) for i in range(len(kernels)))))))
