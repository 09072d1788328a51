"""Faults through a real uvicorn server: a client that disconnects mid-measurement, and a synchronous
measurement that outlives PROFILER_SYNC_WAIT_S, leave no device held and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live_server import live_server

SLOW = {"preset": "resnet50", "latency": {"devices": ["cpu"], "per_layer": True, "budget_s": 60, "target_ci": 1e-6}}
QUICK = {"preset": "mobilenet_v3_small", "resolution": 32, "latency": {"devices": ["cpu"], "budget_s": 1}}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("store") / "store.sqlite3"
    with live_server(store, PROFILER_SYNC_WAIT_S="4", PROFILER_MAX_BUDGET_S="60") as url:
        yield url


def _stored_named(base: str, name: str) -> int:
    return httpx.get(f"{base}/profiles", params={"name": name}).json()["total"]


def test_a_client_that_disconnects_frees_the_device_and_stores_nothing(base: str) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base}/profile", json={**SLOW, "name": "gone-away"}, timeout=1.5)  # then the client hangs up
    # The device is free: a measurement queued behind the abandoned one (60 s budget) is answered at once.
    r = httpx.post(f"{base}/profile", json=QUICK, timeout=30)
    assert r.status_code == 200 and r.json()["latency"][0]["end_to_end"]["median_ms"] > 0
    assert _stored_named(base, "gone-away") == 0


def test_a_measurement_past_the_sync_wait_is_504_frees_the_device_and_stores_nothing(base: str) -> None:
    r = httpx.post(f"{base}/profile", json={**SLOW, "name": "too-slow"}, timeout=60)
    assert r.status_code == 504
    assert "latency.job = true" in r.json()["detail"]
    r = httpx.post(f"{base}/profile", json=QUICK, timeout=30)
    assert r.status_code == 200 and "end_to_end" in r.json()["latency"][0]
    assert _stored_named(base, "too-slow") == 0
