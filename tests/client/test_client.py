"""The Python client against a live server (``python -m app`` in a child process): every call, the server's
refusals as typed exceptions with its message, jobs waited for with progress, 503s retried after Retry-After.

Figures are checked against the core run here on the same spec, and against formulas; nothing depends on this
host's speed (jobs are waited for with a generous ceiling)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from profiler import MemoryOptions, profile
from profiler_client import (
    AsyncProfilerClient,
    JobCancelled,
    NotFound,
    ProfilerClient,
    ServerUnavailable,
    ServerUnreachable,
    SpecRejected,
    Unauthorized,
)
from tests.live_server import free_port, live_server

TOKEN = "s3cret"
SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}
LIVENESS_S = 300


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("store") / "store.sqlite3"
    # No room behind a running measurement: a second one is refused with 503 and Retry-After at once.
    with live_server(store, PROFILER_API_TOKEN=TOKEN, PROFILER_TIMING_QUEUE_SIZE="0") as url:
        yield url


@pytest.fixture
def client(base: str) -> Iterator[ProfilerClient]:
    with ProfilerClient(base, token=TOKEN) as c:
        yield c


def test_profile_equals_the_core(client: ProfilerClient) -> None:
    report = client.profile({"preset": "mobilenet_v2"}, width_multiplier=0.5, resolution=160, batch_size=2)
    local = profile({"preset": "mobilenet_v2", "width_multiplier": 0.5, "resolution": 160}, batch_size=2)
    assert report["totals"]["macs"] == local.counts.totals.macs
    assert report["batch_size"] == 2 and report["input_shape"] == [2, 3, 160, 160]
    assert client.result(report["id"])["totals"] == report["totals"]


def test_a_preset_answer_is_a_spec(client: ProfilerClient) -> None:
    answer = client.preset("mnasnet1_0")
    assert answer["citation"]
    assert client.profile(answer)["totals"] == client.profile({"preset": "mnasnet1_0"})["totals"]
    assert {p["name"] for p in client.presets()} >= {"mobilenet_v2", "mnasnet1_0"}


def test_refusals_are_typed_and_carry_the_message(client: ProfilerClient, base: str) -> None:
    with pytest.raises(SpecRejected) as rejected:
        client.profile({"preset": "mobilenet_v2", "widht_multiplier": 0.5})
    assert rejected.value.status == 422
    assert "did you mean 'width_multiplier'" in str(rejected.value)
    assert rejected.value.problems[0][0] == "widht_multiplier"
    with pytest.raises(NotFound, match="no stored result"):
        client.result("0" * 32)
    with pytest.raises(NotFound):
        client.preset("mobilenet_v9")
    with ProfilerClient(base) as anonymous, pytest.raises(Unauthorized, match="Bearer"):
        anonymous.devices()
    with ProfilerClient(f"http://127.0.0.1:{free_port()}") as nowhere, pytest.raises(ServerUnreachable):
        nowhere.health()


def test_compare_and_its_csv(client: ProfilerClient) -> None:
    one = {"in_channels": 16, "resolution": 32, "classifier": None}
    body = client.compare(
        {**one, "stages": [{"block": "conv", "c": 32, "k": 3}]},
        {**one, "stages": [{"block": "depthwise_separable", "c": 32, "k": 3}]},
    )
    assert body["alignment"]["method"] == "role"
    assert body["ratios"]["macs"] == (16 * 9 + 16 * 32) / (16 * 32 * 9)
    csv = client.result_csv(body["id"]).splitlines()
    assert len(csv) == 1 + len(body["aligned_layers"]) == 1 + 6


def test_count_only_sweep(client: ProfilerClient) -> None:
    body = client.sweep({"preset": "mobilenet_v1"}, {"width_multiplier": [0.5, 1.0], "resolution": [128, 224]})
    assert len(body["points"]) == 4
    macs = {(p["values"]["width_multiplier"], p["values"]["resolution"]): p["totals"]["macs"] for p in body["points"]}
    assert macs[(1.0, 224)] == profile({"preset": "mobilenet_v1"}).counts.totals.macs


def test_memory_options_reach_the_server_from_profile_and_sweep(client: ProfilerClient) -> None:
    options = {"dtype": "int8", "inplace_depthwise": True, "budget_bytes": 2_000_000}
    report = client.profile({"preset": "mobilenet_v2"}, memory=options)
    local = profile({"preset": "mobilenet_v2"}, memory=MemoryOptions(**options)).memory
    assert local is not None and report["memory"]["peak_activation_bytes"] == local.peak_activation_bytes
    assert report["memory"]["fits"] is True
    answer = client.sweep({"preset": "mobilenet_v2"}, {"resolution": [224, 320]}, memory=options)
    assert [p["memory"]["fits"] for p in answer["points"]] == [True, False]
    assert answer["pareto_objectives"][-1] == "peak_activation_bytes"


def test_a_job_waited_for_with_progress(client: ProfilerClient) -> None:
    seen: list[dict] = []
    job = client.submit_profile({**SMALL, "name": "client-job"}, latency={"devices": ["cpu"], "budget_s": 1})
    assert job["state"] in {"queued", "running"}
    report = client.wait(job["id"], progress=seen.append, poll_s=0.05, timeout_s=LIVENESS_S)
    assert report["latency"][0]["end_to_end"]["median_ms"] > 0
    assert seen and seen[-1]["state"] == "done"
    assert all(s["id"] == job["id"] for s in seen)
    # Only changes are reported (polled every 50 ms, a 1 s measurement moves on far fewer times than polled):
    # no two calls in a row with the same state and steps.
    moved = [(s["state"], [(d["state"], d["steps_done"], d["steps_total"]) for d in s["devices"]]) for s in seen]
    assert all(a != b for a, b in itertools.pairwise(moved)), moved
    assert client.job(job["id"])["state"] == "done"

    page = client.results(name="client-job", kind="profile")
    assert page["total"] == 1 and page["items"][0]["id"] == job["id"]
    assert [r["id"] for r in client.iter_results(name="client-job", page=1)] == [job["id"]]
    client.delete_result(job["id"])
    with pytest.raises(NotFound):
        client.result(job["id"])


def test_a_measured_sweep_is_waited_for(client: ProfilerClient) -> None:
    statuses: list[dict] = []
    body = client.sweep(
        SMALL,
        {"width_multiplier": [0.5, 1.0]},
        latency={"devices": ["cpu"], "budget_s": 0.5},
        progress=statuses.append,
        timeout_s=LIVENESS_S,
    )
    assert [p["latency"][0]["end_to_end"]["median_ms"] > 0 for p in body["points"]] == [True, True]
    assert statuses[-1]["points_measured"] == 2


def test_a_cancelled_job_raises(client: ProfilerClient) -> None:
    slow = {"preset": "resnet50", "resolution": 224}
    job = client.submit_profile(slow, latency={"devices": ["cpu"], "budget_s": 60, "target_ci": 1e-6})
    client.cancel(job["id"])
    with pytest.raises(JobCancelled):
        client.wait(job["id"], poll_s=0.05, timeout_s=LIVENESS_S)


def test_503_is_retried_after_retry_after(base: str, client: ProfilerClient) -> None:
    job = client.submit_profile(SMALL, latency={"devices": ["cpu"], "budget_s": 2})
    # The device is taken and its queue holds nothing more: without retries, the 503 and its hint...
    with ProfilerClient(base, token=TOKEN, retries=0) as impatient, pytest.raises(ServerUnavailable) as busy:
        impatient.profile(SMALL, latency={"devices": ["cpu"], "budget_s": 1})
    assert busy.value.status == 503 and busy.value.retry_after_s >= 1
    assert "busy" in str(busy.value) or "queue" in str(busy.value)
    # ...with them, the request is sent again after each Retry-After until the device is free.
    with ProfilerClient(base, token=TOKEN, retries=LIVENESS_S, max_retry_wait_s=1) as patient:
        report = patient.profile(SMALL, latency={"devices": ["cpu"], "budget_s": 1})
    assert report["latency"][0]["end_to_end"]["median_ms"] > 0
    client.wait(job["id"], timeout_s=LIVENESS_S)


def test_async_client(base: str) -> None:
    async def session() -> None:
        async with AsyncProfilerClient(base, token=TOKEN) as client:
            counted, devices = await asyncio.gather(client.profile(SMALL), client.devices())
            assert counted["totals"]["macs"] == profile(SMALL).counts.totals.macs
            assert any(d["device"] == "cpu" for d in devices)
            with pytest.raises(SpecRejected, match="resolution"):
                await client.profile({**SMALL, "resolution": 0})
            seen: list[dict] = []
            job = await client.submit_profile({**SMALL, "name": "async-job"}, latency={"budget_s": 1})
            report = await client.wait(job["id"], progress=seen.append, poll_s=0.05, timeout_s=LIVENESS_S)
            assert report["latency"][0]["end_to_end"]["median_ms"] > 0 and seen[-1]["state"] == "done"
            found = [r["id"] async for r in client.iter_results(name="async-job")]
            assert found == [job["id"]]
            compared = await client.compare(SMALL, {**SMALL, "width_multiplier": 0.5})
            assert compared["alignment"]["method"] == "name"

    asyncio.run(session())
