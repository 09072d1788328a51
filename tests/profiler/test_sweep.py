"""Sweeps in the core: the papers' trade-off tables reproduced, every point's totals equal to a full count and
to torch's own counters, the Pareto front against its definition, and errors that name the field."""

from __future__ import annotations

import json
import random

import pytest
import torch
import torchvision

from profiler import PRESETS, LimitError, Limits, SpecError, profile
from profiler.sweep import answer_bytes, pareto_front, plan_sweep, sweep
from tests.references import torch_flops

# MobileNetV1 (Howard et al. 2017), tables 6 and 7: million mult-adds and million parameters.
MOBILENET_V1_WIDTH = {1.0: (569, 4.2), 0.75: (325, 2.6), 0.5: (149, 1.3), 0.25: (41, 0.5)}  # at 224
MOBILENET_V1_RESOLUTION = {224: 569, 192: 418, 160: 290, 128: 186}  # at width 1.0


def test_mobilenet_v1_width_and_resolution_tables_from_one_sweep():
    body = sweep(
        {"preset": "mobilenet_v1"},
        {"width_multiplier": [1.0, 0.75, 0.5, 0.25], "resolution": [224, 192, 160, 128]},
    )
    assert body["fields"] == ["width_multiplier", "resolution"]
    assert len(body["points"]) == 16 and body["errors"] == 0
    by_values = {(p["values"]["width_multiplier"], p["values"]["resolution"]): p["totals"] for p in body["points"]}
    for alpha, (mult_adds_m, params_m) in MOBILENET_V1_WIDTH.items():
        totals = by_values[(alpha, 224)]
        assert abs(totals["macs"] / 1e6 - mult_adds_m) < 1  # the paper rounds to the million
        assert round(totals["params"] / 1e6, 1) == params_m
    for rho, mult_adds_m in MOBILENET_V1_RESOLUTION.items():
        assert abs(by_values[(1.0, rho)]["macs"] / 1e6 - mult_adds_m) < 1


@pytest.mark.parametrize("alpha", [0.35, 0.5, 0.75, 1.0, 1.4])
def test_mobilenet_v2_points_match_torchvision_built_at_that_width(alpha):
    body = sweep({"preset": "mobilenet_v2"}, {"width_multiplier": [alpha], "resolution": [96, 160]})
    reference = torchvision.models.mobilenet_v2(width_mult=alpha).eval()
    for point in body["points"]:
        rho = point["values"]["resolution"]
        assert point["totals"]["params"] == sum(p.numel() for p in reference.parameters())
        assert point["totals"]["flops"] == torch_flops(reference, torch.randn(1, 3, rho, rho))


def test_every_point_equals_a_full_count():
    """Totals-only counting (shared plans, a compiled walk) against profile() on the same spec, over every
    preset, random widths, resolutions (odd ones too) and batch sizes."""
    rng = random.Random(7)
    for preset in PRESETS:
        grid = {
            "width_multiplier": [rng.choice([0.25, 0.5, 0.6, 1.0, 1.3])],
            "resolution": [rng.randint(33, 300), 224],
        }
        batch = rng.randint(1, 5)
        body = sweep({"preset": preset}, grid, batch_size=batch)
        for point in body["points"]:
            full = profile({"preset": preset, **point["values"]}, batch_size=batch).to_dict()["totals"]
            assert point["totals"] == full, (preset, point["values"])


def test_row_fields_by_path_and_explicit_points():
    body = sweep(
        {"preset": "mobilenet_v2"},
        {"stages.3.t": [4, 6]},
        points=[{"stages.3.t": 3, "resolution": 160}, {"classifier.dropout": 0.0}],
    )
    assert body["fields"] == ["stages.3.t", "resolution", "classifier.dropout"]
    values = [p["values"] for p in body["points"]]
    assert values == [
        {"stages.3.t": 4},
        {"stages.3.t": 6},
        {"stages.3.t": 3, "resolution": 160},
        {"classifier.dropout": 0.0},
    ]
    for point in body["points"]:
        spec = {"preset": "mobilenet_v2", "stages": [dict(r) for r in body["base"]["stages"]]}
        for path, value in point["values"].items():
            if path == "stages.3.t":
                spec["stages"][3]["t"] = value
            elif path == "resolution":
                spec["resolution"] = value
            else:
                spec["classifier"] = {**body["base"]["classifier"], "dropout": value}
        assert point["totals"] == profile(spec).to_dict()["totals"]
    assert body["points"][0]["totals"]["macs"] < body["points"][1]["totals"]["macs"]  # a narrower expansion


