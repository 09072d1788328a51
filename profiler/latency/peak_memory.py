"""The peak of what one forward allocates, above what was allocated before it: on the CPU from
``torch.profiler``'s memory events (every allocation and free in order, summed, the highest running total
kept); on CUDA from the caching allocator's own peak (``torch.cuda.max_memory_allocated``)."""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

__all__ = ["forward_peak_bytes", "peak_bytes_how", "warm_up_profiler"]


# Kineto prints this (to fd 2, from C++) when the profiler first starts in a thread other than the one that
# loaded it, as a worker thread does: harmless, and read as a failure in a server log or a CLI's progress bar.
_KINETO_THREAD_NOTE = b"External init callback must run in same thread as registerClient"


@contextmanager
def _stderr_without(noise: bytes) -> Iterator[None]:
    """File descriptor 2 through a pipe meanwhile; every line but those containing ``noise`` passed on after."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no stderr to filter
        yield
        return
    read_end, write_end = os.pipe()
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: os.read(read_end, 65536), b"")), daemon=True)
    reader.start()  # drained as it comes: a full pipe never blocks the writer
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        os.dup2(saved, 2)  # the pipe's last write end closes: the reader sees its end
        os.close(saved)
        reader.join(5)
        os.close(read_end)
        kept = [line for line in b"".join(chunks).splitlines(keepends=True) if noise not in line]
        if kept:
            os.write(2, b"".join(kept))


@functools.cache
def warm_up_profiler(device: str) -> None:
    """Start torch.profiler once per process (its first use takes a second or two): what a first measurement
    would otherwise pay inside its budget. Kineto's note about the starting thread is left out of stderr."""
    if not device.startswith("cuda"):
        tiny = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()).eval()
        with _stderr_without(_KINETO_THREAD_NOTE):
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
