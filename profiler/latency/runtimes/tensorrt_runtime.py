"""TensorRT on a CUDA GPU: the exported ONNX model parsed by TensorRT's ONNX parser and built into an engine
(the preparation), run with ``execute_async_v3`` on its own stream, input and output on the GPU. Per layer from
TensorRT's layer profiler (``IProfiler``): an engine layer is named after the ONNX nodes it fused
(``A + B``, ``PWN(A, B)``, Myelin's ``{ForeignNode[A...B]}``), which carry the spec's layer names."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

import torch
from torch import nn

from ..devices import resolve_device
from ..options import LatencyOptions
from .base import Prepared, ProfiledRow, Runtime
from .onnx_graph import export_onnx
from .onnx_runtime import rows_of

_WORKSPACE_BYTES = 1 << 30  # TensorRT's scratch memory for tactics
_TORCH_DTYPES = {"FLOAT": torch.float32, "HALF": torch.float16, "INT32": torch.int32, "INT64": torch.int64}


class TensorRT(Runtime):
    name = "tensorrt"
    package = "tensorrt"
    alternatives = ("tensorrt-cu12", "tensorrt-cu13", "tensorrt-cu11")  # what the pip packages are named
    module = "tensorrt"
    extra = "gpu"
    devices = ("cuda",)
    dtypes = ("float32", "float16")
    prepare_budget_s = 600.0  # an engine build times tactics for every layer: minutes for a large model

    def prepare(self, model: nn.Module, x: torch.Tensor, opts: LatencyOptions, layers: list[str]) -> Prepared:
        import onnx
        import tensorrt as trt

        device = resolve_device(opts.device)
        data = export_onnx(model, x)
        logger = trt.Logger(trt.Logger.ERROR)
        builder = trt.Builder(logger)
        network = builder.create_network(0)  # explicit batch: the only mode since TensorRT 10
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(data):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT's ONNX parser refused the model: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, _WORKSPACE_BYTES)
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED  # layer names kept in the engine
        if opts.dtype == "float16":
            config.set_flag(trt.BuilderFlag.FP16)
        with torch.cuda.device(device):
            serialized = builder.build_serialized_network(network, config)
            if serialized is None:
                raise RuntimeError("TensorRT could not build an engine for this model")
            trt_runtime = trt.Runtime(logger)  # must outlive the engine: kept by the closures below
            engine = trt_runtime.deserialize_cuda_engine(serialized)
            context = engine.create_execution_context()
            buffers = {"input": x.to(device)}
            for i in range(engine.num_io_tensors):
                tensor = engine.get_tensor_name(i)
                if engine.get_tensor_mode(tensor) == trt.TensorIOMode.OUTPUT:
                    dtype = _TORCH_DTYPES[engine.get_tensor_dtype(tensor).name]
                    buffers[tensor] = torch.empty(tuple(context.get_tensor_shape(tensor)), dtype=dtype, device=device)
            for tensor, buffer in buffers.items():
                context.set_tensor_address(tensor, buffer.data_ptr())
            stream = torch.cuda.Stream(device)

        def run() -> object:
            with torch.cuda.device(device):  # the engine's device current, not cuda:0's
                context.execute_async_v3(stream.cuda_stream)
                stream.synchronize()
            return buffers

        graph = onnx.load_from_string(data).graph
        keep = [trt_runtime, engine, context]  # alive as long as the prepared model is

        def profile(forwards: int) -> tuple[list[ProfiledRow], list[float]]:
            times: dict[str, list[float]] = defaultdict(list)

            class Collect(trt.IProfiler):
                def __init__(self) -> None:
                    trt.IProfiler.__init__(self)

                def report_layer_time(self, layer_name: str, ms: float) -> None:
                    times[layer_name].append(ms)

            wall = []
            with torch.cuda.device(device):
                profiled = engine.create_execution_context()
                profiled.profiler = Collect()
                for tensor, buffer in buffers.items():
                    profiled.set_tensor_address(tensor, buffer.data_ptr())
                profiled.execute_async_v3(stream.cuda_stream)  # a warm-up, dropped below
                stream.synchronize()
                times.clear()
                for _ in range(forwards):
                    began = time.perf_counter_ns()
                    profiled.execute_async_v3(stream.cuda_stream)
                    stream.synchronize()
                    wall.append((time.perf_counter_ns() - began) / 1e6)
            engine_layers = list(times)
            coverage = layer_coverage(engine_layers, [n.name for n in graph.node], layers)
            rows = [ProfiledRow(name, _kind(name), coverage[name], times[name]) for name in engine_layers]
            return rows, wall

        precision = "float16 (BuilderFlag.FP16; input and output float32)" if opts.dtype == "float16" else "float32"
        return Prepared(
            nbytes=len(data) + serialized.nbytes,  # the ONNX file and the engine
            run=run,
            options={
                "device": str(device),
                "precision": precision,
                "workspace_bytes": _WORKSPACE_BYTES,
                "profiling_verbosity": "DETAILED",
                "io": "input and output on the GPU, its own CUDA stream",
                "exported_with": "torch.onnx (TorchScript exporter), batch norm folded; TensorRT's ONNX parser",
            },
            profile=profile,
            close=lambda: keep.clear(),
            per_layer_note="TensorRT's layer profiler (IProfiler): each engine layer covers the spec layers of the "
            "ONNX nodes it fused (a Myelin region, {ForeignNode[A...B]}, the nodes from A to B)",
        )


_RANGE = re.compile(r"\{ForeignNode\[(.+?)\.\.\.(.+?)\]\}")
_SEPARATORS = re.compile(r" \+ |PWN\(|\)|, |\{ForeignNode\[|\]\}")


def onnx_nodes_of(layer_name: str, onnx_nodes: list[str]) -> list[str]:
    """The ONNX nodes an engine layer ran: the names it joins (``A + B``, ``PWN(PWN(A), B)``) and, for a Myelin
    region ``{ForeignNode[A...B]}``, every node from A to B in graph order. A reformat layer (``Reformatting
    CopyNode for ...``) runs none of them: it converts a tensor between layouts."""
    if layer_name.startswith("Reformatting CopyNode"):
        return []
    index = {name: i for i, name in enumerate(onnx_nodes)}
    found: list[str] = []
    for first, last in _RANGE.findall(layer_name):
        if first in index and last in index:
            found += onnx_nodes[index[first] : index[last] + 1]
    for token in _SEPARATORS.split(_RANGE.sub("", layer_name)):
        if token.strip() in index:
            found.append(token.strip())
    return found


def layer_coverage(engine_layers: list[str], onnx_nodes: list[str], layers: list[str]) -> dict[str, tuple[str, ...]]:
    """Each engine layer -> the report rows it covers, each row in exactly one engine layer."""
    pairs: list[tuple[str, Any]] = [
        (node, engine_layer) for engine_layer in engine_layers for node in onnx_nodes_of(engine_layer, onnx_nodes)
    ]
    return rows_of(pairs, engine_layers, layers)


def _kind(layer_name: str) -> str:
    if layer_name.startswith("Reformatting CopyNode"):
        return "Reformat"
    if "ForeignNode" in layer_name:
        return "Myelin"
    return "fused" if " + " in layer_name or "PWN(" in layer_name else "layer"
