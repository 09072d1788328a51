"""Load on loopback: the service under uvicorn (one process, as ``python -m app`` runs it, with a fresh store),
and wrk in a second process sending count-only POST /profile from 32 connections. wrk is C: it leaves the
server most of the second core, where a Python load generator (httpx) was measured to saturate before the
server did (2.8 ms of client CPU per request against 1.2 ms of server CPU).

Runs, each for --seconds:
  identical  the same spec every time: answered from the store (the in-memory recent answers)
  fresh      every request a spec never seen before: counted, written to SQLite (synced), answered
  presets    fresh specs drawn over all presets in turn (ResNet-152's report is 136 KB), against the rate at
             which the core alone counts the same specs in-process (``profile()``, one process per core):
             target >= 0.5 of it, with p99 <= 2 x p50
  mixed      fresh counting while latency requests (CPU, 1 thread) keep the cpu device's queue full:
             timing queues or is refused (503 + Retry-After); counting must stay fast

    apt-get install wrk
    python -m bench.load [--seconds 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.count_speed import server

WRK_DIR = Path(__file__).resolve().parent / "wrk"
TIMING = {
    "preset": "mobilenet_v3_small",
    "resolution": 96,
    "latency": {"devices": ["cpu"], "budget_s": 2, "threads": 1},
}


def wrk(base: str, script: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_DIR / script),
            f"{base}/profile",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    fields = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
    fields["rps"] = fields["requests"] / fields["seconds"]
    return fields


PRESETS_IN_TURN = [
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]  # the order of fresh_presets.lua


def preset_specs(n: int) -> list[dict]:
    """The specs fresh_presets.lua sends, request by request."""
    return [
        {
            "preset": PRESETS_IN_TURN[c % len(PRESETS_IN_TURN)],
            "name": "fresh",
            "width_multiplier": round(0.25 + (c % 400) / 200, 3),
            "resolution": 96 + c % 512,
        }
        for c in range(1, n + 1)
    ]


def _count_all(specs: list[dict]) -> float:
    import gc

    from profiler import profile

    gc.freeze()  # as the counting processes do
    profile(specs[0])
    start = time.perf_counter()
    for spec in specs:
        profile(spec)
    return time.perf_counter() - start


def in_process_rate(n: int = 2000) -> float:
    """Specs per second the core counts on every core of this host (one process each, as many as cores)."""
    cores = len(os.sched_getaffinity(0))
    specs = preset_specs(n)
    with multiprocessing.get_context("spawn").Pool(cores) as pool:
        pool.map(_count_all, [specs[:5]] * cores)  # imports
        start = time.perf_counter()
        pool.map(_count_all, [specs[i::cores] for i in range(cores)])
        return n / (time.perf_counter() - start)


def timing_clients(
    base: str, stop: threading.Event, clients: int
) -> tuple[Counter, list[float], list[threading.Thread]]:
    """Latency requests in a loop from ``clients`` threads (started): status counts, seconds of the 200s."""
    statuses: Counter = Counter()
    seconds: list[float] = []

    def loop() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            while not stop.is_set():
                start = time.perf_counter()
                r = http.post("/profile", json=TIMING)
                statuses[r.status_code] += 1
                if r.status_code == 200:
                    seconds.append(time.perf_counter() - start)
                elif r.status_code == 503:
                    stop.wait(float(r.headers.get("retry-after", 1)))

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    return statuses, seconds, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--timing-clients", type=int, default=8, help="latency requesters in the mixed run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install wrk")
    print(
        f"# {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores; "
        f"wrk -t1 -c{args.connections} -d{args.seconds}s; count-only POST /profile of MobileNetV2"
    )
    print(f"{'case':<44}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    with server() as client:
        base = str(client.base_url)
        wrk(base, "identical.lua", 2, args.connections)  # warm-up: first-call imports, the first count
        for label, script in (
            ("identical spec (answered from the store)", "identical.lua"),
            ("fresh specs (counted and stored)", "fresh.lua"),
        ):
            r = wrk(base, script, args.seconds, args.connections)
            print(f"{label:<44}{r['rps']:>8.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8.0f}")

        r = wrk(base, "fresh_presets.lua", args.seconds, args.connections)
        label = "fresh specs over all presets"
        print(f"{label:<44}{r['rps']:>8.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8.0f}")
        core = in_process_rate()
        print(
            f"  the core alone, in-process on {len(os.sched_getaffinity(0))} cores, the same specs: "
            f"{core:.0f} specs/s; "
            f"HTTP / core = {r['rps'] / core:.2f} (target >= 0.5); p99 / p50 = {r['p99_ms'] / r['p50_ms']:.2f} "
            "(target <= 2)"
        )

        stop = threading.Event()
        statuses, seconds, threads = timing_clients(base, stop, args.timing_clients)
        time.sleep(3)  # the cpu device busy and its queue filled before counting starts
        r = wrk(base, "fresh.lua", args.seconds, args.connections)
        stop.set()
        for t in threads:
            t.join()
        label = "fresh specs while cpu latency is measured"
        print(f"{label:<44}{r['rps']:>8.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8.0f}")
        median = f"{statistics.median(seconds):.1f} s" if seconds else "n/a"
        print(
            f"  latency requests from {args.timing_clients} clients meanwhile: "
            f"{dict(sorted(statuses.items()))} (status: count); median answer of the 200s {median}; "
            f"503s carried Retry-After and were retried after it"
        )


if __name__ == "__main__":
    main()
