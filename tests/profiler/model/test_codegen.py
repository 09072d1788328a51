"""The model as generated code, held to torchvision's model of the same architecture: same output with the same
weights, and the same peak of what a forward allocates (torch.profiler's memory events), for every preset with
a torchvision twin. Then what the generated code promises: values freed after their last use, in-place work only
on values nothing reads later, probes around every node in execution order, and no change to the counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import get_model

from bench.timed_model import unnested
from profiler import PRESETS, build_model, parse_spec, plan_model
from profiler import profile as profile_spec
from profiler.latency.peak_memory import forward_peak_bytes
from profiler.model.codegen import generate, probed, timed_names
from profiler.model.graph import INPUT, Add, Graph, Node
from profiler.model.layers import Act, BatchNorm, Conv, Dropout, Flatten

TWINS = sorted(name for name, p in PRESETS.items() if p.reference == "torchvision")
RESOLUTION = 96  # small enough for every preset in CI; the bench compares them at their own resolution


def _same_weights(ours: nn.Module, theirs: nn.Module) -> None:
    """torchvision's parameters and buffers (BN statistics made non-trivial first) copied into ours, in order."""
    with torch.no_grad():
        for m in theirs.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
            assert a.shape == b.shape
            a.copy_(b)
    # torchvision ports some TF weights with BN eps 1e-3 (EfficientNet B5-B7, V2), which a spec does not say
    # (it changes no count): the same eps, so that equal outputs test the data flow alone.
    ours_bn = [m for m in ours.modules() if isinstance(m, nn.BatchNorm2d)]
    theirs_bn = [m for m in theirs.modules() if isinstance(m, nn.BatchNorm2d)]
    for a, b in zip(ours_bn, theirs_bn, strict=True):
        a.eps = b.eps


@pytest.mark.parametrize("name", TWINS)
def test_preset_runs_and_allocates_as_torchvision(name: str) -> None:
    torch.manual_seed(0)
    spec = parse_spec({"preset": name, "resolution": RESOLUTION})
    ours, theirs = build_model(spec), get_model(name).eval()
    _same_weights(ours, theirs)
    x = torch.randn(2, 3, RESOLUTION, RESOLUTION)
    before = x.clone()
    with torch.inference_mode():
        out, expected = ours(x), theirs(x)
    # Equal up to float32 rounding, which 50-odd layers amplify: relative to the output's scale.
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))
    assert torch.equal(x, before)  # the input is never written over
    peak = forward_peak_bytes(ours, x)
    assert peak <= 1.05 * forward_peak_bytes(theirs, x)
    # torchvision nests stages in nn.Sequential containers, and a container's caller holds the stage's input
    # until the stage returns; written straight, nothing does. Its blocks called one after another:
    assert peak == pytest.approx(forward_peak_bytes(unnested(theirs), x), rel=0.05)


def test_values_are_freed_after_their_last_use() -> None:
    """A chain of layers allocates the same peak however long it is (a layer's input and output, and the conv's
    scratch), where an interpreter that keeps every output would grow by a map per layer."""
    chs, size = 8, 64
    layer_bytes = 4 * chs * size * size

    def chain(n: int) -> nn.Module:
        nodes = [Node(f"conv{i}", Conv(chs, chs, 3, padding=1)) for i in range(n)]
        return generate(Graph(tuple(nodes))).eval()

    x = torch.randn(1, chs, size, size)
    short, long = forward_peak_bytes(chain(2), x), forward_peak_bytes(chain(12), x)
    assert long == short
    assert long < 4 * layer_bytes < 12 * layer_bytes


def test_in_place_only_where_nothing_reads_the_input_later() -> None:
    bn = BatchNorm(4)
    graph = Graph(
        (
            Node("act0", Act("relu")),  # reads the graph's input: never in place
            Node("conv", Conv(4, 4, 1)),
            Node("bn", bn),
            Node("act1", Act("relu6")),  # bn is read by nothing else: in place
            Node("act2", Act("hardswish"), ("conv",)),  # conv is read later (by add2): not in place
            Node("add", Add(), ("act2", "act1")),  # act2 is fresh and dead after: a += b
            Node("add2", Add(), ("add", "conv")),  # so is add's value (act2's tensor)
            Node("drop", Dropout(0.1)),  # returns its input in eval
            Node("act3", Act("silu")),  # its input aliases add's value through dropout: not in place
            Node("flat", Flatten()),
            Node("act4", Act("relu")),  # a view: not in place
        )
    )
    model = generate(graph).eval()
    inplace = {name for name, m in model.named_children() if getattr(m, "inplace", False)}
    assert inplace == {"act1"}
    assert "act2 += act1" in model.code and "add += conv" in model.code
    reference = generate(graph, inplace=False).eval()
    reference.load_state_dict(model.state_dict())
    x = torch.randn(2, 4, 5, 5)
    before = x.clone()
    with torch.inference_mode():
        torch.testing.assert_close(model(x), reference(x))
    assert torch.equal(x, before)


def test_probes_bracket_every_leaf_and_op_in_execution_order() -> None:
    spec = parse_spec({"preset": "mobilenet_v3_small", "resolution": 64})
    model = build_model(spec)
    calls: list[tuple[str, str]] = []
    twin = probed(model, lambda n: calls.append(("before", n)), lambda n: calls.append(("after", n)))
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(twin(x), model(x))
    names = timed_names(model)
    assert calls == [(when, n) for n in names for when in ("before", "after")]
    counts = profile_spec(spec).counts
    assert [n for n in names if "(" not in n] == [r.name for r in counts.rows]
    assert [n for n in names if "(" in n] == list(counts.op_elements)
    assert all(a is b for a, b in zip(twin.parameters(), model.parameters(), strict=True))  # shared, not copied


def test_module_names_and_counts_unchanged() -> None:
    """The report's rows are the generated model's leaves, and its parameters its own."""
    for name in ("mobilenet_v2", "resnet50", "shufflenet_v2_x1_0", "efficientnet_b0", "regnet_y_400mf"):
        spec = parse_spec({"preset": name, "resolution": 64})
        model = plan_model(spec).build()
        leaves = [n for n, m in model.named_modules() if not list(m.children())]
        assert leaves == [r.name for r in profile_spec(spec).counts.rows], name
        assert dict(model.named_parameters()).keys() == dict(plan_model(spec).build(False).named_parameters()).keys()


def test_skip_add_reads_its_input_after_the_branch() -> None:
    """A residual whose branch starts with an in-place-capable activation keeps the input intact for the add."""
    graph = Graph((Node("act", Act("relu")), Node("conv", Conv(3, 3, 1)), Node("add", Add(), ("conv", INPUT))))
    model = generate(graph).eval()
    x = torch.randn(1, 3, 4, 4)
    with torch.inference_mode():
        expected = model.conv(torch.relu(x)) + x
        torch.testing.assert_close(model(x), expected)
