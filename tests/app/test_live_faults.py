"""Faults through a real uvicorn server: a client that disconnects mid-measurement, and a synchronous
measurement that outlives PROFILER_SYNC_WAIT_S, leave no device held and nothing stored.

Nothing here depends on this host's speed: the device is shown free by a measurement queued behind the
abandoned one (a job, polled with a generous ceiling); "nothing stored" is checked once that job is done, so
the abandoned measurement has ended by then (one measurement per device at a time), and had it not been
cancelled it would have run its 60 s budget and been stored."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.live_server import live_server

SLOW = {"preset": "resnet50", "latency": {"devices": ["cpu"], "per_layer": True, "budget_s": 60, "target_ci": 1e-6}}
QUICK = {"preset": "mobilenet_v3_small", "resolution": 32, "latency": {"devices": ["cpu"], "budget_s": 1, "job": True}}
LIVENESS_S = 300  # only catches a hang


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("store") / "store.sqlite3"
    with live_server(store, PROFILER_SYNC_WAIT_S="4", PROFILER_MAX_BUDGET_S="60") as url:
        yield url


def _stored_named(base: str, name: str) -> int:
    return httpx.get(f"{base}/profiles", params={"name": name}, timeout=60).json()["total"]


def _measure_behind(base: str) -> dict:
    """A quick measurement queued behind whatever holds the device, as a job; its final status."""
    r = httpx.post(f"{base}/profile", json=QUICK, timeout=60)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + LIVENESS_S
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/jobs/{r.json()['id']}", timeout=60).json()
        if status["state"] not in {"queued", "running"}:
            return status
        time.sleep(0.1)
    raise AssertionError(f"the device was not freed within {LIVENESS_S} s")


def test_a_client_that_disconnects_frees_the_device_and_stores_nothing(base: str) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base}/profile", json={**SLOW, "name": "gone-away"}, timeout=1.5)  # then the client hangs up
    status = _measure_behind(base)
    assert status["state"] == "done" and status["report"]["latency"][0]["end_to_end"]["median_ms"] > 0
    assert _stored_named(base, "gone-away") == 0


def test_a_measurement_past_the_sync_wait_is_504_frees_the_device_and_stores_nothing(base: str) -> None:
    r = httpx.post(f"{base}/profile", json={**SLOW, "name": "too-slow"}, timeout=LIVENESS_S)
    assert r.status_code == 504
    assert "latency.job = true" in r.json()["detail"]
    status = _measure_behind(base)
    assert status["state"] == "done" and "end_to_end" in status["report"]["latency"][0]
    assert _stored_named(base, "too-slow") == 0
