"""Blocks with several inputs, run and counted from one graph: SqueezeNet's Fire (a registered block: two
branches and a concat) and a ShuffleNetV2 unit built as a graph here (channel split, concat, shuffle). Each is
held to torchvision's own module (same weights, same output) and to fvcore and ptflops run on ours."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.shufflenetv2 import InvertedResidual as ShuffleUnit
from torchvision.models.squeezenet import Fire

from profiler import SpecError, build_model, parse_spec, plan_model, profile
from profiler.count import count_plan
from profiler.model.blocks import BLOCKS
from profiler.model.build import Block, ModelPlan
from profiler.model.graph import INPUT, ChannelShuffle, ChannelSplit, Concat, Graph, Node
from profiler.model.layers import Act, BatchNorm, Conv
from tests.references import fvcore_analysis, param_shapes, ptflops_macs


def _same_weights(ours: nn.Module, theirs: nn.Module) -> None:
    assert param_shapes(ours) == param_shapes(theirs)
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.copy_(torch.randn_like(q))
            q.copy_(p)


def test_every_registered_block_is_a_row_kind_of_the_spec() -> None:
    for name, block in BLOCKS.items():
        assert block.row.__pydantic_fields__["block"].default == name


def test_fire_runs_as_torchvision_and_counts_as_fvcore() -> None:
    spec = parse_spec({"in_channels": 96, "resolution": 55, "classifier": None,
                       "stages": [{"block": "fire", "c": 128, "squeeze": 16}]})  # fmt: skip
    ours = build_model(spec)
    theirs = Fire(96, 16, 64, 64).eval()
    _same_weights(ours, theirs)
    x = torch.randn(2, 96, 55, 55)
    torch.testing.assert_close(ours(x), theirs(x))

    report = profile(spec, batch_size=2)
    analysis = fvcore_analysis(ours, x)
    assert report.counts.totals.fvcore_flops == analysis.total()
    by_name = {r.name: r for r in report.counts.rows}
    for name, macs in ptflops_macs(ours, x).items():  # ptflops adds one per output element for the bias
        assert by_name[name].macs == macs - by_name[name].activations
    assert report.counts.totals.params == sum(p.numel() for p in theirs.parameters())
    assert report.counts.output_shape == (2, 128, 55, 55)


def test_fire_refuses_an_odd_width() -> None:
    row = {"block": "fire", "c": 9, "squeeze": 4, "width": "fixed"}
    with pytest.raises(SpecError) as err:
        profile({"in_channels": 8, "classifier": None, "stages": [row]})
    ((loc, msg),) = err.value.problems
    assert loc == ("stages", 0, "c") and "two halves" in msg


def _shuffle_unit(chs: int) -> Graph:
    """torchvision's ShuffleNetV2 unit at stride 1, as a graph: split, one branch, concat, shuffle."""
    half = chs // 2
    branch = Graph(
        (
            Node("0", Conv(half, half, 1)),
            Node("1", BatchNorm(half)),
            Node("2", Act("relu")),
            Node("3", Conv(half, half, 3, padding=1, groups=half)),
            Node("4", BatchNorm(half)),
            Node("5", Conv(half, half, 1)),
            Node("6", BatchNorm(half)),
            Node("7", Act("relu")),
        )
    )
    return Graph(
        (
            Node("left", ChannelSplit(0)),
            Node("right", ChannelSplit(1), (INPUT,)),
            Node("branch2", branch),
            Node("cat", Concat(), ("left", "branch2")),
            Node("shuffle", ChannelShuffle(2)),
        )
    )


def test_split_concat_and_shuffle_run_as_torchvision_and_count_as_fvcore() -> None:
    chs, size = 116, 28
    spec = parse_spec({"in_channels": chs, "resolution": size, "classifier": None,
                       "stages": [{"block": "maxpool", "k": 1, "s": 1}]})  # fmt: skip
    plan = ModelPlan(spec, (Block(_shuffle_unit(chs), chs, chs, ("stages", 0)),), ())
    ours = plan.build().eval()
    theirs = ShuffleUnit(chs, chs, 1).eval()
    _same_weights(ours, theirs)
    x = torch.randn(1, chs, size, size)
    torch.testing.assert_close(ours(x), theirs(x))

    counts = count_plan(plan)
    analysis = fvcore_analysis(ours, x)
    by_module = analysis.by_module()
    for name, totals in counts.modules.items():
        assert totals.fvcore_flops == by_module[name], name
        assert dict(totals.unsupported_ops) == dict(analysis.unsupported_ops(name)), name
    assert counts.output_shape == (1, chs, size, size)
    assert counts.totals.params == sum(p.numel() for p in theirs.parameters())


def test_a_ghost_module_of_an_odd_width_and_a_bn_after_a_linear_are_refused_by_field() -> None:
    one = {"in_channels": 8, "resolution": 16, "classifier": None}
    odd = {**one, "stages": [{"block": "ghost_bottleneck", "c": 16, "exp": 15, "width": "fixed"}]}
    with pytest.raises(SpecError) as refused:
        profile(odd)
    assert refused.value.problems[0][0] == ("stages", 0, "exp") and "even" in refused.value.problems[0][1]
    linear_bn = {"preset": "mobilenet_v2", "classifier": {"hidden": 64, "hidden_bn": True}}
    with pytest.raises(SpecError, match="hidden_layer") as refused:
        profile(linear_bn)
    assert refused.value.problems[0][0] == ("classifier", "hidden_bn")


