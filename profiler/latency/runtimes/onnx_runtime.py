"""ONNX Runtime: the model exported to ONNX, run by an InferenceSession with every graph optimization on (the
deployed configuration), on the CPU execution provider, or the CUDA one on a GPU (``onnxruntime-gpu``, the
``gpu`` extra; input and output bound on the device). Per layer on the CPU from its profiler's node events,
each fused node mapped to the spec layers of the ONNX nodes it replaced."""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..devices import resolve_device
from ..options import LatencyOptions
from .base import Prepared, ProfiledRow, Runtime
from .onnx_graph import covered_layers, export_onnx, layer_of_node

_MAX_WALK = 16  # nodes followed from a fused-away node to the node that absorbed it


class OnnxRuntime(Runtime):
    name = "onnxruntime"
    package = "onnxruntime"
    alternatives = ("onnxruntime-gpu",)  # the gpu extra's build, installed in its place
    module = "onnxruntime"
    extra = None  # in the base install (its CUDA provider: the gpu extra's onnxruntime-gpu)
    devices = ("cpu", "cuda")
    dtypes = ("float32", "int8")

    def dtypes_on(self, device_kind: str) -> tuple[str, ...]:
        return self.dtypes if device_kind == "cpu" else ("float32",)

    def unavailable_on(self, device_kind: str) -> str | None:
        if device_kind != "cuda":
            return None
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return (
                "this server's onnxruntime has no CUDA execution provider: pip install 'archprofiler[gpu]' "
                "(onnxruntime-gpu in place of onnxruntime)"
            )
        return None

    def prepare(self, model: nn.Module, x: torch.Tensor, opts: LatencyOptions, layers: list[str]) -> Prepared:
        import onnx
        import onnxruntime as ort

        device = resolve_device(opts.device)
        if device.type == "cuda":
            return _prepare_cuda(export_onnx(model, x), x, device)
        data = export_onnx(model, x)
        if opts.dtype == "int8":
            data = _quantized(data, tuple(x.shape))
        graph = onnx.load_from_string(data).graph
        feed = {"input": x.numpy()}
        threads = opts.threads or torch.get_num_threads()

        def session(profile_dir: str | None = None) -> Any:
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            so.log_severity_level = 3
            if profile_dir is not None:
                so.enable_profiling = True
                so.profile_file_prefix = os.path.join(profile_dir, "ort")
            return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])

        plain = session()

        def profile(forwards: int) -> tuple[list[ProfiledRow], list[float]]:
            with tempfile.TemporaryDirectory(prefix="ort-profile-") as folder:
                profiled = session(folder)
                profiled.run(None, feed)  # a warm-up: dropped below
                for _ in range(forwards):
                    profiled.run(None, feed)
                with open(profiled.end_profiling()) as f:
                    events = json.load(f)
            return _rows(events, graph, layers)

        return Prepared(
            nbytes=len(data),
            run=lambda: plain.run(None, feed),
            options={
                "execution_provider": "CPUExecutionProvider",
                "graph_optimization_level": "ORT_ENABLE_ALL",
                "intra_op_num_threads": threads,
                "inter_op_num_threads": 1,
                "execution_mode": "sequential",
                "precision": _INT8 if opts.dtype == "int8" else "float32",
                "exported_with": "torch.onnx (TorchScript exporter), batch norm folded",
            },
            profile=profile,
            per_layer_note="ONNX Runtime's profiler: each node's kernel time per run ('<node>_kernel_time' "
            "events); a fused node covers the spec layers of the ONNX nodes it replaced",
        )


def _prepare_cuda(data: bytes, x: torch.Tensor, device: torch.device) -> Prepared:
    """A session on the CUDA execution provider, its input and output bound on the GPU (no copies timed);
    ``run_with_iobinding`` returns once the provider's stream is synchronized."""
    import onnxruntime as ort

    index = device.index or 0
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    provider = ("CUDAExecutionProvider", {"device_id": index})
    session = ort.InferenceSession(data, so, providers=[provider])
    if session.get_providers()[0] != "CUDAExecutionProvider":  # ORT falls back to the CPU without an error
        raise RuntimeError(f"onnxruntime could not start its CUDA provider on cuda:{index}")
    binding = session.io_binding()
    binding.bind_ortvalue_input("input", ort.OrtValue.ortvalue_from_numpy(x.numpy(), "cuda", index))
    for output in session.get_outputs():
        binding.bind_output(output.name, "cuda", index)

    return Prepared(
        nbytes=len(data),
        run=lambda: session.run_with_iobinding(binding),
        options={
            "execution_provider": "CUDAExecutionProvider",
            "device_id": index,
            "graph_optimization_level": "ORT_ENABLE_ALL",
            "io_binding": "input and output on the GPU",
            "precision": "float32",
            "exported_with": "torch.onnx (TorchScript exporter), batch norm folded",
        },
        per_layer_note="end to end only on CUDA: ONNX Runtime's node events time kernel launches on the host, "
        "not the GPU's work",
    )


