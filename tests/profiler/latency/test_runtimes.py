"""Latency on ONNX Runtime, OpenVINO and torch.compile: the runtime runs the spec's model (its outputs equal
eager PyTorch's on the same weights), says which runtime, version and options produced the figure, and maps
its own per-node profile back to the spec so that every conv and linear layer is in exactly one row."""

from __future__ import annotations

import importlib.metadata
from collections import Counter

import numpy as np
import pytest
import torch

from profiler import LatencyOptions, SpecError, latency_measurement, profile
from profiler.latency.progress import Progress
from profiler.latency.runtimes import RUNTIMES, get_runtime
from profiler.latency.runtimes.onnx_graph import layer_of_node
from profiler.model.build import plan_model
from profiler.model.codegen import timed_names
from profiler.spec import parse_spec

PROFILED = ["onnxruntime", "openvino"]
SPECS = [
    {"preset": "mobilenet_v2", "resolution": 96},
    {"preset": "resnet18", "resolution": 64},
    {"preset": "mobilenet_v3_large", "resolution": 96},  # squeeze-excite (a block's own multiply), hardswish
    {"preset": "shufflenet_v2_x0_5", "resolution": 64},  # channel split, concat and shuffle
    {"preset": "mixnet_s", "resolution": 64},  # MixConv: unequal channel groups, each its own kernel, concatenated
    {"preset": "mobileone_s0", "resolution": 64},  # parallel branches in nested graphs with numbered children
]


def _measure(spec: dict, runtime: str, **options) -> dict:
    report = profile(spec)
    opts = LatencyOptions(runtime=runtime, budget_s=1.0, threads=1, min_repeats=5, **options)
    return latency_measurement(report, opts)(Progress()).to_dict()


@pytest.mark.parametrize("runtime", PROFILED)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["preset"])
def test_every_conv_and_linear_layer_is_in_exactly_one_runtime_row(spec: dict, runtime: str) -> None:
    answer = _measure(spec, runtime, per_layer=True)
    assert answer["runtime"]["name"] == runtime
    assert answer["runtime"]["version"] == importlib.metadata.version(runtime)
    assert answer["runtime"]["options"] and answer["runtime"]["prepare_s"] > 0
    rows = answer["per_layer"]["layers"]
    covered = Counter(layer for row in rows for layer in row["layers"])
    report = profile(spec)
    weighted = [r.name for r in report.counts.rows if r.type in ("Conv2d", "Linear")]
    assert weighted and all(covered[name] == 1 for name in weighted), {n: covered[n] for n in weighted}
    assert max(covered.values()) == 1  # no layer in two rows
    known = {r.name for r in report.counts.rows} | set(report.counts.op_elements)
    assert set(covered) <= known
    assert all(row["median_ms"] >= 0 and row["repeats"] > 1 for row in rows)
    ratio = answer["per_layer"]["sum_over_end_to_end"]
    assert ratio is not None and ratio > 0


@pytest.mark.parametrize("runtime", PROFILED)
def test_a_fused_conv_bn_activation_is_one_row_naming_its_three_layers(runtime: str) -> None:
    rows = _measure({"preset": "mobilenet_v2", "resolution": 64}, runtime, per_layer=True)["per_layer"]["layers"]
    first = next(row for row in rows if "features.0.conv" in row["layers"])
    assert first["layers"] == ["features.0.conv", "features.0.bn", "features.0.act"]
    assert first["flops"] > 0 and first["bound"] in ("compute", "memory", None)


@pytest.mark.parametrize("runtime", PROFILED)
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["preset"])
def test_the_runtime_runs_the_spec_model_its_outputs_equal_eager(spec: dict, runtime: str) -> None:
    torch.manual_seed(0)
    parsed = parse_spec(spec)
    model = plan_model(parsed).build().eval()
    x = torch.randn(2, 3, *parsed.hw)
    with torch.inference_mode():
        expected = model(x).numpy()
    opts = LatencyOptions(runtime=runtime, threads=1)
    prepared = get_runtime(runtime).prepare(model, x, opts, timed_names(model))
    out = prepared.run()
    got = np.asarray(out[0] if isinstance(out, list) else next(iter(out.values())))
    # Batch norm folded into the convs rounds differently; over MobileOne's ~180 summed branches that grows with
    # the output's scale, hence a tolerance relative to it.
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4 * max(1.0, float(np.abs(expected).max())))


def test_torch_compile_is_timed_end_to_end_and_says_why_not_per_layer() -> None:
    tiny = {
        "name": "tiny",
        "resolution": 32,
        "stages": [
            {"block": "conv", "c": 8, "k": 3, "s": 2},
            {"block": "inverted_residual", "t": 2, "c": 8, "n": 1, "s": 1},
        ],
    }
    answer = _measure(tiny, "compiled", per_layer=True)
    assert answer["runtime"]["name"] == "compiled" and answer["runtime"]["options"]["backend"] == "inductor"
    assert answer["end_to_end"]["median_ms"] > 0 and answer["runtime"]["prepare_s"] > 0
    assert answer["per_layer"]["layers"] == [] and "end to end only" in answer["per_layer"]["how"]


