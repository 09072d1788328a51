"""A latency on a runtime other than eager PyTorch: the built model prepared (export, compile) under the
clock apart from the measurement, then timed with the same clock, stopping rule, statistics, quality verdict
and roofs as eager; per layer from the runtime's own profiler, each row naming the spec layers it covers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch
from torch import nn

from ...model.codegen import is_generated, timed_names
from ..clocks import CpuClock
from ..devices import cpu_name, resolve_device
from ..options import LatencyOptions
from ..progress import Progress
from ..quality import ContentionProbe, verdict
from ..roofline import LayerCost, measure_roofs, roofline
from ..stats import repeat_until, summarize
from . import get_runtime

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
) -> LatencyResult:
    from ..measure import LatencyResult, RuntimeInfo, RuntimeLayer, cpu_threads

    runtime = get_runtime(opts.runtime)
    device = resolve_device(opts.device)
    layers = timed_names(model) if is_generated(model) else list(costs)  # type: ignore[arg-type]
    progress.total_steps = 1 + opts.warmup + 1 + (1 if opts.per_layer else 0)
    with cpu_threads(opts.threads) as threads:
        roofs = measure_roofs(str(device))
        x = torch.randn(input_shape)
        began = time.monotonic()
        prepared = runtime.prepare(model.eval(), x, opts, layers)
        prepare_s = time.monotonic() - began
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
            clock = CpuClock()
            share = deadline if not opts.per_layer else started + opts.budget_s * 2 / 3
            end_to_end = repeat_until(lambda count: clock.sample(prepared.run, count), opts, share, progress)
            quality = verdict(end_to_end, opts, probe.read())
            progress.done_steps = 1 + opts.warmup + 1
            rows: tuple[RuntimeLayer, ...] = ()
            if opts.per_layer and prepared.profile is not None:
                progress.check()
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
                    for row in prepared.profile(PROFILED_FORWARDS)
                    if row.samples_ms and (stats := summarize(row.samples_ms, "profiled"))
                )
            progress.done_steps = progress.total_steps
        finally:
            prepared.close()
    return LatencyResult(
        device=str(device),
        device_name=cpu_name(),
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
        ),
        runtime_layers=rows,
    )


def _cost(layers: tuple[str, ...], costs: dict[str, LayerCost]) -> LayerCost:
    """The covered layers' FLOPs and bytes, summed (for a fused group, the bytes are an upper bound: its
    intermediates may never leave the cache)."""
    covered = [costs[name] for name in layers if name in costs]
    return LayerCost(sum(c.flops for c in covered), sum(c.bytes for c in covered))
