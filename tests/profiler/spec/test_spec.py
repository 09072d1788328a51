"""Spec rules: width scaling, presets as data, defaults, and typed errors for bad input."""

from __future__ import annotations

from dataclasses import replace

import pytest
from torchvision.models._utils import _make_divisible

from profiler import PRESETS, LimitError, Limits, SpecError, make_divisible, parse_spec, plan_model, profile
from profiler.spec import preset_table


def test_make_divisible_is_torchvision_rule() -> None:
    for tenths in range(1, 400):
        value = tenths * 3.7
        assert make_divisible(value) == _make_divisible(value, 8), value


def test_width_rules() -> None:
    spec = parse_spec(
        {
            "width_multiplier": 0.5,
            "stages": [
                {"block": "conv", "c": 32},
                {"block": "conv", "c": 1280, "k": 1, "width": "no_shrink"},
                {"block": "conv", "c": 100, "k": 1, "width": "fixed"},
            ],
        }
    )
    plan = plan_model(spec)
    assert [b.out_chs for b in plan.blocks] == [16, 1280, 100]
    wide = plan_model(replace(spec, width_multiplier=2.0))
    assert [b.out_chs for b in wide.blocks] == [64, 2560, 100]


def test_stride_only_on_first_repetition() -> None:
    plan = plan_model(parse_spec({"stages": [{"block": "inverted_residual", "t": 6, "c": 24, "n": 3, "s": 2}]}))
    strides = [next(n.op.s for n in b.graph.nodes if n.name == "conv_dw") for b in plan.blocks]
    assert strides == [2, 1, 1]


def test_overrides_never_touch_the_preset() -> None:
    before = preset_table("mobilenet_v2")
    spec = parse_spec({"preset": "mobilenet_v2", "width_multiplier": 0.5, "resolution": [128, 96]})
    assert spec.width_multiplier == 0.5 and spec.hw == (128, 96) and spec.preset == "mobilenet_v2"
    assert preset_table("mobilenet_v2") == before
    table = preset_table("mobilenet_v2")
    table["stages"].clear()
    assert PRESETS["mobilenet_v2"].spec["stages"]


def test_every_preset_round_trips_as_editable_spec() -> None:
    for name in PRESETS:
        table = preset_table(name)
        table.pop("preset")
        assert profile(table).counts.totals.macs == profile({"preset": name}).counts.totals.macs


def test_explicit_padding_reproduces_other_code() -> None:
    counts = profile(
        {
            "in_channels": 3,
            "resolution": 32,
            "classifier": None,
            "stages": [{"block": "conv", "c": 8, "k": 3, "padding": 0}],
        }
    ).counts
    assert counts.output_shape == (1, 8, 30, 30)


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"stages": [{"block": "dense", "c": 8}]}, ("stages", 0, "block")),
        ({"stages": [{"block": "conv", "c": 0}]}, ("stages", 0, "c")),
        ({"stages": [{"block": "conv", "c": -3}]}, ("stages", 0, "c")),
        ({"stages": [{"block": "conv", "c": 8, "s": 0}]}, ("stages", 0, "s")),
        ({"stages": [{"block": "conv", "c": 8, "k": "3x3"}]}, ("stages", 0, "k")),
        ({"stages": [{"block": "basic", "c": 8, "colour": "red"}]}, ("stages", 0, "colour")),
        ({"preset": "mobilenet_v2", "width_multiplier": 0}, ("width_multiplier",)),
        ({"preset": "mobilenet_v2", "width_multiplier": -1}, ("width_multiplier",)),
        ({"preset": "mobilenet_v2", "width_multiplier": float("inf")}, ("width_multiplier",)),
        ({"preset": "mobilenet_v4"}, ("preset",)),
        ({"stages": []}, ("stages",)),
        ({"stages": [{"block": "inverted_residual", "c": 8, "t": 6, "exp": 48}]}, ("stages", 0)),
        ({"stages": [{"block": "conv", "c": 8, "groups": 5}]}, ("stages", 0, "groups")),
        (
            {"resolution": 4, "classifier": None, "stages": [{"block": "conv", "c": 8, "k": 5, "padding": 0}]},
            ("stages", 0, "k"),
        ),
        (
            {"resolution": 1, "classifier": None, "stages": [{"block": "maxpool", "k": 3, "padding": 0}]},
            ("stages", 0, "k"),
        ),
    ],
)
def test_bad_specs_name_the_field(data: dict, loc: tuple) -> None:
    with pytest.raises(SpecError) as err:
        profile(data)
    assert loc in [problem[0] for problem in err.value.problems], err.value.problems


@pytest.mark.parametrize(
    ("data", "options", "setting"),
    [
        ({"preset": "resnet18", "resolution": 100_000}, {}, "max_resolution"),
        ({"stages": [{"block": "conv", "c": 2**24}]}, {}, "max_channels"),
        ({"stages": [{"block": "basic", "c": 8, "n": 10**6}]}, {}, "max_blocks"),
        ({"preset": "resnet18"}, {"batch_size": 10**6}, "max_batch"),
        ({"preset": "resnet152", "resolution": 8192}, {"batch_size": 4096}, "max_macs"),
        ({"preset": "resnet50", "resolution": 4096}, {"batch_size": 64, "counter": "fvcore"}, "max_activation_bytes"),
    ],
)
def test_limits_refuse_before_allocating(data: dict, options: dict, setting: str) -> None:
    limits = Limits(max_macs=10**14)
    with pytest.raises(LimitError) as err:
        profile(data, limits=limits, **options)  # the fvcore case would need ~1 TB if it were built
    assert err.value.setting == setting
    assert f"{err.value.maximum:,}" in str(err.value)
