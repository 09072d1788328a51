"""Waiting for a latency job through the API."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient


def poll_job(client: TestClient, job_id: str, until: set[str], timeout: float = 300) -> dict:
    """GET /jobs/{id} until its state is one of ``until``; the last status. The ceiling only catches a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/jobs/{job_id}").json()
        if status["state"] in until:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not {until} after {timeout} s")
