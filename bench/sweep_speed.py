"""Count-only sweep speed: POST /sweep of MobileNetV2 variants (an α × ρ grid, never seen before) for 100, 1,000
and 10,000 points, answered by the service under uvicorn (its sweep processes, one per core), against fvcore's
time per spec (build the model, trace a forward) in the same run. Target: 10,000 points in <= 2 s (>= 5,000
specs/s) on a 2-core machine. Prints figures and ratios; no assertion.

    python -m bench.sweep_speed [--repeats 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import time

import torch
from fvcore.nn import FlopCountAnalysis

from bench.count_speed import server
from profiler import build_model, parse_spec
from profiler.sweep import sweep

SIZES = (100, 1_000, 10_000)


def grid(points: int, run: int) -> dict[str, list[float | int]]:
    """About ``points`` α × ρ points; ``run`` shifts the widths so that no request is answered from the store."""
    alphas = max(1, points // 100)
    rhos = points // alphas
    return {
        "width_multiplier": [round(0.35 + 1.05 * i / alphas + run * 1e-4, 6) for i in range(alphas)],
        "resolution": [96 + 2 * j for j in range(rhos)],
    }


def fvcore_seconds_per_spec(repeats: int) -> float:
    """One MobileNetV2 variant as a user would count it with fvcore: build, trace, total."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        model = build_model(parse_spec({"preset": "mobilenet_v2", "width_multiplier": 0.5 + 0.1 * i}))
        with torch.no_grad():
            analysis = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            analysis.total()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first pays fvcore's imports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    cores = len(os.sched_getaffinity(0))
    print(
        f"# count-only sweep speed; {platform.processor() or platform.machine()}, {cores} cores, MobileNetV2 variants"
    )
    fvcore_s = fvcore_seconds_per_spec(args.repeats)
    run = 0
    with server() as client:
        start = time.perf_counter()
        client.post("/sweep", json={"base": {"preset": "mobilenet_v2"}, "grid": grid(100, 9999)}).raise_for_status()
        print(f"first sweep after start (spawns the sweep processes): {time.perf_counter() - start:.2f} s")
        print(f"{'points':>8}{'HTTP s':>9}{'specs/s':>10}{'core s (1 proc)':>17}{'core specs/s':>14}{'x fvcore':>10}")
        for size in SIZES:
            http, core = [], []
            for _ in range(args.repeats):
                run += 1
                g = grid(size, run)
                n = len(g["width_multiplier"]) * len(g["resolution"])
                start = time.perf_counter()
                body = client.post("/sweep", json={"base": {"preset": "mobilenet_v2"}, "grid": g}, timeout=120).json()
                http.append(time.perf_counter() - start)
                assert len(body["points"]) == n and not body["cached"]
                start = time.perf_counter()
                sweep({"preset": "mobilenet_v2"}, g)
                core.append(time.perf_counter() - start)
            h, c = statistics.median(http), statistics.median(core)
            print(f"{n:>8}{h:>9.3f}{n / h:>10.0f}{c:>17.3f}{n / c:>14.0f}{fvcore_s * n / h:>10.0f}")
    print(f"# fvcore per spec (build + trace + total), median of {args.repeats}: {fvcore_s * 1e3:.0f} ms")
    print("# HTTP: POST /sweep to uvicorn on loopback, whole answer read (every point's totals, the Pareto front),")
    print("# stored; core: profiler.sweep.sweep() in this process (one core); x fvcore: fvcore's time for the")
    print("# same number of specs over ours (HTTP).")


if __name__ == "__main__":
    main()
