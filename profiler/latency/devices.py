"""The devices this host can time on: names, checks, descriptions."""

from __future__ import annotations

import platform
from typing import Any

import torch

from ..errors import DeviceUnavailableError

__all__ = ["available_devices", "cpu_name", "describe_devices", "is_cluster_name", "local_name", "resolve_device"]


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return devices


def is_cluster_name(name: str) -> bool:
    """A device of a Ray cluster (``<node>/cuda:0``, ``<node>/cpu``) or a kind of device (``kind:H100``): names
    only the Ray backend (``profiler.cluster``) routes."""
    return "/" in name or name.startswith("kind:")


def local_name(name: str) -> str:
    """The device as its own host names it: ``<node>/cuda:0`` -> ``cuda:0``; ``cpu`` -> ``cpu``."""
    return name.rsplit("/", 1)[-1]


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` -> a device this host has, or DeviceUnavailableError."""
    if is_cluster_name(name):
        raise DeviceUnavailableError(
            name, "cluster devices and kinds are timed with PROFILER_BACKEND=ray", available_devices()
        )
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


def cpu_name() -> str:
    return _cpu_model() or platform.processor() or platform.machine()


def describe_devices() -> list[dict[str, Any]]:
    """What this host can time on, for ``GET /devices``."""
    out: list[dict[str, Any]] = [
        {"device": "cpu", "name": cpu_name(), "threads": torch.get_num_threads(), "torch": torch.__version__}
    ]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            out.append(
                {
                    "device": f"cuda:{i}",
                    "name": p.name,
                    "memory_bytes": p.total_memory,
                    "capability": f"{p.major}.{p.minor}",
                    "torch": torch.__version__,
                    "cuda": torch.version.cuda,
                    "cudnn": torch.backends.cudnn.version(),
                }
            )
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
