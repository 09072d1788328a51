"""Architecture profiler core: spec -> model -> counts / latency -> report. Knows nothing of the web.

    >>> from profiler import profile
    >>> profile({"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160}).counts.totals.macs

Stages, one subpackage each: ``spec`` (rows, top-level spec, presets), ``model`` (layers, graphs, one file per
block type, building), ``count`` (closed-form counts, fvcore), ``latency`` (devices, clocks, statistics, the
measurement, per-device processes), ``cluster`` (optional: the same measurements on a Ray cluster's devices);
then ``report``, ``export`` and ``cli``.
"""

import os

# torch.profiler's kineto writes its own lines to stderr on every profiled forward (start/stop probes, a CUDA
# device count failing on a host without one), which read as failures in a server log or a CLI's progress bar:
# quiet unless the user chose a level.
os.environ.setdefault("KINETO_LOG_LEVEL", "6")

from .align import Alignment
from .count import CONVENTIONS, MemoryOptions
from .errors import (
    ClusterUnavailableError,
    DeviceBusyError,
    DeviceUnavailableError,
    LimitError,
    MeasurementCancelled,
    MeasurementFailed,
    MeasurementOutOfMemory,
    ProfilerError,
    SpecError,
    UnknownPresetError,
)
from .latency import (
    DeviceWorkers,
    Job,
    LatencyOptions,
    LatencyResult,
    Measurement,
    MeasureOptions,
    describe_devices,
    latency_measurement,
    measure_latency,
)
from .latency.runtimes.onnx_graph import spec_onnx
from .limits import Limits
from .model.build import build_model, plan_model
from .report import COUNTERS, FIGURES, CounterName, Report, compare, profile
from .spec import PRESETS, ModelSpec, make_divisible, parse_spec, preset_table

__all__ = [
    "CONVENTIONS",
    "COUNTERS",
    "FIGURES",
    "PRESETS",
    "Alignment",
    "ClusterUnavailableError",
    "CounterName",
    "DeviceBusyError",
    "DeviceUnavailableError",
    "DeviceWorkers",
    "Job",
    "LatencyOptions",
    "LatencyResult",
    "LimitError",
    "Limits",
    "MeasureOptions",
    "Measurement",
    "MeasurementCancelled",
    "MeasurementFailed",
    "MeasurementOutOfMemory",
    "MemoryOptions",
    "ModelSpec",
    "ProfilerError",
    "Report",
    "SpecError",
    "UnknownPresetError",
    "build_model",
    "compare",
    "describe_devices",
    "latency_measurement",
    "make_divisible",
    "measure_latency",
    "parse_spec",
    "plan_model",
    "preset_table",
    "profile",
    "spec_onnx",
]
