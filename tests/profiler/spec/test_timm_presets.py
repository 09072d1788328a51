"""The presets torchvision lacks against timm's models built live (``pretrained=False``): parameters, conv and
linear multiply-adds counted here with forward hooks (and by fvcore on our model), every parameter's shape in
order, and the same output from the same weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from profiler import PRESETS, build_model, parse_spec, profile
from tests.references import fvcore_analysis, param_shapes

timm = pytest.importorskip("timm")

TIMM = sorted(name for name, p in PRESETS.items() if p.reference == "timm")


def _hooked_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Conv and linear multiply-adds of one forward, written out: each output element of a conv takes
    in_channels / groups x kh x kw of them, of a linear in_features."""
    total = 0

    def count(module: nn.Module, _: object, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total += out.numel() * module.in_channels // module.groups * kh * kw
        elif isinstance(module, nn.Linear):
            total += out.numel() * module.in_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return total


def _with_bn_statistics(model: nn.Module) -> nn.Module:
    """``model`` with batch-norm statistics that are not the identity (a fresh model's would hide a BN's place)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model


def test_the_timm_presets_are_there() -> None:
    assert {"lcnet_050", "lcnet_075", "lcnet_100", "ghostnet_100"} <= set(TIMM)
    assert {"mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_conv_large"} <= set(TIMM)


@pytest.mark.parametrize("name", TIMM)
def test_preset_equals_timms_model(name: str) -> None:
    reference = timm.create_model(name, pretrained=False).eval()
    size = reference.default_cfg["input_size"][1:]
    report = profile({"preset": name})
    assert report.spec.hw == tuple(size)
    x = torch.zeros(1, 3, *size)

    assert report.counts.totals.params == sum(p.numel() for p in reference.parameters())
    macs = _hooked_macs(reference, x)
    assert report.counts.totals.macs == macs
    ours = build_model(parse_spec({"preset": name})).eval()
    by_op = fvcore_analysis(ours, x).by_operator()
    assert by_op.get("conv", 0) + by_op.get("linear", 0) + by_op.get("addmm", 0) == macs
    # timm's 1x1 conv head on the pooled map is ours too; every parameter in the same order and shape.
    assert param_shapes(ours) == param_shapes(reference)


@pytest.mark.parametrize("name", TIMM)
def test_the_same_weights_give_timms_output(name: str) -> None:
    torch.manual_seed(0)
    reference = _with_bn_statistics(timm.create_model(name, pretrained=False).eval())
    ours = build_model(parse_spec({"preset": name, "resolution": 96})).eval()
    theirs_state = [v for k, v in reference.state_dict().items()]
    ours_state = list(ours.state_dict().values())
    assert len(ours_state) == len(theirs_state)
    with torch.no_grad():
        for a, b in zip(ours_state, theirs_state, strict=True):
            assert a.shape == b.shape
            a.copy_(b)
        x = torch.randn(2, 3, 96, 96)
        expected = reference(x)
        # Random BN statistics over 100 summed branches (MobileOne-S0) grow outputs to ~1e10: float sums in
        # another order differ by their rounding, so the tolerance scales with the output.
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4 * max(1.0, expected.abs().max().item()))


REPARAMETERIZED = [name for name in TIMM if name.startswith(("repvgg", "mobileone"))]


@pytest.mark.parametrize("name", REPARAMETERIZED)
def test_the_deployed_form_equals_timms_reparameterized_model(name: str) -> None:
    from timm.utils import reparameterize_model

    torch.manual_seed(0)
    trained = _with_bn_statistics(timm.create_model(name, pretrained=False).eval())
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        expected = trained(x)
    deployed = reparameterize_model(trained)
    train_report = profile({"preset": name})
    report = profile({"preset": name, "form": "deploy"})
    assert report.counts.totals.params == sum(p.numel() for p in deployed.parameters())
    assert report.counts.totals.macs == _hooked_macs(deployed, torch.zeros(1, 3, 224, 224))
    assert train_report.deployed is not None and train_report.deployed.macs == report.counts.totals.macs
    assert train_report.to_dict()["deployed_totals"]["params"] == report.counts.totals.params
    ours = build_model(parse_spec({"preset": name, "form": "deploy", "resolution": 96})).eval()
    theirs = _in_execution_order(deployed.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(v.shape) for k, v in theirs if "running" not in k]
    with torch.no_grad():
        for a, (_, b) in zip(ours.state_dict().values(), theirs, strict=True):
            a.copy_(b)
        scale = max(1.0, expected.abs().max().item())
        torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-4 * scale)  # the trained branches' output


def _in_execution_order(state: dict[str, torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    """timm's reparameterized state, each block's fused conv before its SE (``reparameterize_model`` adds the
    conv to the block last; it runs first)."""
    items = list(state.items())
    out: list[tuple[str, torch.Tensor]] = []
    i = 0
    while i < len(items):
        key, value = items[i]
        if ".attn." in key:
            block = key.split(".attn.")[0]
            attn = [(k, v) for k, v in items[i:] if k.startswith(block + ".attn.")]
            conv = [(k, v) for k, v in items[i:] if k.startswith(block + ".reparam_conv.")]
            out += conv + attn
            i += len(attn) + len(conv)
        else:
            out.append((key, value))
            i += 1
    return out


def test_a_uib_with_layer_scale_is_timms_block() -> None:
    from timm.models._efficientnet_blocks import UniversalInvertedResidual

    torch.manual_seed(0)
    theirs = UniversalInvertedResidual(
        16, 16, dw_kernel_size_start=3, dw_kernel_size_mid=5, exp_ratio=2.0, layer_scale_init_value=0.5
    ).eval()
    spec = {
        "in_channels": 16,
        "resolution": 12,
        "classifier": None,
        "stages": [{"block": "uib", "c": 16, "t": 2.0, "dw_start": 3, "dw_mid": 5, "layer_scale": True}],
    }
    report = profile(spec)
    assert report.counts.totals.params == sum(p.numel() for p in theirs.parameters())
    scale = next(row for row in report.counts.rows if row.type == "LayerScale2d")
    assert scale.params == 16 and scale.macs == 0
    ours = build_model(parse_spec(spec)).eval()
    assert param_shapes(ours) == param_shapes(theirs)
    with torch.no_grad():
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values(), strict=True):
            a.copy_(b)  # timm's scale is 0.5 here, ours starts at 1e-5: equal outputs need it applied
        x = torch.randn(2, 16, 12, 12)
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-4, atol=1e-5)
