"""Sweeps: one base spec, many variants of it (a grid's product of field values, and explicit points), the
totals of each, and the Pareto front of the trade-off.

A variant names its fields by path: a top-level field (``width_multiplier``, ``resolution``), a nested one
(``classifier.dropout``) or a row's (``stages.3.t``, rows counted from 0 in the base's resolved table).
Counting a variant takes its totals only (a ``TotalsProgram``), compiled from a plan shared by every variant
that differs in resolution, batch or name alone: a 10,000-point α × ρ sweep plans each α once.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from .count.memory import MemoryOptions, MemoryProgram, memory_of, with_live_bytes
from .count.shapes import TotalsProgram, count_plan
from .errors import LimitError, Loc, ProfilerError, SpecError, UnknownPresetError
from .limits import Limits
from .model.build import ModelPlan, plan_model
from .predict.features import UnitProgram, Units
from .predict.model import LatencyPredictor, predicted_entry
from .report import layer_dicts, totals_dict
from .spec import ModelSpec, parse_spec, preset_table

__all__ = [
    "Sweep",
    "answer_bytes",
    "check_answer_size",
    "count_points",
    "iter_points",
    "pareto_front",
    "plan_sweep",
    "sweep",
]

_SPEC_DUMP = TypeAdapter(ModelSpec)
Override = dict[str, Any]  # field path -> value
MAX_STRING = 200  # characters of a string a sweep sets (a spec's longest string field, its name, takes 200)


@dataclass(frozen=True)
class Sweep:
    """A checked sweep: its base (as sent and fully resolved) and one override per point, in order."""

    base: dict[str, Any]  # as sent
    resolved: dict[str, Any]  # the base spec with its preset's table and every default written out
    fields: tuple[str, ...]  # the paths the points vary, grid first
    grid: dict[str, list[Any]]
    points: tuple[Override, ...]  # the explicit points, after the grid's
    memory: MemoryOptions | None = None  # each point's activation memory too, and on the Pareto front

    def __len__(self) -> int:
        return math.prod(len(v) for v in self.grid.values()) * bool(self.grid) + len(self.points)

    def overrides(self, start: int = 0, stop: int | None = None) -> Iterator[Override]:
        """The points' overrides, ``start`` to ``stop``, without building the whole product."""
        product: Iterable[Override] = (
            dict(zip(self.grid, values, strict=True)) for values in itertools.product(*self.grid.values())
        )
        every = itertools.chain(product if self.grid else (), self.points)
        return itertools.islice(every, start, stop)


def plan_sweep(
    base: dict[str, Any] | ModelSpec,
    grid: Mapping[str, Sequence[Any]] | None = None,
    points: Sequence[Override] = (),
    limits: Limits | None = None,
    *,
    detailed: bool = False,
    memory: MemoryOptions | None = None,
) -> Sweep:
    """Check a sweep before any point is counted: the base is a valid spec, every field path exists in it, and
    the number of points is within ``max_sweep_points`` (``max_sweep_latency_points`` when each point is
    measured or reported layer by layer: ``detailed``)."""
    limits = limits or Limits()
    grid_lists = {k: list(v) for k, v in (grid or {}).items()}
    raw = _SPEC_DUMP.dump_python(base, mode="json", exclude_unset=True) if isinstance(base, ModelSpec) else base
    try:
        base_spec = parse_spec(raw)
    except SpecError as exc:
        raise SpecError([(("base", *loc), msg) for loc, msg in exc.problems]) from None
    except UnknownPresetError as exc:
        raise SpecError.at(("base", "preset"), str(exc)) from None
    resolved = _SPEC_DUMP.dump_python(base_spec, mode="json")
    for path, values in grid_lists.items():
        _check_path(resolved, path, ("grid", path))
        if not values:
            raise SpecError.at(("grid", path), "give at least one value")
        _check_strings(values, ("grid", path))
    for i, point in enumerate(points):
        if not point:
            raise SpecError.at(("points", i), "give at least one field to set (an empty point is the base)")
        for path in point:
            _check_path(resolved, path, ("points", i, path))
        _check_strings(point, ("points", i))
    if not grid_lists and not points:
        raise SpecError.at(("grid",), "give a grid of field values, or points, to sweep over")
    fields = tuple(dict.fromkeys([*grid_lists, *(path for point in points for path in point)]))
    sweep = Sweep(dict(raw), resolved, fields, grid_lists, tuple(points), memory)
    setting = "max_sweep_latency_points" if detailed else "max_sweep_points"
    limits.check(setting, len(sweep), ("grid",), "points in the sweep")
    return sweep


