"""Latency that adds up and explains itself, on this host's CPU:

1. Per-layer latency in context (clock reads around each node of the generated code, their own cost taken
   out) against the end-to-end median of the same measurement, at batch 1, for mobilenet_v2,
   mobilenet_v3_large, resnet18 and resnet50; the isolated method beside it. Target: the in-context sum
   within 10% of end-to-end.
2. The verdict: the same measurement on a quiet host, then with two CPU-bound busy loops beside it.
   Target: "stable" quiet, "noisy" busy.
3. The depthwise-vs-normal question (3x3 dilation 2, 64 -> 128 at 256x256): per-layer roofline verdicts.

    python -m bench.latency_explained [--budget 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import time

import torch

from profiler import LatencyOptions, latency_measurement, profile
from profiler.latency import Progress
from profiler.latency.devices import cpu_name

MODELS = ("mobilenet_v2", "mobilenet_v3_large", "resnet18", "resnet50")


def _measure(spec: dict, **options: object) -> dict:
    report = profile(spec)
    measurement = latency_measurement(report, LatencyOptions(**options))  # type: ignore[arg-type]
    return measurement(Progress()).to_dict()


def _spin() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per measurement")
    args = parser.parse_args()
    print(f"# {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, {platform.machine()}")
    print(f"# budget {args.budget:.0f} s per measurement, batch 1, 224x224, float32")
    print()
    print("## 1. per-layer sum over the end-to-end median (target: in context within 10%, i.e. 0.90-1.10)")
    print(f"{'model':<20}{'e2e ms':>9}{'in-context sum':>16}{'ratio':>8}{'isolated sum':>14}{'ratio':>8}  verdict")
    for name in MODELS:
        ctx = _measure({"preset": name}, per_layer=True, budget_s=args.budget)
        iso = _measure({"preset": name}, per_layer=True, per_layer_method="isolated", budget_s=args.budget)
        c, i = ctx["per_layer"], iso["per_layer"]
        met = "met" if abs(c["sum_over_end_to_end"] - 1) <= 0.10 else "NOT met"
        print(
            f"{name:<20}{c['end_to_end_median_ms']:>9.2f}{c['sum_of_medians_ms']:>16.2f}"
            f"{c['sum_over_end_to_end']:>8.3f}{i['sum_of_medians_ms']:>14.2f}{i['sum_over_end_to_end']:>8.3f}"
            f"  {met}; quality {ctx['quality']['verdict']}"
        )
    cost = ctx["per_layer"].get("probe_cost")
    print(f"# the probes' own cost taken out (measured at start): {cost}")
    print()

    print("## 2. verdicts (mobilenet_v2, no per-layer)")
    quiet = _measure({"preset": "mobilenet_v2"}, budget_s=args.budget / 2)
    print(
        f"quiet:           {quiet['quality']['verdict']:<7} median {quiet['end_to_end']['median_ms']:.2f} ms, "
        f"CV {quiet['end_to_end']['cv']:.1%}, {quiet['quality'].get('contention')}, {quiet['quality']['reasons']}"
    )
    loops = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(2)]
    for loop in loops:
        loop.start()
    time.sleep(1)
    try:
        busy = _measure({"preset": "mobilenet_v2"}, budget_s=args.budget / 2)
    finally:
        for loop in loops:
            loop.kill()
    print(
        f"two busy loops:  {busy['quality']['verdict']:<7} median {busy['end_to_end']['median_ms']:.2f} ms, "
        f"CV {busy['end_to_end']['cv']:.1%}, {busy['quality'].get('contention')}"
    )
    for reason in busy["quality"]["reasons"]:
        print(f"    - {reason}")
    verdicts = (quiet["quality"]["verdict"], busy["quality"]["verdict"])
    print(f"target: quiet stable, busy noisy: {'met' if verdicts == ('stable', 'noisy') else 'NOT met'}")
    print()

    print("## 3. depthwise-separable vs normal 3x3 conv, dilation 2, 64 -> 128 at 256x256 (per layer, in context)")
    one = {"in_channels": 64, "resolution": 256, "classifier": None}
    roofs = None
    for label, row in (
        ("normal", {"block": "conv", "c": 128, "k": 3, "dilation": 2}),
        ("separable", {"block": "depthwise_separable", "c": 128, "k": 3, "dilation": 2}),
    ):
        result = _measure({**one, "stages": [row]}, per_layer=True, budget_s=args.budget / 2)
        roofs = result["roofs"]
        print(f"{label}: end-to-end {result['end_to_end']['median_ms']:.2f} ms ({result['quality']['verdict']})")
        for layer in result["per_layer"]["layers"]:
            print(
                f"    {layer['name']:<22}{layer['median_ms']:>9.3f} ms  {layer['bound'] or '-':<9}"
                f"intensity {layer['intensity'] or 0:>7.2f} FLOP/B  {(layer['achieved_flops_per_s'] or 0) / 1e9:>8.1f} "
                f"GFLOP/s  {(layer['achieved_bytes_per_s'] or 0) / 1e9:>6.1f} GB/s"
            )
    assert roofs is not None
    print(f"# roofs: {roofs['flops_per_s']} FLOP/s, {roofs['bytes_per_s']:.3g} B/s")
    print(f"# {roofs['method']}")


if __name__ == "__main__":
    main()
