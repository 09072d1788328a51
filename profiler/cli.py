"""Command line: the same core and numbers as the API, here, or sent to a server with --server.

examples:
  python -m profiler --preset mobilenet_v2 --set width_multiplier=0.75 --set resolution=160
  python -m profiler --preset mobilenet_v2 --memory-dtype int8 --inplace-depthwise --memory-budget 262144
  python -m profiler --preset resnet50 --latency cpu --runtime eager --runtime onnxruntime --per-layer
  python -m profiler spec.json --format csv --output layers.csv
  python -m profiler spec.json --server http://gpu-host:8000 --latency cuda
  python -m profiler sweep --preset mobilenet_v2 --grid width_multiplier=0.35,0.5,1.0 --grid resolution=96,160,224
  python -m profiler sweep --preset mobilenet_v3_small --grid resolution=96,128 --latency cpu --format csv

The file is a body the API takes: POST /profile's (a spec with batch_size, counter, latency beside it), the
answer of GET /presets/{name}, or, for sweep, POST /sweep's. Flags override what the file says.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import wait
from typing import Any, TextIO

from pydantic import ValidationError
from tqdm import tqdm

from profiler_client import ProfilerClientError, ServerError, profile_body

from .count.memory import MemoryOptions
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
from .latency.runtimes import RUNTIMES
from .latency.runtimes.onnx_graph import OPSET, spec_onnx
from .limits import DEFAULT_MAX_BODY_BYTES, Limits
from .report import COUNTERS, profile
from .spec import PRESETS, parse_spec
from .spec.model_spec import spec_error_from
from .sweep import check_answer_size, count_points, plan_sweep, point_spec, sweep_body

_COLUMNS = ("name", "type", "output_shape", "macs", "flops", "fvcore_flops", "params", "activations", "live_bytes")


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
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        metavar="NAME",
        help="start from a paper table: " + ", ".join(sorted(PRESETS)),
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="override a top-level field, e.g. --set resolution=[160,128]",
    )
    p.add_argument("--batch-size", type=int, help="default: the file's batch_size, else 1")
    if not sweep:
        p.add_argument("--counter", choices=COUNTERS, help="default: the file's counter, else shapes")
    p.add_argument("--latency", action="append", default=[], metavar="DEVICE", help="measure on cpu, cuda, cuda:N")
    p.add_argument(
        "--runtime",
        action="append",
        default=[],
        choices=["eager", *RUNTIMES],
        help="measure on this runtime (repeat for several; default eager); implies --latency cpu",
    )
    p.add_argument(
        "--predict",
        action="store_true",
        default=None,
        help="with --server: predicted latency from the server's calibrated predictors (GET /predictors)",
    )
    p.add_argument("--per-layer", action="store_true", default=None, help="with latency: time every layer too")
    p.add_argument("--per-layer-method", choices=["in_context", "isolated"], help="how layers are timed")
    p.add_argument(
        "--budget", type=float, help="with latency: seconds per device" + (" and point" if sweep else "") + " (10)"
    )
    p.add_argument(
        "--server",
        metavar="URL",
        help="send the request to this server (http://gpu-host:8000) and print its answer the same way",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("PROFILER_API_TOKEN"),
        help="with --server: its API token ($PROFILER_API_TOKEN)",
    )
    if not sweep:
        p.add_argument(
            "--export", metavar="FILE.onnx", help="write the spec's model as ONNX there, instead of a report"
        )
    p.add_argument("--memory-dtype", choices=["float32", "float16", "int8"], help="activation memory's dtype")
    p.add_argument(
        "--inplace-depthwise", action="store_true", default=None, help="depthwise convs over their input (MCUNet)"
    )
    p.add_argument("--memory-budget", type=int, metavar="BYTES", help="a device's activation memory: does it fit?")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--output", help="write there instead of standard output")
    return p.parse_args(argv)


def _load(path: str | None) -> dict[str, Any]:
    """The file's body ('-': standard input); the answer of GET /presets/{name} stands for its table."""
    if not path:
        return {}
    limit = _max_body_bytes()
    with sys.stdin.buffer if path == "-" else open(path, "rb") as f:
        raw = f.read(limit + 1)  # never more: /dev/zero or a sparse file of gigabytes is refused, not read
    if len(raw) > limit:
        raise ValueError(f"{path}: over {limit:,} bytes, the most a request body may have (PROFILER_MAX_BODY_BYTES)")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deep to be a spec") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a JSON object is expected (a spec, or a body the API takes)")
    return profile_body(data)


