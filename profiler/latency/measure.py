"""The measurement: whole forwards on the CPU (monotonic clock) or a CUDA GPU (CUDA events), after warm-up,
repeated by the stopping rule (``stats.repeat_until``). Per-layer figures time each leaf layer alone on the
input it saw in a real forward, so no hook sits inside the measured forward; their sum is reported beside
the end-to-end figure.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import fx, nn

from ..errors import MeasurementOutOfMemory
from ..model.codegen import is_generated
from .clocks import Clock, CpuClock, CudaClock, graphed
from .devices import cpu_name, local_name, resolve_device
from .in_context import LayerSum, ProbeCost, in_context_layers, probe_cost
from .options import LatencyOptions
from .peak_memory import forward_peak_bytes, peak_bytes_how, warm_up_profiler
from .progress import Progress
from .quality import ContentionProbe, verdict
from .roofline import LayerCost, Roofs, measure_roofs, roofline
from .stats import Stats, repeat_until

__all__ = ["LatencyResult", "LayerLatency", "measure_latency"]

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@contextmanager
def cpu_threads(threads: int | None) -> Iterator[int]:
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class LayerLatency:
    name: str  # a leaf's dotted name, or an op's row (``features.3 (add)``)
    stats: Stats
    roofline: dict[str, Any] | None = None  # where it sits under the device's roofs (roofline.roofline)


@dataclass(frozen=True)
class RuntimeInfo:
    """Which runtime produced a latency, as what it was given, and what preparing the model cost."""

    name: str
    version: str
    options: dict[str, Any]
    prepare_s: float
    per_layer_note: str | None = None
    reused: bool = False  # prepared for an earlier measurement of the same model, kept by the timing process

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "options": self.options,
            "prepare_s": round(self.prepare_s, 3),
            "prepared_before": self.reused,
        }


@dataclass(frozen=True)
class RuntimeLayer:
    """A node (or fused group) of a runtime, its times, and the spec's layers and ops it covers."""

    name: str
    kind: str
    layers: tuple[str, ...]
    stats: Stats
    roofline: dict[str, Any] | None = None


