"""Limits on what one request may ask for, checked from the plan before any tensor is allocated.

Defined once, here: the server's settings take these fields as they are (``PROFILER_MAX_*``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .errors import LimitError, Loc

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Limits"]


DEFAULT_MAX_BODY_BYTES = 1_000_000  # a request body (the server's PROFILER_MAX_BODY_BYTES; the CLI reads no more)


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_resolution: int = Field(8192, ge=1, description="largest input side")
    max_channels: int = Field(65536, ge=1, description="widest layer (after width scaling)")
    max_blocks: int = Field(2000, ge=1, description="sum of n over the rows")
    max_batch: int = Field(4096, ge=1, description="batch_size")
    # Counting from shapes costs nothing; this catches nonsense specs.
    max_macs: int = Field(10**15, ge=1, description="total multiply-adds of one count")
    max_activation_bytes: int = Field(
        2 * 2**30, ge=1, description="memory a real forward may take (the fvcore counter)"
    )
    max_timing_bytes: int = Field(
        8 * 2**30, ge=1, description="memory a timed forward may take (every activation kept for per-layer inputs)"
    )
    max_budget_s: float = Field(120.0, gt=0, description="largest latency.budget_s")
    # A report has a row per layer: this bounds an answer's size (about 300 bytes a row) and its work.
    max_layers: int = Field(5000, ge=1, description="layers (report rows) of one model")

    # A count-only sweep point costs about as much as one count; a measured one a whole latency budget.
    max_sweep_points: int = Field(100_000, ge=1, description="points of one count-only sweep")
    max_sweep_latency_points: int = Field(
        1_000, ge=1, description="points of one sweep with latency, or with layers (each point's per-layer rows)"
    )

    # Bounds what one answer may hold (a sweep's points with their values and per-layer rows): estimated before
    # any point is counted, and checked again as points are encoded.
    max_response_bytes: int = Field(100 * 2**20, ge=1, description="bytes of one answer (a sweep's points)")
    count_timeout_s: float = Field(
        120.0, gt=0, description="seconds one count-only request may count (a sweep's points; one model counts in ms)"
    )

    def check(self, setting: str, value: int | float, loc: Loc = (), what: str | None = None) -> None:
        """Raise LimitError when ``value`` is over the limit named ``setting`` (a field of this class)."""
        maximum = getattr(self, setting)
        if value > maximum:
            raise LimitError(what or setting.removeprefix("max_"), value, maximum, loc, setting)
