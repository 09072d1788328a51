"""The entry point of the core: ``profile(spec)`` -> ``Report``, usable without the server."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson
from pydantic import TypeAdapter

from .align import ALIGNMENTS, Alignment, align_layers, aligned_row
from .count import CONVENTIONS, Counts, LayerRow, MemoryOptions, MemoryReport, ModuleTotals, count_plan
from .count.memory import with_live_bytes
from .errors import SpecError
from .limits import Limits
from .model.blocks import BLOCKS
from .model.build import ModelPlan, plan_model
from .spec import ModelSpec, parse_spec

__all__ = ["COUNTERS", "FIGURES", "CounterName", "Report", "compare", "profile"]

# The counters a request may choose; their wording is in _COUNTER_NOTES.
CounterName = Literal["shapes", "fvcore"]
COUNTERS: tuple[str, ...] = get_args(CounterName)

_SPEC_DUMP = TypeAdapter(ModelSpec)


@dataclass(frozen=True)
class Report:
    spec: ModelSpec
    batch_size: int
    counts: Counts
    counter: CounterName
    count_seconds: float
    plan: ModelPlan | None = None
    memory: MemoryReport | None = None
    deployed: ModuleTotals | None = None  # form "train" with reparameterizable blocks: the deployed form's totals

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the response body of ``POST /profile``."""
        return self._body(layer_dicts(self.counts.rows), {n: totals_dict(t) for n, t in self.counts.modules.items()})

    def to_json(self) -> bytes:
        """``to_dict()`` as JSON, written by orjson straight from the rows and totals (dataclasses, whose fields
        are the keys of ``to_dict``), without building a dict per row first: a quarter of a count's time."""
        try:
            return orjson.dumps(self._body(self.counts.rows, self.counts.modules))
        except orjson.JSONEncodeError:  # an integer past 64 bits (limits raised that far): json writes any int
            return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    def _body(self, layers: Any, modules: Mapping[str, Any]) -> dict[str, Any]:
        c = self.counts
        return {
            "name": self.spec.name,
            "preset": self.spec.preset,
            "spec": _SPEC_DUMP.dump_python(self.spec, mode="json"),
            "batch_size": self.batch_size,
            "input_shape": list(c.input_shape),
            "output_shape": list(c.output_shape),
            "counter": {
                "method": self.counter,
                "seconds": round(self.count_seconds, 6),
                **_COUNTER_NOTES[self.counter],
            },
            "conventions": CONVENTIONS,
            "totals": totals_dict(c.totals),
            "unsupported_ops": dict(c.totals.unsupported_ops),
            "layers": layers,
            "modules": {name: t for name, t in modules.items() if name},
            **({"memory": self.memory.to_dict()} if self.memory is not None else {}),
            **({"deployed_totals": totals_dict(self.deployed)} if self.deployed is not None else {}),
        }


_COUNTER_NOTES = {
    "shapes": {"how": "closed-form counts from layer shapes; no model built, no tensor allocated"},
    "fvcore": {
        "how": "fvcore.nn.FlopCountAnalysis traced a real forward of the built model on the CPU for "
        "fvcore_flops and unsupported_ops; the other figures from layer shapes"
    },
}


def totals_dict(t: ModuleTotals) -> dict[str, Any]:
    return {
        "macs": t.macs,
        "flops": t.flops,
        "fvcore_flops": t.fvcore_flops,
        "params": t.params,
        "activations": t.activations,
        "unsupported_ops": dict(t.unsupported_ops),
    }