def test_a_grid_over_presets():
    body = sweep({"preset": "mobilenet_v2", "resolution": 160}, {"preset": ["resnet18", "mobilenet_v3_small"]})
    for point in body["points"]:
        expected = profile({"preset": point["values"]["preset"], "resolution": 160}).to_dict()["totals"]
        assert point["totals"] == expected


def test_an_invalid_point_carries_its_error_and_the_others_are_answered():
    body = sweep({"preset": "mobilenet_v2"}, {"resolution": [0, 10_000, 224], "width_multiplier": [1.0]})
    zero, huge, fine = body["points"]
    assert zero["error"]["type"] == "spec" and "totals" not in zero
    assert any(e["loc"][0] == "resolution" for e in zero["error"]["detail"])
    assert huge["error"]["type"] == "limit" and huge["error"]["setting"] == "max_resolution"
    assert fine["totals"]["macs"] == 300_774_272  # torchvision's published _ops for mobilenet_v2, 0.301 G
    assert body["errors"] == 2 and body["pareto"] == [2]


@pytest.mark.parametrize(
    ("grid", "loc", "words"),
    [
        ({"widht_multiplier": [1]}, ("grid", "widht_multiplier"), "did you mean 'width_multiplier'"),
        ({"stages.30.t": [1]}, ("grid", "stages.30.t"), "stages has 9 rows"),
        ({"stages.3.q": [1]}, ("grid", "stages.3.q"), "valid fields: act, block, c"),
        # One field, one spelling: a leading zero or a non-ASCII digit would name a row a second way.
        ({"stages.0.c": [8, 16], "stages.00.c": [64]}, ("grid", "stages.00.c"), "without leading zeros"),
        ({"stages.１.c": [8]}, ("grid", "stages.１.c"), "in ASCII digits"),
        ({"stages.٣.c": [8]}, ("grid", "stages.٣.c"), "in ASCII digits"),
        ({"resolution": []}, ("grid", "resolution"), "at least one value"),
        ({}, ("grid",), "give a grid"),
    ],
)
def test_bad_fields_are_refused_before_counting(grid, loc, words):
    with pytest.raises(SpecError) as info:
        plan_sweep({"preset": "mobilenet_v2"}, grid)
    ((got_loc, msg),) = info.value.problems
    assert got_loc == loc and words in msg


def test_bad_base_is_refused_with_its_location():
    with pytest.raises(SpecError) as info:
        plan_sweep({"preset": "mobilenet_v2", "resolution": -1}, {"width_multiplier": [1]})
    assert all(loc[:2] == ("base", "resolution") for loc, _ in info.value.problems)


def test_point_limits():
    limits = Limits(max_sweep_points=20, max_sweep_latency_points=4)
    grid = {"width_multiplier": [0.5, 1.0], "resolution": list(range(100, 110))}  # 20 points
    assert len(plan_sweep({"preset": "mobilenet_v2"}, grid, limits=limits)) == 20
    with pytest.raises(LimitError) as info:
        plan_sweep({"preset": "mobilenet_v2"}, grid, [{"resolution": 64}], limits=limits)
    assert info.value.setting == "max_sweep_points" and info.value.value == 21
    with pytest.raises(LimitError) as info:
        plan_sweep({"preset": "mobilenet_v2"}, grid, limits=limits, detailed=True)
    assert info.value.setting == "max_sweep_latency_points"


def test_layers_on_request_equal_the_profile_rows():
    body = sweep({"preset": "resnet18"}, {"resolution": [128]}, layers=True)
    assert body["points"][0]["layers"] == profile({"preset": "resnet18", "resolution": 128}).to_dict()["layers"]
    assert "layers" not in sweep({"preset": "resnet18"}, {"resolution": [128]})["points"][0]


def _dominated_by_definition(costs):
    front = []
    for i, a in enumerate(costs):
        if a is None:
            continue
        beaten = any(b is not None and all(y <= x for x, y in zip(a, b, strict=True)) and b != a for b in costs)
        if not beaten:
            front.append(i)
    return front


