"""Measured latency: whole forwards on the CPU (monotonic clock) or a CUDA GPU (CUDA events), after
warm-up, repeated until the 95% confidence interval of the median is tight enough or the time budget runs
out. Per-layer figures time each leaf layer alone on the input it saw in a real forward, so no hook sits
inside the measured forward; their sum is reported beside the end-to-end figure.
"""

from __future__ import annotations

import math
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from .errors import ProfilerError

Dtype = Literal["float32", "float16", "bfloat16"]
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_Z95 = 1.959964


class DeviceUnavailableError(ProfilerError):
    """Timing asked of a device this host does not have."""

    def __init__(self, device: str, reason: str, available: list[str]) -> None:
        self.device = device
        self.available = available
        super().__init__(f"cannot time on {device!r}: {reason}; this host can time on: {', '.join(available)}")


class MeasurementCancelled(ProfilerError):
    pass


class MeasurementOutOfMemory(ProfilerError):
    """The device ran out of memory. Raised after the measurement's tensors are freed (and, on CUDA, the
    allocator's cache emptied), so the device is as free for the next request as it was before."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(message)


class MeasurementFailed(ProfilerError):
    """A measurement failed for another reason (its message says which), or its timing process died."""


@dataclass(frozen=True)
class LatencyOptions:
    device: str = "cpu"
    batch_size: int = 1
    dtype: Dtype = "float32"
    channels_last: bool = False
    cuda_graph: bool = False
    per_layer: bool = False
    warmup: int = 10  # forwards before any sample (first call, allocator, cudnn autotune)
    min_repeats: int = 10
    max_repeats: int = 10_000
    target_ci: float = 0.02  # stop when the 95% CI half-width of the median is within this share of it
    budget_s: float = 10.0  # time budget of the whole measurement (per-layer included)
    threads: int | None = None  # CPU threads; None: torch's current setting


@dataclass(frozen=True)
class Stats:
    """Statistics of one figure, in milliseconds."""

    median: float
    mean: float
    p10: float
    p90: float
    min: float
    std: float
    cv: float
    ci95: tuple[float, float]  # distribution-free confidence interval of the median (order statistics)
    repeats: int
    stop: str  # "converged", "budget" or "max_repeats"

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_ms": self.median, "mean_ms": self.mean, "p10_ms": self.p10, "p90_ms": self.p90,
            "min_ms": self.min, "std_ms": self.std, "cv": self.cv, "ci95_ms": list(self.ci95),
            "repeats": self.repeats, "stop": self.stop,
        }  # fmt: skip


def median_ci(sorted_samples: list[float]) -> tuple[float, float]:
    """95% CI of the median from order statistics (normal approximation of the binomial ranks)."""
    n = len(sorted_samples)
    half = _Z95 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return sorted_samples[lo], sorted_samples[hi]


def _quantile(sorted_samples: list[float], q: float) -> float:
    pos = q * (len(sorted_samples) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (pos - lo)


def summarize(samples_ms: list[float], stop: str) -> Stats:
    s = sorted(samples_ms)
    mean = statistics.fmean(s)
    std = statistics.stdev(s) if len(s) > 1 else 0.0
    return Stats(
        median=statistics.median(s),
        mean=mean,
        p10=_quantile(s, 0.10),
        p90=_quantile(s, 0.90),
        min=s[0],
        std=std,
        cv=std / mean if mean else 0.0,
        ci95=median_ci(s),
        repeats=len(s),
        stop=stop,
    )


def _converged(samples: list[float], target: float) -> bool:
    s = sorted(samples)
    lo, hi = median_ci(s)
    return (hi - lo) / 2 <= target * statistics.median(s)


@dataclass
class Progress:
    """What a running measurement has done; read by other threads (job polling). A measurement in another
    process gets an object with the same attributes (``profiler.isolation``)."""

    total_steps: int = 1
    done_steps: int = 0
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if self.cancelled.is_set():
            raise MeasurementCancelled("the measurement was cancelled")


# ---- devices -----------------------------------------------------------------------------------------


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return devices


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` -> a device this host has, or DeviceUnavailableError."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceUnavailableError(name, "not a device name (use cpu, cuda or cuda:N)", available_devices()) from None
    if device.type == "cpu":
        return torch.device("cpu")
    if device.type != "cuda":
        raise DeviceUnavailableError(name, "only cpu and cuda devices are timed", available_devices())
    if not torch.cuda.is_available():
        raise DeviceUnavailableError(name, "cuda not available", available_devices())
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise DeviceUnavailableError(name, f"there is no cuda device {index}", available_devices())
    return torch.device("cuda", index)


def describe_devices() -> list[dict[str, Any]]:
    """What this host can time on, for ``GET /devices``."""
    cpu = {
        "device": "cpu",
        "name": _cpu_model() or platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    out = [cpu]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            out.append({
                "device": f"cuda:{i}", "name": p.name, "memory_bytes": p.total_memory,
                "capability": f"{p.major}.{p.minor}", "torch": torch.__version__, "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(),
            })  # fmt: skip
    return out


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


# ---- clocks ------------------------------------------------------------------------------------------


class _CpuClock:
    """Monotonic clock around whole calls."""

    def sample(self, fn: Callable[[], object], count: int) -> list[float]:
        out = []
        for _ in range(count):
            start = time.perf_counter_ns()
            fn()
            out.append((time.perf_counter_ns() - start) / 1e6)
        return out


class _CudaClock:
    """CUDA events around each call on the current stream; one synchronize per chunk, before reading."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def sample(self, fn: Callable[[], object], count: int) -> list[float]:
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(count)]
        torch.cuda.synchronize(self.device)  # nothing queued before the first start event
        for start, end in events:
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(self.device)
        return [start.elapsed_time(end) for start, end in events]


