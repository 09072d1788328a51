"""Load on loopback: the service under uvicorn in one process, this process sending count-only
POST /profile from 32 concurrent clients (httpx async). Prints req/s, p50, p99 and errors, for identical
specs and for fresh specs (every request a different width/resolution). Bounded in count and time.

    python -m bench.load [--clients 32] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.count_speed import server


async def _run(base: str, bodies: list[dict], clients: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            while not queue.empty():
                body = queue.get_nowait()
                start = time.perf_counter()
                try:
                    r = await client.post("/profile", json=body)
                    await r.aread()
                    if r.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - start, latencies, errors


def _report(label: str, elapsed: float, latencies: list[float], errors: int) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(f"{label:<34}{len(latencies) / elapsed:>9.0f}{q[49] * 1e3:>10.1f}{q[98] * 1e3:>10.1f}{errors:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    identical = [{"preset": "mobilenet_v2"}] * args.requests
    fresh = [{"preset": "mobilenet_v2", "width_multiplier": 0.25 + (i % 400) / 200, "resolution": 96 + i % 512}
             for i in range(args.requests)]  # fmt: skip
    print(f"# {args.clients} clients, {args.requests} requests each run, count-only POST /profile (MobileNetV2)")
    print(f"{'case':<34}{'req/s':>9}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    with server() as sync_client:
        base = str(sync_client.base_url)
        for label, bodies in (("identical spec", identical), ("fresh specs (width, resolution)", fresh)):
            _report(label, *asyncio.run(_run(base, bodies, args.clients)))


if __name__ == "__main__":
    main()
