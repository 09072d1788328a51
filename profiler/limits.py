"""Limits on what one request may ask for. Checked from the plan, before any tensor is allocated."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LimitError, Loc


@dataclass(frozen=True)
class Limits:
    max_resolution: int = 8192
    max_channels: int = 65536
    max_blocks: int = 2000
    max_batch: int = 4096
    max_macs: int = 10**15  # counting from shapes costs nothing; this catches nonsense specs
    max_activation_bytes: int = 4 * 2**30  # for work that allocates real tensors (the fvcore counter)
    max_timing_bytes: int = 8 * 2**30  # a timed forward, every activation kept for per-layer inputs
    max_budget_s: float = 120.0  # time budget of one latency measurement

    def check(self, setting: str, value: int | float, loc: Loc = (), what: str | None = None) -> None:
        """Raise LimitError when ``value`` is over the limit named ``setting`` (a field of this class)."""
        maximum = getattr(self, setting)
        if value > maximum:
            raise LimitError(what or setting.removeprefix("max_"), value, maximum, loc, setting)
