"""POST /sweep through the API: the papers' table from one request, stored and listed like profiles, the
same points however they are split over processes, errors per point and per request, and latency sweeps as
jobs (progress, partial answers, cancel)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator

import pytest
import torch
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings, get_settings
from profiler import profile
from profiler.sweep import sweep
from tests.app.polling import poll_job
from tests.app.shared import handed_back, started
from tests.profiler.test_sweep import MOBILENET_V1_RESOLUTION, MOBILENET_V1_WIDTH

TABLE = {
    "base": {"preset": "mobilenet_v1"},
    "grid": {"width_multiplier": [1.0, 0.75, 0.5, 0.25], "resolution": [224, 192, 160, 128]},
}
SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    with started() as c:
        yield c


@pytest.fixture
def client(shared: TestClient) -> Iterator[TestClient]:
    with handed_back(shared) as c:
        yield c


def test_mobilenet_v1_table_stored_listed_and_as_csv(client: TestClient) -> None:
    r = client.post("/sweep", json=TABLE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["location"] == f"/profiles/{body['id']}"
    assert body["fields"] == ["width_multiplier", "resolution"] and body["points_total"] == 16
    by_values = {(p["values"]["width_multiplier"], p["values"]["resolution"]): p["totals"] for p in body["points"]}
    for alpha, (mult_adds_m, params_m) in MOBILENET_V1_WIDTH.items():
        assert abs(by_values[(alpha, 224)]["macs"] / 1e6 - mult_adds_m) < 1
        assert round(by_values[(alpha, 224)]["params"] / 1e6, 1) == params_m
    for rho, mult_adds_m in MOBILENET_V1_RESOLUTION.items():
        assert abs(by_values[(1.0, rho)]["macs"] / 1e6 - mult_adds_m) < 1

    stored = client.get(f"/sweeps/{body['id']}")
    assert stored.json() == {k: v for k, v in body.items() if k != "cached"}
    listed = client.get("/profiles", params={"kind": "sweep"}).json()["items"]
    entry = next(item for item in listed if item["id"] == body["id"])
    assert entry["points"] == 16 and entry["fields"] == ["width_multiplier", "resolution"]

    rows = list(csv.DictReader(io.StringIO(client.get(f"/sweeps/{body['id']}/points.csv").text)))
    assert len(rows) == 16
    assert [int(row["macs"]) for row in rows] == [p["totals"]["macs"] for p in body["points"]]
    assert {i for i, row in enumerate(rows) if row["pareto"] == "True"} == set(body["pareto"])
    assert client.get(f"/profiles/{body['id']}/layers.csv").text == client.get(f"/sweeps/{body['id']}/points.csv").text

    again = client.post("/sweep", json=TABLE)
    assert again.json()["cached"] is True and again.json()["id"] == body["id"]
    assert again.headers["x-profile-cache"] == "hit"


def test_split_over_processes_equals_one_count_in_process() -> None:
    """1,200 points in contiguous chunks over two processes: the same points, in order, as the core counts
    them in one go, and the same front."""
    grid = {"width_multiplier": [0.3 + 0.05 * i for i in range(20)], "resolution": list(range(96, 216, 2))}
    request = {"base": {"preset": "mobilenet_v2"}, "grid": grid}
    with TestClient(create_app(Settings(sweep_processes=2))) as client:
        body = client.post("/sweep", json=request).json()
    expected = sweep({"preset": "mobilenet_v2"}, grid)
    assert len(body["points"]) == 1200
    assert body["points"] == expected["points"] and body["pareto"] == expected["pareto"]


def test_points_equal_single_profiles(client: TestClient) -> None:
    body = client.post(
        "/sweep",
        json={"base": {"preset": "resnet18"}, "grid": {"resolution": [0, 96]}, "points": [{"stages.2.c": 32}]},
    ).json()
    zero, fine, narrower = body["points"]
    assert zero["error"]["type"] == "spec" and "totals" not in zero
    assert fine["totals"] == client.post("/profile", json={"preset": "resnet18", "resolution": 96}).json()["totals"]
    stages = [dict(row) for row in body["base"]["stages"]]
    stages[2]["c"] = 32
    assert narrower["totals"] == profile({"preset": "resnet18", "stages": stages}).to_dict()["totals"]
    assert body["errors"] == 1


@pytest.mark.parametrize(
    ("request_body", "loc", "words"),
    [
        (
            {"base": {"preset": "mobilenet_v2"}, "grid": {"widht_multiplier": [1]}},
            ["grid", "widht_multiplier"],
            "did you mean 'width_multiplier'",
        ),
        (
            {"base": {"preset": "mobilenet_v2"}, "grid": {"stages.9.t": [1]}},
            ["grid", "stages.9.t"],
            "use an index from 0 to 8",
        ),
        (
            {"base": {"preset": "mobilenet_v2"}, "points": [{"stages.1.zz": 1}]},
            ["points", 0, "stages.1.zz"],
            "unknown field 'zz'",
        ),
        ({"base": {"preset": "mobilenet_v9"}, "grid": {"resolution": [1]}}, ["base", "preset"], "mobilenet_v2"),
        ({"base": {"preset": "mobilenet_v2"}}, ["grid"], "give a grid"),
        ({"base": {"preset": "mobilenet_v2"}, "gird": {"resolution": [1]}}, ["gird"], "did you mean 'grid'"),
    ],
)
def test_bad_sweeps_are_422_naming_the_field(client: TestClient, request_body: dict, loc: list, words: str) -> None:
    r = client.post("/sweep", json=request_body)
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"][0] == "body" and detail["loc"][1 : 1 + len(loc)] == loc and words in detail["msg"]


def test_point_limits_are_settings(client: TestClient) -> None:
    client.app.dependency_overrides[get_settings] = lambda: Settings(max_sweep_points=15, max_sweep_latency_points=3)
    sixteen = {**TABLE, "grid": {"width_multiplier": [1.0, 0.9, 0.8, 0.7], "resolution": [97, 98, 99, 100]}}
    r = client.post("/sweep", json=sixteen)
    assert r.status_code == 422 and "PROFILER_MAX_SWEEP_POINTS" in r.json()["detail"][0]["msg"]
    r = client.post("/sweep", json={**TABLE, "grid": {"resolution": [96, 128, 160, 192]}, "latency": {}})
    assert r.status_code == 422 and "PROFILER_MAX_SWEEP_LATENCY_POINTS" in r.json()["detail"][0]["msg"]
    r = client.post("/sweep", json={**TABLE, "grid": {"resolution": [96, 128, 160, 192]}, "layers": True})
    assert r.status_code == 422 and "PROFILER_MAX_SWEEP_LATENCY_POINTS" in r.json()["detail"][0]["msg"]


def test_missing_cuda_is_a_422_before_the_job(client: TestClient) -> None:
    if torch.cuda.is_available():
        pytest.skip("this host has cuda")
    r = client.post(
        "/sweep", json={"base": SMALL, "grid": {"width_multiplier": [0.5]}, "latency": {"devices": ["cuda"]}}
    )
    assert r.status_code == 422 and "cuda not available" in r.json()["detail"][0]["msg"]


def test_latency_sweep_job_progress_then_stored(client: TestClient) -> None:
    r = client.post(
        "/sweep",
        json={
            "base": SMALL,
            "grid": {"width_multiplier": [0.5, 1.0], "resolution": [0, 64]},
            "latency": {"budget_s": 1, "threads": 1, "min_repeats": 5},
        },
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/sweeps/{job_id}"
    seen = set()
    deadline = time.monotonic() + 300
    while (status := client.get(f"/jobs/{job_id}").json())["state"] != "done":
        seen.add(status["points_measured"])
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["points_measured"] == status["points_to_measure"] == 2  # the resolution-0 points are not timed
    body = client.get(f"/sweeps/{job_id}").json()
    assert body["pareto_objectives"] == ["macs", "params", "latency_ms"]
    for point in body["points"]:
        if point["values"]["resolution"] == 0:
            assert "error" in point and "latency" not in point
            continue
        (entry,) = point["latency"]
        assert entry["device"] == "cpu" and entry["end_to_end"]["median_ms"] > 0
    assert body["pareto"] and all("latency" in body["points"][i] for i in body["pareto"])
    listed = client.get("/profiles", params={"kind": "sweep"}).json()["items"]
    assert any(item["id"] == job_id and item["latency"]["measured"] == 2 for item in listed)
    rows = list(csv.DictReader(io.StringIO(client.get(f"/sweeps/{job_id}/points.csv").text)))
    assert [row["device"] for row in rows if row["resolution"] != "0"] == ["cpu", "cpu"]
    # A finished job stays finished: cancelling it is refused, and it still reads done and stored.
    late = client.delete(f"/jobs/{job_id}")
    assert late.status_code == 409 and "already finished" in late.json()["detail"]
    assert client.get(f"/jobs/{job_id}").json()["state"] == "done"
    assert client.get(f"/sweeps/{job_id}").status_code == 200


def test_latency_sweep_partial_then_cancelled_stores_nothing(client: TestClient) -> None:
    r = client.post(
        "/sweep",
        json={
            "base": SMALL,
            "grid": {"width_multiplier": [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]},
            "latency": {"budget_s": 30, "target_ci": 0.0001, "min_repeats": 100_000, "threads": 1},
        },
    )
    job_id = r.json()["id"]
    status = poll_job(client, job_id, {"running"})
    partial = client.get(f"/sweeps/{job_id}").json()
    assert partial["state"] in {"running", "queued"} and partial["stored"] is False
    assert len(partial["points"]) == 6 and all("totals" in p for p in partial["points"])
    cancelled = client.delete(f"/sweeps/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["state"] in {"cancelling", "cancelled"}
    status = poll_job(client, job_id, {"cancelled"})
    assert status["points_measured"] < 6
    assert client.get(f"/profiles/{job_id}").status_code == 404  # nothing half-done is stored
    assert client.get(f"/sweeps/{job_id}").json()["state"] == "cancelled"  # what was measured stays readable
    table = client.get(f"/sweeps/{job_id}/points.csv")
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == 6


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+1", "+1+1", "-1+1", "\r=1"])
def test_csv_cells_a_spreadsheet_would_evaluate_are_escaped(client: TestClient, name: str) -> None:
    """OWASP's CSV injection: a text cell starting a formula gets a leading apostrophe; numbers stay numbers."""
    r = client.post("/sweep", json={"base": SMALL, "grid": {"name": [name, "plain"], "width_multiplier": [0.5]}})
    assert r.status_code == 200, r.text
    text = client.get(f"/sweeps/{r.json()['id']}/points.csv").text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["name"] for row in rows] == ["'" + name, "plain"]
    assert [row["width_multiplier"] for row in rows] == ["0.5", "0.5"]


