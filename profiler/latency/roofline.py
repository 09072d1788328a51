"""The device's roofs, measured (a matmul per dtype for peak FLOP/s, a large copy for bytes/s), and where
each layer sits under them: its bytes, arithmetic intensity, achieved rates, and what bounds it.

Roofs are measured in the timing process the first time a device is used there, and kept for the process's
life. A roof that cannot be measured (a dtype the device cannot multiply, say) is reported as unavailable.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

import torch

__all__ = ["OVERHEAD_FACTOR", "LayerCost", "Roofs", "measure_roofs", "roofline"]

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# A layer that takes this many times longer than the slower of its two roofs allows is bound by neither:
# by launching kernels or dispatching ops (Python, the framework), not by arithmetic or memory.
OVERHEAD_FACTOR = 10.0
_ROOF_SECONDS = 0.1  # how long each roof's repeated runs take, about


@dataclass(frozen=True)
class LayerCost:
    """What a layer must do at the measured batch and dtype: FLOPs (2 x MACs) and bytes moved (input and
    output activations, and weights, each read or written once)."""

    flops: int
    bytes: int


@dataclass(frozen=True)
class Roofs:
    flops_per_s: dict[str, float | None]  # per dtype; None where it could not be measured
    bytes_per_s: float | None
    method: str
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"flops_per_s": self.flops_per_s, "bytes_per_s": self.bytes_per_s, "method": self.method}
        if self.errors:
            out["unavailable"] = self.errors
        return out


def _best_seconds(fn: Callable[[], object], device: torch.device) -> float:
    """The fastest of repeated runs of ``fn`` (after one warm-up), repeated for about ``_ROOF_SECONDS``."""
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    best = float("inf")
    until = time.monotonic() + _ROOF_SECONDS
    runs = 0
    while runs < 3 or (time.monotonic() < until and runs < 100):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
        runs += 1
    return best


def _matmul_flops_per_s(device: torch.device, dtype: torch.dtype) -> float:
    n = 256
    while True:  # grow the matrices until one product takes a few milliseconds (or they are large)
        a = torch.randn(n, n, device=device).to(dtype)
        b = torch.randn(n, n, device=device).to(dtype)
        seconds = _best_seconds(partial(torch.mm, a, b), device)
        if seconds > 0.005 or n >= 8192:
            return 2 * n**3 / seconds
        n *= 2


def _copy_bytes_per_s(device: torch.device) -> float:
    size = (256 if device.type == "cpu" else 1024) * 2**20  # past every cache
    src = torch.empty(size, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    return 2 * size / _best_seconds(lambda: dst.copy_(src), device)  # each byte read once and written once


@cache
def measure_roofs(device_name: str) -> Roofs:
    """The roofs of ``device_name`` (``cpu``, ``cuda:0``), measured once per process."""
    device = torch.device(device_name)
    flops: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    with torch.inference_mode():
        for name, dtype in _DTYPES.items():
            try:
                flops[name] = _matmul_flops_per_s(device, dtype)
            except (RuntimeError, MemoryError) as exc:
                flops[name], errors[name] = None, f"{type(exc).__name__}: {str(exc)[:200]}"
        try:
            bytes_per_s: float | None = _copy_bytes_per_s(device)
        except (RuntimeError, MemoryError) as exc:
            bytes_per_s, errors["copy"] = None, f"{type(exc).__name__}: {str(exc)[:200]}"
    threads = f", {torch.get_num_threads()} threads" if device.type == "cpu" else ""
    method = (
        f"measured on {device_name}{threads} when first used: peak FLOP/s = 2n^3 over the fastest torch.mm of two "
        "n x n matrices per dtype (n grown until one product takes 5 ms); bytes/s = 2 x size over the fastest "
        f"copy of a {'256' if device.type == 'cpu' else '1024'} MiB buffer"
    )
    return Roofs(flops, bytes_per_s, method, errors)


def roofline(cost: LayerCost, seconds: float, roofs: Roofs, dtype: str) -> dict[str, Any]:
    """A layer's place under the roofs: its bytes, intensity, achieved rates and ``bound``."""
    peak = roofs.flops_per_s.get(dtype)
    bandwidth = roofs.bytes_per_s
    out: dict[str, Any] = {
        "flops": cost.flops,
        "bytes": cost.bytes,
        "intensity": cost.flops / cost.bytes if cost.bytes else None,
        "achieved_flops_per_s": cost.flops / seconds if seconds > 0 else None,
        "achieved_bytes_per_s": cost.bytes / seconds if seconds > 0 else None,
        "bound": None,
    }
    if seconds <= 0 or peak is None or bandwidth is None:
        return out  # no verdict without both roofs (and a time)
    compute_s, memory_s = cost.flops / peak, cost.bytes / bandwidth
    roof_s = max(compute_s, memory_s)
    if seconds > OVERHEAD_FACTOR * roof_s:
        out["bound"] = "overhead"
    else:
        out["bound"] = "compute" if compute_s >= memory_s else "memory"
    return out
