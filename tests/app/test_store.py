"""Stored results: ids, identical requests served from the store, the list, CSV export, restart, SIGKILL."""

from __future__ import annotations

import csv
import io
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings, get_settings
from app.store import ResultStore, TooLargeToStore
from profiler import build_model, parse_spec, profile
from tests.app.polling import poll_job
from tests.app.shared import handed_back, started
from tests.live_server import free_port, start_server, stop_server
from tests.references import fvcore_analysis


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "store.sqlite3"  # the folder does not exist yet: created on first start


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with started(Settings(store_path=tmp_path_factory.mktemp("shared") / "store.sqlite3")) as c:
        yield c


@pytest.fixture
def client(shared: TestClient, store_path: Path) -> Iterator[TestClient]:
    """The module's started app with a store of this test's own at ``store_path``, made as the app makes it and
    opened as its start opens it (what is counted, measured and listed is this test's alone)."""
    app = cast(FastAPI, shared.app)
    own = create_app(Settings(store_path=store_path)).state.store  # an app not started: nothing spawned
    own.open()
    own.check_writable()
    kept, app.state.store = app.state.store, own
    try:
        with handed_back(shared) as c:
            yield c
    finally:
        app.state.store = kept
        own.close()


def _without_cached(body: dict) -> dict:
    return {k: v for k, v in body.items() if k != "cached"}


