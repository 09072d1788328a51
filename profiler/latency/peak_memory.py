"""The peak of what one forward allocates, read from ``torch.profiler``'s memory events: every allocation and
free in order, summed, the highest running total kept (bytes above what was allocated before the forward)."""

from __future__ import annotations

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

__all__ = ["forward_peak_bytes"]


def forward_peak_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Peak bytes allocated during ``model(x)`` under ``torch.inference_mode`` (the output included), after one
    forward that warms up whatever the model allocates once."""
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if x.is_cuda else [])
    with torch.inference_mode():
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
