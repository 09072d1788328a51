"""POST /compare: the depthwise-vs-normal convolution case, held to fvcore and ptflops on the same layers."""

from __future__ import annotations

import pytest
import torch
from fastapi.testclient import TestClient

from app.main import create_app
from app.routes.compare import COMPARE_EXAMPLES
from profiler import build_model, parse_spec
from tests.references import fvcore_analysis, ptflops_macs


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app())


def test_dw_vs_normal_conv_matches_fvcore_and_ptflops(client: TestClient) -> None:
    case = COMPARE_EXAMPLES["dw_vs_normal"]["value"]
    small = {side: {**case[side], "resolution": 64} for side in ("a", "b")}  # references run a real forward
    r = client.post("/compare", json=small)
    assert r.status_code == 200
    body = r.json()
    for side in ("a", "b"):
        model = build_model(parse_spec(small[side]))
        x = torch.zeros(1, 64, 64, 64)
        assert body[side]["totals"]["fvcore_flops"] == fvcore_analysis(model, x).total()
        assert body[side]["totals"]["macs"] == sum(ptflops_macs(model, x).values())  # no conv bias here (BN)
    ratios = body["ratios"]
    assert ratios["macs"] == body["b"]["totals"]["macs"] / body["a"]["totals"]["macs"]
    assert round(1 / ratios["macs"], 1) == 8.4  # DESIGN: 8.4x fewer MACs
    assert body["aligned_layers"] == []  # conv/bn/act against conv_dw/bn1/...: no names in common


def test_alignment_by_layer_name(client: TestClient) -> None:
    r = client.post("/compare", json=COMPARE_EXAMPLES["widths"]["value"])
    aligned = {row["name"]: row for row in r.json()["aligned_layers"]}
    assert len(aligned) == len(r.json()["a"]["layers"])  # same architecture, every layer aligns
    dw = aligned["features.4.conv_dw"]
    assert dw["macs_ratio"] == dw["macs"][1] / dw["macs"][0]
    assert aligned["classifier.fc"]["params"] == [1280 * 1000 + 1000] * 2  # the 1280 head never shrinks


def test_bad_side_names_it(client: TestClient) -> None:
    r = client.post("/compare", json={"a": {"preset": "resnet18"}, "b": {"stages": [{"block": "conv", "c": 0}]}})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:3] == ["body", "b", "stages"]