def test_a_runtime_not_installed_is_refused_naming_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(RUNTIMES["openvino"]), "installed", lambda self: False)
    with pytest.raises(SpecError, match=r"pip install 'archprofiler\[openvino\]'") as refused:
        latency_measurement(profile({"preset": "mobilenet_v2"}), LatencyOptions(runtime="openvino"))
    assert refused.value.problems[0][0] == ("latency", "runtimes")


def test_a_numbered_child_of_a_nested_graph_maps_to_its_row() -> None:
    # The exporter names a scope from a module above it: conv_kxk.2 under features.1.conv_kxk.
    names = timed_names(plan_model(parse_spec({"preset": "mobileone_s0"})).build())
    node = "/features/features.1/conv_kxk/conv_kxk.2/conv/Conv"
    assert layer_of_node(node, names) == "features.1.conv_kxk.2.conv"


@pytest.mark.parametrize(
    ("node", "row"),
    [
        ("/features/features.3/conv_pw/Conv", "features.3.conv_pw"),
        ("/features/features.0/conv/Conv/WithoutBiases", "features.0.conv"),  # OpenVINO's suffix
        ("/features/features.3/Add", "features.3 (add)"),
        ("/features/features.4/se/Mul", "features.4.se (scale)"),
        ("/classifier/fc1/Gemm", "classifier.fc1"),
        ("ReorderOutput_token_12", None),
    ],
)
def test_onnx_node_names_map_to_the_report_rows(node: str, row: str | None) -> None:
    names = timed_names(plan_model(parse_spec({"preset": "mobilenet_v3_large"})).build())
    assert layer_of_node(node, names) == row


@pytest.mark.parametrize(
    ("ci95", "verdict"),
    [((0.31, 0.37), "B faster"), ((1.02, 1.4), "A faster"), ((0.97, 1.05), "no difference within the interval")],
)
def test_a_paired_verdict_says_whether_the_interval_excludes_one(ci95: tuple, verdict: str) -> None:
    from profiler.latency.paired import PairedResult
    from profiler.latency.stats import summarize

    stats = summarize([1.0, 1.1, 0.9], "budget")
    result = PairedResult("cpu", "x", LatencyOptions(), stats, stats, sum(ci95) / 2, ci95, 8, "budget", {}, (0, 0))
    assert result.verdict == verdict


def test_students_t_matches_its_table_and_tends_to_the_normal() -> None:
    from profiler.latency.paired import t95

    assert t95(1) == pytest.approx(12.706) and t95(10) == pytest.approx(2.228) and t95(30) == pytest.approx(2.042)
    assert t95(1000) == pytest.approx(1.96)


def test_int8_is_onnx_runtimes_static_quantization_with_every_conv_still_mapped() -> None:
    spec = {"preset": "mobilenet_v2", "resolution": 64}
    answer = _measure(spec, "onnxruntime", per_layer=True, dtype="int8")
    assert answer["dtype"] == "int8" and "quantize_static" in answer["runtime"]["options"]["precision"]
    rows = answer["per_layer"]["layers"]
    assert any("QLinear" in row["kind"] or "Integer" in row["kind"] for row in rows)  # int8 kernels ran
    covered = Counter(layer for row in rows for layer in row["layers"])
    weighted = [r.name for r in profile(spec).counts.rows if r.type in ("Conv2d", "Linear")]
    assert all(covered[name] == 1 for name in weighted)


def test_int8_without_a_runtime_that_quantizes_is_refused() -> None:
    report = profile({"preset": "mobilenet_v2"})
    with pytest.raises(SpecError, match="onnxruntime"):
        latency_measurement(report, LatencyOptions(dtype="int8"))
    with pytest.raises(SpecError, match="openvino runtime measures float32"):
        latency_measurement(report, LatencyOptions(dtype="int8", runtime="openvino"))


def _engine_layer_names(onnx_nodes: list[str], op_types: list[str]) -> list[str]:
    """Engine layer names as TensorRT writes them for a parsed ONNX model: a conv with what follows it fused
    (``Conv + Relu``), pointwise chains as ``PWN(PWN(A), B)``, a reformat before the first, and the head
    compiled by Myelin into one ``{ForeignNode[first...last]}``."""
    groups: list[list[str]] = []
    for name, op in zip(onnx_nodes, op_types, strict=True):
        if op in ("Constant", "Identity"):
            continue
        if op in ("Conv", "Gemm") or not groups:
            groups.append([])
        groups[-1].append(name)
    head = len(groups) - 2  # the last two groups (last conv and the classifier) in one Myelin region
    names = [f"Reformatting CopyNode for Input Tensor 0 to {' + '.join(groups[0])}"]
    for group in groups[:head]:
        conv, *rest = group
        names.append(f"{conv} + PWN(PWN({rest[0]}), {rest[1]})" if len(rest) == 2 else " + ".join(group))
    names.append(f"{{ForeignNode[{groups[head][0]}...{groups[-1][-1]}]}}")
    return names


