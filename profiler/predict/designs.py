"""The designs a calibration measures: around the space the presets span. Each draw takes a preset's table,
then a width multiplier, a resolution and a batch, and changes some rows (kernel, expansion, SE, activation,
stride, channels) the way a search would; a design that cannot be counted, or is heavier than the cap, is
drawn again."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ProfilerError
from ..model.build import ModelPlan, plan_model
from ..report import profile
from ..spec import PRESETS, parse_spec, preset_table

__all__ = ["Design", "sample_designs"]

_KERNELS = (1, 3, 5, 7)
_EXPANSIONS = (1, 2, 3, 4, 6)
_ACTIVATIONS = ("relu", "relu6", "hardswish", "silu")
_CHANNEL_SCALE = (0.5, 0.75, 1.25, 1.5)


@dataclass(frozen=True)
class Design:
    spec: dict[str, Any]
    batch_size: int
    label: str  # preset, alpha, rho, batch, and how many rows were changed
    plan: ModelPlan
    macs: int


def _mutate(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    row = dict(row)
    choice = rng.choice(("k", "t", "se", "act", "c", "s"))
    if choice == "k" and "k" in row and not isinstance(row["k"], list):
        row["k"] = rng.choice(_KERNELS[1:] if row["k"] > 1 else _KERNELS[:2])
    elif choice == "t" and "t" in row:
        row["t"] = rng.choice(_EXPANSIONS)
    elif choice == "se" and row.get("block") == "inverted_residual":
        row["se"] = not row.get("se", False)
    elif choice == "act" and "act" in row and row["act"] != "none":
        row["act"] = rng.choice(_ACTIVATIONS)
    elif choice == "c" and isinstance(row.get("c"), int):
        row["c"] = max(8, int(row["c"] * rng.choice(_CHANNEL_SCALE)) // 8 * 8)
    elif choice == "s" and row.get("s") in (1, 2) and row.get("block") != "conv":
        row["s"] = 3 - row["s"]
    return row


def sample_designs(
    seed: int = 0,
    *,
    presets: tuple[str, ...] | None = None,
    batch_sizes: tuple[int, ...] = (1,),
    max_macs: int = 600_000_000,
    resolutions: tuple[int, int] = (64, 256),
    widths: tuple[float, float] = (0.25, 1.5),
) -> Iterator[Design]:
    """Designs drawn at random (the same ``seed``, the same designs), forever: the caller stops."""
    rng = random.Random(seed)
    names = presets or tuple(PRESETS)
    while True:
        name = rng.choice(names)
        table = preset_table(name)
        stages = list(table["stages"])
        changed = 0
        for i in range(len(stages)):
            if rng.random() < 0.25:
                stages[i] = _mutate(stages[i], rng)
                changed += 1
        width = round(rng.uniform(*widths), 2)
        resolution = rng.randrange(resolutions[0], resolutions[1] + 1, 16)
        batch = rng.choice(batch_sizes)
        spec = {**table, "stages": stages, "width_multiplier": width, "resolution": resolution}
        spec.pop("preset", None)
        spec["name"] = name
        try:
            parsed = parse_spec(spec)
            report = profile(parsed, batch_size=batch)
        except (ProfilerError, ValueError):
            continue
        if report.counts.totals.macs > max_macs:
            continue
        label = f"{name} a={width} r={resolution} b={batch}" + (f" ({changed} rows changed)" if changed else "")
        yield Design(spec, batch, label, plan_model(parsed), report.counts.totals.macs)
