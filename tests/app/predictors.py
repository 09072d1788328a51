"""A latency predictor fitted without any timer, for the API and dashboard tests: a made-up CPU ("test cpu",
eager) whose units take 1 ms per 2 GMACs, 1 ms per 50 M elements moved, and 10 µs each, plus 0.3 ms per model."""

from __future__ import annotations

import itertools

from profiler.predict import (
    FEATURES,
    DesignSample,
    LatencyPredictor,
    PredictorKey,
    fit_predictor,
    model_units,
    sample_designs,
)

_MACS, _IN, _OUT = (FEATURES.index(name) for name in ("macs", "elements_in", "elements_out"))


def formula_samples() -> list[DesignSample]:
    key = PredictorKey(device="cpu", device_name="test cpu", runtime="eager")
    samples = []
    for design in itertools.islice(sample_designs(5, presets=("mobilenet_v2", "mobilenet_v3_small")), 30):
        units = model_units(design.plan, design.batch_size)
        x = units.x
        unit_ms = 1e3 * x[:, _MACS] / 2e9 + 1e3 * (x[:, _IN] + x[:, _OUT]) / 50e6 + 0.01
        samples.append(DesignSample(key, design.label, units, unit_ms, float(unit_ms.sum()) + 0.3))
    return samples


def fitted_predictor() -> LatencyPredictor:
    return fit_predictor(formula_samples())
