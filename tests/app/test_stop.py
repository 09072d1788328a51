"""Stopping a real server: SIGTERM (docker stop, systemd) lets the requests in flight finish and a latency job
finish within the grace, then stores it; neither SIGTERM nor Ctrl-C leaves a traceback or a leaked semaphore."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests.live_server import free_port, start_server, stop_server

LIVENESS_S = 300  # only catches a hang
SMALL = {"preset": "mobilenet_v3_small", "resolution": 64}


def _wait_for(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + LIVENESS_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not {what} within {LIVENESS_S} s")


def _waiting_on_cpu(base: str) -> int:
    return next(d for d in httpx.get(f"{base}/devices", timeout=60).json() if d["device"] == "cpu")["waiting"]


def _exit_stderr(proc: subprocess.Popen) -> str:
    try:
        proc.wait(LIVENESS_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the server did not stop") from None
    return proc.stderr.read().decode() if proc.stderr else ""


def _clean(stderr: str) -> None:
    assert "leaked" not in stderr, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]


def test_sigterm_lets_requests_and_jobs_in_flight_finish(tmp_path: Path) -> None:
    store, port = tmp_path / "store.sqlite3", free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(store, port, PROFILER_SHUTDOWN_GRACE_S=str(LIVENESS_S))
    try:
        answers: list[httpx.Response] = []
        sync = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"{base}/profile", json={**SMALL, "latency": {"budget_s": 2}}, timeout=LIVENESS_S)
            )
        )
        sync.start()
        _wait_for(lambda: _waiting_on_cpu(base) == 1, "the synchronous measurement on the CPU")
        job = httpx.post(f"{base}/profile", json={**SMALL, "latency": {"budget_s": 2, "job": True}}, timeout=60)
        assert job.status_code == 202, job.text  # queued behind it: still in flight once the request is answered
        _wait_for(lambda: _waiting_on_cpu(base) == 2, "both measurements on the CPU")
        proc.send_signal(signal.SIGTERM)
        sync.join(LIVENESS_S)
        assert answers and answers[0].status_code == 200, answers
        assert answers[0].json()["latency"][0]["end_to_end"]["median_ms"] > 0
        stderr = _exit_stderr(proc)
    finally:
        stop_server(proc)
    _clean(stderr)
    assert "1 latency job(s) were in flight; 0 cancelled" in stderr

    proc = start_server(store, port)  # the job finished within the grace, and was stored
    try:
        stored = httpx.get(f"{base}/profiles/{job.json()['id']}", timeout=60)
        assert stored.status_code == 200
        assert stored.json()["latency"][0]["end_to_end"]["median_ms"] > 0
    finally:
        stop_server(proc)


def test_sigterm_past_the_grace_cancels_the_job_and_stores_nothing(tmp_path: Path) -> None:
    store, port = tmp_path / "store.sqlite3", free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(store, port, PROFILER_SHUTDOWN_GRACE_S="0")
    try:
        slow = {"preset": "resnet50", "latency": {"budget_s": 60, "target_ci": 1e-6, "job": True}}
        job = httpx.post(f"{base}/profile", json=slow, timeout=60).json()
        _wait_for(lambda: httpx.get(f"{base}/jobs/{job['id']}", timeout=60).json()["state"] == "running", "running")
        proc.send_signal(signal.SIGTERM)
        stderr = _exit_stderr(proc)
    finally:
        stop_server(proc)
    _clean(stderr)
    assert "1 latency job(s) were in flight; 1 cancelled" in stderr
    proc = start_server(store, port)
    try:
        assert httpx.get(f"{base}/profiles/{job['id']}", timeout=60).status_code == 404
    finally:
        stop_server(proc)


def test_ctrl_c_stops_every_process_quietly(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(tmp_path / "store.sqlite3", port, own_group=True)
    try:  # start every kind of worker process: counting, fvcore, sweep, timing
        for body in ({**SMALL, "counter": "fvcore"}, {**SMALL, "latency": {"budget_s": 1}}):
            assert httpx.post(f"{base}/profile", json=body, timeout=LIVENESS_S).status_code == 200
        sweep = {"base": SMALL, "grid": {"width_multiplier": [0.5, 1.0]}}
        assert httpx.post(f"{base}/sweep", json=sweep, timeout=LIVENESS_S).status_code == 200
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        stderr = _exit_stderr(proc)
    finally:
        stop_server(proc)
    _clean(stderr)
    assert "Application shutdown complete" in stderr


def test_a_sweep_whose_client_left_is_stopped_and_sigterm_does_not_wait_for_it(tmp_path: Path) -> None:
    """100,000 points over 1,000 distinct plans: minutes of counting here. The client gives up after 2 s; the
    server stops the sweep processes (it says so), and then stops at SIGTERM without counting on."""
    port = free_port()
    proc = start_server(tmp_path / "store.sqlite3", port)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, b"")), daemon=True)  # type: ignore[union-attr,arg-type]
    reader.start()
    heavy = {
        "base": {"preset": "mobilenet_v2"},
        "grid": {
            "width_multiplier": [0.3 + i / 100 for i in range(100)],
            "stages.3.t": list(range(1, 11)),
            "resolution": list(range(96, 296, 2)),
        },
    }
    try:
        try:
            httpx.post(f"http://127.0.0.1:{port}/sweep", json=heavy, timeout=2)
        except httpx.TimeoutException:
            pass
        _wait_for(lambda: any(b"its client went away" in line for line in lines), "stopped after the client left")
        proc.send_signal(signal.SIGTERM)
        proc.wait(LIVENESS_S)
        reader.join(LIVENESS_S)
        _clean(b"".join(lines).decode())
    finally:
        stop_server(proc)