def _measure(
    fn: Callable[[], object], clock: Any, opts: LatencyOptions, deadline: float, progress: Progress
) -> Stats:
    samples: list[float] = []
    chunk = 1  # the first sample says how long a call takes; chunks then grow within the budget
    stop = "max_repeats"
    while len(samples) < opts.max_repeats:
        progress.check()
        samples += clock.sample(fn, min(chunk, opts.max_repeats - len(samples)))
        if len(samples) >= opts.min_repeats and _converged(samples, opts.target_ci):
            stop = "converged"
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0 and len(samples) >= 2:
            stop = "budget"
            break
        # Grow the chunk, but never past what the remaining budget holds at the current median.
        per_call = statistics.median(samples) / 1e3
        chunk = max(1, min(chunk * 2, 100, int(max(remaining, 0) / per_call) if per_call > 0 else 100))
        if len(samples) < opts.min_repeats:
            chunk = min(chunk, opts.min_repeats - len(samples))  # check convergence as soon as it can hold
    return summarize(samples, stop)


@contextmanager
def _cpu_threads(threads: int | None) -> Iterator[int]:
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def _graphed(fn: Callable[[], object], device: torch.device, warmup: int) -> Callable[[], object]:
    """Capture ``fn`` in a CUDA graph (after warm-up on a side stream) and return its replay."""
    stream = torch.cuda.Stream(device)
    stream.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(stream):
        for _ in range(max(warmup, 3)):
            fn()
    torch.cuda.current_stream(device).wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph.replay


# ---- the measurement ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerLatency:
    name: str
    stats: Stats


