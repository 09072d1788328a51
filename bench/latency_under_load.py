"""Does serving requests disturb a measurement? The same CPU latency request (MobileNetV3-Small at 160,
1 thread) sent to a running server three times: quiet, while wrk sends count-only requests (fresh specs,
32 connections), and quiet again. Once with timing in its own process per device (the default), once in a
thread of the server (PROFILER_TIMING_PROCESS=false), each in a fresh server.

    apt-get install wrk
    python -m bench.latency_under_load
"""

from __future__ import annotations

import os
import platform
import subprocess
import threading
import time

import httpx

from bench.count_speed import server
from bench.load import WRK_DIR

REQUEST = {
    "preset": "mobilenet_v3_small",
    "resolution": 160,
    "latency": {"devices": ["cpu"], "budget_s": 6, "threads": 1},
}


def measure(client: httpx.Client, name: str) -> dict:
    r = client.post("/profile", json={**REQUEST, "name": name}, timeout=120)
    r.raise_for_status()
    return r.json()["latency"][0]["end_to_end"]


def line(label: str, e: dict, quiet: float) -> str:
    lo, hi = e["ci95_ms"]
    return (
        f"  {label:<26}{e['median_ms']:>9.3f} ms  CI [{lo:.3f}, {hi:.3f}]  CV {e['cv']:>5.1%}  "
        f"n {e['repeats']:>4}  {e['stop']:<9} x{e['median_ms'] / quiet:.2f} of quiet"
    )


def main() -> None:
    print(f"# {platform.machine()}, {len(os.sched_getaffinity(0))} cores; {REQUEST}")
    for mode, env in (("timing process per device (default)", "true"), ("timing in a server thread", "false")):
        os.environ["PROFILER_TIMING_PROCESS"] = env
        with server() as client:
            measure(client, "warm-up")  # starts the timing process, first-call costs
            quiet = measure(client, "quiet")
            load = threading.Thread(
                target=subprocess.run,
                args=(["wrk", "-t1", "-c32", "-d10s", "-s", str(WRK_DIR / "fresh.lua"), f"{client.base_url}/profile"],),
                kwargs={"capture_output": True},
            )
            load.start()
            time.sleep(1)
            busy = measure(client, "under load")
            load.join()
            again = measure(client, "quiet again")
        print(mode)
        for label, e in (("quiet", quiet), ("under count load", busy), ("quiet again", again)):
            print(line(label, e, quiet["median_ms"]))


if __name__ == "__main__":
    main()
