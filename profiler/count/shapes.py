"""Counting from shapes: a registry of small handles, one per leaf layer type, and an engine that walks a
model plan propagating shapes. No module is built and no tensor is allocated, so a count costs the same
at any resolution and batch. The tests hold every handle to fvcore, ptflops and torch's flop counter.

Conventions (also returned to clients, see ``CONVENTIONS``):
- ``macs``: multiply-accumulates of conv and linear layers (bias adds not counted), the papers'
  "mult-adds" and torchvision's ``_ops``.
- ``flops``: 2 x macs, the convention of ``torch.utils.flop_counter``.
- ``fvcore_flops``: what ``fvcore.nn.FlopCountAnalysis`` reports (one fused multiply-add = one flop, plus
  batch norm and adaptive average pooling); the ops it does not support are listed, never hidden.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import Loc, SpecError
from ..model.build import ModelPlan
from ..model.graph import INPUT, Graph, Node, Op, ShapeMismatch, op_row_name
from ..model.layers import (
    ACTIVATIONS,
    Act,
    AvgPool,
    BatchNorm,
    Conv,
    Dropout,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    Layer,
    LayerScale,
    Linear,
    MaxPool,
)

Shape = tuple[int, ...]

CONVENTIONS = {
    "macs": "multiply-accumulates of conv and linear layers, bias adds not counted "
    "(the papers' mult-adds, torchvision's _ops)",
    "flops": "2 x macs: one multiply and one add per MAC (torch.utils.flop_counter's convention); "
    "batch norm, activations and pooling add none",
    "fvcore_flops": "what fvcore.nn.FlopCountAnalysis reports: one flop per fused multiply-add for conv and "
    "linear, 2 per element for eval-mode batch norm, 1 per input element for adaptive average pooling; "
    "ops fvcore does not support count 0 and are listed in unsupported_ops",
    "params": "all parameters (weights, biases, batch-norm affine), not buffers",
    "activations": "elements of the layer's output tensor (batch included); not memory: see memory and live_bytes",
}


class LayerCount(NamedTuple):
    """What a handle returns for one layer on one input shape (a tuple: sweeps make millions)."""

    out_shape: Shape
    macs: int = 0
    fvcore_flops: int = 0
    params: int = 0
    unsupported_ops: tuple[str, ...] = ()


class ShapeError(ValueError):
    """A layer that cannot run on its input shape (kernel larger than the padded map, ...)."""

    def __init__(self, msg: str, field: str) -> None:
        super().__init__(msg)
        self.field = field


def _window_out(size: int, k: int, s: int, padding: int, dilation: int, field: str, what: str) -> int:
    extent = dilation * (k - 1) + 1
    out = (size + 2 * padding - extent) // s + 1
    if out < 1:
        span = f"kernel {k}" + (f" (extent {extent} with dilation {dilation})" if dilation > 1 else "")
        raise ShapeError(
            f"{what} {span} is larger than its {size}-pixel input padded by {padding}; "
            "use a larger resolution, a smaller kernel or fewer downsampling rows",
            field,
        )
    return out


def count_conv(layer: Conv, shape: Shape) -> LayerCount:
    n, _, h, w = shape
    ho = _window_out(h, layer.k, layer.s, layer.padding, layer.dilation, "k", "conv")
    wo = _window_out(w, layer.k, layer.s, layer.padding, layer.dilation, "k", "conv")
    macs = n * layer.out_chs * (layer.in_chs // layer.groups) * layer.k * layer.k * ho * wo
    params = layer.out_chs * (layer.in_chs // layer.groups) * layer.k * layer.k + (layer.out_chs if layer.bias else 0)
    return LayerCount((n, layer.out_chs, ho, wo), macs, macs, params)


def count_batch_norm(layer: BatchNorm, shape: Shape) -> LayerCount:
    return LayerCount(shape, 0, 2 * math.prod(shape), 2 * layer.chs)


def count_act(layer: Act, shape: Shape) -> LayerCount:
    op = ACTIVATIONS[layer.kind].unsupported_op
    return LayerCount(shape, unsupported_ops=(op,) if op else ())


def count_max_pool(layer: MaxPool, shape: Shape) -> LayerCount:
    n, c, h, w = shape
    ho = _window_out(h, layer.k, layer.s, layer.padding, 1, "k", "max pool")
    wo = _window_out(w, layer.k, layer.s, layer.padding, 1, "k", "max pool")
    return LayerCount((n, c, ho, wo), unsupported_ops=("aten::max_pool2d",))


def count_avg_pool(layer: AvgPool, shape: Shape) -> LayerCount:
    """No multiply-adds (as for max pooling); fvcore does not count it either."""
    n, c, h, w = shape
    ho = _window_out(h, layer.k, layer.s, layer.padding, 1, "k", "average pool")
    wo = _window_out(w, layer.k, layer.s, layer.padding, 1, "k", "average pool")
    return LayerCount((n, c, ho, wo), unsupported_ops=("aten::avg_pool2d",))


def count_global_max_pool(layer: GlobalMaxPool, shape: Shape) -> LayerCount:
    return LayerCount((*shape[:2], 1, 1), unsupported_ops=("aten::adaptive_max_pool2d",))


def count_global_avg_pool(layer: GlobalAvgPool, shape: Shape) -> LayerCount:
    n, c = shape[:2]
    return LayerCount((n, c, 1, 1), 0, math.prod(shape))


def count_flatten(layer: Flatten, shape: Shape) -> LayerCount:
    return LayerCount((shape[0], math.prod(shape[1:])))


def count_dropout(layer: Dropout, shape: Shape) -> LayerCount:
    return LayerCount(shape)


def count_layer_scale(layer: LayerScale, shape: Shape) -> LayerCount:
    """C parameters; its multiply is no multiply-add, and fvcore does not count it (aten::mul)."""
    return LayerCount(shape, params=layer.chs, unsupported_ops=("aten::mul",))


def count_linear(layer: Linear, shape: Shape) -> LayerCount:
    rows = math.prod(shape[:-1])
    macs = rows * layer.in_features * layer.out_features
    params = layer.in_features * layer.out_features + (layer.out_features if layer.bias else 0)
    return LayerCount((*shape[:-1], layer.out_features), macs, macs, params)


HANDLES: dict[type, Callable[..., LayerCount]] = {
    Conv: count_conv,
    BatchNorm: count_batch_norm,
    Act: count_act,
    MaxPool: count_max_pool,
    AvgPool: count_avg_pool,
    GlobalAvgPool: count_global_avg_pool,
    GlobalMaxPool: count_global_max_pool,
    Flatten: count_flatten,
    Dropout: count_dropout,
    Linear: count_linear,
    LayerScale: count_layer_scale,
}


@dataclass
class LayerRow:
    """One leaf module of the model, keyed by its dotted name (``live_bytes`` is filled in once the memory of
    the whole forward is known)."""

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    kernel: int | None
    stride: int | None
    groups: int | None
    dilation: int | None
    padding: int | None
    macs: int
    flops: int
    fvcore_flops: int
    params: int
    activations: int
    unsupported_ops: tuple[str, ...] = ()
    live_bytes: int = 0  # every tensor alive while it runs (``memory``: the deployment convention)


@dataclass
class ModuleTotals:
    """Sums over a module's leaves (and the ops its own forward runs, such as a skip add)."""

    macs: int = 0
    flops: int = 0
    fvcore_flops: int = 0
    params: int = 0
    activations: int = 0
    unsupported_ops: Counter[str] = field(default_factory=Counter)

    def add_row(self, row: LayerRow) -> None:
        self.macs += row.macs
        self.flops += row.flops
        self.fvcore_flops += row.fvcore_flops
        self.params += row.params
        self.activations += row.activations
        if row.unsupported_ops:
            self.unsupported_ops.update(row.unsupported_ops)

    def merge(self, other: ModuleTotals) -> None:
        self.macs += other.macs
        self.flops += other.flops
        self.fvcore_flops += other.fvcore_flops
        self.params += other.params
        self.activations += other.activations
        self.unsupported_ops.update(other.unsupported_ops)


