"""Answers the client cannot read (another service on the port, a proxy's page, a broken header): it raises its
own ProtocolError, never a ValueError, JSONDecodeError or KeyError; an unreadable Retry-After waits 1 s. The peer
is an httpx transport that answers as such a server would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from profiler.cli import main
from profiler_client import ProfilerClient, ProfilerClientError, ProtocolError, ServerUnavailable


def _client(handler, **kwargs) -> ProfilerClient:
    return ProfilerClient("http://peer", transport=httpx.MockTransport(handler), **kwargs)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy login</html>"),
        httpx.Response(200, content=b"\xff\xfe not utf-8"),
        httpx.Response(200, text='{"id": '),
    ],
)
def test_an_answer_that_is_not_json_is_a_protocol_error(response: httpx.Response) -> None:
    with _client(lambda request: response) as client, pytest.raises(ProtocolError) as err:
        client.profile({"preset": "mobilenet_v2"})
    assert err.value.status == 200 and isinstance(err.value, ProfilerClientError)


@pytest.mark.parametrize("value", ["soon", "Mon, 99 Foo 2026", "inf", "nan", "-1e999"])
def test_an_unreadable_retry_after_waits_a_second(value: str) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"detail": "busy"}, headers={"Retry-After": value})

    with _client(handler, retries=0) as client, pytest.raises(ServerUnavailable) as err:
        client.profile({"preset": "mobilenet_v2"})
    assert err.value.retry_after_s == 1.0 and len(calls) == 1
    with _client(lambda r: httpx.Response(200, json={"ok": 1}, headers={"Retry-After": value})) as client:
        assert client.health() == {"ok": 1}  # even on a 200


def test_a_job_status_of_another_shape_is_a_protocol_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"id": "abc"})
        return httpx.Response(200, json={"progress": "50%"})

    with _client(handler) as client, pytest.raises(ProtocolError):
        client.sweep({"preset": "mobilenet_v2"}, grid={"resolution": [96]}, latency={"devices": ["cpu"]})


def test_the_cli_says_what_came_back_without_a_traceback(tmp_path: Path) -> None:
    """A live peer on a port, answering 200 with JSON that is not a report: exit 1 and one line, no traceback."""
    server = tmp_path / "peer.py"
    server.write_text(
        "import http.server, json\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_POST(self):\n"
        "        body = json.dumps({'hello': 'world'}).encode()\n"
        "        self.send_response(200); self.send_header('content-type', 'application/json')\n"
        "        self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        "s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
        "print(s.server_address[1], flush=True)\n"
        "s.serve_forever()\n"
    )
    peer = subprocess.Popen([sys.executable, str(server)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(peer.stdout.readline())  # type: ignore[union-attr]
        cli = subprocess.run(
            [sys.executable, "-m", "profiler", "--preset", "mobilenet_v2", "--server", f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        peer.kill()
    assert cli.returncode == 1, cli.stderr
    assert "Traceback" not in cli.stderr and "not a report" in cli.stderr


def test_the_cli_reads_no_more_than_a_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(1 << 30)  # a sparse gigabyte: refused after reading the limit, not read whole
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    not_text = tmp_path / "bin.json"
    not_text.write_bytes(b'{"name": "\xff"}')
    for path, words in ((big, "over 1,000,000 bytes"), (deep, "nested too deep"), (not_text, "not UTF-8")):
        assert main([str(path)]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err
    assert main(["/dev/zero"]) == 2
    assert "over 1,000,000 bytes" in capsys.readouterr().err