def test_the_ghost_bottlenecks_shortcut_projects_only_when_the_shape_changes() -> None:
    one = {"in_channels": 16, "resolution": 16, "classifier": None}
    same = profile({**one, "stages": [{"block": "ghost_bottleneck", "c": 16, "exp": 32}]}).counts.rows
    assert not any(".shortcut." in row.name for row in same)
    strided = profile({**one, "stages": [{"block": "ghost_bottleneck", "c": 24, "exp": 32, "s": 2, "k": 5}]})
    rows = {row.name: row for row in strided.counts.rows}
    assert rows["features.0.shortcut.conv_dw"].groups == 16 and rows["features.0.shortcut.conv_dw"].kernel == 5
    assert rows["features.0.conv_dw"].stride == 2 and rows["features.0.shortcut.conv"].output_shape == (1, 24, 8, 8)
    # ghost1: 1x1 to 16 (16 x 16 x 16 x 16 MACs at 16x16), cheap 3x3 depthwise on 16 (16 x 9 x 16 x 16).
    assert rows["features.0.ghost1.primary_conv"].macs == 16 * 16 * 16 * 16
    assert rows["features.0.ghost1.cheap_conv"].macs == 16 * 9 * 16 * 16


def test_a_uib_strides_in_its_first_depthwise_conv_by_timms_rule() -> None:
    one = {"in_channels": 16, "resolution": 16, "classifier": None}

    def rows(**uib: object) -> dict:
        return {row.name: row for row in profile({**one, "stages": [{"block": "uib", "c": 24, **uib}]}).counts.rows}

    extra_dw = rows(dw_start=3, dw_mid=5, s=2, t=2)  # ExtraDW: the middle one strides
    assert extra_dw["features.0.conv_dw_start"].stride == 1 and extra_dw["features.0.conv_dw_mid"].stride == 2
    assert extra_dw["features.0.conv_pw"].output_shape == (1, 32, 16, 16)  # make_divisible(16 x 2)
    convnext = rows(dw_start=5, dw_mid=0, s=2)  # ConvNeXt-like: the first one strides
    assert convnext["features.0.conv_dw_start"].stride == 2 and "features.0.conv_dw_mid" not in convnext
    ffn = rows(dw_start=0, dw_mid=0, dw_end=3, s=2)  # only the last one: it strides
    assert ffn["features.0.conv_dw_end"].stride == 2
    with pytest.raises(SpecError) as refused:
        rows(dw_start=0, dw_mid=0, s=2)
    assert refused.value.problems[0][0] == ("stages", 0, "s")
    same = profile({**one, "stages": [{"block": "uib", "c": 16}]}).counts.op_elements
    assert "features.0 (add)" in same
    assert (
        "features.0 (add)"
        not in profile({**one, "stages": [{"block": "uib", "c": 16, "skip": False}]}).counts.op_elements
    )


def test_skip_false_drops_the_residual_and_depth_rounds_to_nearest_when_asked() -> None:
    one = {"in_channels": 16, "resolution": 16, "classifier": None}
    ir = {"block": "inverted_residual", "c": 16, "t": 2}
    assert "features.0 (add)" in profile({**one, "stages": [ir]}).counts.op_elements
    assert "features.0 (add)" not in profile({**one, "stages": [{**ir, "skip": False}]}).counts.op_elements
    # n = 3 at depth 1.2 is 3.6: 4 rounded up (EfficientNet), 4 to the nearest; n = 3 at 1.1 is 3.3: 4 and 3.
    for depth, rounding, blocks in ((1.2, "up", 4), (1.2, "nearest", 4), (1.1, "up", 4), (1.1, "nearest", 3)):
        spec = {**one, "depth_multiplier": depth, "depth_rounding": rounding, "stages": [{**ir, "n": 3}]}
        assert len(plan_model(parse_spec(spec)).blocks) == blocks, (depth, rounding)


def test_gelu_is_an_activation_fvcore_lists() -> None:
    report = profile(
        {
            "in_channels": 8,
            "resolution": 8,
            "classifier": None,
            "stages": [{"block": "conv", "c": 8, "k": 1, "act": "gelu"}],
        }
    )
    assert [row.type for row in report.counts.rows] == ["Conv2d", "BatchNorm2d", "GELU"]
    assert report.counts.rows[-1].unsupported_ops == ("aten::gelu",)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"block": "inverted_residual", "c": 8, "exp": 4, "width": "fixed", "k": [3, 5, 7, 9, 11]}, "k"),
        ({"block": "inverted_residual", "c": 8, "exp": 4, "width": "fixed", "exp_groups": 6}, "exp_groups"),
        ({"block": "inverted_residual", "c": 2, "t": 2, "width": "fixed", "pw_groups": 3}, "pw_groups"),
        ({"block": "repvgg", "c": 24, "groups": 5}, "groups"),
        ({"block": "mobileone", "c": 24, "groups": 10**6}, "groups"),
    ],
)
def test_groups_that_do_not_fit_the_channels_are_refused_by_field(row: dict, field: str) -> None:
    spec = {"in_channels": 8, "resolution": 16, "classifier": None, "stages": [row]}
    with pytest.raises(SpecError) as refused:
        profile(spec)
    assert refused.value.problems[0][0] == ("stages", 0, field), refused.value.problems


def test_a_sweep_over_mixed_kernels_answers_each_point_or_its_error() -> None:
    from profiler.sweep import sweep

    base = {
        "in_channels": 8,
        "resolution": 16,
        "classifier": None,
        "stages": [{"block": "inverted_residual", "c": 8, "exp": 4, "width": "fixed"}],
    }
    body = sweep(base, {"stages.0.k": [3, [3, 5], [3, 5, 7, 9, 11]]})
    assert ["totals" in p for p in body["points"]] == [True, True, False]
    assert body["points"][2]["error"]["detail"][0]["loc"] == ["stages", 0, "k"]
