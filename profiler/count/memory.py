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
  a block's input stays alive until the block returns (the caller holds it), and a conv holds what its CPU
  kernel allocates while it runs (oneDNN's copies in its blocked layouts, or the fallback's unfolded input). The model's
  input, allocated before the forward, does not count; a storage holds what it was allocated with while any
  view of it lives.

Everything here is shape independent but the sizes: ``MemoryProgram`` is compiled once per plan, and a sweep
evaluates it at each point's shapes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ..model.build import ModelPlan
from ..model.codegen import inplace_nodes
from ..model.graph import INPUT, Add, ChannelSplit, Graph, Mul, Op, op_row_name
from ..model.layers import Act, BatchNorm, Conv, Dropout, Flatten, LayerScale
from .shapes import HANDLES, Counts

__all__ = [
    "MEMORY_CONVENTIONS",
    "MEMORY_DTYPE_BYTES",
    "MemoryDtype",
    "MemoryOptions",
    "MemoryProgram",
    "MemoryReport",
    "memory_of",
    "with_live_bytes",
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
    "block returns, a conv holding what its CPU kernel allocates while it runs (oneDNN's copies of the input and "
    "weights, or of the output, in its blocked layouts; im2col for a small conv PyTorch runs without oneDNN, as "
    "on more than one thread); the model's input (allocated before the forward) not counted; at the memory "
    "dtype's width, float32's for int8 (eager runs the float model)",
    "weight_bytes": "every parameter (batch-norm affine included, as counted in params) at the memory dtype",
}


@pydantic_dataclass(frozen=True, kw_only=True, config=ConfigDict(extra="forbid"))
class MemoryOptions:
    """How activation memory is figured: the dtype of every tensor, whether a depthwise conv works in place,
    and a device's budget to check the peak against."""

    dtype: MemoryDtype = Field(default="float32", description="bytes per element: float32 4, float16 2, int8 1")
    inplace_depthwise: StrictBool = Field(
        default=False, description="a depthwise conv writes over its input (MCUNet's TinyEngine)"
    )
    budget_bytes: StrictInt | None = Field(
        default=None,
        ge=1,
        le=2**62,
        description="a device's activation memory: answers fits, and the layers whose live bytes pass it",
    )


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
        self._inplace: dict[int, frozenset[str]] = {}  # each graph's in-place nodes, by identity
        self._flatten(plan.graph, "", 0)
        self._runs: dict[tuple[str, bool], list[tuple[int, int, tuple[int, ...]]]] = {}

    @property
    def names(self) -> list[str]:
        return [step.name for step in self.steps]

    def _flatten(self, graph: Graph, prefix: str, input_slot: int) -> int:
        slots = {INPUT: input_slot}
        prev = input_slot
        inplace = inplace_nodes(graph, self._inplace)
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

    def _runs_of(self, convention: str, inplace_depthwise: bool) -> list[tuple[int, int, tuple[int, ...]]]:
        """The storages alive during the forward, as runs of steps over which one storage holds the same values
        alive: (first step, last step, those value slots; for ``eager`` the allocating slot alone, a storage
        being what it was allocated with while any of its values lives). A point's figures are then one pass
        over the runs (a sweep evaluates thousands)."""
        key = (convention, inplace_depthwise and convention == "deployment")
        if key not in self._runs:
            self._runs[key] = self._compile(*key)
        return self._runs[key]

    def _compile(self, convention: str, inplace_depthwise: bool) -> list[tuple[int, int, tuple[int, ...]]]:
        if not self.steps:
            return []  # a model that returns its input: nothing runs
        eager = convention == "eager"
        steps = len(self.steps)
        count = steps + 1
        last_read = list(range(-1, count - 1))  # a value never read lives through the step that wrote it
        for i, step in enumerate(self.steps):
            for s in step.sources:
                if last_read[s] < i:
                    last_read[s] = i
        last_read[-1] = steps - 1  # the output
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
            # One run per allocated storage, from its allocation to its last value's end (the input does not count).
            ends: dict[int, int] = {}
            for slot in range(1, count):
                owner = storage[slot]
                if owner != 0:
                    ends[owner] = max(ends.get(owner, 0), alive_until[slot])
            return [(owner - 1, end, (owner,)) for owner, end in ends.items()]
        ending: list[list[int]] = [[] for _ in self.steps]
        for slot in range(count):
            ending[alive_until[slot]].append(slot)
        alive: dict[int, list[int]] = {0: [0]}  # storage -> its values alive now
        began: dict[int, tuple[int, tuple[int, ...]]] = {0: (0, (0,))}  # storage -> its open run
        runs: list[tuple[int, int, tuple[int, ...]]] = []
        for i in range(steps):
            touched = {storage[i + 1]}
            alive.setdefault(storage[i + 1], []).append(i + 1)
            if i:
                touched.update(storage[slot] for slot in ending[i - 1])
            for owner in touched:
                values = tuple(alive.get(owner, ()))
                run = began.get(owner)
                if run is not None and run[1] != values:
                    runs.append((run[0], i - 1, run[1]))
                    del began[owner]
                    run = None
                if run is None and values:
                    began[owner] = (i, values)
            for slot in ending[i]:
                values_now = alive[storage[slot]]
                values_now.remove(slot)
                if not values_now:
                    del alive[storage[slot]]
        runs += [(first, steps - 1, values) for first, values in began.values()]
        return runs

    @staticmethod
    def _shares(step: _Step, eager: bool, inplace_depthwise: bool, source_free: bool) -> bool:
        """Whether the step's output lives in its first input's memory."""
        op = step.op
        if isinstance(op, (Flatten, Dropout)):
            return True  # a view, or the input itself (dropout in eval)
        if eager:
            return step.eager_inplace or isinstance(op, ChannelSplit)  # chunk() returns views
        if isinstance(op, (BatchNorm, Act, LayerScale, Add, Mul)):
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
        sizes = list(map(math.prod, shapes))
        steps = len(self.steps)
        delta = [0] * (steps + 1)
        for first, last, values in self._runs_of(convention, inplace_depthwise):
            size = sizes[values[0]] if len(values) == 1 else max([sizes[v] for v in values])
            delta[first] += size
            delta[last + 1] -= size
        if convention == "eager":
            for i, step in enumerate(self.steps):
                if isinstance(step.op, Conv):
                    extra = _transient(step.op, shapes[step.sources[0]], sizes[i + 1])
                    delta[i] += extra
                    delta[i + 1] -= extra
        return list(itertools.accumulate(delta[:steps]))