@pytest.mark.parametrize("dims", [2, 3])
def test_pareto_front_against_its_definition(dims):
    rng = random.Random(dims)
    for _ in range(50):
        costs = [
            None if rng.random() < 0.1 else tuple(rng.randint(0, 6) for _ in range(dims))
            for _ in range(rng.randint(0, 40))
        ]
        assert pareto_front(costs) == _dominated_by_definition(costs)


def test_pareto_of_a_width_by_resolution_grid():
    """Smaller in both width and resolution is cheaper in both MACs and parameters: on a plain grid the front
    is the smallest point; a wider model at a lower resolution against a narrower one at a higher resolution
    trades MACs for parameters, and both stay."""
    body = sweep({"preset": "mobilenet_v2"}, {"width_multiplier": [0.5, 0.75, 1.0], "resolution": [128, 160, 224]})
    assert [body["points"][i]["values"] for i in body["pareto"]] == [{"width_multiplier": 0.5, "resolution": 128}]
    body = sweep(
        {"preset": "mobilenet_v2"},
        points=[
            {"width_multiplier": 0.35, "resolution": 224},
            {"width_multiplier": 1.0, "resolution": 96},
            {"width_multiplier": 1.0, "resolution": 128},
        ],
    )
    narrow, wide, _dominated = [(p["totals"]["macs"], p["totals"]["params"]) for p in body["points"]]
    assert narrow[0] > wide[0] and narrow[1] < wide[1]  # the trade-off itself
    assert body["pareto"] == [0, 1]


def test_num_classes_point_matches_torchvision():
    body = sweep({"preset": "mobilenet_v3_small"}, {"num_classes": [10, 1000]})
    for point in body["points"]:
        reference = torchvision.models.mobilenet_v3_small(num_classes=point["values"]["num_classes"])
        assert point["totals"]["params"] == sum(p.numel() for p in reference.parameters())


def test_every_field_of_a_point_reaches_its_count() -> None:
    """Points that differ in any spec field but the resolution or the name get their own plan: each point's
    totals equal profile() of that point's spec (depth_multiplier here, added after the plan cache)."""
    base = {"preset": "efficientnet_b0"}
    answer = sweep(base, {"depth_multiplier": [1.0, 1.1, 2.0], "resolution": [224, 240]})
    for point in answer["points"]:
        expected = profile({**base, **point["values"]}).counts.totals
        assert point["totals"]["params"] == expected.params and point["totals"]["macs"] == expected.macs
    assert len({p["totals"]["params"] for p in answer["points"]}) == 3


@pytest.mark.parametrize(
    ("grid", "layers"),
    [
        ({"width_multiplier": [0.5, 1.0], "resolution": list(range(96, 160, 8))}, False),
        ({"name": ["a" * 150, "b"], "resolution": [128, 160, 192]}, False),
        ({"width_multiplier": [0.5, 0.75, 1.0], "resolution": [96, 128]}, True),
        ({"stages.3.t": [2, 4, 6], "classifier.dropout": [0.1, 0.2]}, True),
    ],
)
def test_the_answer_size_is_estimated_before_counting_within_a_tenth(grid: dict, layers: bool) -> None:
    """answer_bytes against the length of the answer's points as JSON, counted."""
    planned = plan_sweep({"preset": "mobilenet_v2"}, grid, detailed=layers)
    points = sweep({"preset": "mobilenet_v2"}, grid, layers=layers)["points"]
    actual = len(json.dumps(points, separators=(",", ":"))) + len(json.dumps(planned.resolved))
    assert abs(answer_bytes(planned, layers=layers) / actual - 1) < 0.1


def test_an_answer_estimated_past_its_limit_is_refused_before_any_point_is_counted() -> None:
    grid = {"name": ["N" * 200], "resolution": list(range(32, 2032))}
    with pytest.raises(LimitError, match="estimated bytes of the answer") as refused:
        sweep({"preset": "mobilenet_v1"}, grid, limits=Limits(max_response_bytes=200_000))
    assert refused.value.setting == "max_response_bytes" and refused.value.value > 2000 * 200


def test_strings_longer_than_a_spec_takes_are_refused_not_copied_into_every_point() -> None:
    with pytest.raises(SpecError, match="100,000 characters") as refused:
        plan_sweep({"preset": "mobilenet_v1"}, {"name": ["N" * 100_000], "resolution": [32, 64]})
    assert refused.value.problems[0][0] == ("grid", "name", 0)
