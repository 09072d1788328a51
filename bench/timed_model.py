"""The timed model against torchvision's model of the same architecture, every preset with a torchvision twin,
in one run: eager time (batch 1, forwards of the two models interleaved, medians) and the peak a forward
allocates (torch.profiler's memory events). Target: both ratios within 5% (0.95 to 1.05).

    python -m bench.timed_model [--presets mobilenet_v2 resnet18] [--budget 6] [--min-pairs 15] [--threads 2]

Both models get the same weights, so the timed work is the same; the output check says so.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import torch
from torchvision.models import get_model

from profiler import PRESETS, build_model, parse_spec
from profiler.latency.devices import cpu_name
from profiler.latency.peak_memory import forward_peak_bytes


def copy_weights(ours: torch.nn.Module, theirs: torch.nn.Module) -> None:
    """torchvision's parameters and buffers into ours, in order (the presets' parameter shapes are equal)."""
    with torch.no_grad():
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
            a.copy_(b)


def unnested(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with every nn.Sequential that holds nn.Sequential children flattened into one. torchvision nests
    stages in containers, and a container's caller holds the stage's input until the stage returns; written
    straight (or flattened), nothing does."""
    for name, child in model.named_children():
        if type(child) is torch.nn.Sequential and any(type(c) is torch.nn.Sequential for c in child.children()):
            flat: list[torch.nn.Module] = []
            for c in child.children():
                flat.extend(unnested(c).children() if type(c) is torch.nn.Sequential else [unnested(c)])
            setattr(model, name, torch.nn.Sequential(*flat))
        else:
            unnested(child)
    return model


def interleaved(
    a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor, budget: float, min_pairs: int
) -> tuple[float, float, float]:
    """Median ms per forward of ``a`` and of ``b``, and the median of the per-pair ratios a/b: one forward of
    each per pair, which goes first alternating, until ``budget`` seconds and at least ``min_pairs`` pairs,
    after 2 warm-up forwards each. A pair sees one state of the host, so its ratio is what drift leaves alone."""
    times: tuple[list[float], list[float]] = ([], [])
    with torch.inference_mode():
        for model in (a, b, a, b):
            model(x)
        end = time.monotonic() + budget
        while time.monotonic() < end or len(times[0]) < min_pairs:
            order = ((0, a), (1, b)) if len(times[0]) % 2 == 0 else ((1, b), (0, a))
            for i, model in order:
                start = time.perf_counter_ns()
                model(x)
                times[i].append((time.perf_counter_ns() - start) / 1e6)
    ratios = [p / q for p, q in zip(*times, strict=True)]
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=[p for p in PRESETS if p != "mobilenet_v1"])
    parser.add_argument("--budget", type=float, default=6.0, help="seconds of interleaved forwards per preset")
    parser.add_argument("--min-pairs", type=int, default=15, help="at least this many pairs, whatever the budget")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# {cpu_name()}, torch {torch.__version__}, {args.threads} threads, batch 1, float32")
    print("# time: median of per-pair ratios ours / torchvision (interleaved); memory: peak of a forward, ours / tv;")
    print("# flat: ours / tv with its nested stage containers flattened (nothing then holds a stage's input)")
    print(f"{'preset':<22}{'res':>5}{'ours ms':>10}{'tv ms':>10}{'time':>8}{'ours peak B':>14}{'tv peak B':>14}"
          f"{'memory':>8}{'flat':>7}  same output  within 5%")  # fmt: skip
    worst: list[float] = []
    for name in args.presets:
        spec = parse_spec({"preset": name})
        ours, theirs = build_model(spec), get_model(name).eval()
        copy_weights(ours, theirs)
        x = torch.randn(1, spec.in_channels, *spec.hw)
        with torch.inference_mode():
            same = torch.allclose(ours(x), theirs(x), rtol=1e-4, atol=1e-4)
        ms_ours, ms_theirs, t = interleaved(ours, theirs, x, args.budget, args.min_pairs)
        peak_ours, peak_theirs = forward_peak_bytes(ours, x), forward_peak_bytes(theirs, x)
        m, flat = peak_ours / peak_theirs, peak_ours / forward_peak_bytes(unnested(theirs), x)
        worst += [abs(t - 1), abs(m - 1)]
        ok = "yes" if max(abs(t - 1), abs(m - 1)) <= 0.05 else "NO"
        print(f"{name:<22}{spec.hw[0]:>5}{ms_ours:>10.2f}{ms_theirs:>10.2f}{t:>8.3f}{peak_ours:>14,}{peak_theirs:>14,}"
              f"{m:>8.3f}{flat:>7.3f}  {'yes' if same else 'NO':<11}  {ok}", flush=True)  # fmt: skip
    print(f"# largest deviation from 1: {max(worst):.3f}")


if __name__ == "__main__":
    main()
