"""The HTTP edge of ``python -m app`` under clients that hold connections: request headers that trickle in are cut
off (PROFILER_HEADER_TIMEOUT_S), a body that trickles in is a 408 (PROFILER_BODY_TIMEOUT_S), and past
PROFILER_MAX_CONNECTIONS a request is a 503 at once. Each waits on the server's answer, with a ceiling that only
catches a hang."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_server import live_server

CEILING_S = 120


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("edge") / "store.sqlite3"
    with live_server(store, PROFILER_HEADER_TIMEOUT_S="1", PROFILER_BODY_TIMEOUT_S="1") as url:
        yield url


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=CEILING_S)


def test_trickled_headers_are_cut_off(base: str) -> None:
    socks = [_connect(base) for _ in range(20)]
    for sock in socks:
        sock.sendall(b"POST /profile HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    closed = 0
    for sock in socks:
        sock.settimeout(0.2)
        while time.monotonic() - start < CEILING_S:
            try:
                sock.sendall(b"X")  # a byte at a time, never the end of the headers
                if sock.recv(4096) == b"":
                    closed += 1
                    break
            except TimeoutError:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed += 1
                break
        sock.close()
    assert closed == 20
    assert httpx.get(f"{base}/health", timeout=CEILING_S).status_code == 200  # the server is fine


def test_a_trickled_body_is_a_408(base: str) -> None:
    sock = _connect(base)
    sock.sendall(b"POST /profile HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_past_the_connection_cap_a_request_is_a_503(tmp_path: Path) -> None:
    with live_server(tmp_path / "s.sqlite3", PROFILER_MAX_CONNECTIONS="4", PROFILER_HEADER_TIMEOUT_S="600") as url:
        idle = [_connect(url) for _ in range(4)]
        try:
            deadline = time.monotonic() + CEILING_S
            while (status := httpx.get(f"{url}/health", timeout=CEILING_S).status_code) != 503:
                assert time.monotonic() < deadline, status  # the idle ones are counted as they are accepted
                time.sleep(0.1)
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + CEILING_S
        while httpx.get(f"{url}/health", timeout=CEILING_S).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
