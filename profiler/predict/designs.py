"""The designs a calibration measures: around the space the presets span. Each draw takes a block family (the
presets that use the same block types: one family is drawn as often as another, however many presets it has),
one of its presets' tables, then a width multiplier, a resolution and a batch, and changes some rows (kernel,
mixed kernels, grouped pointwise convs, expansion, SE, activation, stride, channels) the way a search would. A
design heavier than the cap gets a resolution drawn again among the lower ones that fit (a wide or deep design is
still sampled, at a smaller input); one that cannot be counted is drawn again."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import ProfilerError, SpecError
from ..model.build import ModelPlan, plan_model
from ..report import Report, profile
from ..spec import PRESETS, ModelSpec, parse_spec, preset_table

__all__ = ["Design", "block_families", "sample_designs"]

_KERNELS = (1, 3, 5, 7)
_MIXED_KERNELS = (3, 5, 7, 9)  # MixConv's depthwise kernels (MixNet)
_GROUPS = (1, 2, 4)  # MixNet's grouped pointwise convs
_TRIES = 20  # draws within a family before another family is drawn (none of its designs fits the cap)
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
    choice = rng.choice(("k", "t", "se", "act", "c", "s", "mix", "groups"))
    if choice == "k" and "k" in row and not isinstance(row["k"], list):
        row["k"] = rng.choice(_KERNELS[1:] if row["k"] > 1 else _KERNELS[:2])
    elif choice == "mix" and row.get("block") == "inverted_residual":
        row["k"] = sorted(rng.sample(_MIXED_KERNELS, rng.randint(1, len(_MIXED_KERNELS))))
    elif choice == "groups" and row.get("block") == "inverted_residual":
        row["exp_groups"], row["pw_groups"] = rng.choice(_GROUPS), rng.choice(_GROUPS)
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


def block_families(names: tuple[str, ...]) -> list[tuple[str, ...]]:
    """``names`` grouped by the block types their tables use (MobileNetV2 with MobileNetV3 and EfficientNet,
    ResNet-50 with ResNet-101 and -152, ...), in a fixed order."""
    families: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        blocks = tuple(sorted({str(row.get("block")) for row in preset_table(name)["stages"]}))
        families.setdefault(blocks, []).append(name)
    return [tuple(family) for _, family in sorted(families.items())]


def _fitted(
    spec: dict[str, Any], batch: int, max_macs: int, lowest: int, rng: random.Random
) -> tuple[ModelSpec, Report] | None:
    """The spec parsed and counted; if it is heavier than ``max_macs``, at a resolution drawn again among those
    that fit (MACs grow with the pixels); None when it cannot be counted or fits at none down to ``lowest``."""
    redraws = 2  # a stride's rounding can leave the first redraw over: drawn lower again
    while True:
        try:
            parsed = parse_spec(spec)
            report = profile(parsed, batch_size=batch)
        except (ProfilerError, ValueError):
            return None
        macs = report.counts.totals.macs
        if macs <= max_macs:
            return parsed, report
        fits = int(spec["resolution"] * math.sqrt(max_macs / macs)) // 16 * 16
        if fits < lowest or not redraws:
            return None
        redraws -= 1
        spec["resolution"] = rng.randrange(lowest, min(fits, spec["resolution"] - 16) + 1, 16)


def sample_designs(
    seed: int = 0,
    *,
    presets: tuple[str, ...] | None = None,
    batch_sizes: tuple[int, ...] = (1,),
    max_macs: int = 600_000_000,
    resolutions: tuple[int, int] = (64, 256),
    widths: tuple[float, float] = (0.25, 1.5),
) -> Iterator[Design]:
    """Designs drawn at random (the same ``seed``, the same designs), forever: the caller stops. SpecError when no
    family yields a design under ``max_macs``."""
    rng = random.Random(seed)
    families = block_families(presets or tuple(PRESETS))
    failed = 0  # families drawn in a row with no design that fits
    while True:
        family = rng.choice(families)
        for _ in range(_TRIES):  # within the family drawn: a heavy family is still drawn as often as a light one
            design = _draw(rng.choice(family), rng, batch_sizes, max_macs, resolutions, widths)
            if design is not None:
                failed = 0
                yield design
                break
        else:
            failed += 1
            if failed >= 2 * len(families):  # no family has a design under the cap: never a draw that never ends
                raise SpecError.at(
                    ("max_macs",),
                    f"no design drawn from {', '.join(sorted(p for f in families for p in f))} fits under {max_macs:,}"
                    f" MACs at {resolutions[0]} px and batch {min(batch_sizes)}: raise max_macs",
                )


def _draw(
    name: str,
    rng: random.Random,
    batch_sizes: tuple[int, ...],
    max_macs: int,
    resolutions: tuple[int, int],
    widths: tuple[float, float],
) -> Design | None:
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
    counted = _fitted(spec, batch, max_macs, resolutions[0], rng)
    if counted is None:
        return None
    parsed, report = counted
    label = f"{name} a={width} r={spec['resolution']} b={batch}" + (f" ({changed} rows changed)" if changed else "")
    return Design(spec, batch, label, plan_model(parsed), report.counts.totals.macs)
