"""Clocks: how one call is timed on each kind of device."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import torch

__all__ = ["Clock", "CpuClock", "CudaClock", "graphed"]


class Clock(Protocol):
    def sample(self, fn: Callable[[], object], count: int) -> list[float]:
        """Call ``fn`` ``count`` times; each call's time in milliseconds."""
        ...


class CpuClock:
    """Monotonic clock around whole calls."""

    def sample(self, fn: Callable[[], object], count: int) -> list[float]:
        out = []
        for _ in range(count):
            start = time.perf_counter_ns()
            fn()
            out.append((time.perf_counter_ns() - start) / 1e6)
        return out


class CudaClock:
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


def graphed(fn: Callable[[], object], device: torch.device, warmup: int) -> Callable[[], object]:
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
