"""The latency predictor against what it predicts, on designs and presets its fit never saw, per runtime:

  1. calibrate: designs drawn around every preset but the held-out ones, measured per layer in context, for
     --budget seconds (as POST /predictors does), then fitted; the fit holds a fifth of its designs out;
  2. the held-out presets at their own width and resolution, measured end to end twice (the second
     measurement against the first is the floor: a predictor cannot agree with a measurement better than the
     measurement agrees with itself);
  3. a table: the share within ±10% and ±5%, MAPE and Spearman for the predictor, for a linear fit on MACs and
     one on fvcore's FLOPs (the same training designs), and for the repeat measurement;
  4. a predicted sweep's speed with that predictor, against a count-only sweep of the same points.

Targets (issue 26): >= 95% within ±10% and Spearman >= 0.99 on unseen designs and presets; a predicted sweep
at the speed of a count-only one (>= 5,000 points/s).

    python -m bench.predictor [--budget 360] [--runtimes eager onnxruntime] [--threads 1] [--samples DIR]

With --samples DIR, each runtime's calibration samples are written to DIR/<runtime>.samples and the held-out
presets' measurements to DIR/<runtime>.presets.json, or read from there when the file exists, skipping the
measuring: to compare fits on the very same measurements.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from profiler import LatencyOptions, ProfilerError, latency_measurement, profile
from profiler.latency.devices import cpu_name
from profiler.latency.progress import Progress
from profiler.predict import (
    Design,
    DesignSample,
    LatencyPredictor,
    accuracy_of,
    calibrate,
    fit_predictor,
    model_units,
)
from profiler.predict.samples import decode_sample, encode_sample
from profiler.spec import PRESETS
from profiler.sweep import count_points, plan_sweep

HELD_OUT = (
    "mobilenet_v3_large",
    "efficientnet_b0",
    "mnasnet1_0",
    "ghostnet_100",
    "resnet18",
    "regnet_y_400mf",
    "shufflenet_v2_x1_0",
    "mobilenetv4_conv_small",
    "lcnet_100",
    "mixnet_s",
)


def _measure(spec: Any, batch: int, runtime: str, threads: int, per_layer: bool, budget_s: float) -> dict[str, Any]:
    report = profile(spec, batch_size=batch)
    options = LatencyOptions(runtime=runtime, per_layer=per_layer, budget_s=budget_s, threads=threads, batch_size=batch)
    try:
        return latency_measurement(report, options)(Progress()).to_dict()
    except ProfilerError as exc:
        return {"error": str(exc)}


def _write_whole(path: Path, data: bytes) -> None:
    """``data`` at ``path``, whole or not at all (written aside, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _write_samples(path: Path, samples: list[DesignSample]) -> None:
    """Length-prefixed encoded samples, one after another."""
    encoded = [encode_sample(sample) for sample in samples]
    _write_whole(path, b"".join(len(data).to_bytes(8, "little") + data for data in encoded))


def _read_samples(path: Path) -> list[DesignSample]:
    data, samples, at = path.read_bytes(), [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 8], "little")
        if at + 8 + size > len(data):
            raise SystemExit(f"{path}: cut short at byte {at}: measure again (remove the file)")
        sample = decode_sample(data[at + 8 : at + 8 + size])
        if len(sample.unit_ms) != len(sample.units):
            raise SystemExit(f"{path}: a sample at byte {at} does not decode: measure again (remove the file)")
        samples.append(sample)
        at += 8 + size
    return samples


