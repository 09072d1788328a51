"""A 40-point CPU latency sweep through the service with PROFILER_BACKEND=ray, on a simulated cluster of one
and then of two CPU benchmark nodes (``ray.cluster_utils.Cluster``, ``cpu_bench`` resource, one CPU each),
the service spreading the points over ``kind:cpu_bench``. Prints each run's wall time, the speed-up, and what
the two simulated nodes share (the same machine's cores, caches and memory bus): the per-point medians of the
two-node run against the one-node run's, and each run's quality verdicts. No assertion.

    python -m bench.ray_sweep [--budget 0.5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from typing import Any

import ray
from fastapi.testclient import TestClient
from ray.cluster_utils import Cluster

from app.main import create_app
from app.settings import Settings

STORE = 80 * 2**20
POINTS = {  # 40 MobileNetV3-Small variants: 10 widths x 4 resolutions
    "width_multiplier": [0.25 + 0.075 * i for i in range(10)],
    "resolution": [64, 80, 96, 112],
}


def run(nodes: int, budget_s: float, target_ci: float) -> dict[str, Any]:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": STORE})
    for _ in range(nodes):
        cluster.add_node(num_cpus=1, resources={"cpu_bench": 1}, object_store_memory=STORE)
    ray.init(address=cluster.address, namespace="archprofiler", log_to_driver=False)
    settings = Settings(
        backend="ray", ray_address=cluster.address, store_path=os.path.join(tempfile.mkdtemp(), "s.sqlite3")
    )
    try:
        with TestClient(create_app(settings)) as client:
            devices = [d for d in client.get("/devices").json() if "/" in d["device"]]  # actors started
            body = {
                "base": {"preset": "mobilenet_v3_small"},
                "grid": POINTS,
                "latency": {"devices": ["kind:cpu_bench"], "budget_s": budget_s, "warmup": 5, "target_ci": target_ci},
            }
            start = time.perf_counter()
            job = client.post("/sweep", json=body).json()
            while client.get(f"/jobs/{job['id']}").json()["state"] not in {"done", "failed", "cancelled"}:
                time.sleep(0.05)
            wall = time.perf_counter() - start
            answer = client.get(f"/sweeps/{job['id']}").json()
    finally:
        ray.shutdown()
        cluster.shutdown()
    entries = [p["latency"][0] for p in answer["points"]]
    return {
        "nodes": nodes,
        "devices": [d["device"] for d in devices],
        "wall_s": wall,
        "per_device": {d: sum(e["device"] == d for e in entries) for d in {e["device"] for e in entries}},
        "medians": [e["end_to_end"]["median_ms"] for e in entries],
        "measuring_s": sum(e["seconds"] for e in entries),
        "verdicts": [e["quality"]["verdict"] for e in entries],
        "threads": {e["threads"] for e in entries},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=0.5, help="latency.budget_s of each point")
    args = parser.parse_args()
    print(f"host: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; ray {ray.__version__}")
    print(f"sweep: 40 MobileNetV3-Small points (10 widths x 4 resolutions), budget {args.budget} s each")
    modes = {
        "fixed work (target_ci 1e-4: every point runs its whole budget)": 1e-4,
        "stopping rule (target_ci 0.02, the default: a point stops once its median is known to 2%)": 0.02,
    }
    for mode, target_ci in modes.items():
        print(f"\n{mode}")
        one, two = run(1, args.budget, target_ci), run(2, args.budget, target_ci)
        for r in (one, two):
            verdicts = {v: r["verdicts"].count(v) for v in sorted(set(r["verdicts"]))}
            print(
                f"  {r['nodes']} node(s): {r['wall_s']:.1f} s wall, {40 / r['wall_s']:.2f} points/s; points per device "
                f"{sorted(r['per_device'].values())}; torch threads {sorted(r['threads'])}; verdicts {verdicts}; "
                f"devices measuring {r['measuring_s'] / (r['wall_s'] * r['nodes']):.0%} of the wall time"
            )
        print(f"  speed-up, 2 nodes over 1: {one['wall_s'] / two['wall_s']:.2f}x")
        ratios = [b / a for a, b in zip(one["medians"], two["medians"], strict=True)]
        print(
            f"  per-point median, 2-node run over 1-node run: median {statistics.median(ratios):.2f}, range "
            f"{min(ratios):.2f} to {max(ratios):.2f} (1.00: the nodes did not slow each other)"
        )
    print(
        "\nshared: the simulated nodes are processes of this one machine. Two single-thread actors take both of its "
        "cores, beside the service and the raylets; they share its caches and memory bus, and each one's contention "
        "probe sees the other (the verdicts). Real nodes share none of it."
    )


if __name__ == "__main__":
    main()