def test_tensorrt_engine_layer_names_map_every_conv_and_linear_to_one_row() -> None:
    import onnx

    from profiler.latency.runtimes.onnx_graph import export_onnx
    from profiler.latency.runtimes.tensorrt_runtime import layer_coverage, onnx_nodes_of

    spec = {"preset": "mobilenet_v3_large", "resolution": 64}  # hardswish: Conv + HardSigmoid + Mul chains
    parsed = parse_spec(spec)
    model = plan_model(parsed).build().eval()
    graph = onnx.load_from_string(export_onnx(model, torch.randn(1, 3, *parsed.hw))).graph
    nodes, ops = [n.name for n in graph.node], [n.op_type for n in graph.node]
    engine = _engine_layer_names(nodes, ops)
    assert onnx_nodes_of(engine[0], nodes) == []  # a reformat runs no node of the model
    region = onnx_nodes_of(engine[-1], nodes)
    assert region[0] == engine[-1].split("[")[1].split("...")[0] and len(region) > 2
    coverage = layer_coverage(engine, nodes, timed_names(model))
    covered = Counter(layer for rows in coverage.values() for layer in rows)
    weighted = [r.name for r in profile(spec).counts.rows if r.type in ("Conv2d", "Linear")]
    assert all(covered[name] == 1 for name in weighted), {n: covered[n] for n in weighted}
    assert max(covered.values()) == 1
    assert coverage[engine[1]][:3] == ("features.0.conv", "features.0.bn", "features.0.act")
    assert weighted[-1] in coverage[engine[-1]] and weighted[-2] in coverage[engine[-1]]  # both Linear layers


def test_gpu_runtimes_refuse_a_cpu_and_name_the_gpu_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    report = profile({"preset": "mobilenet_v2"})
    tensorrt = type(RUNTIMES["tensorrt"])
    monkeypatch.setattr(tensorrt, "installed", lambda self: False)
    with pytest.raises(SpecError, match=r"pip install 'archprofiler\[gpu\]'"):
        latency_measurement(report, LatencyOptions(runtime="tensorrt"))
    monkeypatch.setattr(tensorrt, "installed", lambda self: True)
    with pytest.raises(SpecError, match="tensorrt runtime runs on cuda here, not on cpu"):
        latency_measurement(report, LatencyOptions(runtime="tensorrt"))


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="cuda not available")


@CUDA
@pytest.mark.parametrize(
    ("runtime", "dtype"), [("onnxruntime", "float32"), ("tensorrt", "float32"), ("tensorrt", "float16")]
)
def test_a_gpu_runtime_runs_the_spec_model_on_cuda(runtime: str, dtype: str) -> None:
    if runtime == "tensorrt":
        pytest.importorskip("tensorrt")
    elif "CUDAExecutionProvider" not in pytest.importorskip("onnxruntime").get_available_providers():
        pytest.skip("onnxruntime without its CUDA provider (the gpu extra's onnxruntime-gpu)")
    spec = {"preset": "mobilenet_v2", "resolution": 96}
    torch.manual_seed(0)
    parsed = parse_spec(spec)
    model = plan_model(parsed).build().eval()
    x = torch.randn(1, 3, *parsed.hw)
    with torch.inference_mode():
        expected = model(x).numpy()
    opts = LatencyOptions(runtime=runtime, device="cuda", dtype=dtype)
    out = get_runtime(runtime).prepare(model, x, opts, timed_names(model)).run()
    got = out.copy_outputs_to_cpu()[0] if hasattr(out, "copy_outputs_to_cpu") else None
    if got is None:
        got = next(t for name, t in out.items() if name != "input").float().cpu().numpy()  # type: ignore[union-attr]
    tolerance = 2e-2 if dtype == "float16" else 1e-3
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)
    answer = _measure(spec, runtime, device="cuda", dtype=dtype, per_layer=runtime == "tensorrt")
    assert answer["device"] == "cuda:0" and answer["end_to_end"]["median_ms"] > 0
    if runtime == "tensorrt":
        covered = Counter(layer for row in answer["per_layer"]["layers"] for layer in row["layers"])
        weighted = [r.name for r in profile(spec).counts.rows if r.type in ("Conv2d", "Linear")]
        assert all(covered[name] == 1 for name in weighted), {n: covered[n] for n in weighted}
