"""A real server in a child process (``python -m app``), for the tests that need one: SIGKILL, a browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store_path: Path, port: int, *, own_group: bool = False, **env: str) -> subprocess.Popen:
    """Start the service and wait for /health; the caller stops it. ``own_group``: in a process group of its own,
    as a terminal runs it (Ctrl-C reaches the whole group)."""
    environ = {**os.environ, "PROFILER_STORE_PATH": str(store_path), "PROFILER_PORT": str(port), **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=own_group,
    )
    deadline = time.monotonic() + 180  # a busy host starts slowly
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"server did not start: {proc.stderr.read().decode()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(60)  # latency jobs in flight get a grace (PROFILER_SHUTDOWN_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def live_server(store_path: Path, **env: str) -> Iterator[str]:
    """A started server's base URL, stopped on leaving."""
    port = free_port()
    proc = start_server(store_path, port, **env)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
