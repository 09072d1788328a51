"""Runtimes a latency is measured on, registered here in one place: eager PyTorch (the default), ONNX
Runtime, OpenVINO, torch.compile and TensorRT (CUDA). Each is one file behind ``Runtime``; eager is measured by
``profiler.latency.measure`` itself (its per-layer timing reads the generated model's code)."""

from __future__ import annotations

from typing import Literal, get_args

from ...errors import SpecError
from .base import Prepared, ProfiledRow, Runtime
from .compiled import Compiled
from .onnx_runtime import OnnxRuntime
from .openvino_runtime import OpenVino
from .tensorrt_runtime import TensorRT

__all__ = ["RUNTIMES", "Prepared", "ProfiledRow", "Runtime", "RuntimeName", "get_runtime"]

RuntimeName = Literal["eager", "onnxruntime", "openvino", "compiled", "tensorrt"]

RUNTIMES: dict[str, Runtime] = {r.name: r for r in (OnnxRuntime(), OpenVino(), Compiled(), TensorRT())}
assert set(RUNTIMES) | {"eager"} == set(get_args(RuntimeName))


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]
    except KeyError:
        known = ", ".join(get_args(RuntimeName))
        raise SpecError.at(("latency", "runtimes"), f"unknown runtime {name!r}; known: {known}") from None
