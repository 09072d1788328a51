"""Activation memory by liveness against what is known outside the code: MCUNet's published MobileNetV2 peak,
formulas written out here, and the peak torch.profiler's memory events give for the built model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from profiler import PRESETS, MemoryOptions, parse_spec, plan_model, profile
from profiler.count.memory import MemoryProgram
from profiler.count.shapes import TotalsProgram
from profiler.latency.peak_memory import forward_peak_bytes
from profiler.sweep import sweep


@pytest.fixture
def two_threads() -> Iterator[None]:
    """The eager convention is PyTorch's on more than one thread (its conv dispatch depends on it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def test_mobilenet_v2_int8_with_depthwise_in_place_peaks_where_mcunet_says() -> None:
    # MCUNet (Lin et al., 2020): MobileNetV2 in int8 at 224 needs 1,372 kB of activation memory, a layer's input
    # plus output with depthwise convs in place: block 2's expansion, 16x112x112 in and 96x112x112 out.
    memory = profile({"preset": "mobilenet_v2"}, memory=MemoryOptions(dtype="int8", inplace_depthwise=True)).memory
    assert memory is not None
    assert memory.peak_activation_bytes == 16 * 112 * 112 + 96 * 112 * 112 == 1_404_928
    assert memory.peak_activation_bytes // 1024 == 1372 and memory.peak_layer == "features.2.conv_pw"
    # Not in place, the depthwise conv after it holds its input and its stride-2 output.
    plain = profile({"preset": "mobilenet_v2"}, memory=MemoryOptions(dtype="int8")).memory
    assert plain is not None and plain.peak_layer == "features.2.conv_dw"
    assert plain.peak_activation_bytes == 96 * 112 * 112 + 96 * 56 * 56


RESIDUAL = {
    "name": "one residual block",
    "in_channels": 8,
    "resolution": 16,
    "classifier": None,
    "stages": [{"block": "inverted_residual", "t": 4, "c": 8, "n": 1, "s": 1}],
}


def test_a_residual_blocks_input_is_held_until_its_add() -> None:
    report = profile(RESIDUAL)
    live = {row.name: row.live_bytes for row in report.counts.rows}
    x, wide = 8 * 16 * 16 * 4, 32 * 16 * 16 * 4  # the block's input (kept for the add) and its expansion
    assert live["features.0.conv_pw"] == x + wide  # its input is the block's
    assert live["features.0.bn1"] == live["features.0.act1"] == x + wide  # fused into the conv: no new tensor
    assert live["features.0.conv_dw"] == x + wide + wide  # held input, its input, its output
    assert live["features.0.conv_pwl"] == x + wide + x
    assert report.memory is not None and report.memory.peak_layer == "features.0.conv_dw"
    timeline = {step["name"]: step["live_bytes"] for step in report.memory.to_dict()["timeline"]}  # type: ignore[union-attr]
    assert timeline["features.0 (add)"] == x + x  # written over the projection, the block's input read last


def test_depthwise_in_place_holds_the_larger_of_its_input_and_output() -> None:
    options = MemoryOptions(inplace_depthwise=True)
    live = {row.name: row.live_bytes for row in profile(RESIDUAL, memory=options).counts.rows}
    x, wide = 8 * 16 * 16 * 4, 32 * 16 * 16 * 4
    assert live["features.0.conv_dw"] == x + wide


@pytest.mark.parametrize(("batch", "resolution"), [(1, 32), (2, 32), (1, 57), (3, 100)])
def test_one_conv_holds_its_input_and_output_at_any_batch_and_resolution(batch: int, resolution: int) -> None:
    spec = {
        "in_channels": 5,
        "resolution": resolution,
        "classifier": None,
        "stages": [{"block": "conv", "c": 8, "k": 3, "s": 2}],
    }
    memory = profile(spec, batch_size=batch, memory=MemoryOptions(dtype="float16")).memory
    out = (resolution + 2 * 1 - 3) // 2 + 1
    assert memory is not None
    assert memory.peak_activation_bytes == 2 * batch * (5 * resolution**2 + 8 * out**2)
    assert memory.weight_bytes == 2 * (8 * 5 * 9 + 2 * 8)  # conv weights and the batch norm's scale and shift


