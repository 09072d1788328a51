"""The shape counter against fvcore, ptflops and torch's flop counter run on the built model, per module,
on every preset and on random specs; plus closed-form counts written out."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
import torch
from torch import nn

from profiler import PRESETS, SpecError, build_model, parse_spec, plan_model, profile
from profiler.count import Counts, count_plan
from tests.references import fvcore_analysis, leaf_modules, ptflops_macs, torch_flops


def _counts(spec: Any, batch: int = 1) -> Counts:
    return count_plan(plan_model(parse_spec(spec)), batch)


def _assert_matches_references(spec_data: dict[str, Any], batch: int) -> None:
    spec = parse_spec(spec_data)
    counts = count_plan(plan_model(spec), batch)
    model = build_model(spec)
    x = torch.zeros(counts.input_shape)

    # The rows are the model's leaves, with their real shapes and parameters.
    leaves = leaf_modules(model)
    assert [r.name for r in counts.rows] == list(leaves)
    seen: dict[str, tuple[tuple, tuple]] = {}
    hooks = [
        m.register_forward_hook(lambda mod, i, o, n=n: seen.__setitem__(n, (tuple(i[0].shape), tuple(o.shape))))
        for n, m in leaves.items()
    ]
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    assert tuple(out.shape) == counts.output_shape
    for row in counts.rows:
        assert seen[row.name] == (row.input_shape, row.output_shape), row.name
        assert row.type == type(leaves[row.name]).__name__
        assert row.params == sum(p.numel() for p in leaves[row.name].parameters()), row.name
    assert counts.totals.params == sum(p.numel() for p in model.parameters())

    # fvcore, module by module (leaves and every ancestor), unsupported ops included: on the model with every
    # op out of place (the names the counter lists), and on the timed model, whose in-place ops fvcore names
    # with a trailing underscore (aten::hardtanh_) and counts the same.
    fv = fvcore_analysis(plan_model(spec).build(inplace=False), x)
    by_module = fv.by_module()
    for row in counts.rows:
        assert row.fvcore_flops == by_module[row.name], row.name
        assert sorted(row.unsupported_ops) == sorted(fv.unsupported_ops(row.name).elements()), row.name
    for name, totals in counts.modules.items():
        assert totals.fvcore_flops == by_module[name], name
        assert dict(totals.unsupported_ops) == dict(fv.unsupported_ops(name)), name
    timed = fvcore_analysis(model, x)
    assert timed.by_module() == by_module
    for name, totals in counts.modules.items():
        in_place = Counter({op.rstrip("_"): n for op, n in timed.unsupported_ops(name).items()})
        assert in_place == totals.unsupported_ops, name

    # ptflops' conv/linear hooks count the bias add as one more MAC per output element.
    pt = ptflops_macs(model, x)
    for row in counts.rows:
        if row.name in pt:
            bias = leaves[row.name].bias is not None
            assert pt[row.name] == row.macs + (row.activations if bias else 0), row.name

    # torch.utils.flop_counter: 2 flops per MAC.
    assert torch_flops(model, x) == counts.totals.flops == 2 * counts.totals.macs


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_match_fvcore_ptflops_and_torch(name: str) -> None:
    _assert_matches_references({"preset": name, "resolution": 64}, batch=2)


def _random_row(rng: random.Random) -> dict[str, Any]:
    kinds = ["conv", "depthwise_separable", "inverted_residual", "basic", "bottleneck", "maxpool", "fire"]
    kind = rng.choice([*kinds, "ghost_bottleneck", "uib", "repvgg", "mobileone"])
    acts = ["relu", "relu6", "hardswish", "hardsigmoid", "silu", "gelu", "none"]
    if kind == "maxpool":
        return {"block": kind, "k": rng.choice([2, 3]), "s": rng.choice([1, 2])}
    if kind == "fire":
        return {"block": kind, "c": rng.choice([16, 32, 48]), "squeeze": rng.choice([4, 8]), "n": rng.randint(1, 2)}
    row: dict[str, Any] = {
        "block": kind,
        "c": rng.choice([8, 12, 16, 24, 40]),
        "n": rng.randint(1, 2),
        "s": rng.choice([1, 1, 2]),
    }
    if kind == "conv":
        row |= {
            "k": rng.choice([1, 3, 5]),
            "dilation": rng.choice([1, 1, 2]),
            "act": rng.choice(acts),
            "bn": rng.random() < 0.7,
            "groups": rng.choice([1, 1, "depthwise"]),
        }
        if rng.random() < 0.2:
            row["padding"] = rng.choice([0, 1])
        if row["groups"] == "depthwise":
            row["width"] = "fixed"
    elif kind == "depthwise_separable":
        row |= {"k": rng.choice([3, 5]), "dilation": rng.choice([1, 2]), "act": rng.choice(acts)}
        row |= {"se": rng.choice([0, 0, 0.25])}
    elif kind == "uib":
        row |= {"t": rng.choice([1, 2, 4]), "dw_start": rng.choice([0, 3, 5]), "dw_mid": rng.choice([0, 3, 5])}
        row |= {"dw_end": rng.choice([0, 0, 3]), "se": rng.choice([0, 0.25]), "act": rng.choice(acts)}
        row |= {"layer_scale": rng.random() < 0.5}
        if not (row["dw_start"] or row["dw_mid"] or row["dw_end"]):
            row["s"] = 1  # a UIB strides in one of its depthwise convs
    elif kind == "mobileone":
        row |= {"k": rng.choice([1, 3]), "branches": rng.choice([1, 2, 4]), "se": rng.choice([0, 0.25])}
    elif kind == "ghost_bottleneck":
        row |= {"k": rng.choice([3, 5]), "exp": rng.choice([16, 24, 48]), "se": rng.choice([0, 0.25])}
    elif kind == "inverted_residual":
        row |= {
            "k": rng.choice([3, 5]),
            "act": rng.choice(acts),
            "se": rng.choice([0, 0.25, True]),
            "dilation": rng.choice([1, 1, 2]),
        }
        if rng.random() < 0.3:  # MixConv: mixed depthwise kernels, grouped 1x1 convs
            row |= {"k": rng.choice([[3, 5], [3, 5, 7]]), "exp_groups": rng.choice([1, 2]), "pw_groups": 2}
        if rng.random() < 0.5:
            row["t"] = rng.choice([1, 2.5, 4, 6])
        else:
            row["exp"] = rng.choice([16, 24, 48, 72])
    if rng.random() < 0.15:
        row["width"] = rng.choice(["fixed", "no_shrink"])
    return row


def _random_spec(rng: random.Random) -> dict[str, Any]:
    resolution: int | list[int] = rng.choice([17, 32, 48, 64])
    if rng.random() < 0.3:
        resolution = [rng.choice([24, 40]), rng.choice([31, 56])]
    classifier = rng.choice(
        [
            None,
            {},
            {"hidden": 64, "act": rng.choice(["relu", "hardswish", "none"])},
            {"hidden": 64, "hidden_layer": "conv", "hidden_bn": rng.random() < 0.5, "act": "hardswish"},
        ]
    )
    return {
        "width_multiplier": rng.choice([0.25, 0.5, 0.75, 1.0, 1.3]),
        "resolution": resolution,
        "in_channels": rng.choice([1, 3, 8]),
        "num_classes": rng.choice([10, 1000]),
        "classifier": classifier,
        "stages": [_random_row(rng) for _ in range(rng.randint(1, 5))],
    }


def test_random_specs_match_fvcore_ptflops_and_torch(rng: random.Random) -> None:
    checked = refused = 0
    while checked < 30:
        spec = _random_spec(rng)
        batch = rng.randint(1, 3)
        try:
            _counts(spec, batch)
        except SpecError:
            # Whatever the counter refuses, torch refuses too.
            refused += 1
            with pytest.raises((RuntimeError, ValueError)):
                build_model(parse_spec(spec))(torch.zeros(batch, spec["in_channels"], 64, 64)[..., :1, :1])
            continue
        _assert_matches_references(spec, batch)
        checked += 1


def test_refused_kernel_is_refused_by_torch_too() -> None:
    spec = {
        "in_channels": 4,
        "resolution": 5,
        "classifier": None,
        "stages": [{"block": "conv", "c": 8, "k": 7, "padding": 0}],
    }
    with pytest.raises(SpecError) as err:
        _counts(spec)
    assert err.value.problems[0][0] == ("stages", 0, "k")
    with pytest.raises(RuntimeError):
        nn.Conv2d(4, 8, 7)(torch.zeros(1, 4, 5, 5))


def test_closed_form_dilated_conv_against_its_depthwise_separable_version() -> None:
    """DESIGN's example: 3x3, dilation 2, 64 -> 128 channels on 256x256; depthwise-separable has 8.4x fewer."""
    h = w = 256
    normal = _counts(
        {
            "in_channels": 64,
            "resolution": h,
            "classifier": None,
            "stages": [{"block": "conv", "c": 128, "k": 3, "dilation": 2, "bn": False, "act": "none"}],
        }
    )
    separable = _counts(
        {
            "in_channels": 64,
            "resolution": h,
            "classifier": None,
            "stages": [{"block": "depthwise_separable", "c": 128, "dilation": 2}],
        }
    )
    assert normal.totals.macs == 128 * 64 * 3 * 3 * h * w
    assert normal.totals.params == 128 * 64 * 3 * 3 + 128  # no BN, so the conv has a bias
    assert normal.output_shape == (1, 128, h, w)  # "same" padding: dilation * (k - 1) // 2 = 2
    depthwise, pointwise = 64 * 3 * 3 * h * w, 64 * 128 * h * w
    assert separable.totals.macs == depthwise + pointwise
    assert separable.totals.params == 64 * 9 + 2 * 64 + 64 * 128 + 2 * 128
    assert round(normal.totals.macs / separable.totals.macs, 1) == 8.4
    dw_row = separable.rows[0]
    assert (dw_row.name, dw_row.groups, dw_row.dilation, dw_row.padding) == ("features.0.conv_dw", 64, 2, 2)