def _transient(op: object, in_shape: tuple[int, ...], out_elements: int) -> int:
    """What eager PyTorch allocates inside a conv on the CPU and frees before it returns. PyTorch runs a float
    conv with oneDNN unless it is small (its ``use_mkldnn`` rule, on more than one thread: a dense conv whose
    input has at most 20,480 elements at batch 1 and whose kernel is at most 3x3); oneDNN works on copies in its
    blocked layouts (the input and weights, or the output when the input keeps its layout), the fallback
    unfolds the input (im2col) for a kernel over 1x1."""
    if not isinstance(op, Conv):
        return 0
    n, c, h, w = in_shape
    weights = op.out_chs * (op.in_chs // op.groups) * op.k * op.k
    if op.groups > 1 or op.k > 3 or n > 1 or n * c * h * w > 20480:
        return max(n * c * h * w + weights, out_elements)
    if op.k == 1:
        return 0
    return out_elements // op.out_chs * op.in_chs * op.k * op.k


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

    def summary(self) -> dict[str, object]:
        """What a sweep's point says of its memory: the peaks and, with a budget, whether it fits."""
        budget = self.options.budget_bytes
        return {
            "peak_activation_bytes": self.peak_activation_bytes,
            "peak_layer": self.peak_layer,
            "eager_peak_bytes": self.eager_peak_bytes,
            "weight_bytes": self.weight_bytes,
            **({"fits": self.peak_activation_bytes <= budget} if budget is not None else {}),
        }

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
    eager_width = 4 if options.dtype == "int8" else width  # PyTorch eager runs the float model, not int8
    live = program.live_elements(shapes, "deployment", options.inplace_depthwise)
    eager = program.live_elements(shapes, "eager")
    return MemoryReport(
        options, program.names, [width * e for e in live], [eager_width * e for e in eager], width * params
    )


def with_live_bytes(plan: ModelPlan, counts: Counts, options: MemoryOptions) -> tuple[Counts, MemoryReport]:
    """The memory report, and ``counts`` with each row's ``live_bytes`` set."""
    program = MemoryProgram(plan)
    report = memory_of(program, program.shapes(counts.input_shape), counts.totals.params, options)
    live = dict(zip(report.names, report.live_bytes, strict=True))
    for row in counts.rows:
        row.live_bytes = live[row.name]
    return counts, report
