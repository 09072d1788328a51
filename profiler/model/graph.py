"""A block's data flow, described once: a ``Graph`` of named nodes in execution order. The same graph is
counted from shapes (``profiler.count.shapes``) and turned into straight-line code (``profiler.model.codegen``),
so what is counted is what runs.

A node is a leaf layer (a module, one row of the report), a nested graph (a named part such as ``se`` or
``downsample``, a module of its own) or an element-wise op that the owning graph's ``forward`` runs (skip
add, SE multiply, concat, channel split and shuffle): no parameters, no row, but counted and listed where
fvcore does not count it, under the module that runs it (as fvcore attributes it). Each op says how it is
written in code (``emit``) and whether it may overwrite its first input (``inplace``).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, fx

from .layers import Layer

__all__ = [
    "INPUT",
    "Add",
    "ChannelShuffle",
    "ChannelSplit",
    "Concat",
    "Graph",
    "Mul",
    "Node",
    "Op",
    "channel_shuffle",
    "op_row_name",
]

INPUT = "input"  # the graph's own input, as a node's source
Shape = tuple[int, ...]


class ShapeMismatch(ValueError):
    """An op whose inputs cannot be combined (a skip add of two different shapes, ...)."""


@dataclass(frozen=True)
class Add:
    """Element-wise sum of two tensors of one shape (a residual skip)."""

    unsupported_ops: ClassVar[tuple[str, ...]] = ("aten::add",)  # fvcore counts it as zero
    aliases_input: ClassVar[bool] = False
    can_be_inplace: ClassVar[bool] = True  # ``a += b`` (torchvision's ResNet, EfficientNet and MobileNetV3)

    def shape(self, a: Shape, b: Shape) -> Shape:
        if a != b:
            raise ShapeMismatch(f"cannot add tensors of shapes {list(a)} and {list(b)}")
        return a

    def emit(self, graph: fx.Graph, args: tuple[fx.Node, ...], name: str, inplace: bool) -> fx.Node:
        return graph.create_node("call_function", operator.iadd if inplace else operator.add, args, name=name)


@dataclass(frozen=True)
class Mul:
    """Element-wise product, the second input broadcast over the first (an SE gate over the feature map)."""

    unsupported_ops: ClassVar[tuple[str, ...]] = ("aten::mul",)
    aliases_input: ClassVar[bool] = False
    can_be_inplace: ClassVar[bool] = True  # the first input has the output's shape

    def shape(self, a: Shape, b: Shape) -> Shape:
        if len(a) != len(b) or any(y not in (1, x) for x, y in zip(a, b, strict=False)):
            raise ShapeMismatch(f"cannot scale a tensor of shape {list(a)} by one of shape {list(b)}")
        return a

    def emit(self, graph: fx.Graph, args: tuple[fx.Node, ...], name: str, inplace: bool) -> fx.Node:
        return graph.create_node("call_function", operator.imul if inplace else operator.mul, args, name=name)


@dataclass(frozen=True)
class Concat:
    """Concatenation along channels."""

    unsupported_ops: ClassVar[tuple[str, ...]] = ()  # fvcore ignores it: data movement, no arithmetic
    aliases_input: ClassVar[bool] = False
    can_be_inplace: ClassVar[bool] = False

    def shape(self, *shapes: Shape) -> Shape:
        first = shapes[0]
        if any(len(s) != len(first) or s[:1] + s[2:] != first[:1] + first[2:] for s in shapes):
            raise ShapeMismatch(f"cannot concatenate channels of shapes {[list(s) for s in shapes]}")
        return (first[0], sum(s[1] for s in shapes), *first[2:])

    def emit(self, graph: fx.Graph, args: tuple[fx.Node, ...], name: str, inplace: bool) -> fx.Node:
        return graph.create_node("call_function", torch.cat, (list(args), 1), name=name)


@dataclass(frozen=True)
class ChannelSplit:
    """One of ``parts`` equal chunks of the channels (ShuffleNetV2's split), or, with ``sizes``, one of chunks of
    those sizes (MixConv's channel groups, as ``torch.split`` makes them)."""

    index: int
    parts: int = 2
    sizes: tuple[int, ...] | None = None

    unsupported_ops: ClassVar[tuple[str, ...]] = ()  # fvcore ignores it: data movement, no arithmetic
    aliases_input: ClassVar[bool] = True  # a view
    can_be_inplace: ClassVar[bool] = False

    def shape(self, a: Shape) -> Shape:
        if self.sizes is not None:
            if sum(self.sizes) != a[1]:
                raise ShapeMismatch(f"cannot split {a[1]} channels into groups of {list(self.sizes)}")
            return (a[0], self.sizes[self.index], *a[2:])
        if a[1] % self.parts:
            raise ShapeMismatch(f"cannot split {a[1]} channels into {self.parts} equal parts")
        return (a[0], a[1] // self.parts, *a[2:])

    def emit(self, graph: fx.Graph, args: tuple[fx.Node, ...], name: str, inplace: bool) -> fx.Node:
        chunked = f"{name}_chunks"
        if self.sizes is not None:
            chunks = graph.create_node("call_function", torch.split, (*args, list(self.sizes), 1), name=chunked)
        else:
            chunks = graph.create_node("call_method", "chunk", (*args, self.parts, 1), name=chunked)
        return graph.create_node("call_function", operator.getitem, (chunks, self.index), name=name)


@dataclass(frozen=True)
class ChannelShuffle:
    """Interleave the channels of ``groups`` groups (ShuffleNet), as view, transpose, view."""

    groups: int

    unsupported_ops: ClassVar[tuple[str, ...]] = ()  # fvcore ignores it: data movement, no arithmetic
    aliases_input: ClassVar[bool] = True  # a reshape may return a view
    can_be_inplace: ClassVar[bool] = False

    def shape(self, a: Shape) -> Shape:
        if a[1] % self.groups:
            raise ShapeMismatch(f"cannot shuffle {a[1]} channels in {self.groups} groups")
        return a

    def emit(self, graph: fx.Graph, args: tuple[fx.Node, ...], name: str, inplace: bool) -> fx.Node:
        return graph.create_node("call_function", channel_shuffle, (*args, self.groups), name=name)


def channel_shuffle(x: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (torchvision's ``channel_shuffle``)."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


Op = Add | Mul | Concat | ChannelSplit | ChannelShuffle


@dataclass(frozen=True)
class Node:
    name: str  # relative to its graph: "conv_dw", "se", "add"
    op: Layer | Op | Graph
    inputs: tuple[str, ...] = ()  # node names or INPUT; () reads the previous node's output

    @property
    def is_module(self) -> bool:
        return not isinstance(self.op, Op)


@dataclass(frozen=True)
class Graph:
    """Nodes in execution order; the output is the last node's."""

    nodes: tuple[Node, ...]


def sequence(*groups: Node | Sequence[Node] | None) -> tuple[Node, ...]:
    """Nodes from single nodes, lists of nodes and ``None`` (a part left out)."""
    out: list[Node] = []
    for group in groups:
        if group is None:
            continue
        out.extend([group] if isinstance(group, Node) else group)
    return tuple(out)


def op_row_name(owner: str, node: str) -> str:
    """How the report names the work of an op node: ``features.3 (add)``."""
    return f"{owner} ({node})" if owner else f"({node})"
