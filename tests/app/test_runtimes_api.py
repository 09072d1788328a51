"""Runtimes and the ONNX export through the API, the CLI and the client's call: one latency entry per device
and runtime, each saying what produced it; the exported file runs in ONNX Runtime to the same outputs as the
spec's model built with the same seed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from profiler import parse_spec, plan_model
from tests.app.shared import handed_back, started

SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with started(Settings(store_path=tmp_path_factory.mktemp("store") / "store.sqlite3")) as c:
        yield c


@pytest.fixture
def client(shared: TestClient) -> Iterator[TestClient]:
    with handed_back(shared) as c:
        yield c


def test_one_latency_entry_per_runtime_each_saying_what_produced_it(client: TestClient) -> None:
    latency = {"runtimes": ["eager", "onnxruntime"], "budget_s": 1, "threads": 1, "min_repeats": 5}
    r = client.post("/profile", json={**SMALL, "latency": latency})
    assert r.status_code == 200, r.text
    entries = r.json()["latency"]
    assert [e["runtime"]["name"] for e in entries] == ["eager", "onnxruntime"]
    assert entries[0]["runtime"]["version"] == torch.__version__
    onnx_entry = entries[1]
    assert onnx_entry["runtime"]["version"] == ort.__version__
    assert onnx_entry["runtime"]["options"]["intra_op_num_threads"] == 1
    assert onnx_entry["runtime"]["prepare_s"] > 0 and onnx_entry["end_to_end"]["median_ms"] > 0
    assert onnx_entry["quality"]["verdict"] in ("stable", "noisy") and "roofs" in onnx_entry
    listed = client.get("/profiles").json()["items"][0]["latency_ms"]
    assert set(listed) == {"cpu", "cpu onnxruntime"}


def test_an_unknown_runtime_is_a_422_listing_the_known_ones(client: TestClient) -> None:
    r = client.post("/profile", json={**SMALL, "latency": {"runtimes": ["tensorflow"]}})
    assert r.status_code == 422
    assert "onnxruntime" in r.json()["detail"][0]["msg"] and r.json()["detail"][0]["loc"][-2:] == ["runtimes", 0]


def _eager_output(spec: dict, batch: int) -> tuple[np.ndarray, np.ndarray]:
    parsed = parse_spec(spec)
    torch.manual_seed(0)
    model = plan_model(parsed).build(inplace=False).eval()
    x = np.random.default_rng(1).standard_normal((batch, 3, *parsed.hw)).astype(np.float32)
    with torch.inference_mode():
        return x, model(torch.from_numpy(x)).numpy()


def test_the_exported_file_runs_to_the_outputs_of_the_model_built_from_seed_0(client: TestClient) -> None:
    r = client.post("/export/onnx", json={**SMALL, "batch_size": 2})
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert 'filename="mobilenet_v3_small.onnx"' in r.headers["content-disposition"]
    model = onnx.load_from_string(r.content)
    onnx.checker.check_model(model)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["opset"] == "17" and "torch.onnx" in meta["exporter"] and meta["archprofiler.batch_size"] == "2"
    assert parse_spec(json.loads(meta["archprofiler.spec"])).resolution == 64
    assert any(n.name.startswith("/features/features.0/conv") for n in model.graph.node)  # the spec's names
    x, expected = _eager_output(SMALL, 2)
    (got,) = ort.InferenceSession(r.content).run(None, {"input": x})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_a_stored_profile_gives_its_model_as_onnx(client: TestClient) -> None:
    stored = client.post("/profile", json={**SMALL, "batch_size": 3}).json()["id"]
    r = client.get(f"/profiles/{stored}/model.onnx")
    assert r.status_code == 200
    (dim,) = onnx.load_from_string(r.content).graph.input[0].type.tensor_type.shape.dim[:1]
    assert dim.dim_value == 3
    assert client.get("/profiles/0123/model.onnx").status_code == 404


def test_an_export_over_the_memory_limit_is_a_422_before_anything_is_built(client: TestClient) -> None:
    r = client.post("/export/onnx", json={"preset": "mobilenet_v2", "resolution": 8000, "batch_size": 64})
    assert r.status_code == 422 and "PROFILER_MAX_ACTIVATION_BYTES" in r.json()["detail"][0]["msg"]


def test_the_cli_exports_the_same_model(tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "profiler",
            "--preset",
            "mobilenet_v3_small",
            "--set",
            "resolution=64",
            "--export",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stderr and "Traceback" not in done.stderr
    x, expected = _eager_output(SMALL, 1)
    (got,) = ort.InferenceSession(out.read_bytes()).run(None, {"input": x})
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_compare_measures_a_against_b_per_runtime_with_an_interval_and_a_verdict(client: TestClient) -> None:
    """One 3x3 conv, B on 4x the pixels (16x A's multiply-adds, compute-bound, no per-layer overhead to blur
    it): every runtime finds B slower, its interval above 1, however busy the host."""
    one_conv = {"in_channels": 32, "classifier": None, "stages": [{"block": "conv", "c": 64, "k": 3}]}
    a, b = {**one_conv, "resolution": 48}, {**one_conv, "resolution": 192}
    latency = {"runtimes": ["eager", "onnxruntime"], "budget_s": 2, "threads": 1}
    r = client.post("/compare", json={"a": a, "b": b, "latency": latency})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ratios"]["macs"] == 16  # the counts are still there
    entries = body["latency"]
    assert [e["runtime"]["name"] for e in entries] == ["eager", "onnxruntime"]
    for entry in entries:
        lo, hi = entry["ci95"]
        assert lo <= entry["b_over_a"] <= hi and entry["pairs"] >= 2
        assert entry["b_over_a"] > 1 and entry["verdict"] == "A faster", entry
        assert entry["a"]["median_ms"] < entry["b"]["median_ms"] and entry["threads"] == 1
    stored = client.get("/profiles", params={"kind": "compare"}).json()["items"][0]
    assert set(stored["b_over_a"]) == {"cpu", "cpu onnxruntime"}


def test_a_runtime_the_server_does_not_offer_is_a_422_naming_the_setting(tmp_path: Path) -> None:
    settings = Settings(store_path=tmp_path / "store.sqlite3", runtimes=["eager", "onnxruntime"])
    with TestClient(create_app(settings)) as client:
        for path, body in [
            ("/profile", {**SMALL, "latency": {"runtimes": ["eager", "compiled"]}}),
            ("/sweep", {"base": SMALL, "grid": {"resolution": [64]}, "latency": {"runtimes": ["compiled"]}}),
        ]:
            r = client.post(path, json=body)
            assert r.status_code == 422, r.text
            assert "PROFILER_RUNTIMES" in r.json()["detail"][0]["msg"]