def test_batch_scales_every_figure_but_the_weights() -> None:
    one, two = (profile({"preset": "efficientnet_b0", "resolution": 128}, batch_size=b).memory for b in (1, 2))
    assert one is not None and two is not None
    assert two.peak_activation_bytes == 2 * one.peak_activation_bytes and two.weight_bytes == one.weight_bytes
    assert two.live_bytes == [2 * b for b in one.live_bytes]


def test_a_budget_answers_fits_and_names_the_layers_over_it() -> None:
    base = profile({"preset": "mobilenet_v2", "resolution": 96}).memory
    assert base is not None
    budget = base.peak_activation_bytes - 1
    memory = profile({"preset": "mobilenet_v2", "resolution": 96}, memory=MemoryOptions(budget_bytes=budget)).memory
    assert memory is not None
    answer = memory.to_dict()
    assert answer["fits"] is False and answer["over_budget"] == [base.peak_layer]
    roomy = profile({"preset": "mobilenet_v2", "resolution": 96}, memory=MemoryOptions(budget_bytes=10**9)).memory
    assert roomy is not None and roomy.to_dict()["fits"] is True and roomy.to_dict()["over_budget"] == []


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_eager_figure_is_within_10_percent_of_what_the_built_model_allocates(
    preset: str, two_threads: None
) -> None:
    model, layers = None, None  # built once: a preset's modules do not depend on the resolution (the largest take
    # seconds to build), as its layers at both resolutions show
    for spec, batch in (({"preset": preset, "resolution": 96}, 1), ({"preset": preset, "resolution": 64}, 2)):
        report = profile(spec, batch_size=batch)
        assert report.memory is not None and report.plan is not None
        torch.manual_seed(0)
        described = [(row.name, row.params) for row in report.counts.rows]
        assert layers is None or described == layers
        if model is None:
            model, layers = report.plan.build().eval(), described
        measured = forward_peak_bytes(model, torch.randn(report.counts.input_shape))
        assert abs(report.memory.eager_peak_bytes / measured - 1) <= 0.10, (
            spec,
            batch,
            report.memory.eager_peak_bytes,
            measured,
        )


def test_the_memory_program_reads_the_totals_programs_slots() -> None:
    plan = plan_model(parse_spec({"preset": "shufflenet_v2_x1_0"}))
    values, _ = TotalsProgram(plan).run_values((1, 3, 224, 224))
    program = MemoryProgram(plan)
    assert values == program.shapes((1, 3, 224, 224)) and len(values) == len(program.steps) + 1


def test_a_sweep_with_memory_puts_the_peak_on_the_pareto_front() -> None:
    grid = {"width_multiplier": [0.5, 1.0], "resolution": [96, 160]}
    body = sweep({"preset": "mobilenet_v2"}, grid, memory=MemoryOptions(budget_bytes=3_000_000))
    assert body["pareto_objectives"] == ["macs", "params", "peak_activation_bytes"]
    for point in body["points"]:
        spec = {"preset": "mobilenet_v2", **point["values"]}
        memory = profile(spec).memory
        assert memory is not None
        assert point["memory"]["peak_activation_bytes"] == memory.peak_activation_bytes
        assert point["memory"]["fits"] == (memory.peak_activation_bytes <= 3_000_000)
    assert "memory" not in sweep({"preset": "mobilenet_v2"}, grid)["points"][0]


def test_a_model_that_runs_nothing_holds_nothing() -> None:
    # An activation row of "none" is no layer at all (the fuzz's find): the model returns its input.
    memory = profile({"preset": "mobilenet_v2", "classifier": None, "stages": [{"block": "act", "act": "none"}]}).memory
    assert memory is not None and memory.peak_activation_bytes == 0 and memory.peak_layer is None
    answer = profile(
        {
            "in_channels": 3,
            "resolution": 8,
            "classifier": None,
            "stages": [{"block": "act", "act": "none"}, {"block": "conv", "c": 8, "k": 1}],
        }
    )
    assert answer.memory is not None and answer.memory.peak_activation_bytes == 4 * (3 + 8) * 64
