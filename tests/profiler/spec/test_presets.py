"""Every preset against torchvision's model built in the same run (and its published metadata), and
MobileNetV1 against its paper."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torchvision.models import get_model, get_model_weights

from profiler import PRESETS, build_model, parse_spec, profile
from tests.references import param_shapes, torch_flops

# torchvision's published figures (weights.meta num_params; _ops as exact conv+linear multiply-adds).
TORCHVISION = {
    "mobilenet_v2": (3_504_872, 300_774_272),
    "mobilenet_v3_large": (5_483_032, 216_589_760),
    "mobilenet_v3_small": (2_542_856, 56_510_400),
    "resnet18": (11_689_512, 1_814_073_344),
    "resnet34": (21_797_672, 3_663_761_408),
    "resnet50": (25_557_032, 4_089_184_256),
    "resnet101": (44_549_160, 7_801_405_440),
    "resnet152": (60_192_808, 11_513_626_624),
    "efficientnet_b0": (5_288_548, 385_814_752),
    "efficientnet_b1": (7_794_184, 686_802_832),
    "efficientnet_b2": (9_109_994, 1_087_529_456),
    "efficientnet_b3": (12_233_232, 1_827_141_392),
    "efficientnet_b4": (19_341_616, 4_393_771_024),
    "efficientnet_b5": (30_389_784, 10_266_384_752),
    "efficientnet_b6": (43_040_704, 19_067_593_536),
    "efficientnet_b7": (66_347_960, 37_745_884_192),
    "efficientnet_v2_s": (21_458_488, 8_365_617_152),
    "efficientnet_v2_m": (54_139_356, 24_582_460_384),
    "efficientnet_v2_l": (118_515_272, 56_079_699_008),
    "mnasnet0_5": (2_218_512, 104_455_968),
    "mnasnet0_75": (3_170_208, 215_493_104),
    "mnasnet1_0": (4_383_312, 314_415_872),
    "mnasnet1_3": (6_282_256, 526_362_432),
    "shufflenet_v2_x0_5": (1_366_792, 40_476_448),
    "shufflenet_v2_x1_0": (2_278_604, 144_907_992),
    "shufflenet_v2_x1_5": (3_503_624, 295_759_392),
    "shufflenet_v2_x2_0": (7_393_996, 583_253_464),
    "regnet_x_400mf": (5_495_976, 413_812_608),
    "regnet_y_400mf": (4_344_144, 401_842_848),
    "regnet_y_800mf": (6_432_512, 833_856_256),
}
# The resolution each one's weights were evaluated at (224 where none is given), as the presets set it.
RESOLUTION = {
    "efficientnet_b1": 240,
    "efficientnet_b2": 288,
    "efficientnet_b3": 300,
    "efficientnet_b4": 380,
    "efficientnet_b5": 456,
    "efficientnet_b6": 528,
    "efficientnet_b7": 600,
    "efficientnet_v2_s": 384,
    "efficientnet_v2_m": 480,
    "efficientnet_v2_l": 480,
}


def _on_meta(build: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """A model built on the meta device: its parameters' shapes without memory or initialisation, and a forward
    that infers shapes without computing (the largest presets run at 480-600 px). torchvision's RegNets read
    tensor values while they are built: those, and only those, are built on the CPU."""
    try:
        with torch.device("meta"):
            return build().eval()
    except NotImplementedError as exc:
        if "meta tensor" not in str(exc):
            raise
        return build().eval()


def _conv_linear_macs(model: torch.nn.Module, size: tuple[int, int] = (224, 224)) -> int:
    """torch's flop counter on ``model``'s convs and linears (2 flops a multiply-add; a linear's bias uncounted)."""
    device = next(model.parameters()).device
    x = torch.zeros(1, 3, *size, device=device)
    return torch_flops(model, x, ops=("aten.convolution", "aten.addmm", "aten.mm")) // 2


def test_every_preset_is_listed() -> None:
    assert {name for name, p in PRESETS.items() if p.reference == "torchvision"} == set(TORCHVISION)
    assert {name for name, p in PRESETS.items() if p.reference == "paper"} == {"mobilenet_v1"}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_preset_equals_torchvision(name: str) -> None:
    params, macs = TORCHVISION[name]
    size = RESOLUTION.get(name, 224)
    report = profile({"preset": name})
    totals = report.counts.totals
    reference = _on_meta(lambda: get_model(name))
    meta = get_model_weights(name).DEFAULT.meta

    assert report.spec.hw == (size, size)
    assert totals.params == params == meta["num_params"] == sum(p.numel() for p in reference.parameters())
    assert totals.macs == macs == _conv_linear_macs(reference, (size, size))
    assert round(totals.macs / 1e9, 3) == meta["_ops"]
    assert param_shapes(_on_meta(lambda: build_model(parse_spec({"preset": name})))) == param_shapes(reference)


@pytest.mark.parametrize(
    ("name", "width", "resolution"),
    [
        ("mobilenet_v2", 0.35, 96),
        ("mobilenet_v2", 0.75, 160),
        ("mobilenet_v2", 1.4, 224),
        ("mobilenet_v3_large", 0.75, 192),
        ("mobilenet_v3_large", 0.5, 128),
        ("mobilenet_v3_small", 0.75, 160),
    ],
)
def test_width_multiplier_equals_torchvision(name: str, width: float, resolution: int) -> None:
    """make_divisible and the no-shrink head reproduce torchvision's width_mult exactly."""
    spec = parse_spec({"preset": name, "width_multiplier": width, "resolution": resolution})
    reference = _on_meta(lambda: get_model(name, width_mult=width))
    totals = profile(spec).counts.totals
    assert param_shapes(_on_meta(lambda: build_model(spec))) == param_shapes(reference)
    assert totals.params == sum(p.numel() for p in reference.parameters())
    assert totals.macs == _conv_linear_macs(reference, (resolution, resolution))


def test_mobilenet_v1_matches_the_paper() -> None:
    """Table 1 of the MobileNets paper: 569 million mult-adds and 4.2 million parameters at 1.0/224."""
    totals = profile({"preset": "mobilenet_v1"}).counts.totals
    assert round(totals.macs / 1e6) == 569
    assert round(totals.params / 1e6, 1) == 4.2


def test_mobilenet_v1_width_table() -> None:
    """Table 6 of the paper: 0.75 -> 325M mult-adds / 2.6M params, 0.5 -> 149M / 1.3M, 0.25 -> 41M / 0.5M."""
    for width, macs_m, params_m in ((0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)):
        totals = profile({"preset": "mobilenet_v1", "width_multiplier": width}).counts.totals
        assert round(totals.macs / 1e6) == macs_m, width
        assert round(totals.params / 1e6, 1) == params_m, width
