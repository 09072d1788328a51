"""The command line: same core, same numbers as the API; errors exit 2 naming the field."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from profiler import profile
from profiler.cli import main
from profiler.sweep import sweep


def test_json_output_is_the_report(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert (
        main(
            [
                "--preset",
                "mobilenet_v2",
                "--set",
                "width_multiplier=0.75",
                "--set",
                "resolution=[160,128]",
                "--format",
                "json",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    body = json.loads(out.read_text())
    expected = profile({"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": [160, 128]}).to_dict()
    assert body["totals"] == expected["totals"] and body["layers"] == expected["layers"]


def test_spec_file_to_csv(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "in_channels": 64,
                "resolution": 32,
                "classifier": None,
                "stages": [{"block": "depthwise_separable", "c": 128}],
            }
        )
    )
    out = tmp_path / "layers.csv"
    assert main([str(spec), "--format", "csv", "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == [
        "features.0.conv_dw",
        "features.0.bn1",
        "features.0.act1",
        "features.0.conv_pw",
        "features.0.bn2",
        "features.0.act2",
    ]
    assert int(rows[0]["macs"]) == 64 * 9 * 32 * 32


def test_table_with_cpu_latency(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--preset", "mobilenet_v3_small", "--set", "resolution=64", "--latency", "cpu", "--budget", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("latency on cpu"))
    assert lines[at - 1].startswith("ops fvcore does not count") and "95% CI" in lines[at]
    # After it only its own indented lines: a warning when the measurement is noisy (1 s buys few repeats).
    assert all(line.startswith("  WARNING: noisy measurement") for line in lines[at + 1 :])


def test_bad_spec_exits_2_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--preset", "resnet18", "--set", "width_multiplier=0"]) == 2
    assert "width_multiplier" in capsys.readouterr().err


def test_sweep_to_csv_equals_the_core(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    argv = ["sweep", "--preset", "mobilenet_v2", "--grid", "width_multiplier=0.35,0.5,1.0"]
    assert main([*argv, "--grid", "resolution=96,224", "--format", "csv", "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    expected = sweep({"preset": "mobilenet_v2"}, {"width_multiplier": [0.35, 0.5, 1.0], "resolution": [96, 224]})
    assert [(float(r["width_multiplier"]), int(r["resolution"])) for r in rows] == [
        (p["values"]["width_multiplier"], p["values"]["resolution"]) for p in expected["points"]
    ]
    assert [int(r["macs"]) for r in rows] == [p["totals"]["macs"] for p in expected["points"]]
    assert [i for i, r in enumerate(rows) if r["pareto"] == "True"] == expected["pareto"]


def test_sweep_table_marks_the_front_and_json_lists_of_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--preset", "mobilenet_v1", "--grid", "resolution=[[160,128],224]"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "[160, 128]" in lines[1] and lines[1].rstrip().endswith("*")
    assert "2 points, 0 with errors" in lines[-1]


def test_sweep_unknown_field_exits_2_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--preset", "mobilenet_v2", "--grid", "widht_multiplier=1"]) == 2
    assert "did you mean 'width_multiplier'" in capsys.readouterr().err


def _write(tmp_path: Path, body: dict) -> str:
    path = tmp_path / "body.json"
    path.write_text(json.dumps(body))
    return str(path)


def test_a_profile_body_the_api_takes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {
        "preset": "mobilenet_v3_small",
        "resolution": 64,
        "batch_size": 2,
        "counter": "fvcore",
        "latency": {"devices": ["cpu"], "budget_s": 1, "warmup": 2, "job": True},
    }
    assert main([_write(tmp_path, body), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["batch_size"] == 2 and out["input_shape"] == [2, 3, 64, 64]
    assert out["counter"]["method"] == "fvcore"
    assert (
        out["totals"]["macs"]
        == profile({"preset": "mobilenet_v3_small", "resolution": 64}, batch_size=2).counts.totals.macs
    )
    (lat,) = out["latency"]
    assert lat["device"] == "cpu" and lat["batch_size"] == 2 and lat["end_to_end"]["median_ms"] > 0


def test_flags_override_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"preset": "mobilenet_v2", "resolution": 96, "batch_size": 2}
    assert main([_write(tmp_path, body), "--batch-size", "4", "--set", "resolution=64", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["input_shape"] == [4, 3, 64, 64]


def test_the_answer_of_get_presets_is_a_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    answer = TestClient(create_app()).get("/presets/efficientnet_b0").json()
    assert set(answer) == {"name", "citation", "spec"}
    assert main([_write(tmp_path, answer), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["totals"] == profile({"preset": "efficientnet_b0"}).to_dict()["totals"]


def test_a_bad_latency_option_in_the_file_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"preset": "mobilenet_v2", "latency": {"devices": ["cpu"], "budget": 5}}
    assert main([_write(tmp_path, body)]) == 2
    err = capsys.readouterr().err
    assert "latency.budget" in err and "did you mean 'budget_s'" in err


def test_a_sweep_body_the_api_takes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = {"base": {"preset": "mobilenet_v1"}, "grid": {"width_multiplier": [0.5, 1.0]}, "batch_size": 2}
    assert main(["sweep", _write(tmp_path, body), "--grid", "resolution=128,224", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["points"]) == 4 and out["batch_size"] == 2
    core = sweep({"preset": "mobilenet_v1"}, {"width_multiplier": [0.5, 1.0], "resolution": [128, 224]}, batch_size=2)
    assert [p["totals"] for p in out["points"]] == [p["totals"] for p in core["points"]]


def test_runtimes_from_the_command_line_each_get_their_line(capsys: pytest.CaptureFixture[str]) -> None:
    spec = ["--preset", "mobilenet_v3_small", "--set", "resolution=64"]
    assert main([*spec, "--runtime", "eager", "--runtime", "onnxruntime", "--budget", "1", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [entry["runtime"]["name"] for entry in body["latency"]] == ["eager", "onnxruntime"]
    assert all(entry["device"] == "cpu" and entry["end_to_end"]["median_ms"] > 0 for entry in body["latency"])


def test_no_arguments_show_the_usage_and_its_examples() -> None:
    done = subprocess.run([sys.executable, "-m", "profiler"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m profiler")
    assert "examples:" in done.stdout and "Traceback" not in done.stderr and "table is empty" not in done.stderr


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    cli = subprocess.Popen(
        [sys.executable, "-m", "profiler", "--preset", "resnet152", "--format", "json"],  # far past a pipe's buffer
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert cli.stdout is not None and cli.stderr is not None
    cli.stdout.readline()  # the header, as `| head -1` reads it; then the reader is gone
    cli.stdout.close()
    stderr = cli.stderr.read().decode()
    assert cli.wait(timeout=120) == 141 and "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_memory_flags_reach_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--preset", "mobilenet_v2", "--memory-dtype", "int8", "--inplace-depthwise", "--memory-budget", "262144"]
    assert main([*flags, "--format", "json"]) == 0
    memory = json.loads(capsys.readouterr().out)["memory"]
    assert memory["peak_activation_bytes"] == (16 + 96) * 112 * 112 and memory["fits"] is False
    assert main(flags) == 0
    assert "memory (int8): peak 1,404,928 B at features.2.conv_pw" in capsys.readouterr().out
    assert main(["--preset", "mobilenet_v2", "--memory-budget", "-5"]) == 2
    assert "memory.budget_bytes" in capsys.readouterr().err


def test_export_ignores_the_reports_options_and_an_empty_memory_still_asks_for_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.onnx"
    assert main(["--preset", "mobilenet_v3_small", "--memory-budget", "1000", "--export", str(out)]) == 0
    assert out.stat().st_size > 0
    body = tmp_path / "sweep.json"
    body.write_text(json.dumps({"base": {"preset": "mobilenet_v2"}, "grid": {"resolution": [96, 128]}, "memory": {}}))
    capsys.readouterr()
    assert main(["sweep", str(body), "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [int(row["peak_activation_bytes"]) > 0 for row in rows] == [True, True]


def test_the_sweep_table_shows_each_points_peak_and_whether_it_fits(capsys: pytest.CaptureFixture[str]) -> None:
    flags = ["--preset", "mobilenet_v2", "--grid", "resolution=96,224", "--memory-budget", "4000000"]
    assert main(["sweep", *flags]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "peak bytes" in lines[0] and "fits" in lines[0]
    assert lines[1].split()[-2:] in (["yes", "*"], ["yes"]) and " no" in lines[2]
