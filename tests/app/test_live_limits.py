"""Limits through a real uvicorn server: a 10 MB body is refused with 413 before it is read, with or without
a Content-Length, and the server answers the next request; a server that would listen beyond loopback with no
token refuses to start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from app.settings import Settings
from tests.live_server import live_server

TEN_MB = 10 * 2**20


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("store") / "store.sqlite3") as url:
        yield url


def test_ten_megabyte_body_is_413_then_the_server_goes_on(base: str) -> None:
    body = b'{"preset": "mobilenet_v2", "name": "' + b"x" * TEN_MB + b'"}'
    r = httpx.post(f"{base}/profile", content=body, headers={"content-type": "application/json"}, timeout=120)
    assert r.status_code == 413
    assert "PROFILER_MAX_BODY_BYTES" in r.json()["detail"]
    assert httpx.post(f"{base}/profile", json={"preset": "mobilenet_v2"}, timeout=120).status_code == 200


def test_ten_megabytes_chunked_without_length_is_413(base: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"preset": "mobilenet_v2", "name": "'
        for _ in range(TEN_MB // 65536):
            yield b"x" * 65536
        yield b'"}'

    r = httpx.post(f"{base}/profile", content=chunks(), headers={"content-type": "application/json"}, timeout=120)
    assert r.status_code == 413
    assert httpx.get(f"{base}/health", timeout=60).status_code == 200


def test_a_lying_content_length_does_not_hang_the_server(base: str) -> None:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(
            b"POST /profile HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"preset": '
        )
        s.shutdown(socket.SHUT_WR)  # the client gives up half way
        s.recv(4096)
    assert httpx.post(f"{base}/profile", json={"preset": "mobilenet_v1"}, timeout=120).status_code == 200


def test_serving_beyond_loopback_without_a_token_is_refused_at_start(tmp_path) -> None:
    env = {**os.environ, "PROFILER_HOST": "0.0.0.0", "PROFILER_STORE_PATH": str(tmp_path / "s.sqlite3")}
    env.pop("PROFILER_API_TOKEN", None)
    env.pop("PROFILER_ALLOW_OPEN", None)
    r = subprocess.run([sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert "refusing to serve on 0.0.0.0 without an API token" in r.stderr
    assert "PROFILER_API_TOKEN" in r.stderr and "PROFILER_ALLOW_OPEN=1" in r.stderr


def test_open_serving_is_allowed_only_when_asked_or_with_a_token() -> None:
    assert Settings(host="0.0.0.0", api_token="t").refuse_open() is None
    assert Settings(host="0.0.0.0", allow_open=True).refuse_open() is None
    assert Settings(host="127.0.0.1").refuse_open() is None and Settings(host="::1").refuse_open() is None
    assert Settings(host="localhost").refuse_open() is None
    assert Settings(host="192.168.1.5").refuse_open() is not None