def _max_body_bytes() -> int:
    """The server's body limit, which a file sent to it must respect too (its setting, when set here)."""
    value = os.environ.get("PROFILER_MAX_BODY_BYTES", "")
    return int(value) if value.isascii() and value.isdigit() else DEFAULT_MAX_BODY_BYTES


def _overridden(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = dict(spec)
    if args.preset:
        spec["preset"] = args.preset
    for item in args.set:
        key, _, value = item.partition("=")
        spec[key] = _json_value(value)
    return spec


def _latency(given: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    """The request's latency: the file's, with the flags over it; None when neither asks for one."""
    if given is None and not args.latency and not args.runtime and not args.predict:
        return None
    latency = dict(given) if isinstance(given, dict) else {}
    flags = {
        "per_layer": args.per_layer,
        "per_layer_method": args.per_layer_method,
        "budget_s": args.budget,
        "predict": args.predict,
    }
    latency.update({k: v for k, v in flags.items() if v is not None})
    if args.latency:
        latency["devices"] = list(dict.fromkeys(args.latency))
    if args.runtime:
        latency["runtimes"] = list(dict.fromkeys(args.runtime))
    return latency


def _memory(given: Any, args: argparse.Namespace) -> dict[str, Any] | None:
    """The request's memory options: the file's, with the flags over it; None when neither sets one."""
    flags = {
        "dtype": args.memory_dtype,
        "inplace_depthwise": args.inplace_depthwise,
        "budget_bytes": args.memory_budget,
    }
    flags = {k: v for k, v in flags.items() if v is not None}
    if given is None and not flags:
        return None
    return {**(given if isinstance(given, dict) else {}), **flags}


def _profile_request(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /profile body: the file's, with the flags over it."""
    body = _overridden(_load(args.spec), args)
    body.update({k: v for k, v in {"batch_size": args.batch_size, "counter": args.counter}.items() if v is not None})
    latency = _latency(body.pop("latency", None), args)
    memory = _memory(body.pop("memory", None), args)
    return {
        **body,
        **({"latency": latency} if latency is not None else {}),
        **({"memory": memory} if memory is not None else {}),
    }


def _sweep_request(args: argparse.Namespace) -> dict[str, Any]:
    """The POST /sweep body: the file's (a sweep body, or a spec as its base), with the flags over it."""
    data = _load(args.spec)
    body: dict[str, Any] = dict(data) if "base" in data else {"base": data}
    body["base"] = _overridden(profile_body(body["base"]), args)
    body["grid"] = {**body.get("grid", {}), **_grid(args.grid)}
    body["points"] = [*body.get("points", []), *(json.loads(p) for p in args.point)]
    if args.batch_size is not None:
        body["batch_size"] = args.batch_size
    latency = _latency(body.pop("latency", None), args)
    memory = _memory(body.pop("memory", None), args)
    return {
        **body,
        **({"latency": latency} if latency is not None else {}),
        **({"memory": memory} if memory is not None else {}),
    }


def _options(latency: dict[str, Any], batch_size: int) -> list[LatencyOptions]:
    """A request's latency as the core's options, one per device and runtime (what the API's schema does)."""
    if latency.get("predict"):
        raise SpecError.at(
            ("latency", "predict"),
            "predicted latency comes from a server's calibrated predictors (POST /predictors): add --server URL",
        )
    knobs = {k: v for k, v in latency.items() if k not in {"devices", "batch_size", "job", "runtimes", "predict"}}
    devices = latency.get("devices", ["cpu"])
    if not isinstance(devices, list) or not devices:
        raise SpecError.at(("latency", "devices"), 'a list of devices is expected, e.g. ["cpu"]')
    runtimes = latency.get("runtimes", ["eager"])
    if not isinstance(runtimes, list) or not runtimes:
        raise SpecError.at(("latency", "runtimes"), 'a list of runtimes is expected, e.g. ["eager", "onnxruntime"]')
    try:
        return [
            LatencyOptions(**knobs, device=str(d), runtime=str(r), batch_size=latency.get("batch_size") or batch_size)
            for d in dict.fromkeys(devices)
            for r in dict.fromkeys(runtimes)
        ]
    except ValidationError as exc:  # in the request's terms: latency.budget_s
        problems = spec_error_from(exc, LatencyOptions).problems
        raise SpecError([(("latency", *loc), msg) for loc, msg in problems]) from None


def _memory_options(memory: Any) -> MemoryOptions | None:
    """A request's memory as the core's options (what the API's schema does)."""
    if memory is None:
        return None
    if not isinstance(memory, dict):
        raise SpecError.at(("memory",), 'an object is expected, e.g. {"dtype": "int8"}')
    try:
        return MemoryOptions(**memory)
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, TypeError):
            raise SpecError.at(("memory",), str(exc)) from None
        raise SpecError(
            [(("memory", *loc), msg) for loc, msg in spec_error_from(exc, MemoryOptions).problems]
        ) from None


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


def _measure(report: Any, opts: LatencyOptions, *, leave: bool = True) -> LatencyResult:
    measurement = latency_measurement(report, opts)
    workers = DeviceWorkers(queue_size=0)
    job = workers.submit(measurement.device, measurement, expected_s=opts.budget_s)
    try:
        with tqdm(desc=f"timing on {opts.device}", unit="step", file=sys.stderr, leave=leave) as bar:
            while True:
                done = wait([job.future], timeout=0.2).done
                if (job.progress.total_steps, job.progress.done_steps) != (bar.total, bar.n):  # redrawn on change
                    bar.total = job.progress.total_steps
                    bar.update(job.progress.done_steps - bar.n)
                if done:
                    break
        return job.future.result()
    finally:
        job.cancel()  # Ctrl-C: the measurement stops at its next chunk
        workers.shutdown()


def _write_table(body: dict[str, Any], out: TextIO) -> None:
    widths = (34, 18, 20, 16, 16, 16, 12, 12, 14)

    def line(cells: list[str]) -> str:  # text columns left-aligned, figures right-aligned
        cells_widths = enumerate(zip(cells, widths, strict=True))
        return "".join(f"{c:<{w}}" if i < 3 else f"{c:>{w}}" for i, (c, w) in cells_widths) + "\n"

    out.write(line(list(_COLUMNS)))
    for row in body["layers"]:
        shape = "x".join(map(str, row["output_shape"]))
        out.write(line([row["name"], row["type"], shape] + [f"{row.get(c, 0):,}" for c in _COLUMNS[3:]]))
    t = body["totals"]
    memory = body.get("memory")
    peak = f"{memory['peak_activation_bytes']:,}" if memory else ""
    total = [f"{t[c]:,}" for c in _COLUMNS[3:-1]]
    out.write(line(["total", "", "x".join(map(str, body["output_shape"])), *total, peak]))
    if memory:
        fits = ""
        if memory.get("budget_bytes") is not None:
            fits = f"; {'fits' if memory['fits'] else 'does NOT fit'} in {memory['budget_bytes']:,} B"
        out.write(
            f"memory ({memory['dtype']}): peak {memory['peak_activation_bytes']:,} B at {memory['peak_layer']} "
            f"(deployment), {memory['eager_peak_bytes']:,} B in PyTorch eager, weights "
            f"{memory['weight_bytes']:,} B{fits}\n"
        )
    if body["unsupported_ops"]:
        out.write(f"ops fvcore does not count: {body['unsupported_ops']}\n")
    for lat in body.get("latency", []):
        runtime = lat.get("runtime") or {"name": "eager"}
        if "end_to_end" not in lat:
            out.write(f"latency on {lat['device']} with {runtime['name']}: {lat.get('error', 'no figures')}\n")
            continue
        e = lat["end_to_end"]
        on = f"{runtime['name']} {runtime.get('version', '')}".strip()
        if lat.get("method") == "predicted":
            accuracy = lat["predictor"]["held_out_accuracy"]
            out.write(
                f"latency on {lat['device']} ({lat['device_name']}) with {on}: PREDICTED {e['median_ms']:.3f} ms "
                f"[{e['low_ms']:.3f}, {e['high_ms']:.3f}] by predictor {lat['predictor']['id'][:8]} "
                f"(held out: {accuracy['within_10pct']:.0%} within 10%)"
                + (f"; EXTRAPOLATED: {'; '.join(lat['extrapolated_because'])}" if lat["extrapolated"] else "")
                + "\n"
            )
            continue
        out.write(
            f"latency on {lat['device']} ({lat['device_name']}) with {on}: median {e['median_ms']:.3f} ms, "
            f"95% CI [{e['ci95_ms'][0]:.3f}, {e['ci95_ms'][1]:.3f}], CV {e['cv']:.1%}, {e['repeats']} repeats "
            f"({e['stop']})\n"
        )
        quality = lat.get("quality") or {}
        if quality.get("verdict") == "noisy":
            out.write(f"  WARNING: noisy measurement, do not trust it: {'; '.join(quality['reasons'])}\n")
        if "per_layer" in lat and lat["per_layer"].get("sum_over_end_to_end") is None:
            out.write(f"  per-layer: {lat['per_layer']['how']}\n")
        elif "per_layer" in lat:
            per_layer = lat["per_layer"]
            out.write(
                f"  per-layer ({per_layer['method']}) sum "
                f"{per_layer.get('sum_in_typical_forwards_ms', per_layer['sum_of_medians_ms']):.3f} ms "
                f"= {per_layer['sum_over_end_to_end']:.2f} x end-to-end\n"
            )
            for layer in per_layer["layers"]:
                if layer.get("bound"):
                    covers = layer.get("layers") or []  # a runtime's fused node: the spec layers it covers
                    name = f"{covers[0]} (+{len(covers) - 1})" if len(covers) > 1 else (covers or [layer["name"]])[0]
                    out.write(
                        f"    {name:<34}{layer['median_ms']:>10.3f} ms  {layer['bound']:<8}"
                        f"{(layer['achieved_flops_per_s'] or 0) / 1e9:>10.1f} GFLOP/s"
                        f"{(layer['achieved_bytes_per_s'] or 0) / 1e9:>9.1f} GB/s\n"
                    )


def _sweep(request: dict[str, Any]) -> dict[str, Any]:
    """Count every point (a progress bar over the points), then, with latency, measure each countable point,
    the points taken by the devices in turn."""
    start = time.perf_counter()
    batch_size = request.get("batch_size", 1)
    latency = request.get("latency")
    options = _options(latency, batch_size) if latency is not None else []
    memory = _memory_options(request.get("memory"))
    planned = plan_sweep(request["base"], request["grid"], request["points"], detailed=bool(options), memory=memory)
    check_answer_size(planned, batch_size, Limits(), layers=False)
    points: list[dict[str, Any]] = []
    with tqdm(total=len(planned), desc="counting", unit="point", file=sys.stderr) as bar:
        for at in range(0, len(planned), 1000):
            points += count_points(planned, at, at + 1000, batch_size=batch_size)
            bar.update(min(1000, len(planned) - at))
    seconds = time.perf_counter() - start
    countable = [p for p in points if "totals" in p] if options else []
    devices = list(dict.fromkeys(opts.device for opts in options))
    with tqdm(
        total=len(countable), desc="measuring", unit="point", file=sys.stderr, disable=None if options else True
    ) as bar:
        for i, point in enumerate(countable):
            device = devices[i % len(devices)]  # the points spread over the devices, each on every runtime
            report = None
            point["latency"] = []
            for opts in (o for o in options if o.device == device):
                try:
                    report = report or profile(parse_spec(point_spec(planned, point["values"])), batch_size=batch_size)
                    point["latency"].append(_measure(report, opts, leave=False).to_dict())
                except (DeviceUnavailableError, DeviceBusyError):
                    raise
                except ProfilerError as exc:  # this point only: a limit, a budget it cannot fit
                    point["latency"].append(
                        {"device": opts.device, "runtime": {"name": opts.runtime}, "error": str(exc)}
                    )
            bar.update()
    return sweep_body(planned, points, batch_size, seconds, measured=bool(options))


def _write_sweep_table(body: dict[str, Any], out: TextIO) -> None:
    fields = body["fields"]
    measured = body["pareto_objectives"][-1] == "latency_ms"
    memory = "memory_options" in body
    widths = [max(12, len(f) + 2) for f in fields]
    head = [*fields, "MACs", "params", *(["peak bytes", "fits"] if memory else [])]
    head += [*(["latency ms", "verdict"] if measured else []), "pareto"]
    sizes = [*widths, 16, 14, *([14, 6] if memory else []), *([12, 10] if measured else []), 8]
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
        if memory:
            m = point.get("memory", {})
            cells += [f"{m.get('peak_activation_bytes', 0):,}", {True: "yes", False: "no"}.get(m.get("fits"), "")]
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
    sweep = argv[:1] == ["sweep"]
    if not argv[1 if sweep else 0 :]:  # nothing to profile: how to use it, not an error about an empty table
        _parse_args(["--help"], sweep=sweep)
    try:
        return _main(argv[1:], sweep=True) if sweep else _main(argv)
    except BrokenPipeError:  # the reader left (| head): no traceback, and none when Python flushes at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: list[str], *, sweep: bool = False) -> int:
    args = _parse_args(argv, sweep=sweep)
    if sweep:
        writers = {"table": _write_sweep_table, "csv": write_sweep_csv}
        ask: Callable[[dict[str, Any]], dict[str, Any]] = _sweep
        build = _sweep_request
    else:
        writers = {"table": _write_table, "csv": write_layers_csv}
        ask, build = _profile, _profile_request
        if args.export:
            return _export(args)
    if args.server:
        from .remote import remote_profile, remote_sweep  # httpx's client: imported only when asked for

        remote = remote_sweep if sweep else remote_profile
        return _run(args, lambda: remote(build(args), args.server, args.token), writers)
    return _run(args, lambda: ask(build(args)), writers)


def _export(args: argparse.Namespace) -> int:
    """--export: the spec's model as ONNX (here, or from --server), written to the file named."""
    try:
        request = _profile_request(args)
        for option in ("latency", "counter", "memory"):  # a report's options: the file is the model alone
            request.pop(option, None)
        batch_size = request.pop("batch_size", 1)
        if args.server:
            from profiler_client import ProfilerClient

            with ProfilerClient(args.server, token=args.token) as client:
                data = client.export_onnx(request, batch_size=batch_size)
        else:
            data = spec_onnx(parse_spec(request), batch_size)
        with open(args.export, "wb") as f:
            f.write(data)
    except SpecError as exc:
        for loc, msg in exc.problems:
            print(f"error: {'.'.join(map(str, loc)) or 'spec'}: {msg}", file=sys.stderr)
        return 2
    except (LimitError, UnknownPresetError, OSError, ValueError, ProfilerClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.export} ({len(data):,} bytes, ONNX opset {OPSET})", file=sys.stderr)
    return 0


def _profile(request: dict[str, Any]) -> dict[str, Any]:
    request = dict(request)
    batch_size, counter = request.pop("batch_size", 1), request.pop("counter", COUNTERS[0])
    latency = request.pop("latency", None)
    memory = request.pop("memory", None)
    options = _options(latency, batch_size) if latency is not None else []
    report = profile(request, batch_size=batch_size, counter=counter, memory=_memory_options(memory))
    body = report.to_dict()
    if options:
        body["latency"] = [_measure(report, opts).to_dict() for opts in options]
    return body


def _run(args: argparse.Namespace, answer: Callable[[], dict[str, Any]], writers: dict[str, Any]) -> int:
    try:
        body = answer()
    except SpecError as exc:
        for loc, msg in exc.problems:
            print(f"error: {'.'.join(map(str, loc)) or 'spec'}: {msg}", file=sys.stderr)
        return 2
    except (LimitError, UnknownPresetError, DeviceUnavailableError, DeviceBusyError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ProfilerClientError as exc:  # --server: its refusal, or no server there
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ServerError) and exc.status < 500 else 1
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        if args.format == "json":
            json.dump(body, out, indent=1)
        else:
            writers[args.format](body, out)
    except (KeyError, TypeError, AttributeError) as exc:
        if not args.server:
            raise
        print(f"error: {args.server} answered something that is not a report or a sweep ({exc!r})", file=sys.stderr)
        return 1
    finally:
        if args.output:
            out.close()
    return 0