_CALIBRATION = 8  # random inputs the int8 model's activation ranges are calibrated on
_INT8 = (
    "int8: onnxruntime.quantization.quantize_static, QDQ format, per-channel int8 weights, uint8 activations, "
    f"calibrated (min-max) on {_CALIBRATION} random inputs of the spec's shape"
)


def _quantized(data: bytes, shape: tuple[int, ...]) -> bytes:
    """The float model statically quantized by ONNX Runtime's own tool, calibrated on random inputs."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class RandomInputs(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.inputs = iter([{"input": rng.standard_normal(shape, dtype=np.float32)} for _ in range(_CALIBRATION)])

        def get_next(self) -> dict[str, Any] | None:
            return next(self.inputs, None)

    with tempfile.TemporaryDirectory(prefix="ort-int8-") as folder:
        source, target = os.path.join(folder, "model.onnx"), os.path.join(folder, "int8.onnx")
        Path(source).write_bytes(data)
        quantize_static(
            source,
            target,
            RandomInputs(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        return Path(target).read_bytes()


def _rows(events: list[dict[str, Any]], graph: Any, layers: list[str]) -> tuple[list[ProfiledRow], list[float]]:
    """Per runtime node, its kernel time in each run after the first (a warm-up), and the layers it covers; and
    each of those runs' time as ONNX Runtime measured it (its ``model_run`` events)."""
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("name") == "model_run")[1:]
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    per_run: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(runs))
    kinds: dict[str, str] = {}
    run_of = 0
    for e in sorted(nodes, key=lambda e: e["ts"]):
        while run_of < len(runs) and e["ts"] > runs[run_of][1]:
            run_of += 1
        if run_of >= len(runs):
            break
        if e["ts"] < runs[run_of][0]:
            continue  # the warm-up run
        name = e["name"].removesuffix("_kernel_time")
        per_run[name][run_of] += e["dur"] / 1e3
        kinds[name] = e["args"].get("op_name", "")
    coverage = node_coverage(list(per_run), graph, layers)
    rows = [ProfiledRow(name, kinds[name], coverage[name], samples) for name, samples in per_run.items()]
    return rows, [(end - start) / 1e3 for start, end in runs]


def node_coverage(runtime_nodes: list[str], graph: Any, layers: list[str]) -> dict[str, tuple[str, ...]]:
    """Each runtime node -> the report rows it covers. A runtime node is named after an ONNX node or one of
    its outputs (a fused node takes the name of the last output it writes, ``..._output_0_nchwc``); an ONNX
    node fused away belongs to the first runtime node found downstream of it."""
    by_name = {n.name: n for n in graph.node}
    producer = {out: n.name for n in graph.node for out in n.output}
    consumers: dict[str, list[str]] = defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n.name)

    def resolve(name: str) -> str | None:
        """The ONNX node: the longest prefix of ``name``, cut at a ``_`` or a ``/`` (ORT appends ``_nchwc``,
        ``_token_7``, ``/duplicated``), that names a node or a node's output."""
        cuts = [i for i, c in enumerate(name) if c in "_/"]
        for end in [len(name), *reversed(cuts)]:
            candidate = name[:end]
            if candidate in by_name:
                return candidate
            if candidate in producer:
                return producer[candidate]
        return None

    anchor = {resolve(name): name for name in runtime_nodes}
    anchor.pop(None, None)
    owner: dict[str, str] = {}  # ONNX node -> runtime node
    for node in graph.node:
        if node.op_type in ("Constant", "Identity"):
            continue
        current: str | None = node.name
        for _ in range(_MAX_WALK):
            if current in anchor:
                owner[node.name] = anchor[current]
                break
            outs = by_name[current].output if current in by_name else []
            nexts = [c for o in outs for c in consumers.get(o, [])]
            current = nexts[0] if nexts else None
            if current is None:
                break
    return rows_of(((onnx_node, runtime_node) for onnx_node, runtime_node in owner.items()), runtime_nodes, layers)


def rows_of(pairs: Any, runtime_nodes: list[str], layers: list[str]) -> dict[str, tuple[str, ...]]:
    """(ONNX node name, runtime node) pairs -> each runtime node's report rows, every row in one node only
    (the first to claim it), rows without a node of their own going with the row before them."""
    node_of_row: dict[str, str] = {}
    for onnx_node, runtime_node in pairs:
        row = layer_of_node(onnx_node, layers)
        if row is not None:
            node_of_row.setdefault(row, runtime_node)
    owners = covered_layers(node_of_row, layers)
    covered: dict[str, list[str]] = {name: [] for name in runtime_nodes}
    for row in layers:
        if row in owners:
            covered[node_of_row[owners[row]]].append(row)
    return {name: tuple(rows) for name, rows in covered.items()}
