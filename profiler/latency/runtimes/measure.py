"""A latency on a runtime other than eager PyTorch: the built model prepared (export, compile) under the
clock apart from the measurement, then timed with the same clock, stopping rule, statistics, quality verdict
and roofs as eager; per layer from the runtime's own profiler, each row naming the spec layers it covers."""

from __future__ import annotations

import statistics
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING

import torch
from torch import nn

from ...model.codegen import is_generated, timed_names
from ..clocks import CpuClock
from ..devices import cpu_name, resolve_device
from ..in_context import LayerSum
from ..options import LatencyOptions
from ..progress import Progress
from ..quality import ContentionProbe, verdict
from ..roofline import LayerCost, measure_roofs, roofline
from ..stats import repeat_until, summarize
from . import get_runtime
from .base import Prepared, ProfiledRow

if TYPE_CHECKING:
    from ..measure import LatencyResult

__all__ = ["measure_on_runtime"]

PROFILED_FORWARDS = 30  # forwards profiled for per-layer figures (after one warm-up)


def measure_on_runtime(
    model: nn.Module,
    input_shape: tuple[int, ...],
    opts: LatencyOptions,
    progress: Progress,
    costs: dict[str, LayerCost],
    model_key: str | None = None,
) -> LatencyResult:
    from ..measure import LatencyResult, RuntimeInfo, RuntimeLayer, cpu_threads

    runtime = get_runtime(opts.runtime)
    device = resolve_device(opts.device)
    layers = timed_names(model) if is_generated(model) else list(costs)  # type: ignore[arg-type]
    progress.total_steps = 1 + opts.warmup + 1 + (1 if opts.per_layer else 0)
    with cpu_threads(opts.threads) as threads:
        roofs = measure_roofs(str(device))
        began = time.monotonic()
        key = (model_key, input_shape, opts.runtime, opts.dtype, threads) if model_key is not None else None
        cached = _PREPARED.get(key)
        if cached is None:
            prepared = runtime.prepare(model.eval(), torch.randn(input_shape), opts, layers)
            prepare_s = time.monotonic() - began
            cached = _PREPARED.put(key, prepared, prepare_s)
        prepared, prepare_s, reused = cached
        progress.done_steps = 1
        try:
            started = time.monotonic()
            deadline = started + opts.budget_s
            probe = ContentionProbe(threads)
            for i in range(opts.warmup):
                progress.check()
                prepared.run()
                progress.done_steps = 1 + i + 1
                if i and time.monotonic() > started + opts.budget_s / 4:
                    break
            clock = CpuClock()  # a runtime's run returns when its output is ready, on a GPU too
            share = deadline if not opts.per_layer else started + opts.budget_s * 2 / 3
            end_to_end = repeat_until(lambda count: clock.sample(prepared.run, count), opts, share, progress)
            quality = verdict(end_to_end, opts, probe.read())
            progress.done_steps = 1 + opts.warmup + 1
            rows: tuple[RuntimeLayer, ...] = ()
            wall: list[float] = []  # the profiled forwards' own times: what their rows add up to
            profiled_rows: list[ProfiledRow] = []
            if opts.per_layer and prepared.profile is not None:
                progress.check()
                profiled, wall = prepared.profile(PROFILED_FORWARDS)
                profiled_rows = profiled
                rows = tuple(
                    RuntimeLayer(
                        row.name,
                        row.kind,
                        row.layers,
                        stats,
                        roofline(_cost(row.layers, costs), stats.median / 1e3, roofs, opts.dtype)
                        if row.layers
                        else None,
                    )
                    for row in profiled
                    if row.samples_ms and (stats := summarize(row.samples_ms, "profiled"))
                )
            progress.done_steps = progress.total_steps
        finally:
            if key is None:
                prepared.close()
    return LatencyResult(
        device=str(device),
        device_name=cpu_name() if device.type == "cpu" else torch.cuda.get_device_name(device),
        options=opts,
        threads=threads,
        end_to_end=end_to_end,
        seconds=time.monotonic() - began,
        quality=quality,
        roofs=roofs,
        per_layer_method="runtime_profiler" if rows else None,
        runtime=RuntimeInfo(
            runtime.name,
            runtime.version(),
            prepared.options,
            prepare_s,
            prepared.per_layer_note if opts.per_layer else None,
            reused,
        ),
        runtime_layers=rows,
        runtime_layers_against=summarize(wall, "profiled") if wall else None,
        runtime_layer_sum=_typical_sum(profiled_rows, wall),
    )


class _PreparedModels:
    """Prepared models of this (timing) process, by model, input, runtime, precision and threads, the most
    recently used kept within ``max_bytes`` (their ONNX size, about what a session holds): measuring the same
    model again skips the export or compile."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Prepared, float]] = OrderedDict()

    def get(self, key: Hashable | None) -> tuple[Prepared, float, bool] | None:
        if key is None or key not in self._items:
            return None
        self._items.move_to_end(key)
        prepared, prepare_s = self._items[key]
        return prepared, prepare_s, True

    def put(self, key: Hashable | None, prepared: Prepared, prepare_s: float) -> tuple[Prepared, float, bool]:
        if key is not None and prepared.nbytes <= self.max_bytes:
            self._items[key] = (prepared, prepare_s)
            while sum(p.nbytes for p, _ in self._items.values()) > self.max_bytes:
                _, (evicted, _) = self._items.popitem(last=False)
                evicted.close()
        return prepared, prepare_s, False


_PREPARED = _PreparedModels(256 * 2**20)


def _typical_sum(rows: list[ProfiledRow], wall: list[float]) -> LayerSum | None:
    """Over the profiled forwards whose own time is between its quartiles, the mean per-node total and the
    mean forward: means add up where medians do not (a hiccup in some node of most forwards)."""
    if len(wall) < 4 or any(len(row.samples_ms) != len(wall) for row in rows):
        return None
    quartiles = statistics.quantiles(wall, n=4)
    typical = [i for i, ms in enumerate(wall) if quartiles[0] <= ms <= quartiles[2]]
    layers = sum(statistics.fmean(row.samples_ms[i] for i in typical) for row in rows)
    return LayerSum(layers, statistics.fmean(wall[i] for i in typical))


def _cost(layers: tuple[str, ...], costs: dict[str, LayerCost]) -> LayerCost:
    """The covered layers' FLOPs and bytes, summed (for a fused group, the bytes are an upper bound: its
    intermediates may never leave the cache)."""
    covered = [costs[name] for name in layers if name in costs]
    return LayerCost(sum(c.flops for c in covered), sum(c.bytes for c in covered))
