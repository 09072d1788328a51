"""The Ray backend on a local multi-node cluster (``ray.cluster_utils.Cluster``): a head that is a CPU
benchmark host, a node with two (fake) H100s, a node with one (fake) A10G. What is checked comes from Ray and
the OS (the node and GPU each measurement ran on, its pid and time window), not from the code under test."""

from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from profiler import MeasurementCancelled, MeasurementFailed  # noqa: E402
from profiler.cluster import RayCluster  # noqa: E402
from profiler.cluster.devices import ClusterDevices  # noqa: E402
from tests.cluster.timed import Where  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STORE = 80 * 2**20  # each node's object store: the least Ray allows, nothing large crosses it


@pytest.fixture(scope="module")
def cluster() -> Any:
    # The nodes' workers import this package's tests (what they run): they inherit PYTHONPATH.
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), before) if p)
    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "resources": {"cpu_bench": 1},
            "object_store_memory": STORE,
            "include_dashboard": False,
        },
    )
    c.h100 = c.add_node(num_cpus=1, num_gpus=2, resources={"accelerator_type:H100": 1}, object_store_memory=STORE)
    c.a10g = c.add_node(num_cpus=0, num_gpus=1, resources={"accelerator_type:A10G": 1}, object_store_memory=STORE)
    ray.init(address=c.address, namespace="archprofiler", log_to_driver=False)
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


@pytest.fixture(scope="module")
def devices(cluster: Any) -> ClusterDevices:
    d = ClusterDevices(RayCluster(cluster.address), queue_size=8)
    deadline = time.monotonic() + 300  # every actor started before the tests time anything (a slow host: slowly)
    while any(entry.get("state") != "ready" for entry in d.describe() if "/" in entry["device"]):
        assert time.monotonic() < deadline, d.describe()
    return d


def _idle(devices: ClusterDevices) -> None:
    """Wait until no device has a measurement in flight (a job's result is readable a moment before its device
    counts it as done)."""
    deadline = time.monotonic() + 60
    while any(devices.waiting(d) for d in devices.devices):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _node(devices: ClusterDevices, device_id: str) -> str:
    return devices.devices[device_id].node_id


def test_one_device_per_gpu_and_per_cpu_benchmark_node(cluster: Any, devices: ClusterDevices) -> None:
    listed = {d["device"]: d for d in devices.describe()}
    head = cluster.head_node.node_id
    h100, a10g = cluster.h100.node_id, cluster.a10g.node_id
    assert set(listed) >= {f"{head[:8]}/cpu", f"{h100[:8]}/cuda:0", f"{h100[:8]}/cuda:1", f"{a10g[:8]}/cuda:0"}
    assert not any(d.startswith((h100[:8] + "/cpu", a10g[:8] + "/cpu")) for d in listed)  # not benchmark hosts
    assert all(listed[d]["state"] == "ready" for d in listed if "/" in d)
    assert listed[f"{h100[:8]}/cuda:0"]["kind"] == "H100" and listed[f"{a10g[:8]}/cuda:0"]["kind"] == "A10G"
    assert listed[f"{h100[:8]}/cuda:0"]["node"] == h100
    # A whole GPU each: Ray gave the two actors of the H100 node different GPUs.
    gpus = {tuple(listed[f"{h100[:8]}/cuda:{i}"]["gpu_ids"]) for i in (0, 1)}
    assert gpus == {("0",), ("1",)}
    # The CPU actor's torch threads are set to its node's CPUs (Ray's workers start with one).
    assert listed[f"{head[:8]}/cpu"]["threads"] == 2
    assert listed[f"{head[:8]}/cpu"]["also"] == "cpu"  # the server runs on the head: its `cpu` is this device


def test_names_and_kinds_route_to_the_matching_nodes(cluster: Any, devices: ClusterDevices) -> None:
    h100, a10g, head = cluster.h100.node_id, cluster.a10g.node_id, cluster.head_node.node_id
    routes = {
        "kind:A10G": a10g,
        "kind:a10g": a10g,
        "kind:cpu_bench": head,
        "cpu": head,  # this server's own host, in the cluster
        f"{h100[:8]}/cuda:1": h100,
    }
    for name, node in routes.items():
        job = devices.submit(devices.pick(name), Where(0.05))
        assert job.future.result(120)["node"] == node, name
    # Two measurements for kind:H100 at once: the least busy device takes each, so both GPUs run one.
    _idle(devices)
    first = devices.submit(devices.pick("kind:H100"), Where(1.0))
    second = devices.submit(devices.pick("kind:H100"), Where(1.0))
    assert {first.device, second.device} == {f"{h100[:8]}/cuda:0", f"{h100[:8]}/cuda:1"}
    ran = [first.future.result(120), second.future.result(120)]
    assert {r["node"] for r in ran} == {h100} and {tuple(r["gpu_ids"]) for r in ran} == {("0",), ("1",)}
    assert set(devices.expand("kind:gpu")) == {f"{h100[:8]}/cuda:0", f"{h100[:8]}/cuda:1", f"{a10g[:8]}/cuda:0"}