def test_every_profile_is_stored_and_identical_requests_come_from_the_store(
    client: TestClient, store_path: Path
) -> None:
    spec = {"preset": "resnet18", "width_multiplier": 0.5, "name": "r18-half"}
    first = client.post("/profile", json=spec)
    assert first.status_code == 200 and first.json()["cached"] is False
    assert first.headers["x-profile-cache"] == "miss"
    rid = first.json()["id"]
    assert first.headers["location"] == f"/profiles/{rid}"
    assert first.json()["created"].endswith("Z")

    second = client.post("/profile", json=spec)
    assert second.json()["cached"] is True and second.headers["x-profile-cache"] == "hit"
    assert _without_cached(second.json()) == _without_cached(first.json())

    stored = client.get(f"/profiles/{rid}")
    assert stored.status_code == 200 and stored.json() == _without_cached(first.json())
    # the stored figures are the core's, not a copy that drifted
    core = profile({"preset": "resnet18", "width_multiplier": 0.5}).to_dict()
    assert stored.json()["totals"] == core["totals"] and stored.json()["layers"] == core["layers"]

    other = client.post("/profile", json={**spec, "batch_size": 2})
    assert other.json()["cached"] is False and other.json()["id"] != rid
    assert other.json()["totals"]["macs"] == 2 * first.json()["totals"]["macs"]

    conn = sqlite3.connect(store_path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("SELECT count(*) FROM results").fetchone() == (2,)


def test_unknown_id_is_404_naming_the_list(client: TestClient) -> None:
    r = client.get("/profiles/nope")
    assert r.status_code == 404 and "GET /profiles" in r.json()["detail"]
    assert client.get("/profiles/nope/layers.csv").status_code == 404


def test_list_filtered_by_date(client: TestClient) -> None:
    first = client.post("/profile", json={"preset": "mobilenet_v1", "resolution": 32}).json()
    while (
        client.post("/profile", json={"preset": "mobilenet_v1", "resolution": 40}).json()["created"] == first["created"]
    ):
        client.delete(f"/profiles/{first['id']}")  # the same millisecond: store it again, later
        first = client.post("/profile", json={"preset": "mobilenet_v1", "resolution": 32}).json()
    second = client.get("/profiles", params={"limit": 1}).json()["items"][0]
    day = first["created"][:10]  # created is UTC, ISO 8601: 2026-11-24T09:30:00.123Z
    before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()

    def ids(**params: str) -> list[str]:
        return [x["id"] for x in client.get("/profiles", params=params).json()["items"]]

    assert ids(since=day) == [second["id"], first["id"]]
    assert ids(until=day) == [second["id"], first["id"]]  # a date as until keeps that whole day
    assert ids(until=before) == [] and ids(since=before, until=before) == []
    assert ids(since=second["created"]) == [second["id"]]  # an ISO time: from then on
    assert ids(until=second["created"]) == [first["id"]]  # until excludes its own instant
    r = client.get("/profiles", params={"since": "last week"})
    assert r.status_code == 422 and "'last week' is not a date" in r.json()["detail"][0]["msg"]
    assert client.get("/profiles", params={"until": "9999-12-31"}).status_code == 422  # its end overflows: not a 500


def test_list_is_newest_first_paged_and_filtered(client: TestClient) -> None:
    ids = []
    for i, name in enumerate(["alpha-net", "Beta_net", "alpha-wide", "gamma", "50%net"]):
        r = client.post("/profile", json={"preset": "mobilenet_v1", "name": name, "resolution": 32 + 8 * i})
        ids.append(r.json()["id"])
    client.post(
        "/compare",
        json={
            "a": {"preset": "mobilenet_v1", "resolution": 32, "name": "alpha-net"},
            "b": {"preset": "mobilenet_v1", "resolution": 64, "name": "gamma"},
        },
    )

    page = client.get("/profiles", params={"limit": 2}).json()
    assert page["total"] == 6 and page["limit"] == 2 and page["offset"] == 0
    assert [x["kind"] for x in page["items"]] == ["compare", "profile"]
    assert page["items"][0]["name"] == "alpha-net vs gamma"
    assert page["items"][1]["id"] == ids[-1]
    rest = client.get("/profiles", params={"limit": 10, "offset": 2}).json()
    assert [x["id"] for x in rest["items"]] == ids[-2::-1]

    alpha = client.get("/profiles", params={"name": "ALPHA", "kind": "profile"}).json()
    assert [x["name"] for x in alpha["items"]] == ["alpha-wide", "alpha-net"] and alpha["total"] == 2
    # LIKE wildcards in the filter are literal characters
    assert [x["name"] for x in client.get("/profiles", params={"name": "_"}).json()["items"]] == ["Beta_net"]
    assert [x["name"] for x in client.get("/profiles", params={"name": "%"}).json()["items"]] == ["50%net"]

    item = alpha["items"][1]
    assert item["resolution"] == 32 and item["preset"] == "mobilenet_v1" and item["width_multiplier"] == 1.0
    assert item["totals"]["macs"] == client.get(f"/profiles/{item['id']}").json()["totals"]["macs"]
    assert client.get("/profiles", params={"limit": 0}).status_code == 422


def test_layers_csv_matches_the_report_and_fvcore(client: TestClient) -> None:
    body = client.post("/profile", json={"preset": "mobilenet_v2", "resolution": 96, "counter": "fvcore"}).json()
    r = client.get(f"/profiles/{body['id']}/layers.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["name"] for row in rows] == [layer["name"] for layer in body["layers"]]
    assert [int(row["macs"]) for row in rows] == [layer["macs"] for layer in body["layers"]]
    assert json.loads(rows[0]["output_shape"]) == body["layers"][0]["output_shape"]
    # independent of our counter: fvcore's own per-module flops for the same model
    reference = fvcore_analysis(
        build_model(parse_spec({"preset": "mobilenet_v2", "resolution": 96})), torch.zeros(1, 3, 96, 96)
    ).by_module()
    assert {row["name"]: int(row["fvcore_flops"]) for row in rows} == {
        row["name"]: reference[row["name"]] for row in rows
    }


def test_compare_is_stored_with_its_csv(client: TestClient) -> None:
    spec = {"in_channels": 8, "resolution": 32, "classifier": None}
    request = {
        "a": {**spec, "name": "k3", "stages": [{"block": "depthwise_separable", "c": 16, "k": 3}]},
        "b": {**spec, "name": "k5", "stages": [{"block": "depthwise_separable", "c": 16, "k": 5}]},
    }
    first = client.post("/compare", json=request).json()
    assert first["cached"] is False
    again = client.post("/compare", json=request).json()
    assert again["cached"] is True and again["id"] == first["id"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/profiles/{first['id']}/layers.csv").text)))
    assert [[r["name_a"], r["name_b"]] for r in rows] == [x["name"] for x in first["aligned_layers"]]
    dw = next(r for r in rows if r["name_a"] == "features.0.conv_dw")  # k x k per channel, 8 channels, 32x32
    assert (int(dw["macs_a"]), int(dw["macs_b"])) == (3 * 3 * 8 * 32 * 32, 5 * 5 * 8 * 32 * 32)
    assert float(dw["macs_ratio"]) == pytest.approx(25 / 9)


def test_latency_per_layer_is_in_the_csv(client: TestClient) -> None:
    r = client.post(
        "/profile",
        json={
            "preset": "mobilenet_v3_small",
            "resolution": 32,
            "latency": {"per_layer": True, "budget_s": 2, "threads": 1},
        },
    )
    body = r.json()
    assert body["cached"] is False
    stored = client.get(f"/profiles/{body['id']}").json()
    assert stored["latency"] == body["latency"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/profiles/{body['id']}/layers.csv").text)))
    by_name = {x["name"]: x["median_ms"] for x in body["latency"][0]["per_layer"]["layers"]}
    assert {row["name"]: float(row["cpu_median_ms"]) for row in rows} == by_name  # leaves and ops, in order
    assert [row["name"] for row in rows] == list(by_name)
    assert {row["cpu_bound"] for row in rows} <= {"compute", "memory", "overhead"}
    assert all(int(row["cpu_bytes"]) > 0 for row in rows)
    listed = client.get("/profiles", params={"limit": 1}).json()["items"][0]
    assert listed["latency_ms"] == {"cpu": body["latency"][0]["end_to_end"]["median_ms"]}


def test_a_finished_job_is_stored_under_its_id_and_a_cancelled_one_is_not(client: TestClient) -> None:
    small = {"preset": "mobilenet_v3_small", "resolution": 32}
    done = client.post("/profile", json={**small, "latency": {"budget_s": 1, "job": True}}).json()
    status = poll_job(client, done["id"], {"done"})
    assert status["report"]["id"] == done["id"]
    assert client.get(f"/profiles/{done['id']}").json() == status["report"]

    slow = {"preset": "resnet50", "latency": {"per_layer": True, "budget_s": 60, "target_ci": 1e-6, "job": True}}
    cancelled = client.post("/profile", json=slow).json()
    poll_job(client, cancelled["id"], {"running"})
    client.delete(f"/jobs/{cancelled['id']}")
    poll_job(client, cancelled["id"], {"cancelled"})
    assert client.get(f"/profiles/{cancelled['id']}").status_code == 404  # nothing half-done was stored


def test_the_live_store_connection_journals_and_syncs_every_commit(client: TestClient, store_path: Path) -> None:
    # What makes an acknowledged write survive power loss, read off the connection that does the writing: a
    # store without it (synchronous=OFF, an in-memory journal) passes the SIGKILL test below, not this one.
    client.post("/profile", json={"preset": "mobilenet_v1", "name": "opened"})
    conn = client.app.state.store._conn
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: the WAL is synced at every commit
    assert conn.in_transaction is False  # autocommit: a write is committed when add() returns
    # And on disk: the acknowledged row is in the file, readable by a connection of another process's kind.
    rid = client.post("/profile", json={"preset": "mobilenet_v1", "name": "on-disk"}).json()["id"]
    other = sqlite3.connect(store_path)
    assert other.execute("SELECT count(*) FROM results WHERE id = ?", (rid,)).fetchone() == (1,)


def test_results_survive_a_restart(store_path: Path) -> None:
    with TestClient(create_app(Settings(store_path=store_path))) as c:
        sent = c.post("/profile", json={"preset": "mobilenet_v2", "name": "kept"}).json()
    with TestClient(create_app(Settings(store_path=store_path))) as c:
        assert c.get(f"/profiles/{sent['id']}").json() == _without_cached(sent)
        again = c.post("/profile", json={"preset": "mobilenet_v2", "name": "kept"}).json()
        assert again["cached"] is True and again["id"] == sent["id"]


def test_sigkill_during_writes_loses_nothing_acknowledged(store_path: Path) -> None:
    port = free_port()
    server = start_server(store_path, port)
    acknowledged: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(worker: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            i = 0
            while not stop.is_set():
                i += 1
                spec = {"preset": "mobilenet_v1", "name": f"w{worker}-{i}", "resolution": 32 + 8 * (i % 50)}
                try:
                    r = http.post("/profile", json=spec)
                except httpx.HTTPError:
                    return  # the server died mid-request: nothing was acknowledged
                if r.status_code == 200:
                    with lock:
                        acknowledged[r.json()["id"]] = r.json()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 300
    while len(acknowledged) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)  # while the clients are still writing
    server.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) >= 60

    assert sqlite3.connect(store_path).execute("PRAGMA integrity_check").fetchone() == ("ok",)
    server = start_server(store_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            for rid, body in acknowledged.items():
                r = http.get(f"/profiles/{rid}")
                assert r.status_code == 200, rid
                assert r.json() == _without_cached(body)
            listed = http.get("/profiles", params={"limit": 200, "name": "w"}).json()
            assert listed["total"] >= len(acknowledged)
    finally:
        stop_server(server)


def test_figures_past_64_bits_are_stored_exactly(client: TestClient) -> None:
    client.app.dependency_overrides[get_settings] = lambda: Settings(max_macs=10**30, max_batch=2**24)
    spec = {
        "in_channels": 4096,
        "resolution": 8192,
        "classifier": None,
        "batch_size": 2**24,  # the schema's largest batch
        "stages": [{"block": "conv", "c": 4096, "k": 7}],
    }
    r = client.post("/profile", json=spec)
    assert r.status_code == 200
    macs = 2**24 * 8192 * 8192 * 4096 * 4096 * 49  # written out: batch x H x W x C_in x C_out x k x k
    assert macs > 2**64 and r.json()["totals"]["macs"] == macs
    assert client.get(f"/profiles/{r.json()['id']}").json()["totals"]["macs"] == macs


def test_a_stored_result_can_be_deleted(client: TestClient) -> None:
    spec = {"preset": "mobilenet_v1", "name": "to-delete"}
    first = client.post("/profile", json=spec).json()
    assert client.delete(f"/profiles/{first['id']}").status_code == 204
    assert client.get(f"/profiles/{first['id']}").status_code == 404
    assert client.delete(f"/profiles/{first['id']}").status_code == 404
    again = client.post("/profile", json=spec).json()  # no longer answered with the deleted id
    assert again["cached"] is False and again["id"] != first["id"]


def _body(i: int) -> dict:
    return {"name": f"r{i}", "padding": "x" * 1000}


def test_the_store_keeps_its_newest_results_within_its_size_cap(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite3", max_bytes=5000, max_result_share=0.5)
    ids = [store.add("profile", _body(i), summary={"name": f"r{i}"}, request=f"digest-{i}").id for i in range(10)]
    kept = [rid for rid in ids if store.get(rid) is not None]
    assert kept == ids[-len(kept) :] and 2 <= len(kept) <= 4  # the newest, each result about 1.1 kB
    size = sqlite3.connect(tmp_path / "s.sqlite3").execute("SELECT sum(length(body) + length(summary)) FROM results")
    assert size.fetchone()[0] <= 5000
    assert store.find_request("digest-0") is None  # an evicted result answers no identical request
    total, _ = store.list(limit=20, offset=0)
    assert total == len(kept)
    store.close()
    reopened = ResultStore(
        tmp_path / "s.sqlite3", max_bytes=5000, max_result_share=0.5
    )  # the running size is read back on open
    newest = reopened.add("profile", _body(99), summary={"name": "r99"}).id
    assert reopened.get(newest) is not None
    assert sqlite3.connect(tmp_path / "s.sqlite3").execute("SELECT count(*) FROM results").fetchone()[0] <= 4


def test_one_result_over_its_share_of_the_cap_is_refused_and_evicts_nothing(tmp_path: Path) -> None:
    """Keeping one result past max_bytes x share would push out the others: it is refused, and they all stay."""
    store = ResultStore(tmp_path / "s.sqlite3", max_bytes=20_000, max_result_share=0.1)  # 2,000 bytes a result
    ids = [store.add("profile", _body(i), summary={"name": f"r{i}"}).id for i in range(5)]  # about 1.1 kB each
    big = {"name": "big", "padding": "x" * 30_000}
    with pytest.raises(TooLargeToStore, match=r"30,0[0-9]{2} bytes are over the 2,000"):
        store.add("profile", big, summary={"name": "big"})
    assert all(store.get(rid) is not None for rid in ids)
    assert store.list(limit=20, offset=0)[0] == 5


def test_the_store_removes_results_past_its_age_cap(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite3", max_age_s=0.2)
    old = store.add("profile", _body(0), summary={"name": "old"}).id
    time.sleep(0.3)  # only ever longer than asked: the first result is then past the cap for certain
    new = store.add("profile", _body(1), summary={"name": "new"}).id
    assert store.get(old) is None and store.get(new) is not None


def test_answers_held_in_memory_stay_within_their_byte_cap(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite3", memory_items=100, memory_bytes=6000)
    for i in range(10):
        store.add("profile", _body(i), summary={"name": f"r{i}"}, request=f"digest-{i}")
    held = [i for i in range(10) if store.recall(f"digest-{i}") is not None]
    assert held == list(range(10 - len(held), 10)) and 1 <= len(held) <= 5  # the most recent, about 1.1 kB each
    big = store.add("profile", {"padding": "x" * 2000}, summary={"name": "big"}, request="digest-big")
    assert store.recall("digest-big") is None and store.get(big.id) is not None  # over a quarter of the cap


def test_a_report_past_the_layer_cap_is_refused_before_counting(client: TestClient) -> None:
    r = client.post("/profile", json={"stages": [{"block": "inverted_residual", "c": 16, "n": 2000, "se": True}]})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert "layers (rows of the report) 30,003 exceeds the limit of 5,000" in detail["msg"]
    assert "PROFILER_MAX_LAYERS" in detail["msg"]
