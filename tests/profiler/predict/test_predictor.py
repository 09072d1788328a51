"""The latency predictor's parts without a timer: features read from the plan agree with the counts; a runtime
node's time is split over the layers it fused as written here; samples survive the store's encoding; and fitted
on designs whose unit times follow a formula written in this test, it predicts held-out designs and presets
closely, beats a MACs-only fit, and says when a design lies outside what it was fitted on."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from profiler import SpecError, profile
from profiler.predict import (
    FEATURES,
    MIN_DESIGNS,
    DesignSample,
    PredictorKey,
    UnitProgram,
    Units,
    block_families,
    design_sample,
    fit_predictor,
    model_units,
    sample_designs,
)
from profiler.predict.samples import decode_sample, encode_sample

KEY = PredictorKey(device="cpu", device_name="test cpu", runtime="eager")


def _col(name: str) -> int:
    return FEATURES.index(name)


def test_units_are_the_reports_rows_and_ops_with_their_counts() -> None:
    report = profile({"preset": "mobilenet_v3_small", "resolution": 160}, batch_size=2)
    assert report.plan is not None
    units = model_units(report.plan, 2)
    rows = report.counts.rows
    layer_names = [r.name for r in rows]
    assert [n for n in units.names if "(" not in n] == layer_names
    assert {n for n in units.names if "(" in n} == set(report.counts.op_elements)
    assert units.x[:, _col("macs")].sum() == report.counts.totals.macs
    assert units.x[:, _col("params")].sum() == report.counts.totals.params
    assert set(units.x[:, _col("batch")]) == {2}
    by_name = dict(zip(units.names, units.x, strict=True))
    for row in rows:
        x = by_name[row.name]
        assert x[_col("elements_out")] == row.activations
        assert x[_col("elements_in")] == np.prod(row.input_shape)
    # An op reads its inputs and writes its output: what the counts call its elements.
    for name, elements in report.counts.op_elements.items():
        assert by_name[name][_col("elements_in")] + by_name[name][_col("elements_out")] == elements
    kinds = dict(zip(units.names, units.kinds, strict=True))
    assert kinds["features.1.conv_dw"] == "conv_dw" and kinds["features.1.se.fc1"] == "conv_1x1"
    assert kinds["features.0.conv"] == "conv" and kinds["features.0.act"] == "Hardswish"
    # The same program at another shape (scaled from its first reading): as read afresh at that shape.
    program = UnitProgram(report.plan)
    program.units((2, 3, 160, 160))
    other = program.units((3, 3, 96, 112))
    assert np.array_equal(other.x, UnitProgram(report.plan).units((3, 3, 96, 112)).x)
    assert other.kinds == units.kinds and other.names == units.names
    small = profile({"preset": "mobilenet_v3_small", "resolution": [96, 112]}, batch_size=3)
    assert other.macs == small.counts.totals.macs == other.x[:, _col("macs")].sum()


def test_a_runtime_nodes_time_goes_to_the_layers_it_fused_by_their_macs() -> None:
    report = profile({"preset": "mobilenet_v2", "width_multiplier": 0.5, "resolution": 96})
    assert report.plan is not None
    units = model_units(report.plan)
    macs = dict(zip(units.names, units.x[:, _col("macs")], strict=True))
    a, b = "features.2.conv_pw", "features.2.conv_dw"
    entry = {
        "device": "cpu",
        "device_name": "test cpu",
        "batch_size": 1,
        "dtype": "float32",
        "threads": 1,
        "runtime": {"name": "onnxruntime"},
        "end_to_end": {"median_ms": 5.0},
        "per_layer": {
            "layers": [
                {"name": "fused", "layers": [a, "features.2.bn1", "features.2.act1", b], "median_ms": 3.0},
                {"name": "add", "layers": ["features.3 (add)"], "median_ms": 0.5},
            ]
        },
    }
    sample = design_sample(report.plan, entry, "mobilenet_v2 test")
    assert sample is not None and sample.key.runtime == "onnxruntime" and sample.key.threads == 1
    got = dict(zip(units.names, sample.unit_ms, strict=True))
    assert got[a] == pytest.approx(3.0 * macs[a] / (macs[a] + macs[b]))
    assert got[b] == pytest.approx(3.0 * macs[b] / (macs[a] + macs[b]))
    assert got["features.2.bn1"] == 0 and got["features.3 (add)"] == pytest.approx(0.5)  # no MACs: shared equally
    assert sum(got.values()) == pytest.approx(3.5)
    back = decode_sample(encode_sample(sample))
    assert back.key == sample.key and back.label == sample.label and back.units.names == sample.units.names
    assert np.array_equal(back.units.x, sample.units.x) and np.array_equal(back.unit_ms, sample.unit_ms)
    assert design_sample(report.plan, {**entry, "per_layer": None}, "x") is None  # no per-layer times: no sample


def _synthetic(units_x: np.ndarray, kinds: list[str]) -> np.ndarray:
    """A made-up device: 1 ms per 2 GMACs (depthwise at a quarter of that rate), 1 ms per 50 M elements moved,
    10 µs per unit."""
    macs = units_x[:, _col("macs")]
    moved = units_x[:, _col("elements_in")] + units_x[:, _col("elements_out")]
    rate = np.where(np.array(kinds) == "conv_dw", 0.5e9, 2e9)
    return 1e3 * macs / rate + 1e3 * moved / 50e6 + 0.01


def _sample(design_units: object, label: str) -> DesignSample:
    units = design_units  # Units
    unit_ms = _synthetic(units.x, units.kinds)  # type: ignore[attr-defined]
    return DesignSample(KEY, label, units, unit_ms, float(unit_ms.sum()) * 1.1 + 0.3)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted() -> tuple[object, list[DesignSample]]:
    held_out = ("mobilenet_v3_large", "efficientnet_b0")
    presets = tuple(p for p in ("mobilenet_v2", "mobilenet_v3_small", "mnasnet1_0", "efficientnet_b1", "lcnet_075"))
    designs = list(itertools.islice(sample_designs(3, presets=presets, max_macs=300_000_000), 60))
    samples = [_sample(model_units(d.plan, d.batch_size), d.label) for d in designs]
    unseen = []
    for name in held_out:
        report = profile({"preset": name})
        assert report.plan is not None
        unseen.append(_sample(model_units(report.plan), name))
    return fit_predictor(samples, seed=0), unseen


def test_fitted_on_a_formula_it_predicts_designs_and_presets_it_never_saw(fitted: tuple) -> None:
    predictor, unseen = fitted
    accuracy = predictor.accuracy
    assert accuracy["designs"] >= 10 and accuracy["within_10pct"] >= 0.8 and accuracy["spearman"] >= 0.9
    assert accuracy["mape"] < accuracy["baselines"]["macs"]["mape"]  # better than MACs alone
    for sample in unseen:
        prediction = predictor.predict(sample.units)
        assert prediction.median_ms == pytest.approx(sample.end_to_end_ms, rel=0.25), sample.label
        assert prediction.low_ms <= prediction.median_ms <= prediction.high_ms
        assert len(prediction.layers_ms) == len(sample.units)
    held = predictor.held_out
    assert len(held) == accuracy["designs"] and all(h["measured_ms"] > 0 for h in held)
    described = predictor.describe()
    assert described["runtime"] == "eager" and described["designs"] + len(held) == 60


def test_outside_what_was_sampled_it_says_so_and_widens_the_interval(fitted: tuple) -> None:
    predictor, _ = fitted
    inside = profile({"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160})
    wide = profile({"preset": "mobilenet_v2", "width_multiplier": 4.0, "resolution": 160})  # channels far past
    new_kind = profile({"preset": "shufflenet_v2_x1_0"})  # channel shuffle and split: never measured
    assert inside.plan is not None and wide.plan is not None and new_kind.plan is not None
    ok = predictor.predict(model_units(inside.plan))
    assert not ok.extrapolated and ok.why == ()
    far = predictor.predict(model_units(wide.plan))
    assert far.extrapolated and any("c_out" in why or "c_in" in why for why in far.why)
    assert (far.high_ms - far.low_ms) / far.median_ms > (ok.high_ms - ok.low_ms) / ok.median_ms
    shuffled = predictor.predict(model_units(new_kind.plan))
    assert shuffled.extrapolated and any("channelshuffle was never measured" in why for why in shuffled.why)
    batch = predictor.predict(model_units(inside.plan, 64))  # only batch 1 was sampled
    assert batch.extrapolated and any("batch" in why for why in batch.why)


def test_past_the_largest_layers_sampled_a_prediction_still_grows_with_the_work(fitted: tuple) -> None:
    """The fit saw resolutions up to 256 px; at 640 px every layer is far larger than any it saw. The made-up
    device's time grows with the pixels (6.25x from 256 px, by its formula above): so must the prediction, however
    much wider its interval (trees that learned times would stop at the largest times they saw)."""
    predictor, _ = fitted
    plan = profile({"preset": "mobilenet_v2"}).plan
    assert plan is not None
    program = UnitProgram(plan)
    at_256, at_640 = program.units((1, 3, 256, 256)), program.units((1, 3, 640, 640))
    truth = float(_synthetic(at_640.x, at_640.kinds).sum()) / float(_synthetic(at_256.x, at_256.kinds).sum())
    far = predictor.predict(at_640)
    assert far.extrapolated
    assert far.median_ms / predictor.predict(at_256).median_ms == pytest.approx(truth, rel=0.3)


def test_a_batch_of_designs_in_one_call_is_each_design_predicted_alone(fitted: tuple) -> None:
    """A sweep predicts its points in batches (every distinct unit once, one range check for all): each answer
    must be what the design alone gets, whichever designs share the batch."""
    predictor, _ = fitted
    specs = [
        {"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160},
        {"preset": "mobilenet_v2", "width_multiplier": 4.0, "resolution": 160},  # extrapolated, between others
        {"preset": "mobilenet_v2", "width_multiplier": 0.75, "resolution": 160},  # the first again: all repeated
        {"preset": "shufflenet_v2_x1_0"},
        {"preset": "mnasnet1_0", "resolution": 192},
    ]
    designs = []
    for spec in specs:
        plan = profile(spec).plan
        assert plan is not None
        designs.append(model_units(plan))
    program = UnitProgram(profile(specs[0]).plan)  # type: ignore[arg-type]
    designs += [program.units((1, 3, 160, 160)), program.units((1, 3, 512, 512))]  # one plan's, sharing its kinds
    designs.insert(2, Units([], [], np.zeros((0, len(FEATURES))), 0, 0))  # no units: nothing to predict
    batched = predictor.predict_many(designs)
    assert [p.extrapolated for p in batched] == [False, True, False, False, True, False, False, True]
    for units, together in zip(designs, batched, strict=True):
        alone = predictor.predict(units)
        assert together.median_ms == pytest.approx(alone.median_ms, rel=1e-12)
        np.testing.assert_allclose(together.layers_ms, alone.layers_ms, rtol=1e-12)
        assert together.why == alone.why == tuple(predictor._why(units))  # the full check, unit by unit
    # Each design's units, distinct or repeated, are predicted as the regressor predicts them one by one: a rate,
    # times the unit's work (its MACs and the elements it reads and writes, plus one).
    one = designs[5]
    rows = np.column_stack([[predictor.kinds.get(k, -1) for k in one.kinds], one.x])
    rate = np.array([predictor.regressor.booster_.predict(row[None, :])[0] for row in rows])
    work = 1 + one.x[:, _col("macs")] + one.x[:, _col("elements_in")] + one.x[:, _col("elements_out")]
    np.testing.assert_allclose(batched[5].layers_ms, np.maximum(rate, 0.0) * work, rtol=1e-9)


def test_too_few_designs_is_an_error_that_says_how_many_are_needed(fitted: tuple) -> None:
    _, unseen = fitted
    with pytest.raises(SpecError, match=f"at least {MIN_DESIGNS}"):
        fit_predictor(unseen)


def test_designs_draw_each_block_family_as_often_and_a_heavy_one_at_a_resolution_that_fits() -> None:
    """Four inverted-residual presets and one ResNet-50: the two block families drawn about equally, ResNet-50
    (4.1 GMACs at 224 px, so most of its draws are over the cap) as often as the light family, each design under
    the cap; and the rows changed as MixNet does: mixed depthwise kernels (9x9 comes from no table here) and
    grouped pointwise convs (channel splits)."""
    residual = ("mobilenet_v2", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2")
    assert block_families((*residual, "resnet50")) == [("resnet50",), residual]
    cap = 300_000_000
    designs = list(itertools.islice(sample_designs(2, presets=(*residual, "resnet50"), max_macs=cap), 40))
    resnets = [d for d in designs if d.label.startswith("resnet50")]
    assert 10 <= len(resnets) <= 30  # uniform over presets would give about 8
    assert all(d.macs <= cap for d in designs)
    for d in designs:
        assert profile(d.spec, batch_size=d.batch_size).counts.totals.macs == d.macs
    units = [model_units(d.plan) for d in designs if not d.label.startswith("resnet50")]
    assert any(kind == "channelsplit" for u in units for kind in u.kinds)
    depthwise = [row for u in units for kind, row in zip(u.kinds, u.x, strict=True) if kind == "conv_dw"]
    assert 9 in {int(row[_col("kernel")]) for row in depthwise}


def test_designs_none_of_which_fits_the_cap_are_an_error_that_names_it_not_an_endless_draw() -> None:
    with pytest.raises(SpecError, match="max_macs") as caught:
        next(sample_designs(0, presets=("mobilenet_v2", "resnet18"), max_macs=1_000))
    assert "raise max_macs" in str(caught.value)


def test_a_design_whose_layer_times_do_not_cover_its_forward_is_not_fitted_on() -> None:
    """Unit times are fitted as shares of the forward: a design whose runtime nodes mapped to no unit (all zero)
    has none, and fitting with it gives the very predictor fitted without it."""
    designs = itertools.islice(sample_designs(5, presets=("mobilenet_v2", "lcnet_075"), max_macs=100_000_000), 12)
    samples = [_sample(model_units(d.plan, d.batch_size), d.label) for d in designs]
    bad = samples[0]
    unmapped = DesignSample(KEY, "unmapped", bad.units, np.zeros(len(bad.units)), bad.end_to_end_ms)
    holdout = [i >= 9 for i in range(len(samples))]
    clean = fit_predictor(samples, holdout=holdout)
    with_it = fit_predictor([unmapped, *samples], holdout=[False, *holdout])
    assert with_it.designs == clean.designs == 9
    for s in samples:
        assert with_it.predict(s.units).median_ms == clean.predict(s.units).median_ms


def test_the_cli_without_a_server_says_where_predictions_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    from profiler.cli import main

    assert main(["--preset", "mobilenet_v2", "--predict"]) == 2
    err = capsys.readouterr().err
    assert "--server" in err and "POST /predictors" in err and "Traceback" not in err