def test_unknown_devices_and_kinds_name_what_there_is(devices: ClusterDevices) -> None:
    from profiler import DeviceUnavailableError

    with pytest.raises(DeviceUnavailableError, match=r"no device of kind 'TPU'.*kind:H100"):
        devices.pick("kind:TPU")
    with pytest.raises(DeviceUnavailableError, match="the cluster has no such device"):
        devices.pick("ffffffff/cuda:7")


def test_a_device_never_runs_two_measurements_at_once(cluster: Any, devices: ClusterDevices) -> None:
    """Two servers (two ClusterDevices, each with its own queue) send to the same device at once: the device's
    one actor runs them one after the other."""
    other = ClusterDevices(RayCluster(cluster.address), queue_size=8)
    device = f"{cluster.a10g.node_id[:8]}/cuda:0"
    other.refresh()
    jobs = [w.submit(device, Where(0.4)) for _ in range(3) for w in (devices, other)]
    windows = sorted((r["start"], r["end"]) for r in (j.future.result(120) for j in jobs))
    assert len({r["pid"] for r in (j.future.result() for j in jobs)}) == 1  # one actor
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert start >= end, windows


def test_a_killed_actor_fails_its_measurement_clearly_and_is_restarted(cluster: Any, devices: ClusterDevices) -> None:
    device = f"{cluster.h100.node_id[:8]}/cuda:0"
    before = devices.submit(device, Where(0.05)).future.result(120)["pid"]
    job = devices.submit(device, Where(60.0))
    deadline = time.monotonic() + 120
    while job.progress.done_steps == 0:  # running on the actor
        assert time.monotonic() < deadline, "the measurement never started"
        time.sleep(0.05)
    os.kill(before, signal.SIGKILL)  # the actor's process dies mid-measurement (a crash, the OOM killer)
    with pytest.raises(MeasurementFailed, match=rf"timing actor for {device} died while measuring.*restarts it"):
        job.future.result(120)
    after = devices.submit(device, Where(0.05)).future.result(180)
    assert after["pid"] != before and after["node"] == cluster.h100.node_id


def test_cancel_and_overrun_end_the_running_measurement(cluster: Any, devices: ClusterDevices) -> None:
    device = f"{cluster.h100.node_id[:8]}/cuda:1"
    job = devices.submit(device, Where(60.0))
    while job.progress.done_steps == 0:
        time.sleep(0.05)
    job.cancel()
    with pytest.raises(MeasurementCancelled):
        job.future.result(60)
    devices.devices[device].runner.grace_s = 0.5
    try:
        with pytest.raises(MeasurementFailed, match="overran its budget of 1 s"):
            devices.submit(device, Where(60.0, budget_s=1.0)).future.result(120)
    finally:
        devices.devices[device].runner.grace_s = 10.0
    assert devices.submit(device, Where(0.05)).future.result(180)["node"] == cluster.h100.node_id


def test_ray_asked_for_but_not_installed_names_the_extra() -> None:
    import subprocess

    script = (
        "import sys; sys.modules['ray'] = None\n"  # as if Ray were not installed
        "import runpy; runpy.run_module('app', run_name='__main__')\n"
    )
    env = {**os.environ, "PROFILER_BACKEND": "ray"}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "PROFILER_BACKEND=ray needs Ray" in done.stderr and "pip install 'archprofiler[ray]'" in done.stderr
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "from app.main import create_app\nfrom app.settings import Settings\n"
        "try:\n    create_app(Settings(backend='ray'))\nexcept RuntimeError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert "pip install 'archprofiler[ray]'" in done.stdout, done.stderr


# ---- the service with PROFILER_BACKEND=ray --------------------------------------------------------------

TINY = {"preset": "mobilenet_v3_small", "resolution": 64}