def test_an_answer_past_the_response_limit_is_a_422_naming_the_setting(client: TestClient) -> None:
    client.app.dependency_overrides[get_settings] = lambda: Settings(max_response_bytes=300_000)
    estimated = client.post(
        "/sweep",
        json={"base": {"preset": "mobilenet_v1"}, "grid": {"name": ["N" * 200], "resolution": [*range(32, 2032)]}},
    )
    assert estimated.status_code == 422, estimated.text
    msg = estimated.json()["detail"][0]["msg"]
    assert "estimated bytes of the answer" in msg and "PROFILER_MAX_RESPONSE_BYTES" in msg
    # A point with many more blocks than the base answers more than estimated: checked while it is encoded.
    grown = client.post(
        "/sweep", json={"base": {"preset": "mobilenet_v2"}, "grid": {"stages.3.n": [1, 1, 1, 300]}, "layers": True}
    )
    assert grown.status_code == 422, grown.text
    msg = grown.json()["detail"][0]["msg"]
    assert "bytes of the answer" in msg and "estimated" not in msg and "PROFILER_MAX_RESPONSE_BYTES" in msg


def test_a_sweep_too_large_to_store_is_answered_unstored_and_evicts_nothing(tmp_path) -> None:
    settings = Settings(store_path=tmp_path / "store.sqlite3", store_max_bytes=2_000_000)  # 200 kB a result
    with TestClient(create_app(settings)) as client:
        kept = [client.post("/profile", json={**SMALL, "name": f"kept {i}"}).json()["id"] for i in range(5)]
        r = client.post("/sweep", json={"base": SMALL, "grid": {"resolution": [*range(64, 96)]}, "layers": True})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["stored"] is False and "PROFILER_STORE_MAX_RESULT_SHARE" in body["store_note"]
        assert "id" not in body and "location" not in r.headers and len(body["points"]) == 32
        assert all(client.get(f"/profiles/{rid}").status_code == 200 for rid in kept)
        assert client.get("/profiles").json()["total"] == 5