@dataclass
class Counts:
    input_shape: Shape
    output_shape: Shape
    rows: list[LayerRow]
    modules: dict[str, ModuleTotals]  # every ancestor of a leaf, by dotted name; "" is the whole model
    # Elements each op a block runs itself reads and writes (``features.3 (add)``: 3 x its output): its traffic.
    op_elements: dict[str, int] = field(default_factory=dict)

    @property
    def totals(self) -> ModuleTotals:
        return self.modules[""]


def _row(name: str, layer: Layer, in_shape: Shape, c: LayerCount) -> LayerRow:
    geometry: dict[str, int | None] = {
        "kernel": None,
        "stride": None,
        "groups": None,
        "dilation": None,
        "padding": None,
    }
    if isinstance(layer, Conv):
        geometry = {
            "kernel": layer.k,
            "stride": layer.s,
            "groups": layer.groups,
            "dilation": layer.dilation,
            "padding": layer.padding,
        }
    elif isinstance(layer, (MaxPool, AvgPool)):
        geometry = {"kernel": layer.k, "stride": layer.s, "groups": None, "dilation": 1, "padding": layer.padding}
    return LayerRow(
        name=name,
        type=layer.module_type,
        input_shape=in_shape,
        output_shape=c.out_shape,
        macs=c.macs,
        flops=2 * c.macs,
        fvcore_flops=c.fvcore_flops,
        params=c.params,
        activations=math.prod(c.out_shape),
        unsupported_ops=c.unsupported_ops,
        kernel=geometry["kernel"],
        stride=geometry["stride"],
        groups=geometry["groups"],
        dilation=geometry["dilation"],
        padding=geometry["padding"],
    )


