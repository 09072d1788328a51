"""Per-layer latency in context: each leaf layer's (and each op's) time inside real forwards of the whole
model, recorded by ``torch.profiler`` in a range per layer (``profiler.model.graph.recorded_ranges``).
Profiled forwards alternate with plain ones, whose times are the end-to-end figure: both see the host in the
same state (on a shared host, speed drifts by 2x over seconds; measured one after the other, they would not).

On a CUDA device a layer's time is the device time of the kernels its range launched, which the profiler's
recording does not change. On the CPU a range's duration also holds the profiler's own cost: recording the
range and every op inside it. That cost is measured, not guessed: the same short ops are timed with and
without the profiler (``calibrate``), which gives a cost per range and a cost per recorded op; each range's
duration then loses the range's cost plus the per-op cost times the ops recorded inside it. Time outside
every range (the model's Python between layers) is real and belongs to no layer: the per-layer sum comes out
below the end-to-end figure by that much, and the result says so (``sum_over_end_to_end``).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from ..model.graph import GraphModule, range_names, recorded_ranges
from .clocks import Clock
from .options import LatencyOptions
from .progress import Progress
from .stats import Stats, repeat_until, summarize

__all__ = ["ProfilerCost", "calibrate", "in_context_layers"]


@dataclass(frozen=True)
class ProfilerCost:
    """What recording adds to a range's measured duration on the CPU, in microseconds."""

    per_range_us: float
    per_op_us: float

    def to_dict(self) -> dict[str, float]:
        return {"per_range_us": round(self.per_range_us, 3), "per_op_us": round(self.per_op_us, 3)}


def _descendants(event: Any) -> int:
    return sum(1 + _descendants(child) for child in event.cpu_children)


@cache
def calibrate() -> ProfilerCost:
    """Time ranges of 1, 2, 4 and 8 tiny adds with and without the profiler; fit the difference against the
    number of ops recorded in each (least squares): the intercept is the range's cost, the slope an op's."""
    a, b = torch.zeros(8), torch.zeros(8)
    sizes = (1, 2, 4, 8)
    repeats = 100

    def body(n: int) -> None:
        for _ in range(n):
            torch.add(a, b)

    with torch.inference_mode():
        plain: dict[int, float] = {}
        for n in sizes:
            samples = []
            for _ in range(repeats):
                start = time.perf_counter_ns()
                body(n)
                samples.append((time.perf_counter_ns() - start) / 1e3)
            plain[n] = statistics.median(samples)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(repeats):
                for n in sizes:
                    with record_function(f"calibrate{n}"):
                        body(n)
    recorded: dict[int, list[float]] = defaultdict(list)
    ops: dict[int, int] = {}
    for event in prof.events():
        if event.name.startswith("calibrate"):
            n = int(event.name.removeprefix("calibrate"))
            recorded[n].append(event.time_range.elapsed_us())
            ops[n] = _descendants(event)
    xs = [ops[n] for n in sizes]
    ys = [statistics.median(recorded[n]) - plain[n] for n in sizes]
    slope, intercept = statistics.linear_regression(xs, ys)
    return ProfilerCost(per_range_us=max(intercept, 0.0), per_op_us=max(slope, 0.0))


def in_context_layers(
    model: GraphModule,
    x: torch.Tensor,
    forward: Callable[[], object],
    clock: Clock,
    device: torch.device,
    opts: LatencyOptions,
    deadline: float,
    progress: Progress,
) -> tuple[Stats, list[tuple[str, Stats]], ProfilerCost | None]:
    """The end-to-end figure and (name, stats) for every leaf and op of ``model`` in execution order, and the
    profiler's cost taken out (CPU). Chunks of plain forwards (``forward`` on ``clock``, a CUDA graph's replay
    where there is one: the end-to-end samples) alternate with as many profiled eager forwards of ``model`` on
    ``x`` (the per-layer samples), so that both figures see the same state of the host; the stopping rule runs
    on the end-to-end samples, until ``deadline``."""
    cuda = device.type == "cuda"
    cost = None if cuda else calibrate()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    per_layer: dict[str, list[float]] = defaultdict(list)

    names = range_names(model)
    wanted = set(names)

    def profiled(count: int) -> None:
        with recorded_ranges(), profile(activities=activities) as prof:
            for _ in range(count):
                model(x)
            if cuda:
                torch.cuda.synchronize(device)
        for event in prof.events():
            if event.name in wanted:
                per_layer[event.name].append(_duration_ms(event, cost))

    def sample(count: int) -> list[float]:
        plain = clock.sample(forward, count)  # no range at all in these
        profiled(count)
        return plain

    end_to_end = repeat_until(sample, opts, deadline, progress)
    layers = [(name, summarize(per_layer[name], end_to_end.stop)) for name in names if per_layer[name]]
    return end_to_end, layers, cost


def _duration_ms(event: Any, cost: ProfilerCost | None) -> float:
    if cost is None:  # CUDA: the device time of the kernels launched inside the range
        return float(event.device_time_total) / 1e3
    us = event.time_range.elapsed_us() - cost.per_range_us - cost.per_op_us * _descendants(event)
    return max(us, 0.0) / 1e3
