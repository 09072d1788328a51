"""Predicted latency through the API: a 422 that says how to calibrate when no predictor exists; a fitted
predictor (on a formula, so no timer is involved) answering /profile, /compare and /sweep at counting speed and
surviving a restart; a real calibration job on the CPU, its predictor used, a measured profile adding samples,
and a predicted sweep's front verified by measuring it; a predictor an older fit stored, fitted again."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.predictor_store import PredictorStore
from app.predictors import Predictors
from app.settings import Settings
from profiler import profile
from profiler.predict import fit_predictor, model_units
from tests.app.predictors import fitted_predictor, formula_samples

LIVENESS_S = 600  # only catches a hang: a calibration on a busy 2-core host takes its budget and a fit


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("predictors") / "store.sqlite3"


@pytest.fixture(scope="module")
def client(store_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(store_path=store_path))) as c:
        yield c


def test_without_a_predictor_predict_is_a_422_that_says_how_to_calibrate(client: TestClient) -> None:
    r = client.post("/profile", json={"preset": "mobilenet_v2", "latency": {"predict": True, "runtimes": ["openvino"]}})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"][-3:] == ["latency", "devices", 0]
    assert "POST /predictors" in detail["msg"] and '"runtime": "openvino"' in detail["msg"]


def test_a_predictor_answers_profile_compare_and_sweep(client: TestClient, store_path: Path) -> None:
    predictor = fitted_predictor()
    client.app.state.predictors.add(predictor)  # type: ignore[attr-defined]
    spec = {"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160}
    r = client.post("/profile", json={**spec, "latency": {"predict": True}})
    assert r.status_code == 200, r.text
    body = r.json()
    (entry,) = body["latency"]
    report = profile(spec)
    assert report.plan is not None
    units = model_units(report.plan)
    expected = predictor.predict(units)
    assert entry["method"] == "predicted" and entry["end_to_end"]["median_ms"] == pytest.approx(expected.median_ms)
    assert entry["end_to_end"]["low_ms"] < entry["end_to_end"]["median_ms"] < entry["end_to_end"]["high_ms"]
    assert entry["predictor"]["id"] == predictor.id and entry["extrapolated"] is False
    assert "within_10pct" in entry["predictor"]["held_out_accuracy"]
    assert [row["name"] for row in entry["per_layer"]["layers"]] == units.names
    assert body["totals"]["macs"] == report.counts.totals.macs  # the counts as ever

    r = client.post(
        "/compare",
        json={
            "a": {"preset": "mobilenet_v2"},
            "b": {"preset": "mobilenet_v2", "width_multiplier": 0.5},
            "latency": {"predict": True},
        },
    )
    assert r.status_code == 200, r.text
    (paired,) = r.json()["latency"]
    assert paired["b_over_a"] == pytest.approx(paired["b"]["median_ms"] / paired["a"]["median_ms"])
    assert paired["b_over_a"] < 1  # half the width predicts faster on this made-up device

    grid = {"width_multiplier": [0.5, 0.75, 1.0], "resolution": [128, 160, 192, 224]}
    r = client.post("/sweep", json={"base": {"preset": "mobilenet_v2"}, "grid": grid, "latency": {"predict": True}})
    assert r.status_code == 200, r.text
    sweep = r.json()
    assert sweep["latency_method"] == "predicted" and "latency_ms" in sweep["pareto_objectives"]
    medians = [p["latency"][0]["end_to_end"]["median_ms"] for p in sweep["points"]]
    assert len(medians) == 12 and all(m > 0 for m in medians)
    assert "per_layer" not in sweep["points"][0]["latency"][0]  # a sweep's points carry the total only
    fastest = min(range(12), key=medians.__getitem__)
    assert fastest in sweep["pareto"]  # nothing is faster than the fastest

    listed = client.get("/predictors").json()["predictors"]
    assert [p["id"] for p in listed] == [predictor.id]
    one = client.get(f"/predictors/{predictor.id}").json()
    assert len(one["held_out"]) == one["held_out_accuracy"]["designs"]
    assert client.get("/predictors/nope").status_code == 404

    # Kept in the store: a restarted service answers with the same predictor.
    with TestClient(create_app(Settings(store_path=store_path))) as again:
        r = again.post("/profile", json={**spec, "latency": {"predict": True}})
        assert r.status_code == 200, r.text
        assert r.json()["latency"][0]["end_to_end"]["median_ms"] == pytest.approx(expected.median_ms)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"budget_s": 10**9}, "budget_s"),
        ({"runtime": "tflite"}, "runtime"),
        ({"batch_sizes": [0]}, "batch_sizes"),
        ({"design_budget_s": 0}, "design_budget_s"),
        ({"max_designs": 3}, "max_designs"),  # fewer than a fit needs
        ({"device": "cuda:7"}, None),
        ({"threads": 1000}, "threads"),  # more than this host's cores (the fuzz found a 500 here)
        ({"budget": 10}, "budget"),
    ],
)
def test_bad_calibration_requests_are_422s(client: TestClient, body: dict, field: str | None) -> None:
    r = client.post("/predictors", json=body)
    assert r.status_code in (422, 404, 503) and r.status_code != 500, r.text
    if field is not None:
        assert r.status_code == 422 and field in str(r.json()["detail"])


def _wait(client: TestClient, url: str) -> dict:
    deadline = time.monotonic() + LIVENESS_S
    while time.monotonic() < deadline:
        status = client.get(url).json()
        if status["state"] in ("done", "failed", "cancelled"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"{url} did not finish within {LIVENESS_S} s")


def test_a_calibration_measures_designs_fits_and_learns(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(store_path=tmp_path / "store.sqlite3"))) as client:
        # Twelve designs; the budget only a liveness ceiling for a busy host.
        body = {
            "budget_s": 300,
            "max_designs": 12,
            "design_budget_s": 0.1,
            "max_macs": 20_000_000,
            "threads": 1,
            "seed": 1,
        }
        r = client.post("/predictors", json=body)
        assert r.status_code == 202, r.text
        second = client.post("/predictors", json=body)  # one calibration per device at a time
        assert second.status_code == 409 and r.json()["id"] in second.json()["detail"]
        status = _wait(client, f"/jobs/{r.json()['id']}")
        assert status["state"] == "done", (status.get("error"), status)
        assert status["designs_measured"] == 12 and status["max_designs"] == 12
        described = status["predictor"]
        assert described["runtime"] == "eager" and described["threads"] == 1
        assert described["held_out_accuracy"]["designs"] >= 2
        spec = {"preset": "mobilenet_v3_small", "width_multiplier": 0.5, "resolution": 96}
        latency = {"predict": True, "threads": 1}
        r = client.post("/profile", json={**spec, "latency": latency})
        assert r.status_code == 200, r.text
        assert r.json()["latency"][0]["predictor"]["id"] == described["id"]

        before = client.get("/predictors").json()["samples"][0]["designs"]
        r = client.post("/profile", json={**spec, "latency": {"per_layer": True, "budget_s": 0.2, "threads": 1}})
        assert r.status_code == 200, r.text
        assert client.get("/predictors").json()["samples"][0]["designs"] == before + 1  # learned from it

        grid = {"width_multiplier": [0.25, 0.5], "resolution": [64, 96]}
        r = client.post(
            "/sweep",
            json={
                "base": {"preset": "mobilenet_v3_small"},
                "grid": grid,
                "latency": {"predict": True, "threads": 1, "budget_s": 0.2, "verify": 2},
            },
        )
        assert r.status_code == 202, r.text
        sweep_id = r.json()["id"]
        _wait(client, f"/jobs/{sweep_id}")
        answer = client.get(f"/sweeps/{sweep_id}").json()
        checked = answer["verify"]["points"]
        assert 1 <= len(checked) <= 2 and all(p["measured_ms"] > 0 and p["predicted_ms"] > 0 for p in checked)
        assert {p["point"] for p in checked} <= set(answer["pareto"])
        assert answer["predictors"][0]["id"] == described["id"]
        listed = client.get("/profiles", params={"kind": "profile"}).json()["items"]
        assert any(item.get("latency_method") == "predicted" for item in listed)  # the list says how


def test_a_stored_predictor_an_older_fit_made_is_fitted_again_from_its_samples(tmp_path: Path) -> None:
    """A predictor stored before the fit changed what its trees predict (times then, rates now) is never answered
    with: loading the store fits its key again from the stored samples, in the background."""
    samples = formula_samples()
    store = PredictorStore(tmp_path / "store.sqlite3")
    store.add_samples(samples)
    old = fit_predictor(samples)
    del old.__dict__["fit_format"]  # as pickled before the field existed
    store.add_predictor(old)
    predictors = Predictors(store)
    predictors.load()
    deadline = time.monotonic() + LIVENESS_S
    while not predictors.all() and time.monotonic() < deadline:
        time.sleep(0.1)
    [refitted] = predictors.all()
    assert refitted.id != old.id and refitted.is_current() and refitted.key == old.key
    loaded, stale = store.predictors()
    assert [p.id for p in loaded] == [refitted.id] and stale == {old.key}
    store.close()