@dataclass(frozen=True)
class LatencyResult:
    device: str
    device_name: str
    options: LatencyOptions
    threads: int | None
    end_to_end: Stats
    layers: tuple[LayerLatency, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        opts = self.options
        out: dict[str, Any] = {
            "device": self.device,
            "device_name": self.device_name,
            "batch_size": opts.batch_size,
            "dtype": opts.dtype,
            "channels_last": opts.channels_last,
            "cuda_graph": opts.cuda_graph,
            "threads": self.threads,
            "warmup": opts.warmup,
            "target_ci": opts.target_ci,
            "budget_s": opts.budget_s,
            "method": _method(self.device, opts),
            "end_to_end": self.end_to_end.to_dict(),
            "seconds": round(self.seconds, 3),
        }
        if self.layers:
            total = sum(layer.stats.median for layer in self.layers)
            out["per_layer"] = {
                "method": "each leaf layer timed alone on the input it received in a real forward, with the "
                "same clock and stopping rule; no hook runs inside any timed call"
                + ("; each layer replayed as its own CUDA graph" if opts.cuda_graph else ""),
                "sum_of_medians_ms": total,
                "end_to_end_median_ms": self.end_to_end.median,
                "sum_over_end_to_end": total / self.end_to_end.median if self.end_to_end.median else None,
                "layers": [{"name": layer.name, **layer.stats.to_dict()} for layer in self.layers],
            }
        return out


def _method(device: str, opts: LatencyOptions) -> str:
    if device == "cpu":
        return "time.perf_counter_ns around each whole forward under torch.inference_mode(), after warm-up"
    mode = "replay of a CUDA graph captured after warm-up" if opts.cuda_graph else "eager forward"
    return (
        f"CUDA events recorded on the stream around each {mode}, model and input resident on the device, "
        "cudnn.benchmark on and autotuned during warm-up, synchronized before the events are read"
    )


def measure_latency(
    model: nn.Module, input_shape: tuple[int, ...], opts: LatencyOptions, progress: Progress | None = None
) -> LatencyResult:
    """Time ``model`` (eval mode) on an input of ``input_shape`` as ``opts`` says.

    Out of memory (CUDA or host) raises MeasurementOutOfMemory, and not from inside the ``except`` block:
    the original exception's traceback holds the frames, hence the tensors, of the failed measurement, and a
    caller keeping the error (a job's future) would keep the memory too.
    """
    try:
        return _measure_latency(model, input_shape, opts, progress or Progress())
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not isinstance(exc, torch.OutOfMemoryError) and (
            "can't allocate memory" not in str(exc)  # torch's host allocator says so in a plain RuntimeError
        ):
            raise
        detail = f"{type(exc).__name__}: {str(exc)[-200:]}"
    del model  # here the failed measurement's frames are gone; the error raised below must not hold the model
    device = resolve_device(opts.device)
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
    model: nn.Module, input_shape: tuple[int, ...], opts: LatencyOptions, progress: Progress
) -> LatencyResult:
    device = resolve_device(opts.device)
    dtype = _DTYPES[opts.dtype]
    fmt = torch.channels_last if opts.channels_last else torch.contiguous_format
    started = time.monotonic()
    deadline = started + opts.budget_s
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children()) and not isinstance(m, nn.Identity)]
    progress.total_steps = 1 + (len(leaves) if opts.per_layer else 0)

    with _cpu_threads(opts.threads if device.type == "cpu" else None) as threads, torch.inference_mode():
        model = model.eval().to(device=device, dtype=dtype, memory_format=fmt)
        x = torch.randn(input_shape, device=device).to(dtype=dtype, memory_format=fmt)
        clock: Any = _CpuClock() if device.type == "cpu" else _CudaClock(device)
        cudnn_before = torch.backends.cudnn.benchmark
        torch.backends.cudnn.benchmark = device.type == "cuda"
        try:
            fn = _prepare(lambda: model(x), device, opts, started + opts.budget_s / 4)
            # With layers to time too, the whole forward gets a fair share of the budget, not all of it.
            share = deadline if not opts.per_layer else started + opts.budget_s / 3
            end_to_end = _measure(fn, clock, opts, share, progress)
            progress.done_steps = 1
            layers: list[LayerLatency] = []
            if opts.per_layer:
                inputs = _leaf_inputs(model, x, leaves)
                for i, (name, module) in enumerate(leaves):
                    remaining = max(deadline - time.monotonic(), 0.0)
                    layer_deadline = time.monotonic() + remaining / (len(leaves) - i)
                    layer_fn = _prepare(lambda m=module, t=inputs[name]: m(t), device, opts, layer_deadline)
                    layers.append(LayerLatency(name, _measure(layer_fn, clock, opts, layer_deadline, progress)))
                    progress.done_steps = 2 + i
        finally:
            torch.backends.cudnn.benchmark = cudnn_before
    name = describe_devices()[0]["name"] if device.type == "cpu" else torch.cuda.get_device_name(device)
    return LatencyResult(
        str(device), name, opts, threads if device.type == "cpu" else None, end_to_end, tuple(layers),
        time.monotonic() - started,
    )  # fmt: skip


def _prepare(
    fn: Callable[[], object], device: torch.device, opts: LatencyOptions, warmup_until: float
) -> Callable[[], object]:
    """Warm up ``fn`` (at least once, then until ``opts.warmup`` calls or ``warmup_until``); on CUDA with
    graphs on, return the replay of its captured graph."""
    if device.type == "cuda" and opts.cuda_graph:
        return _graphed(fn, device, opts.warmup)
    for i in range(opts.warmup):
        fn()
        if i and time.monotonic() > warmup_until:
            break
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return fn


def _leaf_inputs(model: nn.Module, x: torch.Tensor, leaves: list[tuple[str, nn.Module]]) -> dict[str, torch.Tensor]:
    """The input each leaf receives in one real forward (hooks on for this forward only, never while timing)."""
    inputs: dict[str, torch.Tensor] = {}
    hooks = [
        m.register_forward_pre_hook(lambda mod, args, n=n: inputs.__setitem__(n, args[0].clone()))
        for n, m in leaves
    ]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return inputs
