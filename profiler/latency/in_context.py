"""Per-layer latency in context: each leaf layer's (and each op's) time inside real forwards of the whole
model, read around each node by a probed twin of the generated model (``profiler.model.codegen.probed``: the
same modules, with a call before and after every node). Probed forwards alternate with plain ones, whose times
are the end-to-end figure: both see the host in the same state (on a shared host, speed drifts by 2x over
seconds; measured one after the other, they would not).

On the CPU the probes read ``time.perf_counter_ns`` (two reads per node, about 0.1 us each). Their own cost is
measured, not guessed: the same probe calls with nothing between them are timed in the same generated form
(``probe_cost``), and each node's interval loses that much. Time outside every node (a block's call, between
layers) is real and belongs to no layer: the per-layer sum comes out a little below the end-to-end figure,
and the result says by how much (``sum_over_end_to_end``, over typical forwards: ``LayerSum``).

On a CUDA device the probes open and close a ``torch.profiler`` range per node, and a layer's time is the
device time of the kernels its range launched, which recording on the host does not change.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import torch
from torch import fx, nn
from torch.profiler import ProfilerActivity, profile, record_function

from ..model.codegen import probed, timed_names
from .clocks import Clock
from .options import LatencyOptions
from .progress import Progress
from .stats import Stats, repeat_until, summarize

__all__ = ["LayerSum", "ProbeCost", "in_context_layers", "probe_cost"]


@dataclass(frozen=True)
class ProbeCost:
    """What the two clock reads around a node add to its measured interval on the CPU, in microseconds."""

    per_node_us: float

    def to_dict(self) -> dict[str, float]:
        return {"per_node_us": round(self.per_node_us, 4)}


class _Stamps:
    """The CPU probe: a timestamp before and after each node, appended in execution order."""

    def __init__(self) -> None:
        self.values: list[int] = []
        append, now = self.values.append, time.perf_counter_ns

        def stamp(name: str) -> None:
            append(now())

        self.stamp = stamp


class _Ranges:
    """The CUDA probe: a ``torch.profiler`` range per node."""

    def __init__(self) -> None:
        self._open: list[record_function] = []

    def begin(self, name: str) -> None:
        self._open.append(record_function(name).__enter__())

    def end(self, name: str) -> None:
        self._open.pop().__exit__(None, None, None)


@cache
def probe_cost() -> ProbeCost:
    """The median interval between the two probes of an empty node, in the same generated code as a real node
    (a call, the value dropped): the part of every node's interval that is the clock's, not the layer's."""
    stamps = _Stamps()
    g = fx.Graph()
    x = g.placeholder("x")
    g.create_node("call_function", stamps.stamp, ("node",), name="before_node")
    g.create_node("call_function", stamps.stamp, ("node",), name="after_node")
    g.output(x)
    empty = fx.GraphModule(nn.Module(), g)
    forward = empty.forward  # the generated code alone, as a block calls its nodes
    for _ in range(20_000):
        forward(None)
    values = stamps.values[-20_000:]
    return ProbeCost(statistics.median(b - a for a, b in zip(values[::2], values[1::2], strict=True)) / 1e3)


def in_context_layers(
    model: fx.GraphModule,
    x: torch.Tensor,
    forward: Callable[[], object],
    clock: Clock,
    device: torch.device,
    opts: LatencyOptions,
    deadline: float,
    progress: Progress,
) -> tuple[Stats, list[tuple[str, Stats]], ProbeCost | None, LayerSum | None]:
    """The end-to-end figure and (name, stats) for every leaf and op of generated ``model`` in execution
    order, the probes' cost taken out (CPU), and how the layers add up (``LayerSum``). Chunks of plain forwards
    (``forward`` on ``clock``, a CUDA graph's replay where there is one: the end-to-end samples) alternate with
    as many probed forwards on ``x`` (the per-layer samples), so that both figures see the same state of the
    host; the stopping rule runs on the end-to-end samples, until ``deadline``."""
    names = timed_names(model)
    per_layer: dict[str, list[float]] = defaultdict(list)
    if device.type == "cuda":
        ranges = _Ranges()
        twin = probed(model, ranges.begin, ranges.end)
        wanted = set(names)

        def probed_forwards(count: int) -> None:
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for _ in range(count):
                    twin(x)
                torch.cuda.synchronize(device)
            for event in prof.events():
                if event.name in wanted:  # the device time of the kernels launched inside the range
                    per_layer[event.name].append(float(event.device_time_total) / 1e3)  # us -> ms

        cost = None
    else:
        stamps = _Stamps()
        twin = probed(model, stamps.stamp, stamps.stamp)
        cost = probe_cost()
        cost_ns = cost.per_node_us * 1e3

        def probed_forwards(count: int) -> None:
            stamps.values.clear()
            for _ in range(count):
                twin(x)
            values = stamps.values
            for i, name in enumerate(names * count):
                per_layer[name].append(max(values[2 * i + 1] - values[2 * i] - cost_ns, 0.0) / 1e6)

    plain_samples: list[float] = []

    def sample(count: int) -> list[float]:
        plain = clock.sample(forward, count)  # no probe at all in these
        plain_samples.extend(plain)
        probed_forwards(count)
        return plain

    end_to_end = repeat_until(sample, opts, deadline, progress)
    layers = [(name, summarize(per_layer[name], end_to_end.stop)) for name in names if per_layer[name]]
    return end_to_end, layers, cost, _typical_sum(per_layer, names, plain_samples)


@dataclass(frozen=True)
class LayerSum:
    """How the layers add up, over typical forwards: the mean per-layer sum over the probed forwards whose
    per-layer total lies between its quartiles, beside the mean of the plain forwards between theirs (the
    interquartile mean). Means add and medians do not: on a busy host most forwards have a hiccup in some
    layer, which every layer's median leaves out; the quartiles leave out the stalled forwards of either kind."""

    layers_ms: float
    end_to_end_ms: float


def _interquartile(values: list[float]) -> list[int]:
    order = sorted(range(len(values)), key=values.__getitem__)
    quarter = len(order) // 4
    return order[quarter : len(order) - quarter] or order


def _typical_sum(per_layer: dict[str, list[float]], names: list[str], plain: list[float]) -> LayerSum | None:
    columns = [per_layer[name] for name in names]
    forwards = min((len(c) for c in columns), default=0)
    if not forwards or not plain:
        return None
    totals = [sum(c[k] for c in columns) for k in range(forwards)]  # each node once per forward, in order
    typical = _interquartile(totals)
    middle = _interquartile(plain)
    return LayerSum(statistics.fmean(totals[k] for k in typical), statistics.fmean(plain[k] for k in middle))
