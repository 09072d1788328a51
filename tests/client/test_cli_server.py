"""``python -m profiler --server URL``: the same request sent to a live server prints what the local run prints;
the server's refusals exit 2 with its message, no server at all exits 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from profiler.cli import main
from tests.live_server import free_port, live_server

SPEC = {"preset": "mobilenet_v3_small", "resolution": 64}
BODY = {**SPEC, "batch_size": 2}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("store") / "store.sqlite3") as url:
        yield url


def _write(tmp_path: Path, body: dict) -> str:
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    return str(path)


def test_the_same_table_as_a_local_run(base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _write(tmp_path, BODY)
    assert main([spec]) == 0
    local = capsys.readouterr().out
    assert main([spec, "--server", base]) == 0
    assert capsys.readouterr().out == local
    assert main([spec, "--server", base, "--format", "csv"]) == 0
    remote_csv = capsys.readouterr().out
    assert main([spec, "--format", "csv"]) == 0
    assert remote_csv == capsys.readouterr().out


def test_latency_on_the_server_as_a_job(base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([_write(tmp_path, BODY), "--server", base, "--latency", "cpu", "--budget", "1"]) == 0
    captured = capsys.readouterr()
    assert "latency on cpu" in captured.out and "95% CI" in captured.out
    assert "timing on " + base in captured.err  # the job's progress bar


def test_a_sweep_on_the_server(base: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "sweep",
        _write(tmp_path, {"base": SPEC, "grid": {"width_multiplier": [0.5, 1.0]}, "batch_size": 2}),
        "--format",
        "json",
    ]
    assert main(args) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*args, "--server", base]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert [p["totals"] for p in remote["points"]] == [p["totals"] for p in local["points"]]
    assert remote["pareto"] == local["pareto"]


def test_the_servers_refusal_exits_2_with_its_message(base: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--preset", "mobilenet_v2", "--set", "widht_multiplier=0.5", "--server", base]) == 2
    assert "did you mean 'width_multiplier'" in capsys.readouterr().err


def test_no_server_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--preset", "mobilenet_v2", "--server", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "error:" in capsys.readouterr().err
