"""Command line, for one-off use without a server: the same core, the same numbers as the API.

python -m profiler --preset mobilenet_v2 --set width_multiplier=0.75 --set resolution=160
python -m profiler spec.json --format csv --output layers.csv
python -m profiler --preset resnet50 --latency cpu --per-layer --budget 20
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import wait
from typing import Any, TextIO

from tqdm import tqdm

from .errors import DeviceBusyError, DeviceUnavailableError, LimitError, SpecError, UnknownPresetError
from .export import write_layers_csv
from .latency import DeviceWorkers, LatencyOptions, LatencyResult, latency_measurement
from .report import COUNTERS, profile
from .spec import PRESETS

_COLUMNS = ("name", "type", "output_shape", "macs", "flops", "fvcore_flops", "params", "activations")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m profiler", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("spec", nargs="?", help="a JSON spec file ('-' for standard input)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="start from a paper table")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="override a top-level field, e.g. --set resolution=[160,128]",
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--counter", choices=COUNTERS, default=COUNTERS[0])
    p.add_argument("--latency", action="append", default=[], metavar="DEVICE", help="measure on cpu, cuda, cuda:N")
    p.add_argument("--per-layer", action="store_true", help="with --latency: time every layer too")
    p.add_argument(
        "--per-layer-method", choices=["in_context", "isolated"], default="in_context", help="how layers are timed"
    )
    p.add_argument("--budget", type=float, default=10.0, help="with --latency: seconds per device")
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


def _measure(report: Any, device: str, args: argparse.Namespace) -> LatencyResult:
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
        with tqdm(desc=f"timing on {device}", unit="step", file=sys.stderr) as bar:
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


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        report = profile(_spec(args), batch_size=args.batch_size, counter=args.counter)
        body = report.to_dict()
        if args.latency:
            body["latency"] = [_measure(report, device, args).to_dict() for device in dict.fromkeys(args.latency)]
    except SpecError as exc:
        for loc, msg in exc.problems:
            print(f"error: {'.'.join(map(str, loc)) or 'spec'}: {msg}", file=sys.stderr)
        return 2
    except (LimitError, UnknownPresetError, DeviceUnavailableError, DeviceBusyError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        {"table": _write_table, "json": lambda b, o: json.dump(b, o, indent=1), "csv": write_layers_csv}[args.format](
            body, out
        )
    finally:
        if args.output:
            out.close()
    return 0
