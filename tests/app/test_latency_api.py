"""Latency through the API: synchronous, as a job with progress, cancel, busy devices, missing CUDA."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
import torch
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings, get_settings
from tests.app.polling import poll_job
from tests.app.shared import handed_back, started

SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}


@pytest.fixture(scope="module")
def shared() -> Iterator[TestClient]:
    with started() as c:
        yield c


@pytest.fixture
def client(shared: TestClient) -> Iterator[TestClient]:
    with handed_back(shared) as c:
        yield c


@pytest.fixture
def fresh_client() -> Iterator[TestClient]:
    """An app of its own, for what only a new one shows (no device measured yet)."""
    with started() as c:
        yield c


def test_cpu_latency_in_the_report(client: TestClient) -> None:
    r = client.post("/profile", json={**SMALL, "latency": {"devices": ["cpu"], "budget_s": 2, "threads": 1}})
    assert r.status_code == 200
    body = r.json()
    assert body["totals"]["params"] > 0  # the counts are still there
    (cpu,) = body["latency"]
    assert cpu["device"] == "cpu" and cpu["threads"] == 1 and cpu["batch_size"] == 1
    e2e = cpu["end_to_end"]
    assert e2e["ci95_ms"][0] <= e2e["median_ms"] <= e2e["ci95_ms"][1]
    assert e2e["stop"] in {"converged", "budget", "max_repeats"}
    assert set(e2e) >= {"median_ms", "mean_ms", "p10_ms", "p90_ms", "min_ms", "std_ms", "cv", "repeats"}


def test_missing_cuda_is_a_422_naming_the_devices(client: TestClient) -> None:
    if torch.cuda.is_available():
        pytest.skip("this host has cuda")
    r = client.post("/profile", json={**SMALL, "latency": {"devices": ["cuda"]}})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "latency", "devices"]
    assert "cuda not available" in detail["msg"] and "cpu" in detail["msg"]


def test_cluster_devices_and_kinds_need_the_ray_backend(client: TestClient) -> None:
    for name in ("kind:H100", "3f2a9c1b/cuda:0"):
        r = client.post("/profile", json={**SMALL, "latency": {"devices": [name]}})
        assert r.status_code == 422
        (detail,) = r.json()["detail"]
        assert "PROFILER_BACKEND=ray" in detail["msg"] and detail["loc"] == ["body", "latency", "devices"]


def test_job_with_progress_then_report(client: TestClient) -> None:
    r = client.post("/profile", json={**SMALL, "latency": {"per_layer": True, "budget_s": 3, "job": True}})
    assert r.status_code == 202
    assert r.headers["location"] == f"/jobs/{r.json()['id']}"
    status = poll_job(client, r.json()["id"], {"done"})
    (device,) = status["devices"]
    assert device["steps_done"] == device["steps_total"] > 1  # warm-up, the whole forward, then the layers
    (cpu,) = status["report"]["latency"]
    per_layer = cpu["per_layer"]
    leaves = [x["name"] for x in per_layer["layers"] if "(" not in x["name"]]
    assert leaves == [x["name"] for x in status["report"]["layers"]]
    assert per_layer["method"] == "in_context"
    assert per_layer["end_to_end_median_ms"] == cpu["end_to_end"]["median_ms"]
    assert cpu["quality"]["verdict"] in {"stable", "noisy"}
    elapsed = status["elapsed_s"]
    assert client.get(f"/jobs/{r.json()['id']}").json()["elapsed_s"] == elapsed  # stopped when the job ended


def test_cancel_a_job_frees_the_device(client: TestClient) -> None:
    slow = {
        "preset": "resnet50",
        "resolution": 224,
        "latency": {"per_layer": True, "budget_s": 60, "target_ci": 1e-6, "job": True},
    }
    job_id = client.post("/profile", json=slow).json()["id"]
    poll_job(client, job_id, {"running"})
    deleted = client.delete(f"/jobs/{job_id}")
    assert deleted.status_code == 200 and deleted.json()["state"] == "cancelling"
    status = poll_job(client, job_id, {"cancelled"})
    assert status["report"]["latency"][0]["error"] == "cancelled"
    r = client.post("/profile", json={**SMALL, "latency": {"budget_s": 1}})
    assert r.status_code == 200 and "end_to_end" in r.json()["latency"][0]


def test_full_queue_is_503_with_retry_after(client: TestClient) -> None:
    client.app.state.workers.queue_size = 0
    slow = {**SMALL, "latency": {"budget_s": 5, "target_ci": 1e-6, "job": True}}
    first = client.post("/profile", json=slow)
    assert first.status_code == 202
    busy = client.post("/profile", json=slow)
    assert busy.status_code == 503
    assert int(busy.headers["retry-after"]) >= 1 and "queued" in busy.json()["detail"]
    counting = client.post("/profile", json=SMALL)  # counting never waits behind timing
    assert counting.status_code == 200
    client.delete(f"/jobs/{first.json()['id']}")


def test_budget_over_the_limit_is_refused(client: TestClient) -> None:
    client.app.dependency_overrides[get_settings] = lambda: Settings(max_budget_s=5)
    r = client.post("/profile", json={**SMALL, "latency": {"budget_s": 50}})
    assert r.status_code == 422
    assert "PROFILER_MAX_BUDGET_S" in r.json()["detail"][0]["msg"]


def test_unknown_job_is_404(client: TestClient) -> None:
    assert client.get("/jobs/nope").status_code == 404
    assert client.delete("/jobs/nope").status_code == 404


def test_devices_show_their_roofs_once_measured(fresh_client: TestClient) -> None:
    client = fresh_client
    devices = client.get("/devices").json()
    assert devices[0]["device"] == "cpu" and devices[0]["threads"] >= 1 and devices[0]["waiting"] == 0
    assert len(devices) == 1 + torch.cuda.device_count()
    assert devices[0]["roofs"] is None and "first latency measurement" in devices[0]["roofs_note"]
    assert client.post("/profile", json={**SMALL, "latency": {"budget_s": 1}}).status_code == 200
    roofs = client.get("/devices").json()[0]["roofs"]
    assert roofs["flops_per_s"]["float32"] > 0 and roofs["bytes_per_s"] > 0 and "torch.mm" in roofs["method"]


def test_a_real_out_of_memory_is_reported_and_the_device_is_free_after() -> None:
    # With the timing limit raised, a 3.3 TB input: the host allocator refuses it in the timing process.
    huge = {
        "in_channels": 3,
        "resolution": 8192,
        "classifier": None,
        "batch_size": 4096,
        "stages": [{"block": "conv", "c": 8, "k": 1}],
        "latency": {"budget_s": 1},
    }
    with TestClient(create_app(Settings(max_timing_bytes=2**60))) as client:
        r = client.post("/profile", json=huge)
        assert r.status_code == 200
        (cpu,) = r.json()["latency"]
        assert cpu["error"].startswith("out of memory on cpu timing batch 4096 in float32")
        assert "lower latency.batch_size" in cpu["error"] and "can't allocate memory" in cpu["error"]
        again = client.post("/profile", json={**SMALL, "latency": {"budget_s": 1}})
        assert again.status_code == 200 and again.json()["latency"][0]["end_to_end"]["median_ms"] > 0


def test_a_timing_process_that_dies_is_reported_and_replaced(client: TestClient) -> None:
    slow = {"preset": "resnet50", "latency": {"per_layer": True, "budget_s": 60, "target_ci": 1e-6, "job": True}}
    job_id = client.post("/profile", json=slow).json()["id"]
    poll_job(client, job_id, {"running"})
    timing = client.app.state.workers.processes["cpu"]
    deadline = time.monotonic() + 300
    while (timing.process is None or not timing.process.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker thread may still be starting the process
    process = timing.process
    time.sleep(1)  # into the measurement
    os.kill(process.pid, signal.SIGKILL)  # as the kernel's OOM killer would
    status = poll_job(client, job_id, {"failed"})
    assert "timing process for cpu died (exit code -9" in status["report"]["latency"][0]["error"]
    r = client.post("/profile", json={**SMALL, "latency": {"budget_s": 1}})
    assert r.status_code == 200 and r.json()["latency"][0]["end_to_end"]["median_ms"] > 0
    assert client.app.state.workers.processes["cpu"].process.pid != process.pid


def test_the_measurement_runs_outside_the_server_process(client: TestClient) -> None:
    r = client.post("/profile", json={**SMALL, "latency": {"budget_s": 1}})
    assert r.status_code == 200
    child = client.app.state.workers.processes["cpu"].process
    assert child.is_alive() and child.pid != os.getpid()


def test_a_forward_that_cannot_fit_its_budget_is_refused_before_any_work(client: TestClient) -> None:
    assert client.post("/profile", json={**SMALL, "latency": {"budget_s": 1}}).status_code == 200  # roofs known
    roofs = client.get("/devices").json()[0]["roofs"]
    big = {"in_channels": 1024, "resolution": 256, "classifier": None, "stages": [{"block": "conv", "c": 1024}]}
    flops = 2 * 1024 * 1024 * 9 * 256 * 256  # written out: 2 x C_in x C_out x k x k x H x W
    # Half what the measured peak allows; under the limit on budgets even when a loaded host measured a low peak.
    budget = min(0.5 * flops / roofs["flops_per_s"]["float32"], 100.0)
    r = client.post("/profile", json={**big, "latency": {"budget_s": budget}})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"] == ["body", "latency", "budget_s"] and "predicted to take at least" in detail["msg"]
    assert client.app.state.workers.waiting("cpu") == 0  # nothing was queued