def _walk(
    prefix: str,
    graph: Graph,
    shape: Shape,
    rows: list[LayerRow],
    ops: list[tuple[str, str]],
    loc: Loc,
    op_elements: dict[str, int],
) -> Shape:
    """Propagate ``shape`` through ``graph``, appending a row per leaf layer and (owner, op) per op fvcore does
    not count; returns the graph's output shape."""
    owner = prefix[:-1]
    outputs: dict[str, Shape] = {INPUT: shape}
    prev = shape
    for node in graph.nodes:
        ins = [outputs[s] for s in node.inputs] if node.inputs else [prev]
        op = node.op
        if isinstance(op, Graph):
            out = _walk(f"{prefix}{node.name}.", op, ins[0], rows, ops, loc, op_elements)
        elif isinstance(op, Op):
            try:
                out = op.shape(*ins)
            except ShapeMismatch as exc:
                raise SpecError.at(loc, f"{prefix}{node.name}: {exc}") from None
            ops.extend((owner, name) for name in op.unsupported_ops)
            op_elements[op_row_name(owner, node.name)] = sum(map(math.prod, ins)) + math.prod(out)
        else:
            try:
                c = HANDLES[type(op)](op, ins[0])
            except ShapeError as exc:
                raise SpecError.at((*loc, exc.field) if loc and loc[0] == "stages" else loc, str(exc)) from None
            rows.append(_row(prefix + node.name, op, ins[0], c))
            out = c.out_shape
        outputs[node.name] = prev = out
    return prev


def count_plan(plan: ModelPlan, batch_size: int = 1) -> Counts:
    h, w = plan.spec.hw
    input_shape: Shape = (batch_size, plan.spec.in_channels, h, w)
    rows: list[LayerRow] = []
    ops: list[tuple[str, str]] = []
    op_elements: dict[str, int] = {}
    shape = input_shape
    for i, block in enumerate(plan.blocks):
        shape = _walk(f"features.{i}.", block.graph, shape, rows, ops, block.loc, op_elements)
    shape = _walk("", Graph(plan.head), shape, rows, ops, ("classifier",), op_elements)
    return Counts(input_shape, shape, rows, aggregate(rows, ops), op_elements)