@dataclass(frozen=True)
class LatencyResult:
    device: str
    device_name: str
    options: LatencyOptions
    threads: int | None
    end_to_end: Stats
    layers: tuple[LayerLatency, ...] = ()
    seconds: float = 0.0
    quality: dict[str, Any] | None = None
    roofs: Roofs | None = None
    per_layer_method: str | None = None  # what was done: "in_context" or "isolated"
    probe_cost: ProbeCost | None = None
    layer_sum: LayerSum | None = None  # in context: how the layers add up over typical forwards
    host: str | None = None  # the host it ran on, when not the server's own (a cluster device)
    runtime: RuntimeInfo | None = None  # None: eager PyTorch
    runtime_layers: tuple[RuntimeLayer, ...] = ()
    runtime_layers_against: Stats | None = None  # the profiled forwards' own times
    runtime_layer_sum: LayerSum | None = None  # their nodes' mean total over typical profiled forwards
    peak_bytes: int | None = None  # what one forward allocated at most, measured (eager)

    def to_dict(self) -> dict[str, Any]:
        opts = self.options
        out: dict[str, Any] = {
            "device": self.device,
            "device_name": self.device_name,
            **({"host": self.host} if self.host else {}),
            "batch_size": opts.batch_size,
            "dtype": opts.dtype,
            "channels_last": opts.channels_last,
            "cuda_graph": opts.cuda_graph,
            "threads": self.threads,
            "warmup": opts.warmup,
            "target_ci": opts.target_ci,
            "budget_s": opts.budget_s,
            "runtime": self.runtime.to_dict() if self.runtime else _eager(),
            "method": _method(self.device, opts, self.runtime),
            "end_to_end": self.end_to_end.to_dict(),
            "quality": self.quality,
            "seconds": round(self.seconds, 3),
        }
        if self.peak_bytes is not None:
            out["memory"] = {"measured_peak_bytes": self.peak_bytes, "how": peak_bytes_how(self.device)}
        if self.roofs is not None:
            out["roofs"] = self.roofs.to_dict()
        if self.runtime is not None and self.runtime.per_layer_note is not None:
            out["per_layer"] = self._runtime_layers(self.runtime.per_layer_note)
        if self.layers:
            medians = sum(layer.stats.median for layer in self.layers)
            out["per_layer"] = {
                "method": self.per_layer_method,
                "how": _per_layer_how(self.per_layer_method, self.device, opts, self.probe_cost),
                "sum_of_medians_ms": medians,
                "end_to_end_median_ms": self.end_to_end.median,
                "sum_over_end_to_end": medians / self.end_to_end.median if self.end_to_end.median else None,
            }
            if self.layer_sum is not None:  # in context: over typical forwards, where means add up
                typical = self.layer_sum
                out["per_layer"].update(
                    sum_in_typical_forwards_ms=typical.layers_ms,
                    end_to_end_typical_ms=typical.end_to_end_ms,
                    sum_over_end_to_end=typical.layers_ms / typical.end_to_end_ms if typical.end_to_end_ms else None,
                    sum_how="the mean per-layer total of the probed forwards between that total's quartiles, over "
                    "the mean of the plain forwards between theirs: means add up and medians do not (on a busy "
                    "host most forwards have a hiccup in some layer, which each layer's median leaves out)",
                )
            out["per_layer"].update(
                layers=[
                    {"name": layer.name, **layer.stats.to_dict(), **(layer.roofline or {})} for layer in self.layers
                ],
            )
            if self.probe_cost is not None:
                out["per_layer"]["probe_cost"] = self.probe_cost.to_dict()
        return out

    def _runtime_layers(self, note: str) -> dict[str, Any]:
        rows = self.runtime_layers
        medians = sum(row.stats.median for row in rows)
        against = self.runtime_layers_against or self.end_to_end
        return {
            "method": self.per_layer_method,
            "how": note,
            "sum_of_medians_ms": medians if rows else None,
            "end_to_end_median_ms": against.median,
            "end_to_end_how": "the profiled forwards themselves, as the runtime timed them (ONNX Runtime's run "
            "events) or by the wall clock (OpenVINO); the plain forwards' figure is end_to_end"
            if self.runtime_layers_against
            else "the end-to-end median",
            "sum_over_end_to_end": medians / against.median if rows and against.median else None,
            **self._typical(),
            "layers": [
                {
                    "name": row.name,
                    "kind": row.kind,
                    "layers": list(row.layers),
                    **row.stats.to_dict(),
                    **(row.roofline or {}),
                }
                for row in rows
            ],
        }

    def _typical(self) -> dict[str, Any]:
        typical = self.runtime_layer_sum
        if typical is None:
            return {}
        return {
            "sum_in_typical_forwards_ms": typical.layers_ms,
            "end_to_end_typical_ms": typical.end_to_end_ms,
            "sum_over_end_to_end": typical.layers_ms / typical.end_to_end_ms if typical.end_to_end_ms else None,
            "sum_how": "over the profiled forwards whose time is between its quartiles: the mean per-node total "
            "over the mean forward (means add up and medians do not)",
        }


def _eager() -> dict[str, Any]:
    return {"name": "eager", "version": torch.__version__, "options": {}, "prepare_s": 0.0}


def _method(device: str, opts: LatencyOptions, runtime: RuntimeInfo | None = None) -> str:
    if runtime is not None:
        return (
            f"time.perf_counter_ns around each whole {runtime.name} run on the same input, after warm-up; the "
            "model was prepared (exported, compiled) before the clock started"
        )
    if local_name(device) == "cpu":
        return "time.perf_counter_ns around each whole forward under torch.inference_mode(), after warm-up"
    mode = "replay of a CUDA graph captured after warm-up" if opts.cuda_graph else "eager forward"
    return (
        f"CUDA events recorded on the stream around each {mode}, model and input resident on the device, "
        "cudnn.benchmark on and autotuned during warm-up, synchronized before the events are read"
    )


