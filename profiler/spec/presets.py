"""The papers' tables as data. Each preset is an editable spec (``GET /presets/{name}``) and cites its table.

At width 1.0, resolution 224 and 1000 classes each builds torchvision's model exactly (parameters and
conv+linear multiply-adds); MobileNetV1 has no torchvision model and follows the paper's Table 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    citation: str
    spec: dict[str, Any]


def _ir(k: int, exp: int, c: int, act: str, s: int = 1, se: bool = False, n: int = 1) -> dict[str, Any]:
    """One row of the MobileNetV3 tables: kernel, exp size, #out, SE, NL, stride."""
    row: dict[str, Any] = {"block": "inverted_residual", "k": k, "exp": exp, "c": c, "act": act, "s": s, "n": n}
    if se:
        row["se"] = True
    return row


def _resnet(block: str, depths: tuple[int, int, int, int]) -> dict[str, Any]:
    stages: list[dict[str, Any]] = [
        {"block": "conv", "c": 64, "k": 7, "s": 2, "act": "relu"},
        {"block": "maxpool", "k": 3, "s": 2},
    ]
    for c, n, s in zip((64, 128, 256, 512), depths, (1, 2, 2, 2), strict=False):
        stages.append({"block": block, "c": c, "n": n, "s": s})
    return {"stages": stages, "classifier": {"hidden": None, "dropout": 0.0}}


_MOBILENET_V1 = {
    # Table 1. The paper prints "Conv dw / s2" on the 7x7x1024 row; the output stays 7x7, so s1.
    "stages": [
        {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu"},
        {"block": "depthwise_separable", "c": 64, "n": 1, "s": 1},
        {"block": "depthwise_separable", "c": 128, "n": 2, "s": 2},
        {"block": "depthwise_separable", "c": 256, "n": 2, "s": 2},
        {"block": "depthwise_separable", "c": 512, "n": 6, "s": 2},
        {"block": "depthwise_separable", "c": 1024, "n": 2, "s": 2},
    ],
    "classifier": {"hidden": None, "dropout": 0.0},
}

_MOBILENET_V2 = {
    # Table 2 (t, c, n, s), the 32-channel stem before it and the 1280-channel 1x1 conv after it,
    # which never shrinks below 1280 for widths < 1 (Section 5.1).
    "stages": [
        {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu6"},
        {"block": "inverted_residual", "t": 1, "c": 16, "n": 1, "s": 1},
        {"block": "inverted_residual", "t": 6, "c": 24, "n": 2, "s": 2},
        {"block": "inverted_residual", "t": 6, "c": 32, "n": 3, "s": 2},
        {"block": "inverted_residual", "t": 6, "c": 64, "n": 4, "s": 2},
        {"block": "inverted_residual", "t": 6, "c": 96, "n": 3, "s": 1},
        {"block": "inverted_residual", "t": 6, "c": 160, "n": 3, "s": 2},
        {"block": "inverted_residual", "t": 6, "c": 320, "n": 1, "s": 1},
        {"block": "conv", "c": 1280, "k": 1, "act": "relu6", "width": "no_shrink"},
    ],
    "classifier": {"hidden": None, "dropout": 0.2},
}

_MOBILENET_V3_LARGE = {
    # Table 1 of "Searching for MobileNetV3": input, operator (kernel), exp size, #out, SE, NL, s.
    "stages": [
        {"block": "conv", "c": 16, "k": 3, "s": 2, "act": "hardswish"},
        _ir(3, 16, 16, "relu"),
        _ir(3, 64, 24, "relu", s=2),
        _ir(3, 72, 24, "relu"),
        _ir(5, 72, 40, "relu", s=2, se=True),
        _ir(5, 120, 40, "relu", se=True, n=2),
        _ir(3, 240, 80, "hardswish", s=2),
        _ir(3, 200, 80, "hardswish"),
        _ir(3, 184, 80, "hardswish", n=2),
        _ir(3, 480, 112, "hardswish", se=True),
        _ir(3, 672, 112, "hardswish", se=True),
        _ir(5, 672, 160, "hardswish", s=2, se=True),
        _ir(5, 960, 160, "hardswish", se=True, n=2),
        {"block": "conv", "c": 960, "k": 1, "act": "hardswish"},
    ],
    "classifier": {"hidden": 1280, "act": "hardswish", "dropout": 0.2},
}

_MOBILENET_V3_SMALL = {
    # Table 2 of "Searching for MobileNetV3".
    "stages": [
        {"block": "conv", "c": 16, "k": 3, "s": 2, "act": "hardswish"},
        _ir(3, 16, 16, "relu", s=2, se=True),
        _ir(3, 72, 24, "relu", s=2),
        _ir(3, 88, 24, "relu"),
        _ir(5, 96, 40, "hardswish", s=2, se=True),
        _ir(5, 240, 40, "hardswish", se=True, n=2),
        _ir(5, 120, 48, "hardswish", se=True),
        _ir(5, 144, 48, "hardswish", se=True),
        _ir(5, 288, 96, "hardswish", s=2, se=True),
        _ir(5, 576, 96, "hardswish", se=True, n=2),
        {"block": "conv", "c": 576, "k": 1, "act": "hardswish"},
    ],
    "classifier": {"hidden": 1024, "act": "hardswish", "dropout": 0.2},
}

_DEEP_RESIDUAL = "He et al., Deep Residual Learning for Image Recognition (2016), Table 1"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("mobilenet_v1", "Howard et al., MobileNets (2017), Table 1: 569M mult-adds, 4.2M params", _MOBILENET_V1),
        Preset("mobilenet_v2", "Sandler et al., MobileNetV2 (2018), Table 2", _MOBILENET_V2),
        Preset("mobilenet_v3_large", "Howard et al., Searching for MobileNetV3 (2019), Table 1", _MOBILENET_V3_LARGE),
        Preset("mobilenet_v3_small", "Howard et al., Searching for MobileNetV3 (2019), Table 2", _MOBILENET_V3_SMALL),
        Preset("resnet18", _DEEP_RESIDUAL + ", 18-layer", _resnet("basic", (2, 2, 2, 2))),
        Preset("resnet34", _DEEP_RESIDUAL + ", 34-layer", _resnet("basic", (3, 4, 6, 3))),
        Preset(
            "resnet50", _DEEP_RESIDUAL + ", 50-layer (stride on the 3x3: V1.5)", _resnet("bottleneck", (3, 4, 6, 3))
        ),
        Preset("resnet101", _DEEP_RESIDUAL + ", 101-layer (V1.5)", _resnet("bottleneck", (3, 4, 23, 3))),
        Preset("resnet152", _DEEP_RESIDUAL + ", 152-layer (V1.5)", _resnet("bottleneck", (3, 8, 36, 3))),
    )
}
