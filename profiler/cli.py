"""Command line, for one-off use without a server: the same core, the same numbers as the API.

python -m profiler --preset mobilenet_v2 --set width_multiplier=0.75 --set resolution=160
python -m profiler spec.json --format csv --output layers.csv
python -m profiler --preset resnet50 --latency cpu --per-layer --budget 20
python -m profiler sweep --preset mobilenet_v2 --grid width_multiplier=0.35,0.5,0.75,1.0,1.4 \
    --grid resolution=96,128,160,192,224 [--latency cpu] [--format csv]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import wait
from typing import Any, TextIO

from tqdm import tqdm

from .errors import (
    DeviceBusyError,
    DeviceUnavailableError,
    LimitError,
    ProfilerError,
    SpecError,
    UnknownPresetError,
)
from .export import write_layers_csv, write_sweep_csv
from .latency import DeviceWorkers, LatencyOptions, LatencyResult, latency_measurement
from .report import COUNTERS, profile
from .spec import PRESETS, parse_spec
from .sweep import count_points, plan_sweep, point_spec, sweep_body

_COLUMNS = ("name", "type", "output_shape", "macs", "flops", "fvcore_flops", "params", "activations")


def _parse_args(argv: list[str] | None, *, sweep: bool = False) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m profiler" + (" sweep" if sweep else ""),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "spec", nargs="?", help="a JSON spec file ('-' for standard input)" + (": the base" if sweep else "")
    )
    if sweep:
        p.add_argument(
            "--grid",
            action="append",
            default=[],
            metavar="PATH=V1,V2,...",
            help="a field (width_multiplier, resolution, stages.3.t, ...) and its values; every combination is a "
            "point. Values are JSON: --grid 'resolution=[[160,128],[224,224]]' for a JSON list",
        )
        p.add_argument(
            "--point", action="append", default=[], metavar="JSON", help="an explicit point: '{\"resolution\": 96}'"
        )
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a paper table")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="override a top-level field, e.g. --set resolution=[160,128]",
    )
    p.add_argument("--batch-size", type=int, default=1)
    if not sweep:
        p.add_argument("--counter", choices=COUNTERS, default=COUNTERS[0])
    p.add_argument("--latency", action="append", default=[], metavar="DEVICE", help="measure on cpu, cuda, cuda:N")
    p.add_argument("--per-layer", action="store_true", help="with --latency: time every layer too")
    p.add_argument(
        "--per-layer-method", choices=["in_context", "isolated"], default="in_context", help="how layers are timed"
    )
    p.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="with --latency: seconds per device" + (" and point" if sweep else ""),
    )
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--output", help="write there instead of standard output")
    return p.parse_args(argv)


def _spec(args: argparse.Namespace) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if args.spec:
        with sys.stdin if args.spec == "-" else open(args.spec) as f:
            data = json.load(f)
    if args.preset:
        data["preset"] = args.preset
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            data[key] = json.loads(value)
        except json.JSONDecodeError:
            data[key] = value
    return data


def _json_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _grid(items: list[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for item in items:
        path, _, values = item.partition("=")
        parsed = _json_value(values) if values.startswith("[") else [_json_value(v) for v in values.split(",")]
        grid[path] = parsed if isinstance(parsed, list) else [parsed]
    return grid


def _measure(report: Any, device: str, args: argparse.Namespace, *, leave: bool = True) -> LatencyResult:
    opts = LatencyOptions(
        device=device,
        batch_size=args.batch_size,
        per_layer=args.per_layer,
        per_layer_method=args.per_layer_method,
        budget_s=args.budget,
    )
    measurement = latency_measurement(report, opts)
    workers = DeviceWorkers(queue_size=0)
    job = workers.submit(measurement.device, measurement, expected_s=args.budget)
    try:
        with tqdm(desc=f"timing on {device}", unit="step", file=sys.stderr, leave=leave) as bar:
            while True:
                done = wait([job.future], timeout=0.2).done
                bar.total = job.progress.total_steps
                bar.update(job.progress.done_steps - bar.n)
                if done:
                    break
        return job.future.result()
    finally:
        job.cancel()  # Ctrl-C: the measurement stops at its next chunk
        workers.shutdown()


def _write_table(body: dict[str, Any], out: TextIO) -> None:
    widths = (34, 18, 20, 16, 16, 16, 12, 12)

    def line(cells: list[str]) -> str:  # text columns left-aligned, figures right-aligned
        cells_widths = enumerate(zip(cells, widths, strict=True))
        return "".join(f"{c:<{w}}" if i < 3 else f"{c:>{w}}" for i, (c, w) in cells_widths) + "\n"

    out.write(line(list(_COLUMNS)))
    for row in body["layers"]:
        shape = "x".join(map(str, row["output_shape"]))
        out.write(line([row["name"], row["type"], shape] + [f"{row[c]:,}" for c in _COLUMNS[3:]]))
    t = body["totals"]
    out.write(line(["total", "", "x".join(map(str, body["output_shape"]))] + [f"{t[c]:,}" for c in _COLUMNS[3:]]))
    if body["unsupported_ops"]:
        out.write(f"ops fvcore does not count: {body['unsupported_ops']}\n")
    for lat in body.get("latency", []):
        e = lat["end_to_end"]
        out.write(
            f"latency on {lat['device']} ({lat['device_name']}): median {e['median_ms']:.3f} ms, "
            f"95% CI [{e['ci95_ms'][0]:.3f}, {e['ci95_ms'][1]:.3f}], CV {e['cv']:.1%}, {e['repeats']} repeats "
            f"({e['stop']})\n"
        )
        quality = lat.get("quality") or {}
        if quality.get("verdict") == "noisy":
            out.write(f"  WARNING: noisy measurement, do not trust it: {'; '.join(quality['reasons'])}\n")
        if "per_layer" in lat:
            per_layer = lat["per_layer"]
            out.write(
                f"  per-layer ({per_layer['method']}) sum {per_layer['sum_of_medians_ms']:.3f} ms "
                f"= {per_layer['sum_over_end_to_end']:.2f} x end-to-end\n"
            )
            for layer in per_layer["layers"]:
                if layer.get("bound"):
                    out.write(
                        f"    {layer['name']:<34}{layer['median_ms']:>10.3f} ms  {layer['bound']:<8}"
                        f"{(layer['achieved_flops_per_s'] or 0) / 1e9:>10.1f} GFLOP/s"
                        f"{(layer['achieved_bytes_per_s'] or 0) / 1e9:>9.1f} GB/s\n"
                    )


def _sweep(args: argparse.Namespace) -> dict[str, Any]:
    """Count every point (a progress bar over the points), then, with --latency, measure each countable point,
    the points taken by the devices in turn."""
    start = time.perf_counter()
    planned = plan_sweep(
        _spec(args), _grid(args.grid), [json.loads(p) for p in args.point], detailed=bool(args.latency)
    )
    points: list[dict[str, Any]] = []
    with tqdm(total=len(planned), desc="counting", unit="point", file=sys.stderr) as bar:
        for at in range(0, len(planned), 1000):
            points += count_points(planned, at, at + 1000, batch_size=args.batch_size)
            bar.update(min(1000, len(planned) - at))
    seconds = time.perf_counter() - start
    devices = list(dict.fromkeys(args.latency))
    countable = [p for p in points if "totals" in p] if devices else []
    with tqdm(total=len(countable), desc="measuring", unit="point", file=sys.stderr, disable=not devices) as bar:
        for i, point in enumerate(countable):
            device = devices[i % len(devices)]
            try:
                report = profile(parse_spec(point_spec(planned, point["values"])), batch_size=args.batch_size)
                point["latency"] = [_measure(report, device, args, leave=False).to_dict()]
            except (DeviceUnavailableError, DeviceBusyError):
                raise
            except ProfilerError as exc:  # this point only: a limit, a budget it cannot fit
                point["latency"] = [{"device": device, "error": str(exc)}]
            bar.update()
    return sweep_body(planned, points, args.batch_size, seconds, measured=bool(devices))


def _write_sweep_table(body: dict[str, Any], out: TextIO) -> None:
    fields = body["fields"]
    measured = body["pareto_objectives"][-1] == "latency_ms"
    widths = [max(12, len(f) + 2) for f in fields]
    head = [*fields, "MACs", "params", *(["latency ms", "verdict"] if measured else []), "pareto"]
    sizes = [*widths, 16, 14, *([12, 10] if measured else []), 8]
    out.write("".join(f"{h:>{w}}" for h, w in zip(head, sizes, strict=True)) + "\n")
    front = set(body["pareto"])
    for i, point in enumerate(body["points"]):
        cells = [json.dumps(point["values"].get(f)) for f in fields]
        if "error" in point:
            msg = "; ".join(e["msg"] for e in point["error"]["detail"])
            out.write("".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)) + f"  error: {msg}\n")
            continue
        t = point["totals"]
        cells += [f"{t['macs']:,}", f"{t['params']:,}"]
        if measured:
            entry = (point.get("latency") or [{}])[0]
            if "end_to_end" in entry:
                cells += [f"{entry['end_to_end']['median_ms']:.3f}", (entry.get("quality") or {}).get("verdict", "")]
            else:
                cells += ["-", entry.get("error", "")[:10]]
        cells.append("*" if i in front else "")
        out.write("".join(f"{c:>{w}}" for c, w in zip(cells, sizes, strict=True)) + "\n")
    out.write(
        f"{len(body['points'])} points, {body['errors']} with errors; * = on the Pareto front of "
        f"{', '.join(body['pareto_objectives'])} (lower is better)\n"
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sweep"]:
        return _main(argv[1:], sweep=True)
    return _main(argv)


def _main(argv: list[str], *, sweep: bool = False) -> int:
    args = _parse_args(argv, sweep=sweep)
    if sweep:
        writers = {"table": _write_sweep_table, "csv": write_sweep_csv}
        return _run(args, lambda: _sweep(args), writers)
    writers = {"table": _write_table, "csv": write_layers_csv}
    return _run(args, lambda: _profile(args), writers)


def _profile(args: argparse.Namespace) -> dict[str, Any]:
    report = profile(_spec(args), batch_size=args.batch_size, counter=args.counter)
    body = report.to_dict()
    if args.latency:
        body["latency"] = [_measure(report, device, args).to_dict() for device in dict.fromkeys(args.latency)]
    return body


def _run(args: argparse.Namespace, answer: Any, writers: dict[str, Any]) -> int:
    try:
        body = answer()
    except SpecError as exc:
        for loc, msg in exc.problems:
            print(f"error: {'.'.join(map(str, loc)) or 'spec'}: {msg}", file=sys.stderr)
        return 2
    except (LimitError, UnknownPresetError, DeviceUnavailableError, DeviceBusyError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        if args.format == "json":
            json.dump(body, out, indent=1)
        else:
            writers[args.format](body, out)
    finally:
        if args.output:
            out.close()
    return 0
