"""A against B on one device and runtime: both prepared, then timed in alternating chunks (A, B, B, A, A, B,
...) so that drift, a neighbour's load or a frequency change hits both alike. Each pair of chunks gives one
ratio of medians; the answer is their geometric mean with a 95% interval (Student's t over the pairs' log
ratios) and a verdict that says whether the interval excludes 1."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import torch

from ..model.build import plan_model
from .clocks import Clock, CpuClock, CudaClock, graphed
from .devices import cpu_name, resolve_device
from .measure import cpu_threads
from .measurement import Measurement
from .options import LatencyOptions
from .progress import Progress
from .stats import Stats, summarize

__all__ = ["PairedMeasurement", "PairedResult"]

_CHUNK_S = 0.05  # each chunk lasts about this long: long enough to time, short enough to alternate often
_MIN_PAIRS = 6
# Student's t, two-sided 95%, by degrees of freedom (1-30); past 30 the normal's 1.96 is within 2.5%.
# fmt: off
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
# fmt: on


def t95(df: int) -> float:
    return _T95[df - 1] if df <= len(_T95) else 1.96


@dataclass(frozen=True)
class PairedResult:
    device: str
    device_name: str
    options: LatencyOptions
    a: Stats
    b: Stats
    ratio: float  # B's time over A's
    ci95: tuple[float, float]
    pairs: int
    stop: str
    runtime: dict[str, Any]
    prepare_s: tuple[float, float]
    threads: int | None = None  # CPU threads the timing process used (None on a GPU)

    @property
    def verdict(self) -> str:
        lo, hi = self.ci95
        if hi < 1:
            return "B faster"
        if lo > 1:
            return "A faster"
        return "no difference within the interval"

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "device_name": self.device_name,
            "runtime": {**self.runtime, "prepare_s": [round(s, 3) for s in self.prepare_s]},
            "batch_size": self.options.batch_size,
            "dtype": self.options.dtype,
            "threads": self.threads,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "b_over_a": self.ratio,
            "ci95": list(self.ci95),
            "pairs": self.pairs,
            "stop": self.stop,
            "verdict": self.verdict,
            "method": "A and B timed in alternating chunks of about 50 ms (A B, then B A, ...), both prepared and "
            "warmed up first; b_over_a is the geometric mean of the chunks' median ratios, ci95 Student's t "
            "over their logarithms",
        }


@dataclass(frozen=True)
class PairedMeasurement:
    """Two checked measurements (same device, runtime and options) to time against each other."""

    a: Measurement
    b: Measurement

    @property
    def device(self) -> str:
        return self.a.device

    @property
    def options(self) -> LatencyOptions:
        return self.a.options

    @property
    def budget_s(self) -> float:
        return self.a.budget_s + self.b.budget_s - self.a.options.budget_s  # both preparations, one budget

    def __call__(self, progress: Progress) -> PairedResult:
        opts = self.options
        device = resolve_device(opts.device)
        progress.total_steps = 3
        with ExitStack() as stack, torch.inference_mode():
            threads = stack.enter_context(cpu_threads(opts.threads if device.type == "cpu" else None))
            (run_a, prep_a), (run_b, prep_b) = (_runnable(m, device, stack) for m in (self.a, self.b))
            progress.done_steps = 1
            # A runtime's run returns when its output is ready (it synchronizes its own stream): a wall clock.
            eager_cuda = device.type == "cuda" and opts.runtime == "eager"
            clock: Clock = CudaClock(device) if eager_cuda else CpuClock()
            for _ in range(max(opts.warmup, 1)):
                progress.check()
                run_a()
                run_b()
            progress.done_steps = 2
            per_call = max(clock.sample(run_a, 1)[0], clock.sample(run_b, 1)[0]) / 1e3
            chunk = max(1, min(100, int(_CHUNK_S / per_call))) if per_call > 0 else 100
            deadline = time.monotonic() + opts.budget_s
            samples_a: list[float] = []
            samples_b: list[float] = []
            logs: list[float] = []
            stop = "budget"
            while True:
                progress.check()
                order = ((run_a, samples_a), (run_b, samples_b))
                if len(logs) % 2:
                    order = order[::-1]  # B first every other pair: neither side always follows the other
                chunk_medians = {}
                for fn, into in order:
                    times = clock.sample(fn, chunk)
                    into.extend(times)
                    chunk_medians[id(into)] = statistics.median(times)
                logs.append(math.log(chunk_medians[id(samples_b)] / chunk_medians[id(samples_a)]))
                k = len(logs)
                if k >= _MIN_PAIRS:
                    half = t95(k - 1) * statistics.stdev(logs) / math.sqrt(k)
                    if half <= math.log1p(opts.target_ci):
                        stop = "converged"
                        break
                if time.monotonic() > deadline and k >= 2:
                    break
            progress.done_steps = 3
        mean = statistics.fmean(logs)
        half = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
        runtime = _runtime_info(opts.runtime)
        return PairedResult(
            device=str(device),
            device_name=cpu_name() if device.type == "cpu" else torch.cuda.get_device_name(device),
            options=opts,
            a=summarize(samples_a, stop),
            b=summarize(samples_b, stop),
            ratio=math.exp(mean),
            ci95=(math.exp(mean - half), math.exp(mean + half)),
            pairs=len(logs),
            stop=stop,
            runtime=runtime,
            prepare_s=(prep_a, prep_b),
            threads=threads if device.type == "cpu" else None,
        )


def _runnable(m: Measurement, device: torch.device, stack: ExitStack) -> tuple[Callable[[], object], float]:
    """One forward of ``m``'s model as it will be timed, and what preparing it took."""
    began = time.monotonic()
    model = plan_model(m.spec, m.limits).build().eval()
    opts = m.options
    if opts.runtime != "eager":
        from .runtimes import get_runtime

        with torch.inference_mode(False):
            prepared = get_runtime(opts.runtime).prepare(model, torch.randn(m.input_shape), opts, [])
        stack.callback(prepared.close)
        return prepared.run, time.monotonic() - began
    dtype = getattr(torch, opts.dtype)
    fmt = torch.channels_last if opts.channels_last else torch.contiguous_format
    model = model.to(device=device, dtype=dtype).to(memory_format=fmt)
    x = torch.randn(m.input_shape, device=device).to(dtype=dtype, memory_format=fmt)
    if device.type == "cuda" and opts.cuda_graph:
        return graphed(lambda: model(x), device, opts.warmup), time.monotonic() - began
    return (lambda: model(x)), time.monotonic() - began


def _runtime_info(name: str) -> dict[str, Any]:
    if name == "eager":
        return {"name": "eager", "version": torch.__version__.split("+")[0]}
    from .runtimes import get_runtime

    return {"name": name, "version": get_runtime(name).version()}