def _row(name: str, acc: dict[str, Any]) -> str:
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:5.1f}%"

    rho = acc.get("spearman")
    return (
        f"  {name:<34} {acc['designs']:>4} {pct(acc['within_10pct']):>8} {pct(acc['within_5pct']):>8} "
        f"{pct(acc['mape']):>8} {'-' if rho is None else f'{rho:.3f}':>8}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=360.0, help="calibration seconds per runtime")
    parser.add_argument("--runtimes", nargs="+", default=["eager", "onnxruntime"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--design-budget", type=float, default=1.0, help="seconds of measuring per design")
    parser.add_argument("--samples", type=Path, help="a folder: keep each runtime's calibration samples there")
    args = parser.parse_args()
    print(f"host: {cpu_name()}, threads {args.threads}; held-out presets: {', '.join(HELD_OUT)}")
    train_presets = tuple(p for p in PRESETS if p not in HELD_OUT)
    for runtime in args.runtimes:
        began = time.monotonic()

        def measure(design: Design, runtime: str = runtime) -> dict[str, Any]:
            return _measure(design.spec, design.batch_size, runtime, args.threads, True, args.design_budget)

        stored = args.samples / f"{runtime}.samples" if args.samples else None
        if stored is not None and stored.exists():
            samples = _read_samples(stored)
            how = f"{len(samples)} designs read from {stored}"
        else:
            progress = calibrate(measure, args.budget, seed=1, presets=train_presets)
            samples = progress.samples
            how = (
                f"{progress.designs_measured} designs measured ({progress.designs_failed} failed) "
                f"in {time.monotonic() - began:.0f} s"
            )
            if stored is not None:
                _write_samples(stored, samples)
        fitting = time.monotonic()
        predictor = fit_predictor(samples, seed=1)
        print(
            f"\n[{runtime}] calibration: {how}, "
            f"fit in {time.monotonic() - fitting:.1f} s, {predictor.samples} unit samples"
        )
        first, second, predicted, macs, flops, names = [], [], [], [], [], []
        kept = args.samples / f"{runtime}.presets.json" if args.samples else None
        measured: dict[str, list[dict[str, Any]]] = json.loads(kept.read_text()) if kept and kept.exists() else {}
        for name in HELD_OUT:
            if name not in measured:
                measured[name] = [_measure({"preset": name}, 1, runtime, args.threads, False, 2.0) for _ in range(2)]
            a, b = measured[name]
            if "error" in a or "error" in b:
                print(f"  {name}: {a.get('error') or b.get('error')}")
                del measured[name]  # not kept: measured again next time
                continue
            report = profile({"preset": name})
            assert report.plan is not None
            prediction = predictor.predict(model_units(report.plan))
            names.append(name)
            first.append(a["end_to_end"]["median_ms"])
            second.append(b["end_to_end"]["median_ms"])
            predicted.append(prediction.median_ms)
            macs.append(report.counts.totals.macs)
            flops.append(report.counts.totals.fvcore_flops)
            flag = " (extrapolated: " + "; ".join(prediction.why) + ")" if prediction.extrapolated else ""
            print(
                f"  {name:<24} measured {a['end_to_end']['median_ms']:8.2f} / {b['end_to_end']['median_ms']:8.2f} ms"
                f"  predicted {prediction.median_ms:8.2f} ms [{prediction.low_ms:.2f}, {prediction.high_ms:.2f}]{flag}"
            )
        if kept is not None:
            _write_whole(kept, json.dumps(measured).encode())
        truth = np.array(first)
        train = samples
        baselines = {}
        for figure, values in (("macs", macs), ("fvcore_flops", flops)):
            x = np.array([getattr(s.units, figure) for s in train], dtype=np.float64)
            y = np.array([s.end_to_end_ms for s in train])
            slope, intercept = np.polyfit(x, y, 1)
            baselines[figure] = np.maximum(slope * np.array(values, dtype=np.float64) + intercept, 1e-6)
        print(f"\n  {'on the held-out presets':<34} {'n':>4} {'±10%':>8} {'±5%':>8} {'MAPE':>8} {'Spearman':>8}")
        print(_row("predictor", accuracy_of(truth, np.array(predicted))))
        print(_row("linear on MACs", accuracy_of(truth, baselines["macs"])))
        print(_row("linear on fvcore FLOPs", accuracy_of(truth, baselines["fvcore_flops"])))
        print(_row("repeat measurement (the floor)", accuracy_of(truth, np.array(second))))
        held = predictor.accuracy
        print(
            f"\n  {'on the designs the fit held out':<34} {'n':>4} {'±10%':>8} {'±5%':>8} {'MAPE':>8} {'Spearman':>8}"
        )
        print(_row("predictor", held))
        print(_row("linear on MACs", held["baselines"]["macs"]))
        print(_row("linear on fvcore FLOPs", held["baselines"]["fvcore_flops"]))
        print(f"  interval: {predictor.describe()['interval']}")
        _sweep_speed(predictor)


def _sweep_speed(predictor: LatencyPredictor, repeats: int = 3) -> None:
    """A predicted sweep against a count-only one of the same points, interleaved, in this process (one core):
    an α × ρ grid of MobileNetV2 (2,000 points), shifted each run so that no plan is reused across runs."""
    count_s, predicted_s = [], []
    for run in range(repeats + 1):
        grid = {
            "width_multiplier": [round(0.35 + 1.05 * i / 50 + run * 1e-4, 6) for i in range(50)],
            "resolution": [96 + 4 * j for j in range(40)],
        }
        passes = [(count_s, ()), (predicted_s, (predictor,))]
        for times, predictors in passes if run % 2 else passes[::-1]:  # each goes first in half the runs
            start = time.perf_counter()
            points = count_points(plan_sweep({"preset": "mobilenet_v2"}, grid), predictors=predictors)
            times.append(time.perf_counter() - start)
            assert len(points) == 2000 and all("error" not in p for p in points)
    count, predicted = statistics.median(count_s[1:]), statistics.median(predicted_s[1:])  # the first: warm-up
    print(
        f"  predicted sweep, 2,000 MobileNetV2 points in one process (median of {repeats}, interleaved): "
        f"{2000 / predicted:.0f} points/s against {2000 / count:.0f} count-only ({predicted / count:.2f}x its time)"
    )


if __name__ == "__main__":
    main()