def test_a_count_past_its_time_limit_stops_with_a_422_naming_the_setting(client: TestClient) -> None:
    client.app.dependency_overrides[get_settings] = lambda: Settings(count_timeout_s=0.01)
    grid = {"width_multiplier": [0.25 + i / 100 for i in range(100)], "resolution": [*range(64, 264, 2)]}
    r = client.post("/sweep", json={"base": {"preset": "mobilenet_v2"}, "grid": grid})
    assert r.status_code == 422, r.text
    msg = r.json()["detail"][0]["msg"]
    assert "seconds of counting" in msg and "PROFILER_COUNT_TIMEOUT_S" in msg
    client.app.dependency_overrides.clear()
    assert client.post("/sweep", json=TABLE).status_code == 200  # the sweep processes count again


SLOW = {"budget_s": 60, "target_ci": 0.0001, "min_repeats": 100_000, "threads": 1}


def test_every_job_counts_against_max_jobs_and_a_full_house_is_a_503(tmp_path) -> None:
    with TestClient(create_app(Settings(store_path=tmp_path / "store.sqlite3", max_jobs=2))) as client:
        _jobs_fill_then_free(client)


def _jobs_fill_then_free(client: TestClient) -> None:
    running = []
    for _ in range(2):
        r = client.post("/sweep", json={"base": SMALL, "grid": {"width_multiplier": [0.5, 1.0]}, "latency": SLOW})
        assert r.status_code == 202, r.text
        running.append(r.json()["id"])
    for request in [
        ("/sweep", {"base": SMALL, "grid": {"width_multiplier": [0.5]}, "latency": SLOW}),
        ("/profile", {**SMALL, "latency": {**SLOW, "job": True}}),
    ]:
        refused = client.post(*request[:1], json=request[1])
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) > 0 and "PROFILER_MAX_JOBS" in refused.json()["detail"]
    for job_id in running:
        client.delete(f"/jobs/{job_id}")
    for job_id in running:
        poll_job(client, job_id, {"cancelled"})
    r = client.post("/sweep", json={"base": SMALL, "grid": {"width_multiplier": [0.5]}, "latency": SLOW})
    assert r.status_code == 202, r.text  # a finished job's slot is taken by the next one
    client.delete(f"/jobs/{r.json()['id']}")
    poll_job(client, r.json()["id"], {"cancelled"})


def test_a_running_sweep_is_paged_and_a_cancel_frees_its_per_layer_rows(client: TestClient) -> None:
    grid = {"width_multiplier": [0.25, 0.5, 0.75, 1.0, 1.25, 1.5]}
    r = client.post("/sweep", json={"base": SMALL, "grid": grid, "layers": True, "latency": SLOW})
    job_id = r.json()["id"]
    poll_job(client, job_id, {"running"})
    page = client.get(f"/sweeps/{job_id}", params={"offset": 2, "limit": 3}).json()
    assert page["points_offset"] == 2 and page["points_total"] == 6
    assert [p["values"]["width_multiplier"] for p in page["points"]] == [0.75, 1.0, 1.25]
    assert all(p["layers"] for p in page["points"])
    assert len(client.get(f"/sweeps/{job_id}").json()["points"]) == 6
    client.delete(f"/sweeps/{job_id}")
    poll_job(client, job_id, {"cancelled"})
    after = client.get(f"/sweeps/{job_id}").json()
    assert after["state"] == "cancelled" and "per-layer rows were freed" in after["note"]
    assert len(after["points"]) == 6 and all("layers" not in p and "totals" in p for p in after["points"])
