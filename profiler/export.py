"""Per-layer CSV of a report (``Report.to_dict()``, with latency if measured) or of a comparison."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from .report import FIGURES


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as a formula (OWASP, CSV injection)


class _Writer(csv.DictWriter):
    """A DictWriter whose text cells a spreadsheet shows as text: one that would start a formula gets a leading
    apostrophe (OWASP's advice for CSV injection); numbers are written as they are. Rows end in CRLF (RFC 4180),
    so that a cell holding a CR is quoted (the writer quotes the line terminator's characters only)."""

    def __init__(self, out: TextIO, fieldnames: list[str]) -> None:
        super().__init__(out, fieldnames=fieldnames, lineterminator="\r\n")

    def writerow(self, rowdict: Any) -> Any:
        return super().writerow({k: _text(v) for k, v in rowdict.items()})


def _text(value: Any) -> Any:
    return f"'{value}" if isinstance(value, str) and value.startswith(_FORMULA_START) else value


ROOFLINE_FIELDS = ("bytes", "intensity", "achieved_flops_per_s", "achieved_bytes_per_s", "bound")


def write_layers_csv(body: dict[str, Any], out: TextIO) -> None:
    """One row per leaf layer (and per op timed in context), in execution order; per device timed layer by
    layer, its median, CI and place under the device's roofs."""
    timed = [lat for lat in body.get("latency") or [] if "per_layer" in lat]
    fields = list(body["layers"][0]) if body["layers"] else []
    for lat in timed:
        device = lat["device"]
        fields += [f"{device}_median_ms", f"{device}_ci95_ms"] + [f"{device}_{f}" for f in ROOFLINE_FIELDS]
    writer = _Writer(out, fields)
    writer.writeheader()
    per_layer = [{x["name"]: x for x in lat["per_layer"]["layers"]} for lat in timed]
    for row in _with_op_rows(body["layers"], per_layer):
        cells = {k: _cell(v) for k, v in row.items()}
        for lat, by_name in zip(timed, per_layer, strict=True):
            stats = by_name.get(row["name"], {})
            cells[f"{lat['device']}_median_ms"] = stats.get("median_ms")
            cells[f"{lat['device']}_ci95_ms"] = _cell(stats.get("ci95_ms"))
            for f in ROOFLINE_FIELDS:
                cells[f"{lat['device']}_{f}"] = stats.get(f)
        writer.writerow(cells)


def _with_op_rows(layers: list[dict[str, Any]], per_layer: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leaf rows, and a row (``type: op``) for each op timed in context (``features.3 (add)``), in the
    order the timed forward ran them."""
    timed_names = [name for by_name in per_layer for name in by_name]
    ops = [name for name in dict.fromkeys(timed_names) if name not in {row["name"] for row in layers}]
    if not ops:
        return layers
    rows = {row["name"]: row for row in layers}
    order = list(dict.fromkeys([*timed_names, *rows]))  # execution order as timed; untimed leaves after
    return [rows.get(name) or {"name": name, "type": "op"} for name in order]


def write_comparison_csv(body: dict[str, Any], out: TextIO) -> None:
    """One row per aligned pair, every layer of both sides (a layer the other side lacks has that side empty):
    its role, a's and b's names, types and figures side by side."""
    pairs = ("name", "type", *FIGURES)
    fields = ["role", *(f"{f}_{side}" for f in pairs for side in "ab"), "macs_ratio"]
    writer = _Writer(out, fields)
    writer.writeheader()
    for row in body["aligned_layers"]:
        cells = {"role": row.get("role"), "macs_ratio": row["macs_ratio"]}
        for f in pairs:
            a, b = row[f] if isinstance(row[f], list) else (row[f], row[f])  # stored before roles: one name
            cells[f"{f}_a"], cells[f"{f}_b"] = a, b
        writer.writerow(cells)


def write_sweep_csv(body: dict[str, Any], out: TextIO) -> None:
    """One row per point: the values it sets, its totals (or its error), its memory when the sweep figured it,
    whether it is on the Pareto front and, when measured, its device and end-to-end median and CI."""
    measured = any("latency" in p for p in body["points"])
    latency_fields = ["device", "median_ms", "ci95_low_ms", "ci95_high_ms", "cv", "verdict"] if measured else []
    memory_fields = ["peak_activation_bytes", "eager_peak_bytes", "weight_bytes", "fits"]
    with_memory = any("memory" in p for p in body["points"])
    fields = ["point", *body["fields"], *FIGURES, *(memory_fields if with_memory else []), "pareto"]
    fields += [*latency_fields, "error"]
    writer = _Writer(out, fields)
    writer.writeheader()
    front = set(body["pareto"])
    for i, point in enumerate(body["points"]):
        cells: dict[str, Any] = {"point": i, "pareto": i in front, **{k: _cell(v) for k, v in point["values"].items()}}
        cells.update({f: point["totals"][f] for f in FIGURES} if "totals" in point else {})
        if with_memory and "memory" in point:
            cells.update({f: point["memory"].get(f) for f in memory_fields})
        if "error" in point:
            cells["error"] = "; ".join(e["msg"] for e in point["error"]["detail"])
        for entry in point.get("latency") or []:
            if "end_to_end" in entry:
                e2e = entry["end_to_end"]
                low, high = e2e.get("ci95_ms") or (None, None)
                quality = entry.get("quality") or {}
                cells.update(
                    device=entry["device"],
                    median_ms=e2e["median_ms"],
                    ci95_low_ms=low,
                    ci95_high_ms=high,
                    cv=e2e.get("cv"),
                    verdict=quality.get("verdict"),
                )
            elif "error" in entry:
                cells["error"] = entry["error"]
        writer.writerow(cells)