def check_answer_size(sweep: Sweep, batch_size: int, limits: Limits, *, layers: bool) -> None:
    """Refuse (LimitError) a sweep whose answer ``answer_bytes`` estimates past ``max_response_bytes``."""
    limits.check(
        "max_response_bytes",
        answer_bytes(sweep, batch_size, limits, layers=layers),
        ("grid",),
        "estimated bytes of the answer (its points' values, totals" + (" and per-layer rows)" if layers else ")"),
    )


def _check_path(resolved: dict[str, Any], path: str, loc: Loc) -> None:
    """A field path that exists in the resolved base, or a SpecError naming the valid ones at its level."""
    node: Any = resolved
    walked: list[str] = []
    for part in path.split("."):
        where = ".".join(walked) or "the spec"
        if isinstance(node, list):
            if not _is_index(part) or int(part) >= len(node):
                raise SpecError.at(
                    loc,
                    f"{where} has {len(node)} rows: use an index from 0 to {len(node) - 1}, in ASCII digits "
                    "without leading zeros",
                )
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                valid = sorted(node)
                close = difflib.get_close_matches(part, valid, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise SpecError.at(loc, f"unknown field {part!r} in {where}; {hint}valid fields: {', '.join(valid)}")
            node = node[part]
        else:
            raise SpecError.at(loc, f"{where} is {node!r}, not an object with fields: set {where} itself")
        walked.append(part)


def _check_strings(value: Any, loc: Loc) -> None:
    """Every point repeats its values: a string longer than any spec field takes is refused, not copied."""
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise SpecError.at(loc, f"a string of {len(value):,} characters: a spec's strings are at most {MAX_STRING}")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, loc)
            _check_strings(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_strings(item, (*loc, i))


def answer_bytes(sweep: Sweep, batch_size: int = 1, limits: Limits | None = None, *, layers: bool = False) -> int:
    """The size of a sweep's answer, estimated before any point is counted: each point's values (exactly) and
    totals, plus its per-layer rows with ``layers``, taken from the base (a point that adds blocks answers more:
    the encoded points are checked against ``max_response_bytes`` too)."""
    limits = limits or Limits()
    grid_points = math.prod(len(v) for v in sweep.grid.values()) if sweep.grid else 0
    size = len(_json(sweep.resolved))
    for path, values in sweep.grid.items():  # each value is written in every point its combination has
        size += sum(len(_json({path: v})) for v in values) * (grid_points // len(values))
    size += sum(len(_json(p)) for p in sweep.points)
    try:
        spec = parse_spec(sweep.resolved)
        plan = plan_model(spec, limits)
        values, totals = TotalsProgram(plan).run_values((batch_size, spec.in_channels, *spec.hw))
        per_point = len(_json({"values": {}, "totals": totals_dict(totals)}))
        if sweep.memory is not None:
            memory = memory_of(MemoryProgram(plan), values, totals.params, sweep.memory)
            per_point += len(_json({"memory": memory.summary()}))
        if layers:
            per_point += len(_json(layer_dicts(count_plan(plan, batch_size).rows)))
    except ProfilerError:  # a base the points change into something countable: an error's size at least
        per_point = 200
    return size + len(sweep) * per_point


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_index(part: str) -> bool:
    """A row index written one way only (``3``; not ``03``, ``３`` or ``٣``), so two paths cannot name one field."""
    return part.isascii() and part.isdigit() and (part == "0" or not part.startswith("0"))


def point_spec(sweep: Sweep, override: Override) -> dict[str, Any]:
    """The spec of one point as data: the resolved base (or, where the point names another preset, the base
    on that preset's table) with the point's values set at their paths."""
    data: dict[str, Any]
    if "preset" in override and override["preset"] != sweep.resolved.get("preset"):
        preset = override["preset"]
        table = preset_table(preset) if isinstance(preset, str) else {}
        data = {**table, **{k: v for k, v in sweep.base.items() if k != "stages"}, "preset": preset}
    else:
        data = sweep.resolved
    for path, value in override.items():
        data = _set(data, path.split("."), value, path)
    return data


def _set(node: Any, parts: list[str], value: Any, path: str) -> Any:
    """A copy of ``node`` with ``value`` at ``parts`` (only the containers along the path are copied)."""
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(node, list) and _is_index(head) and int(head) < len(node):
        out = list(node)
        out[int(head)] = _set(node[int(head)], rest, value, path)
        return out
    if isinstance(node, dict) and (head in node or not rest):
        return {**node, head: _set(node.get(head), rest, value, path)}
    raise SpecError.at((path,), f"this point's spec has no field {path!r}")


_PLAN_FREE = ("resolution", "name", "preset")  # what a plan does not depend on (the preset: its table is in stages)


class _Programs:
    """Counting programs by everything but resolution, batch and names: the variants that differ only there
    share one plan (an α × ρ grid plans each α once)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._programs: dict[tuple[Any, ...], tuple[ModelPlan, TotalsProgram]] = {}
        self._memory: dict[int, MemoryProgram] = {}  # by the TotalsProgram it goes with

    def memory(self, plan: ModelPlan, program: TotalsProgram) -> MemoryProgram:
        """The plan's memory program (its value slots are the totals program's: the same walk)."""
        found = self._memory.get(id(program))
        if found is None:
            found = self._memory[id(program)] = MemoryProgram(plan)
        return found

    def get(self, spec: ModelSpec) -> tuple[ModelPlan, TotalsProgram]:
        key = tuple(getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name not in _PLAN_FREE)
        found = self._programs.get(key)
        if found is None:
            plan = plan_model(spec, self.limits)
            found = self._programs[key] = (plan, TotalsProgram(plan))
            return found
        h, w = spec.hw
        self.limits.check("max_resolution", max(h, w), ("resolution",))  # the check planning made
        return dataclasses.replace(found[0], spec=spec), found[1]


def count_points(
    sweep: Sweep,
    start: int = 0,
    stop: int | None = None,
    *,
    batch_size: int = 1,
    limits: Limits | None = None,
    layers: bool = False,
    predictors: Sequence[LatencyPredictor] = (),
) -> list[dict[str, Any]]:
    """Points ``start`` to ``stop`` of ``sweep``, each ``{"values", "totals"}`` (with ``"layers"`` when asked,
    and each predictor's ``"latency"``) or ``{"values", "error"}`` where its spec cannot be counted."""
    return list(
        iter_points(sweep, start, stop, batch_size=batch_size, limits=limits, layers=layers, predictors=predictors)
    )


def iter_points(
    sweep: Sweep,
    start: int = 0,
    stop: int | None = None,
    *,
    batch_size: int = 1,
    limits: Limits | None = None,
    layers: bool = False,
    predictors: Sequence[LatencyPredictor] = (),
) -> Iterator[dict[str, Any]]:
    """``count_points`` one point at a time (a caller that encodes each holds one point's rows at once). With
    ``predictors``, points come in batches of ``_PREDICT_BATCH``: one regressor call for all their layers."""
    limits = limits or Limits()
    programs = _Programs(limits)
    unit_programs: dict[int, UnitProgram] = {}
    waiting: list[tuple[dict[str, Any], Units | None]] = []
    for override in sweep.overrides(start, stop):
        point: dict[str, Any] = {"values": override}
        units = None
        try:
            spec = parse_spec(point_spec(sweep, override))
            plan, program = programs.get(spec)
            values, totals = program.run_values((batch_size, spec.in_channels, *spec.hw))
            limits.check("max_macs", totals.macs, (), "multiply-adds")
            point["totals"] = totals_dict(totals)
            if sweep.memory is not None:
                memory = memory_of(programs.memory(plan, program), values, totals.params, sweep.memory)
                point["memory"] = memory.summary()
            if predictors:
                unit_program = unit_programs.get(id(program))
                if unit_program is None:
                    unit_program = unit_programs[id(program)] = UnitProgram(plan, program)
                units = unit_program.units(values[0], values, totals)
            if layers:
                counts = with_live_bytes(plan, count_plan(plan, batch_size), sweep.memory or MemoryOptions())[0]
                point["layers"] = layer_dicts(counts.rows)
        except ProfilerError as exc:
            point["error"] = error_dict(exc)
        if not predictors:
            yield point
            continue
        waiting.append((point, units))
        if len(waiting) >= _PREDICT_BATCH:
            yield from _predicted(waiting, predictors, layers)
            waiting = []
    yield from _predicted(waiting, predictors, layers)


_PREDICT_BATCH = 64


def _predicted(
    waiting: list[tuple[dict[str, Any], Units | None]], predictors: Sequence[LatencyPredictor], layers: bool
) -> Iterator[dict[str, Any]]:
    """The points with each predictor's latency (one call per predictor for the batch), in order."""
    designs = [units for _, units in waiting if units is not None]
    predictions = [iter(p.predict_many(designs)) for p in predictors]
    described = [p.describe() for p in predictors]
    for point, units in waiting:
        if units is not None:
            point["latency"] = [
                predicted_entry(p, next(found), units, per_layer=layers, described=d)
                for p, found, d in zip(predictors, predictions, described, strict=True)
            ]
        yield point


def error_dict(exc: ProfilerError) -> dict[str, Any]:
    """Why a point has no figures, in the shape of a 422's detail: where (in the point's spec) and what."""
    if isinstance(exc, SpecError):
        return {"type": "spec", "detail": [{"loc": list(loc), "msg": msg} for loc, msg in exc.problems]}
    if isinstance(exc, LimitError):
        return {"type": "limit", "setting": exc.setting, "detail": [{"loc": list(exc.loc), "msg": str(exc)}]}
    if isinstance(exc, UnknownPresetError):
        return {"type": "spec", "detail": [{"loc": ["preset"], "msg": str(exc)}]}
    return {"type": "error", "detail": [{"loc": [], "msg": str(exc)}]}


def objectives(point: dict[str, Any], measured: bool) -> tuple[float, ...] | None:
    """What the Pareto front minimises for a point: MACs, parameters, its peak activation memory in a sweep with
    ``memory`` and, in a ``measured`` sweep, its latency (the median, ms, of the first device that measured
    it); None for a point without those figures (an error, a failed or not yet finished measurement)."""
    totals = point.get("totals")
    if totals is None:
        return None
    costs: tuple[float, ...] = (totals["macs"], totals["params"])
    if "memory" in point:
        costs += (point["memory"]["peak_activation_bytes"],)
    if not measured:
        return costs
    medians = [entry.get("end_to_end", {}).get("median_ms") for entry in point.get("latency") or ()]
    median = next((m for m in medians if m is not None), None)
    return None if median is None else (*costs, median)


def memory_options(sweep: Sweep) -> dict[str, Any]:
    """How a sweep with memory figured it (dtype, in-place depthwise, budget): said in its answer."""
    return dataclasses.asdict(sweep.memory) if sweep.memory else {}


def pareto_objectives(sweep: Sweep, measured: bool) -> list[str]:
    """What ``objectives`` minimises, by name, in order."""
    return [
        "macs",
        "params",
        *(["peak_activation_bytes"] if sweep.memory else []),
        *(["latency_ms"] if measured else []),
    ]


def pareto_front(costs: Sequence[tuple[float, ...] | None]) -> list[int]:
    """Indices of the points no other point dominates (at most as costly in every objective, less in one);
    None entries are never on the front. Sorted first, so that a dominating point is always seen before the
    points it dominates: O(n log n + n x front)."""
    order = sorted((i for i, c in enumerate(costs) if c is not None), key=lambda i: costs[i])  # type: ignore[arg-type,return-value]
    front: list[int] = []
    for i in order:
        c = costs[i]
        assert c is not None
        if not any(_dominates(costs[j], c) for j in front):  # type: ignore[arg-type]
            front.append(i)
    return sorted(front)


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a != b and all(x <= y for x, y in zip(a, b, strict=True))


def sweep(
    base: dict[str, Any] | ModelSpec,
    grid: Mapping[str, Sequence[Any]] | None = None,
    points: Sequence[Override] = (),
    *,
    batch_size: int = 1,
    limits: Limits | None = None,
    layers: bool = False,
    memory: MemoryOptions | None = None,
) -> dict[str, Any]:
    """Count every point of a sweep in this process: the body of ``POST /sweep`` without latency."""
    limits = limits or Limits()
    start = time.perf_counter()
    planned = plan_sweep(base, grid, points, limits, detailed=layers, memory=memory)
    check_answer_size(planned, batch_size, limits, layers=layers)
    counted = count_points(planned, batch_size=batch_size, limits=limits, layers=layers)
    return sweep_body(planned, counted, batch_size, time.perf_counter() - start)


def sweep_body(
    planned: Sweep, points: list[dict[str, Any]], batch_size: int, seconds: float, *, measured: bool = False
) -> dict[str, Any]:
    """The answer to a sweep: its points in order, with the indices of the Pareto-optimal ones."""
    return {
        "base": planned.resolved,
        "fields": list(planned.fields),
        "batch_size": batch_size,
        "count_seconds": round(seconds, 6),
        "points": points,
        "errors": sum("error" in p for p in points),
        "pareto": pareto_front([objectives(p, measured) for p in points]),
        "pareto_objectives": pareto_objectives(planned, measured),
        **({"memory_options": memory_options(planned)} if planned.memory else {}),
    }