@pytest.fixture(scope="module")
def client(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    settings = Settings(
        backend="ray",
        ray_address=cluster.address,
        ray_sweep_points=100,
        count_timeout_s=900,  # a liveness ceiling: a Ray task's start on a loaded host took 175 s once
        store_path=tmp_path_factory.mktemp("ray-store") / "store.sqlite3",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_profile_measured_on_a_cluster_device(cluster: Any, client: Any) -> None:
    head = cluster.head_node.node_id
    devices = {d["device"]: d for d in client.get("/devices").json()}
    assert devices[f"{head[:8]}/cpu"]["kind"] and devices[f"{head[:8]}/cpu"]["waiting"] == 0
    r = client.post("/profile", json={**TINY, "latency": {"devices": ["kind:cpu_bench"], "budget_s": 1}})
    assert r.status_code == 200, r.text
    (entry,) = r.json()["latency"]
    assert entry["device"] == f"{head[:8]}/cpu" and entry["host"] and entry["threads"] == 2
    assert entry["end_to_end"]["repeats"] >= 2 and entry["end_to_end"]["median_ms"] > 0
    r = client.post("/profile", json={**TINY, "latency": {"devices": ["kind:TPU"]}})
    assert r.status_code == 422 and "no device of kind 'TPU'" in r.json()["detail"][0]["msg"]


def test_a_runtime_is_prepared_and_profiled_by_the_nodes_timing_actor(cluster: Any, client: Any) -> None:
    head = cluster.head_node.node_id
    latency = {"devices": ["kind:cpu_bench"], "runtimes": ["eager", "onnxruntime"], "budget_s": 1, "per_layer": True}
    r = client.post("/profile", json={**TINY, "latency": latency})
    assert r.status_code == 200, r.text
    eager, ort = r.json()["latency"]
    assert eager["device"] == ort["device"] == f"{head[:8]}/cpu" and ort["threads"] == 2
    assert ort["runtime"]["name"] == "onnxruntime" and ort["runtime"]["prepare_s"] > 0
    assert ort["end_to_end"]["median_ms"] > 0
    rows = ort["per_layer"]["layers"]  # the node events of the session the actor prepared
    assert any("features.0.conv" in row["layers"] for row in rows)
    # A GPU runtime the image lacks (every node runs the same image) is refused before anything is sent.
    if importlib.util.find_spec("tensorrt") is not None:
        return
    r = client.post("/profile", json={**TINY, "latency": {"devices": ["kind:A10G"], "runtimes": ["tensorrt"]}})
    assert r.status_code == 422 and "archprofiler[gpu]" in r.json()["detail"][0]["msg"], r.text


def test_a_latency_sweep_spreads_over_every_matching_device(cluster: Any, client: Any) -> None:
    h100 = cluster.h100.node_id[:8]
    body = {
        "base": TINY,
        "grid": {"width_multiplier": [0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25]},
        "latency": {"devices": ["kind:H100"], "budget_s": 1},
    }
    r = client.post("/sweep", json=body)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 300
    while client.get(f"/jobs/{r.json()['id']}").json()["state"] not in {"done", "failed"}:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    answer = client.get(f"/sweeps/{r.json()['id']}").json()
    assert answer["latency_devices"] == [f"{h100}/cuda:0", f"{h100}/cuda:1"]
    used = [p["latency"][0]["device"] for p in answer["points"]]
    assert set(used) == {f"{h100}/cuda:0", f"{h100}/cuda:1"}, used
    # The GPUs are Ray's fake ones: each point's measurement reached its node, which has no CUDA, and says so.
    assert all("cuda" in p["latency"][0]["error"].lower() for p in answer["points"]), answer["points"][0]


def test_a_large_count_only_sweep_is_split_into_ray_tasks(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    calls = []
    original = RayCluster.map

    def spy(self: RayCluster, fn: Any, shared: Any, arg_lists: list) -> list:
        calls.append(len(arg_lists))
        return original(self, fn, shared, arg_lists)

    monkeypatch.setattr(RayCluster, "map", spy)
    body = {"base": TINY, "grid": {"width_multiplier": [0.25, 0.5, 0.75], "resolution": list(range(64, 144, 2))}}
    r = client.post("/sweep", json=body)
    assert r.status_code == 200, r.text
    assert calls and calls[0] >= 1  # 120 points, over ray_sweep_points = 100
    with TestClient(create_app()) as local:  # the same sweep counted by this host's processes
        expected = local.post("/sweep", json=body).json()
    assert r.json()["points"] == expected["points"] and r.json()["pareto"] == expected["pareto"]