def layer_dicts(rows: list[LayerRow]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        d = dict(vars(row))
        d["input_shape"] = list(row.input_shape)
        d["output_shape"] = list(row.output_shape)
        d["unsupported_ops"] = list(row.unsupported_ops)
        out.append(d)
    return out


def profile(
    spec: ModelSpec | dict[str, Any],
    *,
    batch_size: int = 1,
    counter: CounterName = "shapes",
    limits: Limits | None = None,
    memory: MemoryOptions | None = None,
) -> Report:
    """Count ``spec`` layer by layer.

    ``counter="shapes"`` (default) counts from shapes alone; ``counter="fvcore"`` also runs fvcore on the
    built model and reports its ``fvcore_flops`` and unsupported ops. ``memory`` says how activation memory is
    figured (dtype, in-place depthwise, a budget). Raises SpecError, LimitError or UnknownPresetError for a spec
    that cannot be counted, before anything is allocated.
    """
    limits = limits or Limits()
    start = time.perf_counter()
    model_spec = parse_spec(spec)
    if counter not in COUNTERS:
        raise ValueError(f"counter must be one of {COUNTERS}, not {counter!r}")
    if batch_size < 1:
        raise SpecError.at(("batch_size",), "must be at least 1")
    limits.check("max_batch", batch_size, ("batch_size",), "batch_size")
    plan = plan_model(model_spec, limits)
    counts = count_plan(plan, batch_size)
    limits.check("max_macs", counts.totals.macs, (), "multiply-adds")
    if counter == "fvcore":
        from .count.fvcore_counter import fvcore_counts  # imported on use: fvcore's import costs a second

        counts = fvcore_counts(plan, counts, limits)
    counts, memory_report = with_live_bytes(plan, counts, memory or MemoryOptions())
    deployed = None
    if model_spec.form == "train" and any(BLOCKS[row.block].reparameterizable for row in model_spec.stages):
        deployed = count_plan(plan_model(dataclasses.replace(model_spec, form="deploy"), limits), batch_size).totals
    return Report(model_spec, batch_size, counts, counter, time.perf_counter() - start, plan, memory_report, deployed)


FIGURES = ("macs", "flops", "fvcore_flops", "params", "activations")  # every report's totals


def _ratio(b: int, a: int) -> float | None:
    return b / a if a else None


def compare(
    a: ModelSpec | dict[str, Any],
    b: ModelSpec | dict[str, Any],
    *,
    batch_size: int = 1,
    counter: CounterName = "shapes",
    limits: Limits | None = None,
    align: Alignment = "auto",
) -> dict[str, Any]:
    """Both reports, the ratio b/a of every total, and their layers side by side: by name when both have the
    same layers, else by role and position (``profiler.align``); each role's totals side by side too."""
    report_a = profile(a, batch_size=batch_size, counter=counter, limits=limits)
    report_b = profile(b, batch_size=batch_size, counter=counter, limits=limits)
    ta, tb = report_a.counts.totals, report_b.counts.totals
    assert report_a.plan is not None and report_b.plan is not None
    method, pairs = align_layers(report_a.plan, report_a.counts.rows, report_b.plan, report_b.counts.rows, align)
    aligned = [aligned_row(role, ra, rb, FIGURES) for role, ra, rb in pairs]
    return {
        "a": report_a.to_dict(),
        "b": report_b.to_dict(),
        "ratios": {f: _ratio(getattr(tb, f), getattr(ta, f)) for f in FIGURES},
        "ratios_meaning": "b / a of each total (null where a's total is 0)",
        "alignment": {"method": method, "how": ALIGNMENTS[method]},
        "aligned_layers": aligned,
        "aligned_roles": _role_totals(aligned),
    }


def _role_totals(aligned: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each role's figures summed on both sides, in order: where the two designs differ, block by block."""
    roles: dict[str, dict[str, Any]] = {}
    for row in aligned:
        entry = roles.setdefault(row["role"], {"role": row["role"], **{f: [0, 0] for f in FIGURES}})
        for f in FIGURES:
            for side in (0, 1):
                entry[f][side] += row[f][side] or 0
    for entry in roles.values():
        entry["macs_ratio"] = _ratio(entry["macs"][1], entry["macs"][0])
    return list(roles.values())
