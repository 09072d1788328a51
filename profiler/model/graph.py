"""A block's data flow, described once: a ``Graph`` of named nodes in execution order. The same graph is
counted from shapes (``profiler.count.shapes``) and run as an ``nn.Module`` (``GraphModule``), so what is
counted is what runs.

A node is a leaf layer (a module, one row of the report), a nested graph (a named part such as ``se`` or
``downsample``, a module of its own) or an element-wise op that the owning graph's ``forward`` runs (skip
add, SE multiply, concat, channel split and shuffle): no parameters, no row, but counted and listed where
fvcore does not count it, under the module that runs it (as fvcore attributes it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.profiler import record_function

from .layers import Layer

__all__ = [
    "INPUT",
    "Add",
    "ChannelShuffle",
    "ChannelSplit",
    "Concat",
    "Graph",
    "GraphModule",
    "Mul",
    "Node",
    "Op",
    "op_row_name",
    "range_names",
    "recorded_ranges",
]

INPUT = "input"  # the graph's own input, as a node's source
Shape = tuple[int, ...]


class ShapeMismatch(ValueError):
    """An op whose inputs cannot be combined (a skip add of two different shapes, ...)."""


@dataclass(frozen=True)
class Add:
    """Element-wise sum of two tensors of one shape (a residual skip)."""

    unsupported_ops: ClassVar[tuple[str, ...]] = ("aten::add",)  # fvcore counts it as zero

    def shape(self, a: Shape, b: Shape) -> Shape:
        if a != b:
            raise ShapeMismatch(f"cannot add tensors of shapes {list(a)} and {list(b)}")
        return a

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b


@dataclass(frozen=True)
class Mul:
    """Element-wise product, the second input broadcast over the first (an SE gate over the feature map)."""

    unsupported_ops: ClassVar[tuple[str, ...]] = ("aten::mul",)

    def shape(self, a: Shape, b: Shape) -> Shape:
        if len(a) != len(b) or any(y not in (1, x) for x, y in zip(a, b, strict=False)):
            raise ShapeMismatch(f"cannot scale a tensor of shape {list(a)} by one of shape {list(b)}")
        return a

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b


@dataclass(frozen=True)
class Concat:
    """Concatenation along channels."""

    unsupported_ops: ClassVar[tuple[str, ...]] = ()  # fvcore ignores it: data movement, no arithmetic

    def shape(self, *shapes: Shape) -> Shape:
        first = shapes[0]
        if any(len(s) != len(first) or s[:1] + s[2:] != first[:1] + first[2:] for s in shapes):
            raise ShapeMismatch(f"cannot concatenate channels of shapes {[list(s) for s in shapes]}")
        return (first[0], sum(s[1] for s in shapes), *first[2:])

    def __call__(self, *xs: Tensor) -> Tensor:
        return torch.cat(xs, 1)


@dataclass(frozen=True)
class ChannelSplit:
    """One of ``parts`` equal chunks of the channels (ShuffleNetV2's split)."""

    index: int
    parts: int = 2

    unsupported_ops: ClassVar[tuple[str, ...]] = ()  # fvcore ignores it: data movement, no arithmetic

    def shape(self, a: Shape) -> Shape:
        if a[1] % self.parts:
            raise ShapeMismatch(f"cannot split {a[1]} channels into {self.parts} equal parts")
        return (a[0], a[1] // self.parts, *a[2:])

    def __call__(self, x: Tensor) -> Tensor:
        return x.chunk(self.parts, 1)[self.index]


@dataclass(frozen=True)
class ChannelShuffle:
    """Interleave the channels of ``groups`` groups (ShuffleNet), as view, transpose, view."""

    groups: int

    unsupported_ops: ClassVar[tuple[str, ...]] = ()  # fvcore ignores it: data movement, no arithmetic

    def shape(self, a: Shape) -> Shape:
        if a[1] % self.groups:
            raise ShapeMismatch(f"cannot shuffle {a[1]} channels in {self.groups} groups")
        return a

    def __call__(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


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

    def module(self) -> GraphModule:
        return GraphModule(self)


def sequence(*groups: Node | Sequence[Node] | None) -> tuple[Node, ...]:
    """Nodes from single nodes, lists of nodes and ``None`` (a part left out)."""
    out: list[Node] = []
    for group in groups:
        if group is None:
            continue
        out.extend([group] if isinstance(group, Node) else group)
    return tuple(out)


Step = tuple[Callable[..., Tensor], tuple[int, ...]]


def op_row_name(owner: str, node: str) -> str:
    """How the report names the work of an op node: ``features.3 (add)``."""
    return f"{owner} ({node})" if owner else f"({node})"


class _Ranges:
    active = False  # set by recorded_ranges(): GraphModules then wrap each leaf and op in a profiler range


_RANGES = _Ranges()


class GraphModule(nn.Module):
    """Runs a ``Graph``: each module node is a child under its name (so ``features.4.conv_dw`` is the
    report's row and the module's name alike); op nodes run in this module's ``forward``."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        index = {INPUT: 0}
        steps: list[Step] = []
        for i, node in enumerate(graph.nodes):
            fn: Callable[..., Tensor]
            if isinstance(node.op, Op):
                fn = node.op
            else:
                fn = node.op.module()
                self.add_module(node.name, fn)
            sources = tuple(index[s] for s in node.inputs) if node.inputs else (i,)  # slot i: previous output
            steps.append((fn, sources))
            index[node.name] = i + 1
        self._steps = steps
        self._graph = graph
        self._range_names: list[str | None] = []

    def forward(self, x: Tensor) -> Tensor:
        if _RANGES.active:
            return self._forward_in_ranges(x)
        values = [x]
        for fn, sources in self._steps:
            values.append(fn(*[values[s] for s in sources]))
        return values[-1]

    def _forward_in_ranges(self, x: Tensor) -> Tensor:
        values = [x]
        for (fn, sources), name in zip(self._steps, self._range_names, strict=True):
            if name is None:  # a nested graph: its own nodes have ranges
                values.append(fn(*[values[s] for s in sources]))
            else:
                with record_function(name):
                    values.append(fn(*[values[s] for s in sources]))
        return values[-1]

    def _name_ranges(self, prefix: str) -> list[str]:
        """Name a range per leaf (its dotted name) and per op (``op_row_name``), in execution order."""
        names: list[str] = []
        self._range_names = []
        for node in self._graph.nodes:
            full = f"{prefix}.{node.name}" if prefix else node.name
            if isinstance(node.op, Graph):
                self._range_names.append(None)
                names += getattr(self, node.name)._name_ranges(full)
            elif isinstance(node.op, Op):
                self._range_names.append(op_row_name(prefix, node.name))
                names.append(self._range_names[-1])  # type: ignore[arg-type]
            else:
                self._range_names.append(full)
                names.append(full)
        return names


def range_names(model: GraphModule) -> list[str]:
    """Name a ``torch.profiler`` range for every leaf layer of ``model`` (its report row) and every op
    (``features.3 (add)``); the names in execution order. The ranges are recorded inside ``recorded_ranges``."""
    return model._name_ranges("")


@contextmanager
def recorded_ranges() -> Iterator[None]:
    """Inside, each forward of a ``GraphModule`` named by ``range_names`` records its ranges. Outside, the
    forward is the plain one: no range, no check but one flag."""
    _RANGES.active = True
    try:
        yield
    finally:
        _RANGES.active = False
