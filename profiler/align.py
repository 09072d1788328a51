"""Which layer of one model stands for which layer of another, for a comparison.

Two specs of one architecture (MobileNetV2 at α 1.0 and 0.5) have the same layer names: they align by name.
Two different designs (a 3×3 conv against its depthwise-separable version, V2 against V3) do not: their
layers align by role, then by position. A role is where a block stands in the spec's table:

- ``stem``: the plain rows (conv, pool, act) before the first block row;
- ``stage i block j``: the j-th repetition of the i-th row after the stem (both from 1);
- ``head``: the plain rows after the last block row, and the classifier.

Within one role, the leaves pair up in execution order, layers of one type with each other (a longest
common subsequence of the types, by ``difflib``); where one side has layers the other lacks, they stand alone.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from itertools import zip_longest
from typing import Any, Literal

from .count import LayerRow
from .model.blocks import BLOCKS
from .model.build import ModelPlan

__all__ = ["ALIGNMENTS", "Alignment", "align_layers", "layer_roles"]

Alignment = Literal["auto", "name", "role"]
ALIGNMENTS: dict[str, str] = {
    "name": "by layer name: both models have the same layers",
    "role": "by role (stem, stage i block j, head), then within each role in execution order, layers of the same "
    "type paired",
}


def _row_roles(plan: ModelPlan) -> list[str]:
    """Each block's role (``features.i`` -> role)."""
    rows = [int(block.loc[1]) for block in plan.blocks]  # the block's row: ("stages", i)
    stages = plan.spec.stages
    is_block = [BLOCKS[row.block].scales_depth for row in stages]
    first = next((i for i, b in enumerate(is_block) if b), None)
    last = max((i for i, b in enumerate(is_block) if b), default=None)
    roles: list[str] = []
    seen: dict[int, int] = {}
    for row in rows:
        rep = seen[row] = seen.get(row, 0) + 1
        if first is not None and last is not None and row < first:
            roles.append("stem")
        elif last is not None and row > last:
            roles.append("head")
        else:  # a table of plain rows only: every row is a stage
            stage = row - (first or 0) + 1
            roles.append(f"stage {stage} block {rep}")
    return roles


def layer_roles(plan: ModelPlan, rows: list[LayerRow]) -> list[str]:
    """Each leaf's role, in the order of ``rows``."""
    by_block = _row_roles(plan)
    out = []
    for row in rows:
        parts = row.name.split(".")
        out.append(by_block[int(parts[1])] if parts[0] == "features" and len(parts) > 1 else "head")
    return out


def _groups(roles: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, role in enumerate(roles):
        groups.setdefault(role, []).append(i)
    return groups


def align_layers(
    plan_a: ModelPlan, rows_a: list[LayerRow], plan_b: ModelPlan, rows_b: list[LayerRow], how: Alignment = "auto"
) -> tuple[str, list[tuple[str, LayerRow | None, LayerRow | None]]]:
    """The method used and the pairs ``(role, a's layer, b's layer)``, in execution order (a's, with b's
    unpaired layers where they run). ``auto``: by name when both have the same layer names, else by role."""
    roles_a, roles_b = layer_roles(plan_a, rows_a), layer_roles(plan_b, rows_b)
    if how == "name" or (how == "auto" and [r.name for r in rows_a] == [r.name for r in rows_b]):
        by_name = {r.name: (role, r) for role, r in zip(roles_b, rows_b, strict=True)}
        names_a = {r.name for r in rows_a}
        pairs: list[tuple[str, LayerRow | None, LayerRow | None]] = [
            (role, ra, by_name.get(ra.name, (None, None))[1]) for role, ra in zip(roles_a, rows_a, strict=True)
        ]
        pairs += [(role, None, rb) for role, rb in zip(roles_b, rows_b, strict=True) if rb.name not in names_a]
        return "name", pairs
    groups_a, groups_b = _groups(roles_a), _groups(roles_b)
    order = list(dict.fromkeys([*roles_a, *roles_b]))  # a's roles as they run, then any only b has
    order.sort(key=_role_order)
    pairs = []
    for role in order:
        in_a, in_b = [rows_a[i] for i in groups_a.get(role, [])], [rows_b[i] for i in groups_b.get(role, [])]
        pairs += [(role, ra, rb) for ra, rb in _pair_in_order(in_a, in_b)]
    return "role", pairs


def _pair_in_order(a: list[LayerRow], b: list[LayerRow]) -> list[tuple[LayerRow | None, LayerRow | None]]:
    """Both sequences in order: runs of the same types paired one to one, differing runs position by position."""
    matcher = SequenceMatcher(None, [r.type for r in a], [r.type for r in b], autojunk=False)
    out: list[tuple[LayerRow | None, LayerRow | None]] = []
    for _, a0, a1, b0, b1 in matcher.get_opcodes():
        out += list(zip_longest(a[a0:a1], b[b0:b1]))
    return out


def _role_order(role: str) -> tuple[int, int, int]:
    """stem, then the stages by number and block, then the head."""
    if role == "stem":
        return (0, 0, 0)
    if role == "head":
        return (2, 0, 0)
    _, stage, _, block = role.split()
    return (1, int(stage), int(block))


def aligned_row(role: str, ra: LayerRow | None, rb: LayerRow | None, figures: tuple[str, ...]) -> dict[str, Any]:
    """One row of ``aligned_layers``: each figure as ``[a, b]`` (null on a side without the layer)."""

    def pair(field: str) -> list[Any]:
        return [getattr(ra, field) if ra else None, getattr(rb, field) if rb else None]

    macs_a, macs_b = pair("macs")
    return {
        "role": role,
        "name": pair("name"),
        "type": pair("type"),
        **{f: pair(f) for f in figures},
        "macs_ratio": macs_b / macs_a if macs_a and macs_b is not None else None,
    }