def test_closed_form_bottleneck_with_downsample() -> None:
    """ResNet-50's first bottleneck at 56x56: 64 -> (64, 64, 256) with a 1x1 projection on the skip."""
    counts = _counts(
        {"in_channels": 64, "resolution": 56, "classifier": None, "stages": [{"block": "bottleneck", "c": 64}]}
    )
    hw = 56 * 56
    assert counts.totals.macs == (64 * 64 + 64 * 64 * 9 + 64 * 256 + 64 * 256) * hw
    assert counts.totals.params == 64 * 64 + 64 * 64 * 9 + 64 * 256 + 64 * 256 + 2 * (64 + 64 + 256 + 256)
    assert counts.modules["features.0.downsample"].macs == 64 * 256 * hw
    assert counts.modules["features.0"].unsupported_ops == {"aten::add": 1}


def test_leaf_rows_sum_to_every_ancestor() -> None:
    counts = _counts({"preset": "mobilenet_v3_large"}, batch=4)
    order = list(counts.modules)
    assert order[:4] == ["", "features", "features.0", "features.1"]  # execution order, parents first
    assert order.index("features.4") < order.index("features.4.se") < order.index("features.5")
    for name, totals in counts.modules.items():
        leaves = [r for r in counts.rows if name == "" or r.name.startswith(name + ".")]
        for figure in ("macs", "flops", "fvcore_flops", "params", "activations"):
            assert getattr(totals, figure) == sum(getattr(r, figure) for r in leaves), (name, figure)


def test_counts_scale_with_batch_and_resolution() -> None:
    one = _counts({"preset": "resnet50"}, 1).totals
    eight = _counts({"preset": "resnet50"}, 8).totals
    assert eight.macs == 8 * one.macs and eight.params == one.params
    double = _counts({"preset": "resnet50", "resolution": 448}).totals
    fc = 2048 * 1000  # the classifier does not scale with the area; every conv does
    assert double.macs == 4 * (one.macs - fc) + fc


def test_fvcore_counter_agrees_with_shapes() -> None:
    shapes = profile({"preset": "mobilenet_v3_small", "resolution": 96}, batch_size=2)
    traced = profile({"preset": "mobilenet_v3_small", "resolution": 96}, batch_size=2, counter="fvcore")
    assert traced.counter == "fvcore"
    assert [(r.name, r.fvcore_flops, sorted(r.unsupported_ops)) for r in traced.counts.rows] == [
        (r.name, r.fvcore_flops, sorted(r.unsupported_ops)) for r in shapes.counts.rows
    ]
    assert traced.to_dict()["totals"] == shapes.to_dict()["totals"]
