"""The peak of what one forward allocates, above what was allocated before it: on the CPU from
``torch.profiler``'s memory events (every allocation and free in order, summed, the highest running total
kept); on CUDA from the caching allocator's own peak (``torch.cuda.max_memory_allocated``)."""

from __future__ import annotations

import functools

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

__all__ = ["forward_peak_bytes", "peak_bytes_how", "warm_up_profiler"]


@functools.cache
def warm_up_profiler(device: str) -> None:
    """Start torch.profiler once per process (its first use takes a second or two): what a first measurement
    would otherwise pay inside its budget."""
    if not device.startswith("cuda"):
        tiny = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).eval()
        forward_peak_bytes(tiny, torch.zeros(1, 3, 8, 8), warm_up=False)


def peak_bytes_how(device: str) -> str:
    if device.startswith("cuda"):
        return "torch.cuda.max_memory_allocated over one forward, less what was allocated before it"
    return "torch.profiler's memory events over one forward: the highest running total of its allocations"


def forward_peak_bytes(model: nn.Module, x: torch.Tensor, warm_up: bool = True) -> int:
    """Peak bytes allocated during ``model(x)`` under ``torch.inference_mode`` (the output included), after one
    forward that warms up whatever the model allocates once (unless it ran already: ``warm_up=False``)."""
    if x.is_cuda:
        with torch.inference_mode():
            if warm_up:
                model(x)
            torch.cuda.synchronize(x.device)
            before = torch.cuda.memory_allocated(x.device)
            torch.cuda.reset_peak_memory_stats(x.device)
            model(x)
            torch.cuda.synchronize(x.device)
            return torch.cuda.max_memory_allocated(x.device) - before
    activities = [ProfilerActivity.CPU]
    with torch.inference_mode():
        if warm_up:
            model(x)
        with profile(activities=activities, profile_memory=True) as prof:
            model(x)
    results = prof.profiler.kineto_results if prof.profiler is not None else None
    if results is None:
        raise RuntimeError("torch.profiler recorded no memory events")
    events = sorted((e for e in results.events() if e.name() == "[memory]"), key=lambda e: e.start_ns())
    device = x.device.type
    running = peak = 0
    for event in events:
        if event.device_type().name.lower() != device:
            continue
        running += event.nbytes()
        peak = max(peak, running)
    return peak
