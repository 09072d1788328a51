"""POST /compare: the depthwise-vs-normal convolution case, held to fvcore and ptflops on the same layers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from fastapi.testclient import TestClient

from app.routes.compare import COMPARE_EXAMPLES
from profiler import build_model, parse_spec
from tests.app.shared import handed_back, started
from tests.references import fvcore_analysis, ptflops_macs


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    with started() as c:
        yield c


@pytest.fixture
def client(shared: TestClient) -> Iterator[TestClient]:
    with handed_back(shared) as c:
        yield c


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
    # conv/bn/act against conv_dw/bn1/act1/conv_pw/bn2/act2: no names in common, so aligned by role; the one
    # row of each is stage 1 block 1, and the 3x3 conv pairs with the depthwise 3x3 (the first Conv2d of each)
    assert body["alignment"]["method"] == "role"
    rows = body["aligned_layers"]
    assert [r["name"] for r in rows] == [
        ["features.0.conv", "features.0.conv_dw"],
        ["features.0.bn", "features.0.bn1"],
        ["features.0.act", "features.0.act1"],
        [None, "features.0.conv_pw"],
        [None, "features.0.bn2"],
        [None, "features.0.act2"],
    ]
    assert {r["role"] for r in rows} == {"stage 1 block 1"}
    conv, dw, pw = rows[0]["macs"][0], rows[0]["macs"][1], rows[3]["macs"][1]
    assert conv == 64 * 128 * 9 * 64 * 64 and dw == 64 * 9 * 64 * 64 and pw == 64 * 128 * 64 * 64
    (role,) = body["aligned_roles"]
    assert role["macs"] == [body["a"]["totals"]["macs"], body["b"]["totals"]["macs"]]
    assert role["macs_ratio"] == ratios["macs"]

    csv = client.get(f"/profiles/{body['id']}/layers.csv").text.splitlines()
    assert csv[0].startswith("role,name_a,name_b,type_a,type_b,macs_a,macs_b")
    assert len(csv) == 1 + 6  # both sides' rows: every layer of a and of b
    assert csv[4].startswith("stage 1 block 1,,features.0.conv_pw,,Conv2d,,")


def test_role_alignment_of_two_designs_keeps_every_layer_in_order(client: TestClient) -> None:
    r = client.post("/compare", json={"a": {"preset": "mobilenet_v2"}, "b": {"preset": "mobilenet_v3_large"}})
    body = r.json()
    rows = body["aligned_layers"]
    names_a = [row["name"][0] for row in rows if row["name"][0]]
    names_b = [row["name"][1] for row in rows if row["name"][1]]
    assert names_a == [x["name"] for x in body["a"]["layers"]]  # every layer once, in execution order
    assert names_b == [x["name"] for x in body["b"]["layers"]]
    by_name = {row["name"][1]: row for row in rows}
    assert by_name["features.16.conv"]["name"][0] == "features.18.conv"  # the last 1x1 convs, both head rows
    assert by_name["features.0.conv"]["role"] == "stem" and by_name["features.0.conv"]["name"][0] == "features.0.conv"
    assert by_name["classifier.fc"]["name"][0] == "classifier.fc"  # the last Linear with the last Linear
    assert by_name["classifier.fc1"]["name"][0] is None  # V3's extra hidden layer stands alone
    # V2's 17 blocks and V3's 15 in their rows: stage 2 of V2 (n=2) against V3's second row (n=1)
    assert by_name["features.2.conv_pw"]["role"] == "stage 2 block 1"
    roles = [x["role"] for x in body["aligned_roles"]]
    assert roles[0] == "stem" and roles[-1] == "head" and "stage 12 block 2" in roles
    for f in ("macs", "params"):
        assert sum(x[f][0] for x in body["aligned_roles"]) == body["a"]["totals"][f]
        assert sum(x[f][1] for x in body["aligned_roles"]) == body["b"]["totals"][f]


def test_alignment_can_be_chosen(client: TestClient) -> None:
    widths = COMPARE_EXAMPLES["widths"]["value"]
    by_role = client.post("/compare", json={**widths, "align": "role"}).json()
    assert by_role["alignment"]["method"] == "role"
    assert all(row["name"][0] == row["name"][1] for row in by_role["aligned_layers"])  # same design, same pairs
    r = client.post("/compare", json={**widths, "align": "nearest"})
    assert r.status_code == 422


def test_alignment_by_layer_name(client: TestClient) -> None:
    r = client.post("/compare", json=COMPARE_EXAMPLES["widths"]["value"])
    assert r.json()["alignment"]["method"] == "name"
    aligned = {row["name"][0]: row for row in r.json()["aligned_layers"]}
    assert len(aligned) == len(r.json()["a"]["layers"])  # same architecture, every layer aligns
    dw = aligned["features.4.conv_dw"]
    assert dw["macs_ratio"] == dw["macs"][1] / dw["macs"][0]
    assert aligned["classifier.fc"]["params"] == [1280 * 1000 + 1000] * 2  # the 1280 head never shrinks


def test_bad_side_names_it(client: TestClient) -> None:
    r = client.post("/compare", json={"a": {"preset": "resnet18"}, "b": {"stages": [{"block": "conv", "c": 0}]}})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][:3] == ["body", "b", "stages"]
