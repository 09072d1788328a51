"""A calibration: draw designs, measure each (per layer, in context, by whatever ``measure`` runs it on), keep
each one's sample, until the budget is spent; then fit. The measuring is the caller's (a device worker in the
service, the same measurement in-process in the bench): this loop knows only designs and samples."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .designs import Design, sample_designs
from .model import MIN_DESIGNS
from .samples import DesignSample, design_sample

__all__ = ["FIT_SHARE", "CalibrationProgress", "calibrate"]

FIT_SHARE = 0.1  # of the budget, kept for the fit (a few regressors on some ten thousand rows)


@dataclass
class CalibrationProgress:
    designs_measured: int = 0
    designs_failed: int = 0
    samples: list[DesignSample] = field(default_factory=list)
    last_error: str | None = None
    started: float = field(default_factory=time.monotonic)


def calibrate(
    measure: Callable[[Design], dict[str, Any]],
    budget_s: float,
    *,
    seed: int = 0,
    batch_sizes: tuple[int, ...] = (1,),
    max_macs: int = 400_000_000,
    max_designs: int | None = None,
    presets: tuple[str, ...] | None = None,
    stop: Callable[[], bool] = lambda: False,
    progress: CalibrationProgress | None = None,
    on_sample: Callable[[DesignSample], None] | None = None,
) -> CalibrationProgress:
    """Measure drawn designs until ``budget_s`` (less the fit's share) is spent, ``max_designs`` are measured,
    or ``stop()``; each measured design's sample is kept in ``progress`` and handed to ``on_sample`` (to be
    stored as it comes)."""
    if max_designs is not None and max_designs < MIN_DESIGNS:
        raise ValueError(f"max_designs {max_designs}: a fit needs at least {MIN_DESIGNS} designs")
    progress = progress or CalibrationProgress()
    deadline = progress.started + budget_s * (1 - FIT_SHARE)
    slowest = 0.0
    for design in sample_designs(seed, presets=presets, batch_sizes=batch_sizes, max_macs=max_macs):
        now = time.monotonic()
        if stop() or now + slowest > deadline:  # the next one would likely overrun
            break
        if max_designs is not None and progress.designs_measured >= max_designs:
            break
        entry = measure(design)
        slowest = max(slowest, time.monotonic() - now)
        sample = design_sample(design.plan, entry, design.label) if "error" not in entry else None
        if sample is None:
            progress.designs_failed += 1
            progress.last_error = str(entry.get("error", "no per-layer times"))
            continue
        progress.samples.append(sample)
        progress.designs_measured += 1
        if on_sample is not None:
            on_sample(sample)
    return progress
