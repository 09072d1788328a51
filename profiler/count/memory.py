"""Activation memory by liveness, from the plan alone (no module built, no tensor allocated): which tensors
are alive while each layer and op runs, and the peak over a forward.

A forward is a list of steps (every leaf layer and op of the plan, nested graphs inlined) writing value slots;
a value is alive from the step that writes it to the last step that reads it. Values that share memory (a
view, an in-place op, an activation fused into the conv before it) form one storage. What a step holds is
every storage alive during it: its inputs, its output, and the tensors kept for a later add, multiply or
concat. Two conventions:

- ``deployment``: as inference runtimes run a graph (TFLite, ONNX Runtime, TinyEngine): batch norm and
  activations fused into the layer before them (or run in place) when nothing else reads that layer's output,
  a skip add or SE multiply written over its first input when nothing reads it later, a reshape sharing its
  input's memory, a channel split or shuffle a new tensor; the model's input counts. With
  ``inplace_depthwise`` a depthwise conv writes over its input (MCUNet's TinyEngine): it holds the larger of
  the two. A storage holds the largest of its values alive at the time.
- ``eager``: what PyTorch eager allocates for the built model (``plan.build()``): batch norm allocates, an
  activation or op overwrites its input where the generated code does (``codegen``), views share memory, and
  a block's input stays alive until the block returns (the caller holds it), and a conv with a kernel over
  1x1 holds copies of its input and weights while it runs (oneDNN's blocked layouts, on the CPU). The model's
  input, allocated before the forward, does not count; a storage holds what it was allocated with while any
  view of it lives.

Everything here is shape independent but the sizes: ``MemoryProgram`` is compiled once per plan, and a sweep
evaluates it at each point's shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..model.build import ModelPlan
from ..model.codegen import inplace_nodes
from ..model.graph import INPUT, Add, ChannelSplit, Graph, Mul, Op, op_row_name
from ..model.layers import Act, BatchNorm, Conv, Dropout, Flatten
from .shapes import HANDLES

__all__ = [
    "MEMORY_CONVENTIONS",
    "MEMORY_DTYPE_BYTES",
    "MemoryDtype",
    "MemoryOptions",
    "MemoryProgram",
    "MemoryReport",
    "memory_of",
]

MemoryDtype = Literal["float32", "float16", "int8"]
MEMORY_DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "int8": 1}

MEMORY_CONVENTIONS = {
    "live_bytes": "bytes of every tensor alive while the layer runs: its inputs, its output, and the tensors "
    "held for a later add, multiply or concat (deployment convention)",
    "deployment": "batch norm and activations fused into the layer before them (or in place), a skip add or "
    "SE multiply over its first input when nothing reads it later, reshapes sharing memory, channel split and "
    "shuffle new tensors, the model's input counted; with inplace_depthwise, a depthwise conv over its input "
    "(MCUNet's TinyEngine)",
    "eager": "what PyTorch eager allocates for the built model on the CPU: batch norm allocates, activations and "
    "ops in place where the generated code runs them so, views share memory, a block's input alive until the "
    "block returns, a conv with a kernel over 1x1 holding copies of its input and weights while it runs "
    "(oneDNN's blocked layouts); the model's input (allocated before the forward) not counted",
    "weight_bytes": "every parameter (batch-norm affine included, as counted in params) at the memory dtype",
}


@dataclass(frozen=True)
class MemoryOptions:
    dtype: MemoryDtype = "float32"
    inplace_depthwise: bool = False
    budget_bytes: int | None = None


@dataclass(frozen=True)
class _Step:
    name: str  # the report's row (``features.3.conv_pw``) or an op's (``features.3 (add)``)
    op: object
    sources: tuple[int, ...]  # value slots read; slot 0 is the model's input, step k writes slot k + 1
    eager_inplace: bool  # the generated code overwrites its first input


class MemoryProgram:
    """A plan's forward as steps, and for each convention the storages alive during each step."""

    def __init__(self, plan: ModelPlan) -> None:
        self.steps: list[_Step] = []
        self._pinned: list[tuple[int, int]] = []  # (value slot, last step): a block's input held by its caller
        self._flatten(plan.graph, "", 0)
        self._live: dict[tuple[str, bool], list[tuple[tuple[int, ...], ...]]] = {}

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def _flatten(self, graph: Graph, prefix: str, input_slot: int) -> int:
        slots = {INPUT: input_slot}
        prev = input_slot
        inplace = inplace_nodes(graph)
        for node in graph.nodes:
            sources = tuple(slots[s] for s in node.inputs) if node.inputs else (prev,)
            full = f"{prefix}.{node.name}" if prefix else node.name
            if isinstance(node.op, Graph):
                prev = self._flatten(node.op, full, sources[0])
                self._pinned.append((sources[0], len(self.steps) - 1))
            else:
                name = op_row_name(prefix, node.name) if isinstance(node.op, Op) else full
                self.steps.append(_Step(name, node.op, sources, node.name in inplace))
                prev = len(self.steps)
            slots[node.name] = prev
        return prev

    def live(self, convention: str, inplace_depthwise: bool = False) -> list[tuple[tuple[int, ...], ...]]:
        """Per step, the storages alive during it, each as the value slots of it alive then (the storage's
        allocating slot first, for ``eager``)."""
        key = (convention, inplace_depthwise and convention == "deployment")
        if key not in self._live:
            self._live[key] = self._compile(*key)
        return self._live[key]

    def _compile(self, convention: str, inplace_depthwise: bool) -> list[tuple[tuple[int, ...], ...]]:
        eager = convention == "eager"
        count = len(self.steps) + 1
        last_read = list(range(-1, count - 1))  # a value never read lives through the step that wrote it
        for i, step in enumerate(self.steps):
            for s in step.sources:
                last_read[s] = max(last_read[s], i)
        last_read[-1] = len(self.steps) - 1  # the output
        storage = list(range(count))  # each slot's storage: the slot that allocated it
        reads_after: dict[int, int] = {0: last_read[0]}  # storage -> the last step reading any of its values
        for i, step in enumerate(self.steps):
            slot = i + 1
            src = storage[step.sources[0]]
            if self._shares(step, eager, inplace_depthwise, reads_after[src] <= i):
                storage[slot] = src
                reads_after[src] = max(reads_after[src], last_read[slot])
            else:
                reads_after[slot] = last_read[slot]
        alive_until = list(last_read)
        if eager:
            for slot, until in self._pinned:
                alive_until[slot] = max(alive_until[slot], until)
        ending: list[list[int]] = [[] for _ in self.steps]
        for slot in range(count):
            ending[alive_until[slot]].append(slot)
        alive: dict[int, list[int]] = {storage[0]: [0]}  # storage -> its values alive now
        out: list[tuple[tuple[int, ...], ...]] = []
        for i in range(len(self.steps)):
            alive.setdefault(storage[i + 1], []).append(i + 1)
            if eager:  # a storage is what it was allocated with, while any of its values lives
                out.append(tuple((owner,) for owner in alive if owner != 0))
            else:
                out.append(tuple(tuple(values) for values in alive.values()))
            for slot in ending[i]:
                values = alive[storage[slot]]
                values.remove(slot)
                if not values:
                    del alive[storage[slot]]
        return out

    @staticmethod
    def _shares(step: _Step, eager: bool, inplace_depthwise: bool, source_free: bool) -> bool:
        """Whether the step's output lives in its first input's memory."""
        op = step.op
        if isinstance(op, (Flatten, Dropout)):
            return True  # a view, or the input itself (dropout in eval)
        if eager:
            return step.eager_inplace or isinstance(op, ChannelSplit)  # chunk() returns views
        if isinstance(op, (BatchNorm, Act, Add, Mul)):
            return source_free  # fused into the layer before it, or in place
        if isinstance(op, Conv) and inplace_depthwise and op.groups == op.in_chs == op.out_chs > 1:
            return source_free
        return False

    def shapes(self, input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Each value slot's shape for an input of ``input_shape`` (a plan that counted at it)."""
        values = [input_shape]
        for step in self.steps:
            ins = [values[s] for s in step.sources]
            op = step.op
            values.append(op.shape(*ins) if isinstance(op, Op) else HANDLES[type(op)](op, ins[0]).out_shape)
        return values

    def live_elements(
        self, shapes: list[tuple[int, ...]], convention: str, inplace_depthwise: bool = False
    ) -> list[int]:
        """Elements alive during each step, given each value slot's shape (slot 0 the input)."""
        sizes = [math.prod(s) for s in shapes]
        live = [
            sum(max(sizes[s] for s in group) for group in groups)
            for groups in self.live(convention, inplace_depthwise)
        ]
        if convention == "eager":
            for i, step in enumerate(self.steps):
                live[i] += _transient(step.op, sizes[step.sources[0]])
        return live


def _transient(op: object, input_elements: int) -> int:
    """What eager PyTorch allocates inside a layer on the CPU and frees before it returns: oneDNN runs a conv
    with a kernel over 1x1 on copies of its input and weights in its blocked layouts."""
    if isinstance(op, Conv) and op.k > 1:
        return input_elements + op.out_chs * (op.in_chs // op.groups) * op.k * op.k
    return 0


@dataclass(frozen=True)
class MemoryReport:
    options: MemoryOptions
    names: list[str]  # every layer and op, in execution order
    live_bytes: list[int]  # deployment convention, per step
    eager_bytes: list[int]
    weight_bytes: int

    @property
    def peak_activation_bytes(self) -> int:
        return max(self.live_bytes, default=0)

    @property
    def peak_layer(self) -> str | None:
        return self.names[self.live_bytes.index(self.peak_activation_bytes)] if self.names else None

    @property
    def eager_peak_bytes(self) -> int:
        return max(self.eager_bytes, default=0)

    @property
    def over_budget(self) -> list[str]:
        budget = self.options.budget_bytes
        return [] if budget is None else [n for n, b in zip(self.names, self.live_bytes, strict=True) if b > budget]

    def to_dict(self) -> dict[str, object]:
        budget = self.options.budget_bytes
        eager_peak = self.eager_peak_bytes
        return {
            "dtype": self.options.dtype,
            "inplace_depthwise": self.options.inplace_depthwise,
            "peak_activation_bytes": self.peak_activation_bytes,
            "peak_layer": self.peak_layer,
            "eager_peak_bytes": eager_peak,
            "eager_peak_layer": self.names[self.eager_bytes.index(eager_peak)] if self.names else None,
            "weight_bytes": self.weight_bytes,
            **(
                {"budget_bytes": budget, "fits": self.peak_activation_bytes <= budget, "over_budget": self.over_budget}
                if budget is not None
                else {}
            ),
            "timeline": [
                {"name": n, "live_bytes": live, "eager_bytes": eager}
                for n, live, eager in zip(self.names, self.live_bytes, self.eager_bytes, strict=True)
            ],
            "conventions": MEMORY_CONVENTIONS,
        }


def memory_of(
    program: MemoryProgram, shapes: list[tuple[int, ...]], params: int, options: MemoryOptions
) -> MemoryReport:
    """The memory report of a plan's forward at the given value shapes (slot 0 the input)."""
    width = MEMORY_DTYPE_BYTES[options.dtype]
    live = program.live_elements(shapes, "deployment", options.inplace_depthwise)
    eager = program.live_elements(shapes, "eager")
    return MemoryReport(
        options, program.names, [width * e for e in live], [width * e for e in eager], width * params
    )
