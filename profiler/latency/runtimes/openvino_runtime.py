"""OpenVINO on the CPU: the exported ONNX model compiled for the CPU plugin with the latency hint; per layer
from its performance counters, each executed node mapped through the original layers it fused
(``originalLayersNames`` of the runtime model) to the spec's layers."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..clocks import CpuClock
from ..options import LatencyOptions
from .base import Prepared, ProfiledRow, Runtime
from .onnx_graph import export_onnx
from .onnx_runtime import rows_of


class OpenVino(Runtime):
    name = "openvino"
    package = "openvino"
    module = "openvino"
    extra = "openvino"

    def prepare(self, model: nn.Module, x: torch.Tensor, opts: LatencyOptions, layers: list[str]) -> Prepared:
        import onnx
        import openvino as ov

        core = ov.Core()
        threads = opts.threads or torch.get_num_threads()
        config = {
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": "f32",
            "NUM_STREAMS": 1,
        }
        data = export_onnx(model, x)
        onnx_model = core.read_model(data, b"")
        producer = {out: node.name for node in onnx.load_from_string(data).graph.node for out in node.output}
        plain = core.compile_model(onnx_model, "CPU", config).create_infer_request()
        feed = {0: x.numpy()}

        def profile(forwards: int) -> tuple[list[ProfiledRow], list[float]]:
            compiled = core.compile_model(onnx_model, "CPU", {**config, "PERF_COUNT": True})
            request = compiled.create_infer_request()
            request.infer(feed)  # warm-up
            samples: dict[str, list[float]] = {}
            kinds: dict[str, str] = {}
            wall: list[float] = []
            for _ in range(forwards):
                wall += CpuClock().sample(lambda: request.infer(feed), 1)
                for info in request.get_profiling_info():
                    if str(info.status).endswith("EXECUTED"):
                        samples.setdefault(info.node_name, []).append(info.real_time.total_seconds() * 1e3)
                        kinds[info.node_name] = f"{info.node_type} ({info.exec_type})"
            # A node executed in some forwards only is one-off work (a weight reorder on first use), not the
            # steady forward the rows describe.
            samples = {node: times for node, times in samples.items() if len(times) == forwards}
            fused = _original_layers(compiled.get_runtime_model())
            # An original name is an ONNX node's, or an output tensor's (OpenVINO names a model output's last op
            # after the tensor): the tensor's producer then.
            pairs = [
                (producer.get(original, original), node) for node in samples for original in fused.get(node, [node])
            ]
            coverage = rows_of(pairs, list(samples), layers)
            return [ProfiledRow(node, kinds[node], coverage[node], times) for node, times in samples.items()], wall

        return Prepared(
            nbytes=len(data),
            run=lambda: plain.infer(feed),
            options={
                "device": "CPU",
                **{k.lower(): v for k, v in config.items()},
                "precision": "float32",
                "exported_with": "torch.onnx (TorchScript exporter), batch norm folded; read by OpenVINO's ONNX "
                "frontend",
            },
            profile=profile,
            per_layer_note="OpenVINO's performance counters (PERF_COUNT): each executed node's real time per "
            "inference; a node covers the spec layers of the original layers it fused (originalLayersNames)",
        )


def _original_layers(runtime_model: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for op in runtime_model.get_ordered_ops():
        info = op.get_rt_info()
        names = info["originalLayersNames"].astype(str) if "originalLayersNames" in info else ""
        out[op.get_friendly_name()] = [n for n in names.split(",") if n] or [op.get_friendly_name()]
    return out
