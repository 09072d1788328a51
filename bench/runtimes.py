"""Eager PyTorch beside ONNX Runtime and OpenVINO (and torch.compile with --compiled), on the same models, in
one run: each runtime measured in turn, the turns repeated (interleaved) so that drift hits every runtime;
the table gives the median of each runtime's medians and its ratio to eager. Then:
  - the README's question (is the depthwise-separable version of a dilated 3x3 conv 64->128 faster?) per runtime;
  - per-layer sums over end-to-end for ONNX Runtime and OpenVINO, in each of 5 runs (target: within 10%);
  - the service's ONNX Runtime median beside plain onnxruntime timing the exported file with the same threads
    (a loop of session.run, as a user would time it; target: within 10%).

    python -m bench.runtimes [--rounds 3] [--budget 3] [--threads 2] [--compiled]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from profiler import LatencyOptions, latency_measurement, profile
from profiler.latency.devices import cpu_name
from profiler.latency.progress import Progress
from profiler.latency.runtimes import RUNTIMES
from profiler.latency.runtimes.onnx_graph import export_onnx
from profiler.model.build import plan_model
from profiler.spec import parse_spec


def _dilated(block: str, resolution: int = 256) -> dict:
    return {
        "name": block,
        "in_channels": 64,
        "resolution": resolution,
        "classifier": None,
        "stages": [{"block": block, "c": 128, "k": 3, "dilation": 2}],
    }


MODELS: dict[str, dict] = {
    "mobilenet_v2": {"preset": "mobilenet_v2"},
    "resnet18": {"preset": "resnet18"},
    "dilated 3x3 conv 64->128 at 256^2": _dilated("conv"),
    "its depthwise-separable version": _dilated("depthwise_separable"),
}


def measure(spec: dict, runtime: str, args: argparse.Namespace, per_layer: bool = False) -> dict:
    opts = LatencyOptions(runtime=runtime, budget_s=args.budget, threads=args.threads, per_layer=per_layer)
    return latency_measurement(profile(spec), opts)(Progress()).to_dict()


def plain_onnxruntime_ms(spec: dict, threads: int, seconds: float) -> float:
    """What a user would do: export, open a session with the same threads, time session.run in a loop."""
    import onnxruntime as ort

    parsed = parse_spec(spec)
    x = torch.randn(1, parsed.in_channels, *parsed.hw)
    data = export_onnx(plan_model(parsed).build().eval(), x)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    session = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy().astype(np.float32)}
    for _ in range(10):
        session.run(None, feed)
    times = []
    end = time.monotonic() + seconds
    while time.monotonic() < end or len(times) < 10:
        start = time.perf_counter_ns()
        session.run(None, feed)
        times.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--budget", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()))
    parser.add_argument("--compiled", action="store_true", help="torch.compile too (minutes of compiling)")
    args = parser.parse_args()
    runtimes = ["eager", "onnxruntime", "openvino"] + (["compiled"] if args.compiled else [])
    versions = {"eager": torch.__version__, **{r: RUNTIMES[r].version() for r in runtimes if r != "eager"}}
    print(f"# {cpu_name()}, batch 1, float32, {args.threads} threads, {args.rounds} interleaved rounds")
    print("# " + ", ".join(f"{r} {v}" for r, v in versions.items()))
    medians: dict[str, dict[str, list[float]]] = {m: {r: [] for r in runtimes} for m in MODELS}
    for _ in range(args.rounds):
        for model, spec in MODELS.items():
            for runtime in runtimes:
                medians[model][runtime].append(measure(spec, runtime, args)["end_to_end"]["median_ms"])
    print(f"\n{'model':<36}" + "".join(f"{r:>16}" for r in runtimes))
    summary = {m: {r: statistics.median(v) for r, v in rs.items()} for m, rs in medians.items()}
    for model, by_runtime in summary.items():
        cells = "".join(f"{ms:>8.1f} ms {ms / by_runtime['eager']:>4.2f}x" for ms in by_runtime.values())
        print(f"{model:<36}{cells}")
    print("each round's medians (ms), in the order measured:")
    for model, by_runtime in medians.items():
        print(f"  {model:<34}" + "  ".join(f"{r} {_ms(v)}" for r, v in by_runtime.items()))
    normal, separable = summary["dilated 3x3 conv 64->128 at 256^2"], summary["its depthwise-separable version"]
    print("\ndepthwise-separable speed-up over the normal conv (8.4x fewer MACs):")
    for runtime in runtimes:
        print(f"  {runtime:<12} {normal[runtime] / separable[runtime]:.2f}x")

    print("\nper-layer sum over end-to-end (target: within 10% in each of 5 runs):")
    for model in ("mobilenet_v2", "resnet18"):
        for runtime in ("onnxruntime", "openvino"):
            ratios = [
                measure(MODELS[model], runtime, args, per_layer=True)["per_layer"]["sum_over_end_to_end"]
                for _ in range(5)
            ]
            met = all(abs(r - 1) <= 0.10 for r in ratios)
            print(
                f"  {model:<14}{runtime:<13}" + " ".join(f"{r:.3f}" for r in ratios) + f"  {'met' if met else 'MISSED'}"
            )

    pairs = max(5, args.rounds)
    print("\nthe service's ONNX Runtime median beside plain onnxruntime on the exported file (target: within 10%;")
    print(f"each the median of {pairs} runs, alternating which goes first):")
    for model in ("mobilenet_v2", "resnet18"):
        ours, plain = [], []
        for i in range(pairs):
            if i % 2:
                plain.append(plain_onnxruntime_ms(MODELS[model], args.threads, args.budget))
            ours.append(measure(MODELS[model], "onnxruntime", args)["end_to_end"]["median_ms"])
            if not i % 2:
                plain.append(plain_onnxruntime_ms(MODELS[model], args.threads, args.budget))
        ratio = statistics.median(ours) / statistics.median(plain)
        print(
            f"  {model:<14} service {statistics.median(ours):.2f} ms, plain {statistics.median(plain):.2f} ms: "
            f"{ratio:.3f}x {'met' if abs(ratio - 1) <= 0.10 else 'MISSED'}  (service {_ms(ours)}; plain {_ms(plain)})"
        )


def _ms(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
