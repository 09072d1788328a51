"""The latency stage: options, devices, clocks, statistics and the stopping rule, the measurement, and where
it runs (a process per device, one measurement at a time, behind a small submit/future interface)."""

from .devices import available_devices, describe_devices, resolve_device
from .measure import LatencyResult, LayerLatency, measure_latency
from .measurement import Measurement, latency_measurement
from .options import LatencyOptions, MeasureOptions
from .progress import Progress
from .stats import Stats, median_ci, repeat_until, summarize
from .workers import DeviceWorkers, Job

__all__ = [
    "DeviceWorkers",
    "Job",
    "LatencyOptions",
    "LatencyResult",
    "LayerLatency",
    "MeasureOptions",
    "Measurement",
    "Progress",
    "Stats",
    "available_devices",
    "describe_devices",
    "latency_measurement",
    "measure_latency",
    "median_ci",
    "repeat_until",
    "resolve_device",
    "summarize",
]
