"""Architecture profiler core: spec -> model -> per-layer counts -> report. Knows nothing of the web.

    >>> from profiler import profile
    >>> profile({"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160}).counts.totals.macs
"""

from .build import build_model, plan_model
from .counting import CONVENTIONS
from .errors import LimitError, ProfilerError, SpecError, UnknownPresetError
from .limits import Limits
from .presets import PRESETS
from .report import COUNTERS, Report, compare, latency_measurement, profile
from .timing import DeviceUnavailableError, LatencyOptions, LatencyResult, describe_devices, measure_latency
from .workers import DeviceBusyError, DeviceWorkers, Job
from .spec import ModelSpec, make_divisible, parse_spec

__all__ = [
    "CONVENTIONS",
    "DeviceBusyError",
    "DeviceUnavailableError",
    "DeviceWorkers",
    "Job",
    "LatencyOptions",
    "LatencyResult",
    "describe_devices",
    "latency_measurement",
    "measure_latency",
    "COUNTERS",
    "PRESETS",
    "LimitError",
    "Limits",
    "ModelSpec",
    "ProfilerError",
    "Report",
    "SpecError",
    "UnknownPresetError",
    "build_model",
    "compare",
    "make_divisible",
    "parse_spec",
    "plan_model",
    "profile",
]
