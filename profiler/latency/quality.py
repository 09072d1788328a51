"""A verdict on each measurement: ``stable``, or ``noisy`` with the reasons, so that a figure taken on a busy
host is not mistaken for a good one.

Reasons: the spread of the samples (CV), a confidence interval of the median still wider than asked when
repeating stopped, a stop by the budget before the minimum repeats, and contention: CPU time that other
processes took while the measurement ran (``/proc/stat`` against this process's own CPU time), compared with
the cores the measurement left free.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from .options import LatencyOptions
from .stats import Stats

__all__ = ["MAX_CV", "Contention", "ContentionProbe", "verdict"]

MAX_CV = 0.10  # a spread past this is noise, whatever the interval says
_SPARE_CORE_SLACK = 0.25  # other processes may take this much of a core beyond the free ones: daemons, the server


@dataclass(frozen=True)
class Contention:
    other_cores: float  # CPU time of other processes over the measurement's wall time: cores' worth
    cores: int
    cores_in_use: int  # what the measurement itself could use (its threads; 1 for a GPU's launching thread)

    @property
    def contended(self) -> bool:
        return self.other_cores > max(self.cores - self.cores_in_use, 0) + _SPARE_CORE_SLACK

    def to_dict(self) -> dict[str, Any]:
        return {"other_cores": round(self.other_cores, 2), "cores": self.cores, "cores_in_use": self.cores_in_use}


def _busy_jiffies() -> int | None:
    """CPU time all processes spent, in clock ticks (user, nice, system, irq, softirq, steal), or None."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return user + nice + system + irq + softirq + steal


class ContentionProbe:
    """Started before a measurement, read after it: how much CPU other processes took meanwhile."""

    def __init__(self, cores_in_use: int) -> None:
        self.cores_in_use = cores_in_use
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._busy = _busy_jiffies()
        self._own = time.process_time()
        self._wall = time.monotonic()

    def read(self) -> Contention | None:
        busy = _busy_jiffies()
        wall = time.monotonic() - self._wall
        if busy is None or self._busy is None or wall <= 0:
            return None  # not Linux: no verdict on contention
        others = max((busy - self._busy) / self._tick - (time.process_time() - self._own), 0.0)
        return Contention(others / wall, os.cpu_count() or 1, self.cores_in_use)


def verdict(stats: Stats, opts: LatencyOptions, contention: Contention | None) -> dict[str, Any]:
    """``{"verdict": "stable" | "noisy", "reasons": [...], "contention": {...}}`` for one figure."""
    reasons = []
    if stats.cv > MAX_CV:
        reasons.append(f"the samples spread widely: CV {stats.cv:.0%}, over {MAX_CV:.0%}")
    lo, hi = stats.ci95
    half = (hi - lo) / 2 / stats.median if stats.median else 0.0
    if stats.stop != "converged" and half > opts.target_ci:
        reasons.append(
            f"the 95% CI of the median is ±{half:.1%} of it when repeating stopped ({stats.stop}), "
            f"over the {opts.target_ci:.1%} asked"
        )
    if stats.stop == "budget" and stats.repeats < opts.min_repeats:
        reasons.append(
            f"the budget ran out after {stats.repeats} repeats ({opts.min_repeats} wanted): raise latency.budget_s"
        )
    if contention is not None and contention.contended:
        free = max(contention.cores - contention.cores_in_use, 0)
        reasons.append(
            f"other processes took {contention.other_cores:.1f} cores' worth of CPU time during the measurement, "
            f"which used {contention.cores_in_use} of the host's {contention.cores} cores ({free} free)"
        )
    out: dict[str, Any] = {"verdict": "noisy" if reasons else "stable", "reasons": reasons}
    if contention is not None:
        out["contention"] = contention.to_dict()
    return out