def _per_layer_how(method: str | None, device: str, opts: LatencyOptions, cost: ProbeCost | None) -> str:
    if method == "isolated":
        return (
            "each leaf layer timed alone on the input it received in a real forward, with the same clock and "
            "stopping rule; no hook runs inside any timed call"
            + ("; each layer replayed as its own CUDA graph" if opts.cuda_graph else "")
        )
    where = (
        "a torch.profiler range around each node, and the layer's time is the device time of the kernels its "
        "range launched (CUDA activity)"
        if local_name(device) != "cpu"
        else "time.perf_counter_ns read before and after each node in the generated code, less the reads' own "
        f"cost, measured in the same code: {cost.per_node_us:.3f} us per node"
        if cost
        else "time.perf_counter_ns read before and after each node in the generated code"
    )
    return (
        "whole forwards of a twin of the timed model (the same modules, its generated code with a probe before "
        "and after every leaf layer and every op a block runs itself, rows named like 'features.3 (add)'), in "
        "chunks alternating with as many plain forwards (the end-to-end samples, on which the stopping rule "
        f"runs); {where}. Time between nodes (a block's call) is in the end-to-end figure and in no layer"
    )


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    opts: LatencyOptions,
    progress: Progress | None = None,
    costs: dict[str, LayerCost] | None = None,
    model_key: str | None = None,
) -> LatencyResult:
    """Time ``model`` (eval mode) on an input of ``input_shape`` as ``opts`` says; ``costs`` (per layer, at
    this batch and dtype) place each timed layer under the device's roofs. ``model_key`` names the model (its
    spec): a runtime's prepared model is kept under it for the next measurement of the same model.

    Out of memory (CUDA or host) raises MeasurementOutOfMemory, and not from inside the ``except`` block:
    the original exception's traceback holds the frames, hence the tensors, of the failed measurement, and a
    caller keeping the error (a job's future) would keep the memory too.
    """
    try:
        if opts.runtime != "eager":
            from .runtimes.measure import measure_on_runtime  # imports a runtime's packages only when asked

            return measure_on_runtime(model, input_shape, opts, progress or Progress(), costs or {}, model_key)
        return _measure_latency(model, input_shape, opts, progress or Progress(), costs or {})
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
        if (
            isinstance(exc, RuntimeError)
            and not isinstance(exc, torch.OutOfMemoryError)
            and "can't allocate memory" not in str(exc)  # torch's host allocator says so in a plain RuntimeError
        ):
            raise
        detail = f"{type(exc).__name__}: {str(exc)[-200:]}"
    del model  # here the failed measurement's frames are gone; the error raised below must not hold the model
    device = torch.device(opts.device)  # resolved before the measurement began
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
    raise MeasurementOutOfMemory(
        str(device),
        f"out of memory on {device} timing batch {opts.batch_size} in {opts.dtype}"
        f"{' with per-layer inputs kept' if opts.per_layer else ''}: lower latency.batch_size, the resolution "
        f"or the dtype's width ({detail})",
    )


