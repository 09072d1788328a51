"""Activation memory through the API: the report's figures and options, a budget's answer, sweeps with memory
(points, CSV, the Pareto front), the measured peak beside the counted one, and bad options as 422s."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.app.shared import handed_back, started


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with started(Settings(store_path=tmp_path_factory.mktemp("store") / "store.sqlite3")) as c:
        yield c


@pytest.fixture
def client(shared: TestClient) -> Iterator[TestClient]:
    with handed_back(shared) as c:
        yield c


def test_a_profile_answers_memory_per_layer_and_for_the_design(client: TestClient) -> None:
    body = {"preset": "mobilenet_v2", "memory": {"dtype": "int8", "inplace_depthwise": True, "budget_bytes": 262144}}
    r = client.post("/profile", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    memory = answer["memory"]
    assert memory["peak_activation_bytes"] == 1_404_928 and memory["peak_layer"] == "features.2.conv_pw"
    assert memory["fits"] is False and "features.2.conv_pw" in memory["over_budget"]  # MCUNet's 256 kB MCU
    assert memory["weight_bytes"] == answer["totals"]["params"] and memory["dtype"] == "int8"
    assert "deployment" in memory["conventions"] and "eager" in memory["conventions"]
    rows = {row["name"]: row["live_bytes"] for row in answer["layers"]}
    assert rows["features.2.conv_pw"] == memory["peak_activation_bytes"]
    steps = {step["name"]: step["live_bytes"] for step in memory["timeline"]}
    assert all(steps[name] == live for name, live in rows.items()) and len(steps) > len(rows)  # ops too
    layers_csv = list(csv.DictReader(io.StringIO(client.get(f"/profiles/{answer['id']}/layers.csv").text)))
    assert int(layers_csv[0]["live_bytes"]) == rows[layers_csv[0]["name"]]
    # Other options are another request, answered anew (not from the store).
    other = client.post("/profile", json={"preset": "mobilenet_v2"}).json()
    assert other["memory"]["dtype"] == "float32" and other["memory"]["peak_activation_bytes"] > 1_404_928


@pytest.mark.parametrize(
    ("memory", "field"),
    [
        ({"dtype": "int4"}, "dtype"),
        ({"budget_bytes": 0}, "budget_bytes"),
        ({"budget_bytes": 2**70}, "budget_bytes"),
        ({"budget_bytes": "1 MB"}, "budget_bytes"),
        ({"inplace_depthwise": "yes"}, "inplace_depthwise"),
        ({"peak": 1}, "peak"),
    ],
)
def test_bad_memory_options_are_422s_naming_the_field(client: TestClient, memory: dict, field: str) -> None:
    r = client.post("/profile", json={"preset": "mobilenet_v2", "memory": memory})
    assert r.status_code == 422, r.text
    assert any(d["loc"][-1] == field and d["msg"] for d in r.json()["detail"]), r.json()


def test_a_sweep_with_memory_marks_what_fits_and_minimises_the_peak(client: TestClient) -> None:
    body = {
        "base": {"preset": "mobilenet_v2"},
        "grid": {"width_multiplier": [0.35, 0.5, 1.0], "resolution": [96, 224]},
        "memory": {"dtype": "int8", "inplace_depthwise": True, "budget_bytes": 262144},
    }
    r = client.post("/sweep", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["pareto_objectives"] == ["macs", "params", "peak_activation_bytes"]
    for point in answer["points"]:
        alone = client.post(
            "/profile", json={"preset": "mobilenet_v2", **point["values"], "memory": body["memory"]}
        ).json()["memory"]
        assert point["memory"]["peak_activation_bytes"] == alone["peak_activation_bytes"]
        assert point["memory"]["fits"] == alone["fits"]
    assert any(p["memory"]["fits"] for p in answer["points"]) and not all(p["memory"]["fits"] for p in answer["points"])
    rows = list(csv.DictReader(io.StringIO(client.get(f"/sweeps/{answer['id']}/points.csv").text)))
    assert [int(row["peak_activation_bytes"]) for row in rows] == [
        p["memory"]["peak_activation_bytes"] for p in answer["points"]
    ]


def test_a_measured_profile_has_the_measured_peak_beside_the_counted_one(client: TestClient) -> None:
    body = {"preset": "mobilenet_v3_small", "resolution": 96, "latency": {"budget_s": 1, "threads": 2}}
    r = client.post("/profile", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    (entry,) = answer["latency"]
    measured = entry["memory"]["measured_peak_bytes"]
    assert abs(answer["memory"]["eager_peak_bytes"] / measured - 1) <= 0.10, (answer["memory"], entry["memory"])