class TotalsProgram:
    """A plan's counting walk compiled once for sweeps: a flat list of steps (leaf handles and ops, nested
    graphs inlined, each reading its inputs by slot). Parameters and the ops fvcore does not count depend on
    no shape, so they are summed once; ``run`` then takes the shape-dependent totals at any input size with
    the same handles as ``count_plan`` (so the same figures), without a row or a module sum."""

    def __init__(self, plan: ModelPlan) -> None:
        self.steps: list[tuple[bool, Callable[..., Any], Any, tuple[int, ...], Loc]] = []
        self.names: list[str] = []  # each step's row name, as ``count_plan`` names it
        blocks = Graph(tuple(Node(str(i), b.graph) for i, b in enumerate(plan.blocks)))
        slot = self._compile(blocks, 0, None, prefix="features.")
        self._compile(Graph(plan.head), slot, ("classifier",), prefix="")
        self.locs = [block.loc for block in plan.blocks]
        self._constant: ModuleTotals | None = None

    def _compile(self, graph: Graph, input_slot: int, loc: Loc | None, block: int | None = None, *, prefix: str) -> int:
        """Append ``graph``'s steps reading ``input_slot``; returns the slot of its output."""
        slots = {INPUT: input_slot}
        prev = input_slot
        for i, node in enumerate(graph.nodes):
            where = loc if loc is not None else ("block", block if block is not None else i)
            sources = tuple(slots[s] for s in node.inputs) if node.inputs else (prev,)
            if isinstance(node.op, Graph):
                prev = self._compile(
                    node.op, sources[0], loc, block if block is not None else i, prefix=f"{prefix}{node.name}."
                )
            else:
                op = node.op
                is_op = isinstance(op, Op)
                fn = op.shape if isinstance(op, Op) else HANDLES[type(op)]
                self.steps.append((is_op, fn, node.op, sources, where))
                self.names.append(op_row_name(prefix[:-1], node.name) if is_op else prefix + node.name)
                prev = len(self.steps)  # slot 0 is the model's input; step k writes slot k + 1
            slots[node.name] = prev
        return prev

    def run(self, input_shape: Shape) -> tuple[Shape, ModuleTotals]:
        values, totals = self.run_values(input_shape)
        return values[-1], totals

    def run_values(self, input_shape: Shape) -> tuple[list[Shape], ModuleTotals]:
        """``run``, with every step's output shape (slot 0 the input): a ``MemoryProgram``'s value slots."""
        values: list[Shape] = [input_shape]
        append = values.append
        macs = fvcore_flops = activations = 0
        counts = self._constant is None
        params = 0
        unsupported: Counter[str] = Counter()
        for is_op, fn, op, sources, where in self.steps:
            try:
                if is_op:
                    append(fn(*[values[s] for s in sources]))
                    if counts and op.unsupported_ops:
                        unsupported.update(op.unsupported_ops)
                    continue
                c = fn(op, values[sources[0]])
            except (ShapeError, ShapeMismatch) as exc:
                raise self._error(where, exc) from None
            append(c.out_shape)
            macs += c.macs
            fvcore_flops += c.fvcore_flops
            activations += math.prod(c.out_shape)
            if counts:
                params += c.params
                if c.unsupported_ops:
                    unsupported.update(c.unsupported_ops)
        if self._constant is None:
            self._constant = ModuleTotals(params=params, unsupported_ops=unsupported)
        totals = ModuleTotals(
            macs, 2 * macs, fvcore_flops, self._constant.params, activations, Counter(self._constant.unsupported_ops)
        )
        return values, totals

    def _error(self, where: Loc, exc: ValueError) -> SpecError:
        loc = self.locs[int(where[1])] if where[0] == "block" else where
        if isinstance(exc, ShapeError):
            return SpecError.at((*loc, exc.field) if loc and loc[0] == "stages" else loc, str(exc))
        return SpecError.at(loc, str(exc))


def aggregate(rows: list[LayerRow], block_ops: list[tuple[str, str]]) -> dict[str, ModuleTotals]:
    """Sum leaf rows into every ancestor module, so totals agree at every level ("" is the model).

    Each row goes into its parent once; parents then roll up level by level, deepest first. The result
    is in execution order, each module before its children (``features``, ``features.0``, ...).
    """
    modules: dict[str, ModuleTotals] = {"": ModuleTotals()}
    first: dict[str, int] = {"": 0}  # index of a module's first leaf row
    for i, row in enumerate(rows):
        parent = row.name.rpartition(".")[0]
        if parent not in modules:
            modules[parent] = ModuleTotals()
            first[parent] = i
        modules[parent].add_row(row)
    for owner, op in block_ops:
        modules.setdefault(owner, ModuleTotals()).unsupported_ops[op] += 1
        first.setdefault(owner, len(rows))
    for depth in range(max(_depth(n) for n in modules), 0, -1):
        for name in [n for n in modules if _depth(n) == depth]:
            parent = name.rpartition(".")[0]
            modules.setdefault(parent, ModuleTotals()).merge(modules[name])
            first[parent] = min(first.get(parent, first[name]), first[name])
    return {name: modules[name] for name in sorted(modules, key=lambda n: (first[n], _depth(n)))}


def _depth(name: str) -> int:
    return name.count(".") + 1 if name else 0
