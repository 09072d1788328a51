"""Counting speed: the service's shape counter against fvcore and ptflops run directly on the same model,
in one run. Prints medians and ratios; no assertion (targets: >= 50x faster than fvcore, <= 10 ms a count).

    python -m bench.count_speed [--repeats N]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import torch
from fvcore.nn import FlopCountAnalysis
from ptflops import get_model_complexity_info

from profiler import build_model, parse_spec, profile

CASES = [("mobilenet_v2", 224), ("resnet50", 1024)]
PORT = 8765


@contextmanager
def server() -> Iterator[httpx.Client]:
    """The service under uvicorn on loopback, as users run it."""
    store = tempfile.mkdtemp(prefix="bench-store-")  # a fresh store: nothing answered from an earlier run
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(PORT), "--log-level", "warning"],
        env={**os.environ, "PROFILER_STORE_PATH": f"{store}/profiles.sqlite3"},
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            for _ in range(300):
                try:
                    client.get("/health").raise_for_status()
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(store, ignore_errors=True)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: first-call imports and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fvcore_count(model: torch.nn.Module, x: torch.Tensor) -> None:
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.by_module()


def ptflops_count(model: torch.nn.Module, shape: tuple[int, ...]) -> None:
    get_model_complexity_info(model, shape, as_strings=False, print_per_layer_stat=False, verbose=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of fvcore/ptflops (ours: 20x more)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(torch.get_num_threads())
    print(
        f"# count speed; {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )
    header = f"{'model':<14}{'res':>6}{'ours core ms':>14}{'ours HTTP ms':>14}{'fvcore ms':>12}{'ptflops ms':>12}"
    print(header + f"{'x fvcore':>10}{'x ptflops':>11}")
    with server() as client:
        for name, res in CASES:
            _case(client, name, res, args.repeats)
    print("# ours core: a full per-layer count from shapes (spec validation, plan, counts, JSON-ready report);")
    print("# ours HTTP: POST /profile to uvicorn on loopback, response read; fvcore: FlopCountAnalysis(...)")
    print("# .by_module() on the built model; ptflops: get_model_complexity_info. Both run a real forward at")
    print("# that resolution. Ratios: fvcore (ptflops) time over ours (core).")


def _case(client: httpx.Client, name: str, res: int, repeats: int) -> None:
    data = {"preset": name, "resolution": res}
    ours = median_seconds(lambda: profile(data).to_dict(), repeats * 20)
    http = median_seconds(lambda: client.post("/profile", json=data).raise_for_status().json(), repeats * 20)
    model = build_model(parse_spec(data))
    x = torch.zeros(1, 3, res, res)
    with torch.no_grad():
        fv = median_seconds(lambda: fvcore_count(model, x), repeats)
        pt = median_seconds(lambda: ptflops_count(model, (3, res, res)), repeats)
    print(
        f"{name:<14}{res:>6}{ours * 1e3:>14.2f}{http * 1e3:>14.2f}{fv * 1e3:>12.1f}{pt * 1e3:>12.1f}"
        f"{fv / ours:>10.0f}{pt / ours:>11.0f}"
    )


if __name__ == "__main__":
    main()