def _measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    opts: LatencyOptions,
    progress: Progress,
    costs: dict[str, LayerCost],
) -> LatencyResult:
    device = resolve_device(opts.device)
    dtype = _DTYPES[opts.dtype]
    fmt = torch.channels_last if opts.channels_last else torch.contiguous_format
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children()) and not isinstance(m, nn.Identity)]
    in_context = opts.per_layer and opts.per_layer_method == "in_context" and is_generated(model)
    layer_steps = 0 if in_context or not opts.per_layer else len(leaves)
    progress.total_steps = opts.warmup + 1 + layer_steps  # warm-up forwards count: progress moves from the start

    with cpu_threads(opts.threads if device.type == "cpu" else None) as threads, torch.inference_mode():
        roofs = measure_roofs(str(device))  # once per process, before the budget starts
        warm_up_profiler(str(device))  # likewise: the profiled forward below is then one forward's time
        if in_context and device.type == "cpu":
            probe_cost()  # the clock reads' own cost: once per process, also before the budget starts
        started = time.monotonic()
        deadline = started + opts.budget_s
        probe = ContentionProbe(threads if device.type == "cpu" else 1)
        model = model.eval().to(device=device, dtype=dtype).to(memory_format=fmt)
        x = torch.randn(input_shape, device=device).to(dtype=dtype, memory_format=fmt)
        clock: Clock = CpuClock() if device.type == "cpu" else CudaClock(device)
        cudnn_before = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = device.type == "cuda"
        try:
            fn = _prepare(lambda: model(x), device, opts, started + opts.budget_s / 4, progress, counts_steps=True)
            # One profiled forward, beside the counted peak: warm now, and inside the budget (the timing below
            # stops at the same deadline).
            try:
                peak_bytes: int | None = forward_peak_bytes(model, x, warm_up=False)
            except RuntimeError:  # the profiler gave no memory events: the latency stands without it
                peak_bytes = None
            progress.done_steps = opts.warmup
            timed: list[tuple[str, Stats]] = []
            cost = None
            layer_sum = None
            if in_context:  # the whole forward, interleaved with the profiled ones
                assert isinstance(model, fx.GraphModule)  # checked above
                end_to_end, timed, cost, layer_sum = in_context_layers(
                    model, x, fn, clock, device, opts, deadline, progress
                )
                quality = verdict(end_to_end, opts, probe.read())
            else:
                # With layers to time alone too, the whole forward gets a fair share of the budget, not all of it.
                share = deadline if not opts.per_layer else started + opts.budget_s / 3
                end_to_end = _measure(fn, clock, opts, share, progress)
                quality = verdict(end_to_end, opts, probe.read())
            progress.done_steps = opts.warmup + 1
            if opts.per_layer and not in_context:
                inputs = _leaf_inputs(model, x, leaves)
                for i, (name, module) in enumerate(leaves):
                    remaining = max(deadline - time.monotonic(), 0.0)
                    layer_deadline = time.monotonic() + remaining / (len(leaves) - i)
                    layer = partial(_out_of_place(module), inputs[name])
                    layer_fn = _prepare(layer, device, opts, layer_deadline, progress)
                    timed.append((name, _measure(layer_fn, clock, opts, layer_deadline, progress)))
                    progress.done_steps = opts.warmup + 2 + i
            progress.done_steps = progress.total_steps
        finally:
            torch.backends.cudnn.benchmark = cudnn_before
    layers = tuple(
        LayerLatency(
            name,
            stats,
            roofline(costs[name], stats.median / 1e3, roofs, opts.dtype) if name in costs else None,
        )
        for name, stats in timed
    )
    return LatencyResult(
        device=str(device),
        device_name=cpu_name() if device.type == "cpu" else torch.cuda.get_device_name(device),
        options=opts,
        threads=threads if device.type == "cpu" else None,
        end_to_end=end_to_end,
        layers=layers,
        seconds=time.monotonic() - started,
        quality=quality,
        roofs=roofs,
        per_layer_method=("in_context" if in_context else "isolated") if opts.per_layer else None,
        probe_cost=cost,
        layer_sum=layer_sum,
        peak_bytes=peak_bytes,
    )


def _measure(
    fn: Callable[[], object], clock: Clock, opts: LatencyOptions, deadline: float, progress: Progress
) -> Stats:
    return repeat_until(lambda count: clock.sample(fn, count), opts, deadline, progress)


def _prepare(
    fn: Callable[[], object],
    device: torch.device,
    opts: LatencyOptions,
    warmup_until: float,
    progress: Progress,
    counts_steps: bool = False,
) -> Callable[[], object]:
    """Warm up ``fn`` (at least once, then until ``opts.warmup`` calls or ``warmup_until``); on CUDA with
    graphs on, return the replay of its captured graph. Cancellation is checked between warm-up calls; with
    ``counts_steps``, each warm-up call is a step of ``progress``."""
    if device.type == "cuda" and opts.cuda_graph:
        return graphed(fn, device, opts.warmup)
    for i in range(opts.warmup):
        progress.check()
        fn()
        if counts_steps:
            progress.done_steps = i + 1
        if i and time.monotonic() > warmup_until:
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return fn


def _out_of_place(module: nn.Module) -> nn.Module:
    """An in-place activation timed alone would rewrite the same input at every call (hardswish and SiLU drive
    it to denormals): time an out-of-place copy."""
    if not getattr(module, "inplace", False):
        return module
    twin = copy.copy(module)
    twin.inplace = False  # type: ignore[assignment]
    return twin


def _leaf_inputs(model: nn.Module, x: torch.Tensor, leaves: list[tuple[str, nn.Module]]) -> dict[str, torch.Tensor]:
    """The input each leaf receives in one real forward (hooks on for this forward only, never while timing)."""
    inputs: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_pre_hook(lambda mod, args, n=n: inputs.__setitem__(n, args[0].clone())) for n, m in leaves
    ]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return inputs
