"""Statistics of a figure and the stopping rule: repeat until the 95% confidence interval of the median is
within ``target_ci`` of it, or the budget runs out. Pure functions of the samples (and of a clock that can be
given), so the rule is tested with samples made for it, not with this machine's speed."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .options import LatencyOptions
from .progress import Progress

__all__ = ["Stats", "median_ci", "repeat_until", "summarize"]

_Z95 = 1.959964


@dataclass(frozen=True)
class Stats:
    """Statistics of one figure, in milliseconds."""

    median: float
    mean: float
    p10: float
    p90: float
    min: float
    std: float
    cv: float
    ci95: tuple[float, float]  # distribution-free confidence interval of the median (order statistics)
    repeats: int
    stop: str  # "converged", "budget" or "max_repeats"

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_ms": self.median,
            "mean_ms": self.mean,
            "p10_ms": self.p10,
            "p90_ms": self.p90,
            "min_ms": self.min,
            "std_ms": self.std,
            "cv": self.cv,
            "ci95_ms": list(self.ci95),
            "repeats": self.repeats,
            "stop": self.stop,
        }


def median_ci(sorted_samples: list[float]) -> tuple[float, float]:
    """95% CI of the median from order statistics (normal approximation of the binomial ranks)."""
    n = len(sorted_samples)
    half = _Z95 * math.sqrt(n) / 2
    lo = max(0, math.floor(n / 2 - half) - 1)
    hi = min(n - 1, math.ceil(n / 2 + half))
    return sorted_samples[lo], sorted_samples[hi]


def _quantile(sorted_samples: list[float], q: float) -> float:
    pos = q * (len(sorted_samples) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_samples) - 1)
    return sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * (pos - lo)


def summarize(samples_ms: list[float], stop: str) -> Stats:
    s = sorted(samples_ms)
    mean = statistics.fmean(s)
    std = statistics.stdev(s) if len(s) > 1 else 0.0
    return Stats(
        median=statistics.median(s),
        mean=mean,
        p10=_quantile(s, 0.10),
        p90=_quantile(s, 0.90),
        min=s[0],
        std=std,
        cv=std / mean if mean else 0.0,
        ci95=median_ci(s),
        repeats=len(s),
        stop=stop,
    )


def converged(samples: list[float], target: float) -> bool:
    s = sorted(samples)
    lo, hi = median_ci(s)
    return (hi - lo) / 2 <= target * statistics.median(s)


def repeat_until(
    sample: Callable[[int], list[float]],
    opts: LatencyOptions,
    deadline: float,
    progress: Progress,
    now: Callable[[], float] = time.monotonic,
) -> Stats:
    """Call ``sample(count)`` (``count`` timed calls, their times in ms) in growing chunks until the median's
    CI is tight enough (after ``min_repeats``), ``max_repeats`` are taken, or ``now()`` passes ``deadline``
    with at least two samples. Cancellation is checked before each chunk."""
    samples: list[float] = []
    chunk = 1  # the first sample says how long a call takes; chunks then grow within the budget
    stop = "max_repeats"
    while len(samples) < opts.max_repeats:
        progress.check()
        samples += sample(min(chunk, opts.max_repeats - len(samples)))
        if len(samples) >= opts.min_repeats and converged(samples, opts.target_ci):
            stop = "converged"
            break
        remaining = deadline - now()
        if remaining <= 0 and len(samples) >= 2:
            stop = "budget"
            break
        # Grow the chunk, but never past what the remaining budget holds at the current median.
        per_call = statistics.median(samples) / 1e3
        chunk = max(1, min(chunk * 2, 100, int(max(remaining, 0) / per_call) if per_call > 0 else 100))
        if len(samples) < opts.min_repeats:
            chunk = min(chunk, opts.min_repeats - len(samples))  # check convergence as soon as it can hold
    return summarize(samples, stop)
