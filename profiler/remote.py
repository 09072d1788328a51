"""The command line's ``--server``: the same request sent to a server (a GPU host, say) with the client, its
latency run as a job behind a progress bar, the answer printed as a local one is."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from profiler_client import JobStatus, ProfilerClient


def _bar(desc: str, unit: str) -> tuple[tqdm, Any]:
    """A progress bar, and the callback that moves it from a job's status."""
    bar = tqdm(desc=desc, unit=unit, file=sys.stderr)

    def show(status: JobStatus) -> None:
        if "points_to_measure" in status:  # a sweep's points
            bar.total, done = status["points_to_measure"], status.get("points_measured", 0)
        else:  # a profile's devices, each its steps
            devices = status.get("devices") or []
            bar.total = sum(d["steps_total"] for d in devices) or None
            done = sum(d["steps_done"] for d in devices)
        bar.set_postfix_str(status["state"])
        bar.update(done - bar.n)

    return bar, show


def remote_profile(request: dict[str, Any], server: str, token: str | None) -> dict[str, Any]:
    with ProfilerClient(server, token=token) as client:
        latency = request.get("latency")
        if latency is None:
            return client.profile(request)
        job = client.submit_profile(request, latency=latency)
        bar, show = _bar(f"timing on {server}", "step")
        with bar:
            return client.wait(job["id"], progress=show)


def remote_sweep(request: dict[str, Any], server: str, token: str | None) -> dict[str, Any]:
    with ProfilerClient(server, token=token) as client:
        fields = {k: request[k] for k in ("batch_size", "layers", "latency") if k in request}
        if request.get("latency") is None:
            return client.sweep(request["base"], request.get("grid"), request.get("points"), **fields)
        bar, show = _bar(f"measuring on {server}", "point")
        with bar:
            return client.sweep(request["base"], request.get("grid"), request.get("points"), progress=show, **fields)
