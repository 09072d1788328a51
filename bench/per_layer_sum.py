"""Per-layer times in context add up: the per-layer sum over the end-to-end figure of the same measurement,
over typical forwards (``sum_over_end_to_end``: means between the quartiles; medians, shown too, do not add),
for MobileNetV2, MobileNetV3-Large, ResNet-18 and ResNet-50 at batch 1 on this host's CPU, in each of 5 runs
(20 ratios). Target: every ratio within 10% of 1 (0.90 to 1.10).

    python -m bench.per_layer_sum [--runs 5] [--budget 8]

The layers are timed by clock reads around each node of the generated code (``profiler.latency.in_context``);
what no layer holds is a block's call between its nodes.
"""

from __future__ import annotations

import argparse
import logging
import platform

import torch

from profiler import LatencyOptions, latency_measurement, profile
from profiler.latency import Progress
from profiler.latency.devices import cpu_name

MODELS = ("mobilenet_v2", "mobilenet_v3_large", "resnet18", "resnet50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"# {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}, {platform.machine()}")
    print(f"# batch 1, 224x224, float32, budget {args.budget:.0f} s per measurement")
    print(
        f"{'run':>3}  {'model':<20}{'e2e typ':>9}{'sum typ':>9}{'ratio':>8}{'e2e med':>9}{'sum med':>9}{'ratio':>7}"
        f"{'layers':>7}{'probe us':>9}  quality"
    )
    ratios: list[float] = []
    reports = {name: profile({"preset": name}) for name in args.models}
    for run in range(1, args.runs + 1):
        for name in args.models:
            options = LatencyOptions(per_layer=True, budget_s=args.budget)
            result = latency_measurement(reports[name], options)(Progress()).to_dict()
            per_layer = result["per_layer"]
            ratio = per_layer["sum_over_end_to_end"]
            ratios.append(ratio)
            e2e_med, sum_med = per_layer["end_to_end_median_ms"], per_layer["sum_of_medians_ms"]
            print(
                f"{run:>3}  {name:<20}{per_layer['end_to_end_typical_ms']:>9.2f}"
                f"{per_layer['sum_in_typical_forwards_ms']:>9.2f}"
                f"{ratio:>8.3f}{e2e_med:>9.2f}{sum_med:>9.2f}{sum_med / e2e_med:>7.3f}{len(per_layer['layers']):>7}"
                f"{per_layer['probe_cost']['per_node_us']:>9.3f}  {result['quality']['verdict']}",
                flush=True,
            )
    inside = sum(abs(r - 1) <= 0.10 for r in ratios)
    print(f"# {inside} of {len(ratios)} ratios within 10% (min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
