"""Training data of a latency predictor, from measurements the service makes anyway: each measured design
gives one row per unit (its time inside whole forwards, as the runtime ran it) and one end-to-end time."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..model.build import ModelPlan
from .features import FEATURES, Units, model_units

__all__ = ["DesignSample", "PredictorKey", "decode_sample", "design_sample", "encode_sample", "predictor_key"]


@dataclass(frozen=True)
class PredictorKey:
    """What a predictor predicts for: a device (as named and as it is), a runtime, a dtype, CPU threads."""

    device: str
    device_name: str
    runtime: str
    dtype: str = "float32"
    threads: int | None = None

    def label(self) -> str:
        threads = f", {self.threads} threads" if self.threads else ""
        return f"{self.runtime} on {self.device} ({self.device_name}), {self.dtype}{threads}"


def predictor_key(entry: dict[str, Any]) -> PredictorKey:
    """The key of a latency entry (``LatencyResult.to_dict()``)."""
    runtime = entry.get("runtime") or {}
    return PredictorKey(
        device=str(entry["device"]),
        device_name=str(entry.get("device_name", "")),
        runtime=str(runtime.get("name", "eager")),
        dtype=str(entry.get("dtype", "float32")),
        threads=entry.get("threads"),
    )


@dataclass(frozen=True)
class DesignSample:
    """One measured design: its units' features and each unit's time (ms), and the measured forward."""

    key: PredictorKey
    label: str  # the design, as a person reads it (preset, alpha, rho, batch)
    units: Units
    unit_ms: np.ndarray  # (units,)
    end_to_end_ms: float

    @property
    def group(self) -> str:
        """Designs derived from one preset (or one table) form a group: held-out checks can leave one out."""
        return self.label.split(" ", 1)[0]


def design_sample(plan: ModelPlan, entry: dict[str, Any], label: str) -> DesignSample | None:
    """A design's sample from its latency entry, or None where the entry has no per-layer times (or failed).

    Eager rows are the units themselves. A runtime's rows are its nodes, each naming the spec layers it covers
    (a fused conv, BN and activation): its time goes to those units in proportion to their MACs (equally where
    none has any), so the units it fused away learn their share, and the units no node covers learn zero."""
    per_layer = entry.get("per_layer") or {}
    rows = per_layer.get("layers") or []
    end_to_end = (entry.get("end_to_end") or {}).get("median_ms")
    if not rows or not end_to_end or "error" in entry:
        return None
    units = model_units(plan, int(entry.get("batch_size", 1)))
    index = {name: i for i, name in enumerate(units.names)}
    unit_ms = np.zeros(len(units), dtype=np.float64)
    macs = units.x[:, FEATURES.index("macs")]
    for row in rows:
        covered = [index[name] for name in row.get("layers", [row["name"]]) if name in index]
        if not covered:
            continue
        weights = macs[covered]
        share = weights / weights.sum() if weights.sum() > 0 else np.full(len(covered), 1 / len(covered))
        unit_ms[covered] += float(row["median_ms"]) * share
    return DesignSample(predictor_key(entry), label, units, unit_ms, float(end_to_end))


def encode_sample(sample: DesignSample) -> bytes:
    """A sample as bytes to store: a JSON head, then the features and times as little-endian float64."""
    units = sample.units
    head = json.dumps(
        {
            "key": dataclasses.asdict(sample.key),
            "label": sample.label,
            "names": units.names,
            "kinds": units.kinds,
            "macs": units.macs,
            "fvcore_flops": units.fvcore_flops,
            "end_to_end_ms": sample.end_to_end_ms,
        }
    ).encode()
    body = units.x.astype("<f8").tobytes() + sample.unit_ms.astype("<f8").tobytes()
    return len(head).to_bytes(4, "little") + head + body


def decode_sample(data: bytes) -> DesignSample:
    size = int.from_bytes(data[:4], "little")
    head = json.loads(data[4 : 4 + size])
    n = len(head["names"])
    values = np.frombuffer(data[4 + size :], dtype="<f8").astype(np.float64)
    x = values[: n * len(FEATURES)].reshape(n, len(FEATURES))
    units = Units(head["names"], head["kinds"], x, head["macs"], head["fvcore_flops"])
    return DesignSample(
        PredictorKey(**head["key"]), head["label"], units, values[n * len(FEATURES) :], head["end_to_end_ms"]
    )
