"""Is the server still responsive while big work runs? ``GET /health`` is timed every 50 ms while eight clients
download the per-layer CSV of a big stored comparison and six clients send big fresh counts, all at the size
cap (``PROFILER_MAX_LAYERS``). Target: /health under 50 ms (its p99 and max are printed, beside a quiet run).

    python -m bench.responsiveness [--seconds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.live_server import live_server

BIG_ROWS = 330  # inverted residual blocks with SE: about 15 rows each, just under the 5,000-row cap


def _big(name: str) -> dict:
    return {
        "name": name,
        "resolution": 64,
        "classifier": None,
        "stages": [{"block": "inverted_residual", "c": 16, "n": BIG_ROWS, "se": True}],
    }


def _health_ms(base: str, seconds: float) -> list[float]:
    out = []
    with httpx.Client(base_url=base, timeout=60) as client:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            start = time.perf_counter()
            client.get("/health").raise_for_status()
            out.append((time.perf_counter() - start) * 1e3)
            time.sleep(0.05)
    return out


def _summary(label: str, samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return (
        f"{label:<34} /health p50 {statistics.median(samples):6.1f} ms  p99 {q[98]:6.1f} ms  "
        f"max {max(samples):6.1f} ms  ({len(samples)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp) / "store.sqlite3") as base:
        with httpx.Client(base_url=base, timeout=300) as client:
            big = client.post("/compare", json={"a": _big("a"), "b": _big("b")})
            big.raise_for_status()
            csv_url = f"/profiles/{big.json()['id']}/layers.csv"
            size = len(big.content)
            csv_size = len(client.get(csv_url).content)
        print(
            f"# big comparison: {size / 1e6:.1f} MB of JSON, its CSV {csv_size / 1e6:.1f} MB; a big count has "
            f"{BIG_ROWS * 15 + 1} rows"
        )
        quiet = _health_ms(base, args.seconds / 2)

        stop = threading.Event()
        done = {"csv": 0, "count": 0}

        def download() -> None:
            with httpx.Client(base_url=base, timeout=300) as c:
                while not stop.is_set():
                    c.get(csv_url).raise_for_status()
                    done["csv"] += 1

        def count(worker: int) -> None:
            with httpx.Client(base_url=base, timeout=300) as c:
                i = 0
                while not stop.is_set():
                    i += 1
                    c.post("/profile", json=_big(f"big-{worker}-{i}")).raise_for_status()  # fresh: never cached
                    done["count"] += 1

        threads = [threading.Thread(target=download) for _ in range(8)]
        threads += [threading.Thread(target=count, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        time.sleep(1)
        try:
            busy = _health_ms(base, args.seconds)
        finally:
            stop.set()
            for t in threads:
                t.join()
    print(_summary("quiet", quiet))
    print(_summary("8 CSV downloads + 6 big counts", busy))
    print(f"# meanwhile: {done['csv']} CSV downloads and {done['count']} big counts answered")
    worst = statistics.quantiles(busy, n=100)[98]
    print(f"target: /health p99 under 50 ms while busy: {'met' if worst < 50 else 'NOT met'} ({worst:.1f} ms)")


if __name__ == "__main__":
    main()
