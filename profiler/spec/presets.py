"""The papers' tables as data. Each preset is an editable spec (``GET /presets/{name}``) and cites its table.

At width 1.0, resolution 224 and 1000 classes each builds its reference's model exactly (parameters and
conv+linear multiply-adds): torchvision's, or timm's where torchvision has none (``reference``); MobileNetV1 has
neither and follows the paper's Table 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    citation: str
    spec: dict[str, Any]
    reference: str = "torchvision"  # the library whose model it builds exactly ("timm"), or "paper"


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


def _lcnet(width: float) -> dict[str, Any]:
    """PP-LCNet as timm builds it: depthwise-separable blocks with hardswish, SE (a quarter of the input, ReLU,
    hard sigmoid) in the last two, and a 1x1 conv head of 1280 on the pooled map."""

    def ds(c: int, k: int, s: int = 1, n: int = 1, se: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {"block": "depthwise_separable", "c": c, "k": k, "s": s, "n": n, "act": "hardswish"}
        return {**row, "se": 0.25} if se else row

    return {
        "width_multiplier": width,
        "stages": [
            {"block": "conv", "c": 16, "k": 3, "s": 2, "act": "hardswish"},
            ds(32, 3),
            ds(64, 3, s=2, n=2),
            ds(128, 3, s=2, n=2),
            ds(256, 3, s=2),
            ds(256, 5, n=5),
            ds(512, 5, s=2, n=2, se=True),
        ],
        "classifier": {
            "hidden": 1280,
            "hidden_width": "fixed",
            "hidden_layer": "conv",
            "act": "hardswish",
            "dropout": 0.0,
        },
    }


_LCNET = "Cui et al., PP-LCNet (2021), Table 1 (as timm builds it)"


def _ghost(k: int, exp: int, c: int, se: float, s: int) -> dict[str, Any]:
    """One row of GhostNet's Table 7: kernel, expanded width, output, SE ratio, stride."""
    row: dict[str, Any] = {"block": "ghost_bottleneck", "k": k, "exp": exp, "c": c, "s": s}
    # timm's GhostNet SE: a quarter of the expanded width rounded to a multiple of 4, ReLU, hard sigmoid.
    return {**row, "se": {"ratio": se, "divisor": 4, "gate": "hardsigmoid"}} if se else row


_GHOSTNET = {
    "stages": [
        {"block": "conv", "c": 16, "k": 3, "s": 2, "act": "relu"},
        _ghost(3, 16, 16, 0, 1),
        _ghost(3, 48, 24, 0, 2),
        _ghost(3, 72, 24, 0, 1),
        _ghost(5, 72, 40, 0.25, 2),
        _ghost(5, 120, 40, 0.25, 1),
        _ghost(3, 240, 80, 0, 2),
        _ghost(3, 200, 80, 0, 1),
        _ghost(3, 184, 80, 0, 1),
        _ghost(3, 184, 80, 0, 1),
        _ghost(3, 480, 112, 0.25, 1),
        _ghost(3, 672, 112, 0.25, 1),
        _ghost(5, 672, 160, 0.25, 2),
        _ghost(5, 960, 160, 0, 1),
        _ghost(5, 960, 160, 0.25, 1),
        _ghost(5, 960, 160, 0, 1),
        _ghost(5, 960, 160, 0.25, 1),
        {"block": "conv", "c": 960, "k": 1, "act": "relu"},
    ],
    "classifier": {"hidden": 1280, "hidden_width": "fixed", "hidden_layer": "conv", "act": "relu", "dropout": 0.2},
}


def _uib(start: int, mid: int, t: float, c: int, s: int = 1, n: int = 1) -> dict[str, Any]:
    """One UIB row as timm writes MobileNetV4 (uir_r{n}_a{start}_k{mid}_s{s}_e{t}_c{c})."""
    return {"block": "uib", "dw_start": start, "dw_mid": mid, "t": t, "c": c, "s": s, "n": n}


def _cn(c: int, k: int, s: int = 1) -> dict[str, Any]:
    return {"block": "conv", "c": c, "k": k, "s": s, "act": "relu"}


def _mobilenet_v4(stem: int, rows: list[dict[str, Any]], resolution: int) -> dict[str, Any]:
    """MobileNetV4 (conv variants) as timm builds them: a stem, the rows, a 1x1 conv to 960, then the head's 1x1
    conv to 1280 on the pooled map with BN and no bias."""
    return {
        "resolution": resolution,
        "stages": [_cn(stem, 3, 2), *rows, _cn(960, 1)],
        "classifier": {
            "hidden": 1280,
            "hidden_width": "fixed",
            "hidden_layer": "conv",
            "hidden_bn": True,
            "act": "relu",
            "dropout": 0.0,
        },
    }


_FUSED_IB = {"block": "fused_mbconv", "t": 4.0, "k": 3, "s": 2, "c": 48, "act": "relu"}
_MOBILENET_V4 = "Qin et al., MobileNetV4 (2024), its conv models as timm builds them"
_MOBILENET_V4_SMALL = _mobilenet_v4(
    32,
    [
        *(_cn(32, 3, 2), _cn(32, 1), _cn(96, 3, 2), _cn(64, 1)),
        *(_uib(5, 5, 3, 96, s=2), _uib(0, 3, 2, 96, n=4), _uib(3, 0, 4, 96)),
        *(_uib(3, 3, 6, 128, s=2), _uib(5, 5, 4, 128), _uib(0, 5, 4, 128), _uib(0, 5, 3, 128), _uib(0, 3, 4, 128, n=2)),
    ],
    224,
)
_MOBILENET_V4_MEDIUM = _mobilenet_v4(
    32,
    [
        _FUSED_IB,
        *(_uib(3, 5, 4, 80, s=2), _uib(3, 3, 2, 80)),
        *(_uib(3, 5, 6, 160, s=2), _uib(3, 3, 4, 160, n=2), _uib(3, 5, 4, 160), _uib(3, 3, 4, 160)),
        *(_uib(3, 0, 4, 160), _uib(0, 0, 2, 160), _uib(3, 0, 4, 160)),
        *(_uib(5, 5, 6, 256, s=2), _uib(5, 5, 4, 256), _uib(3, 5, 4, 256, n=2), _uib(0, 0, 4, 256)),
        *(_uib(3, 0, 4, 256), _uib(3, 5, 2, 256), _uib(5, 5, 4, 256), _uib(0, 0, 4, 256, n=2), _uib(5, 0, 2, 256)),
    ],
    256,
)
_MOBILENET_V4_LARGE = _mobilenet_v4(
    24,
    [
        _FUSED_IB,
        *(_uib(3, 5, 4, 96, s=2), _uib(3, 3, 4, 96)),
        *(_uib(3, 5, 4, 192, s=2), _uib(3, 3, 4, 192, n=3), _uib(3, 5, 4, 192), _uib(5, 3, 4, 192, n=5)),
        _uib(3, 0, 4, 192),
        *(_uib(5, 5, 4, 512, s=2, n=4), _uib(5, 0, 4, 512), _uib(5, 3, 4, 512), _uib(5, 0, 4, 512, n=2)),
        *(_uib(5, 3, 4, 512), _uib(5, 5, 4, 512), _uib(5, 0, 4, 512, n=3)),
    ],
    384,
)


def _repvgg(widths: tuple[float, float, float, float], depths: tuple[int, int, int, int]) -> dict[str, Any]:
    """RepVGG-A/B as timm builds it: a stride-2 RepVGG block of min(64, 64 a) as the stem, four stages of 64,
    128, 256, 512 channels times their width, each starting with stride 2; global pool and the FC."""
    stem = min(64, int(64 * widths[0]))
    rows: list[dict[str, Any]] = [{"block": "repvgg", "c": stem, "s": 2}]
    for base, width, n in zip((64, 128, 256, 512), widths, depths, strict=True):
        rows.append({"block": "repvgg", "c": int(base * width), "n": n, "s": 2})
    return {"stages": rows, "classifier": {"hidden": None, "dropout": 0.0}}


_REPVGG = "Ding et al., RepVGG (2021), Table 2 (as timm builds it; form train: its branches)"


def _mix(k: Any, t: float, c: int, s: int = 1, n: int = 1, a: int = 1, p: int = 1, se: float = 0.0) -> dict[str, Any]:
    """One MixNet row as timm writes it (ir_r{n}_k{k}_a{a}_p{p}_s{s}_e{t}_c{c}_se{se}): mixed depthwise kernels,
    grouped 1x1 expansion and projection; with SE, swish and an SE of the block's input width times se."""
    row: dict[str, Any] = {"block": "inverted_residual", "k": k, "t": t, "c": c, "s": s, "n": n, "act": "relu"}
    row |= {"exp_groups": a, "pw_groups": p}
    if se:
        row |= {"act": "silu", "se": {"ratio": se, "base": "input", "act": "silu", "gate": "sigmoid", "divisor": 1}}
    return row


def _mixnet(stem: int, rows: list[dict[str, Any]], width: float = 1.0) -> dict[str, Any]:
    first = {"block": "depthwise_separable", "c": stem, "k": 3, "act": "relu", "act_pw": "none", "skip": True}
    return {
        "width_multiplier": width,
        "stages": [
            {"block": "conv", "c": stem, "k": 3, "s": 2, "act": "relu"},
            first,
            *rows,
            {"block": "conv", "c": 1536, "k": 1, "act": "relu", "width": "fixed"},
        ],
        "classifier": {"hidden": None, "dropout": 0.0},
    }


_MIXNET = "Tan & Le, MixConv (2019), Figure 8 (as timm builds it)"
_MIXNET_S = _mixnet(
    16,
    [
        _mix(3, 6, 24, s=2, a=2, p=2),
        _mix(3, 3, 24, a=2, p=2),
        _mix((3, 5, 7), 6, 40, s=2, se=0.5),
        _mix((3, 5), 6, 40, n=3, a=2, p=2, se=0.5),
        _mix((3, 5, 7), 6, 80, s=2, p=2, se=0.25),
        _mix((3, 5), 6, 80, n=2, p=2, se=0.25),
        _mix((3, 5, 7), 6, 120, a=2, p=2, se=0.5),
        _mix((3, 5, 7, 9), 3, 120, n=2, a=2, p=2, se=0.5),
        _mix((3, 5, 7, 9, 11), 6, 200, s=2, se=0.5),
        _mix((3, 5, 7, 9), 6, 200, n=2, p=2, se=0.5),
    ],
)
_MIXNET_M_ROWS = [
    _mix((3, 5, 7), 6, 32, s=2, a=2, p=2),
    _mix(3, 3, 32, a=2, p=2),
    _mix((3, 5, 7, 9), 6, 40, s=2, se=0.5),
    _mix((3, 5), 6, 40, n=3, a=2, p=2, se=0.5),
    _mix((3, 5, 7), 6, 80, s=2, se=0.25),
    _mix((3, 5, 7, 9), 6, 80, n=3, a=2, p=2, se=0.25),
    _mix(3, 6, 120, se=0.5),
    _mix((3, 5, 7, 9), 3, 120, n=3, a=2, p=2, se=0.5),
    _mix((3, 5, 7, 9), 6, 200, s=2, se=0.5),
    _mix((3, 5, 7, 9), 6, 200, n=3, p=2, se=0.5),
]


def _mobileone(widths: tuple[float, ...], branches: int = 1, se_last: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    """MobileOne-S0..S4 as timm builds them: a stride-2 3x3 block to min(64, 64 w) as the stem, then stages of
    (2, 8, 10, 1) pairs of a depthwise 3x3 block and a pointwise 1x1 block (64, 128, 256, 512 channels times
    their width), each stage starting with stride 2; SE (a sixteenth, ReLU, sigmoid) on the last ``se_last``
    pairs of the third and fourth stages (S4)."""
    se = {"ratio": 1 / 16, "act": "relu", "gate": "sigmoid", "divisor": 1}
    stem = min(64, int(64 * widths[0]))
    rows: list[dict[str, Any]] = [{"block": "mobileone", "c": stem, "k": 3, "s": 2}]
    chs = stem
    for stage, (base, width, depth) in enumerate(zip((64, 128, 256, 512), widths, (2, 8, 10, 1), strict=True)):
        out = int(base * width)
        for i in range(depth):
            extra = {"se": se} if stage >= 2 and i >= depth - se_last[stage - 2] else {}
            dw = {"block": "mobileone", "c": chs, "k": 3, "groups": "depthwise", "s": 2 if i == 0 else 1}
            rows += [
                {**dw, "branches": branches, **extra},
                {"block": "mobileone", "c": out, "k": 1, "branches": branches, **extra},
            ]
            chs = out
    return {"stages": rows, "classifier": {"hidden": None, "dropout": 0.0}}


_MOBILEONE = "Vasu et al., MobileOne (2023), Table 7 (as timm builds it; form train: its branches)"

_DEEP_RESIDUAL = "He et al., Deep Residual Learning for Image Recognition (2016), Table 1"

# EfficientNet's SE: squeezed from the block's input width (in // 4), SiLU, sigmoid gate.
_EFFICIENTNET_SE = {"ratio": 0.25, "base": "input", "act": "silu", "gate": "sigmoid", "divisor": 1}


def _mb(t: float, k: int, s: int, c: int, n: int) -> dict[str, Any]:
    """One MBConv row of the EfficientNet tables: expand ratio, kernel, stride, channels, layers."""
    return {"block": "inverted_residual", "t": t, "k": k, "s": s, "c": c, "n": n, "act": "silu", "se": _EFFICIENTNET_SE}


def _fused(t: float, k: int, s: int, c: int, n: int) -> dict[str, Any]:
    return {"block": "fused_mbconv", "t": t, "k": k, "s": s, "c": c, "n": n, "act": "silu"}


def _efficientnet(width: float, depth: float, resolution: int, dropout: float) -> dict[str, Any]:
    # Table 1 of Tan & Le (2019), with the B1-B7 compound scaling; the head is 4x the last stage's width.
    return {
        "width_multiplier": width,
        "depth_multiplier": depth,
        "resolution": resolution,
        "stages": [
            {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "silu"},
            _mb(1, 3, 1, 16, 1),
            _mb(6, 3, 2, 24, 2),
            _mb(6, 5, 2, 40, 2),
            _mb(6, 3, 2, 80, 3),
            _mb(6, 5, 1, 112, 3),
            _mb(6, 5, 2, 192, 4),
            _mb(6, 3, 1, 320, 1),
            {"block": "conv", "c": 1280, "k": 1, "act": "silu"},
        ],
        "classifier": {"hidden": None, "dropout": dropout},
    }


def _efficientnet_v2(stem: int, rows: list[dict[str, Any]], resolution: int, dropout: float) -> dict[str, Any]:
    return {
        "resolution": resolution,
        "stages": [
            {"block": "conv", "c": stem, "k": 3, "s": 2, "act": "silu"},
            *rows,
            {"block": "conv", "c": 1280, "k": 1, "act": "silu"},
        ],
        "classifier": {"hidden": None, "dropout": dropout},
    }


def _mnasnet(alpha: float) -> dict[str, Any]:
    # MnasNet-A... as torchvision builds it (B1 in the paper's Figure 7): a depthwise-separable stem block
    # with no activation after its pointwise conv, then inverted residuals (t, k, s, c, n); the 1280 head is
    # not scaled.
    def ir(t: int, k: int, s: int, c: int, n: int) -> dict[str, Any]:
        return {"block": "inverted_residual", "t": t, "k": k, "s": s, "c": c, "n": n, "act": "relu"}

    return {
        "width_multiplier": alpha,
        "stages": [
            {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu"},
            {"block": "depthwise_separable", "c": 16, "act": "relu", "act_pw": "none"},
            ir(3, 3, 2, 24, 3),
            ir(3, 5, 2, 40, 3),
            ir(6, 5, 2, 80, 3),
            ir(6, 3, 1, 96, 2),
            ir(6, 5, 2, 192, 4),
            ir(6, 3, 1, 320, 1),
            {"block": "conv", "c": 1280, "k": 1, "act": "relu", "width": "fixed"},
        ],
        "classifier": {"hidden": None, "dropout": 0.2},
    }


def _shufflenet_v2(widths: tuple[int, int, int, int]) -> dict[str, Any]:
    # Table 5 of Ma et al. (2018): stages of 4, 8, 4 units, output widths per model size (not width-scaled).
    c2, c3, c4, c5 = widths
    return {
        "stages": [
            {"block": "conv", "c": 24, "k": 3, "s": 2, "act": "relu", "width": "fixed"},
            {"block": "maxpool", "k": 3, "s": 2},
            {"block": "shuffle_v2", "c": c2, "n": 4, "s": 2, "width": "fixed"},
            {"block": "shuffle_v2", "c": c3, "n": 8, "s": 2, "width": "fixed"},
            {"block": "shuffle_v2", "c": c4, "n": 4, "s": 2, "width": "fixed"},
            {"block": "conv", "c": c5, "k": 1, "act": "relu", "width": "fixed"},
        ],
        "classifier": {"hidden": None, "dropout": 0.0},
    }


def _regnet(stages: list[tuple[int, int]], group_width: int, se: float) -> dict[str, Any]:
    # Radosavovic et al. (2020): the per-stage widths and depths their generator gives (as torchvision's
    # BlockParams does), each stage's first block with stride 2.
    rows: list[dict[str, Any]] = [{"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu"}]
    for c, n in stages:
        row: dict[str, Any] = {"block": "regnet_bottleneck", "c": c, "n": n, "s": 2, "group_width": group_width}
        if se:
            row["se"] = se
        rows.append(row)
    return {"stages": rows, "classifier": {"hidden": None, "dropout": 0.0}}


_EFFICIENTNET = "Tan & Le, EfficientNet (2019), Table 1"
_EFFICIENTNET_V2 = "Tan & Le, EfficientNetV2 (2021)"
_MNASNET = "Tan et al., MnasNet (2019), Figure 7 (as torchvision builds it)"
_SHUFFLENET_V2 = "Ma et al., ShuffleNet V2 (2018), Table 5"
_REGNET = "Radosavovic et al., Designing Network Design Spaces (2020)"

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "mobilenet_v1",
            "Howard et al., MobileNets (2017), Table 1: 569M mult-adds, 4.2M params",
            _MOBILENET_V1,
            reference="paper",
        ),
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
        Preset("efficientnet_b0", _EFFICIENTNET + ", B0", _efficientnet(1.0, 1.0, 224, 0.2)),
        Preset("efficientnet_b1", _EFFICIENTNET + ", B1 (width 1.0, depth 1.1)", _efficientnet(1.0, 1.1, 240, 0.2)),
        Preset("efficientnet_b2", _EFFICIENTNET + ", B2 (width 1.1, depth 1.2)", _efficientnet(1.1, 1.2, 288, 0.3)),
        Preset("efficientnet_b3", _EFFICIENTNET + ", B3 (width 1.2, depth 1.4)", _efficientnet(1.2, 1.4, 300, 0.3)),
        Preset("efficientnet_b4", _EFFICIENTNET + ", B4 (width 1.4, depth 1.8)", _efficientnet(1.4, 1.8, 380, 0.4)),
        Preset("efficientnet_b5", _EFFICIENTNET + ", B5 (width 1.6, depth 2.2)", _efficientnet(1.6, 2.2, 456, 0.4)),
        Preset("efficientnet_b6", _EFFICIENTNET + ", B6 (width 1.8, depth 2.6)", _efficientnet(1.8, 2.6, 528, 0.5)),
        Preset("efficientnet_b7", _EFFICIENTNET + ", B7 (width 2.0, depth 3.1)", _efficientnet(2.0, 3.1, 600, 0.5)),
        Preset(
            "efficientnet_v2_s",
            _EFFICIENTNET_V2 + ", Table 4 (S)",
            _efficientnet_v2(
                24,
                [
                    _fused(1, 3, 1, 24, 2),
                    _fused(4, 3, 2, 48, 4),
                    _fused(4, 3, 2, 64, 4),
                    _mb(4, 3, 2, 128, 6),
                    _mb(6, 3, 1, 160, 9),
                    _mb(6, 3, 2, 256, 15),
                ],
                384,
                0.2,
            ),
        ),
        Preset(
            "efficientnet_v2_m",
            _EFFICIENTNET_V2 + ", M (as torchvision builds it)",
            _efficientnet_v2(
                24,
                [
                    _fused(1, 3, 1, 24, 3),
                    _fused(4, 3, 2, 48, 5),
                    _fused(4, 3, 2, 80, 5),
                    _mb(4, 3, 2, 160, 7),
                    _mb(6, 3, 1, 176, 14),
                    _mb(6, 3, 2, 304, 18),
                    _mb(6, 3, 1, 512, 5),
                ],
                480,
                0.3,
            ),
        ),
        Preset(
            "efficientnet_v2_l",
            _EFFICIENTNET_V2 + ", L (as torchvision builds it)",
            _efficientnet_v2(
                32,
                [
                    _fused(1, 3, 1, 32, 4),
                    _fused(4, 3, 2, 64, 7),
                    _fused(4, 3, 2, 96, 7),
                    _mb(4, 3, 2, 192, 10),
                    _mb(6, 3, 1, 224, 19),
                    _mb(6, 3, 2, 384, 25),
                    _mb(6, 3, 1, 640, 7),
                ],
                480,
                0.4,
            ),
        ),
        Preset("mnasnet0_5", _MNASNET + ", depth multiplier 0.5", _mnasnet(0.5)),
        Preset("mnasnet0_75", _MNASNET + ", depth multiplier 0.75", _mnasnet(0.75)),
        Preset("mnasnet1_0", _MNASNET + ", depth multiplier 1.0", _mnasnet(1.0)),
        Preset("mnasnet1_3", _MNASNET + ", depth multiplier 1.3", _mnasnet(1.3)),
        Preset("shufflenet_v2_x0_5", _SHUFFLENET_V2 + ", 0.5x", _shufflenet_v2((48, 96, 192, 1024))),
        Preset("shufflenet_v2_x1_0", _SHUFFLENET_V2 + ", 1x", _shufflenet_v2((116, 232, 464, 1024))),
        Preset("shufflenet_v2_x1_5", _SHUFFLENET_V2 + ", 1.5x", _shufflenet_v2((176, 352, 704, 1024))),
        Preset("shufflenet_v2_x2_0", _SHUFFLENET_V2 + ", 2x", _shufflenet_v2((244, 488, 976, 2048))),
        Preset("regnet_x_400mf", _REGNET + ", RegNetX-400MF", _regnet([(32, 1), (64, 2), (160, 7), (400, 12)], 16, 0)),
        Preset(
            "regnet_y_400mf", _REGNET + ", RegNetY-400MF", _regnet([(48, 1), (104, 3), (208, 6), (440, 6)], 8, 0.25)
        ),
        Preset(
            "regnet_y_800mf", _REGNET + ", RegNetY-800MF", _regnet([(64, 1), (144, 3), (320, 8), (784, 2)], 16, 0.25)
        ),
        Preset("lcnet_050", _LCNET + ", x0.5", _lcnet(0.5), reference="timm"),
        Preset("lcnet_075", _LCNET + ", x0.75", _lcnet(0.75), reference="timm"),
        Preset("lcnet_100", _LCNET + ", x1.0", _lcnet(1.0), reference="timm"),
        Preset("mobilenetv4_conv_small", _MOBILENET_V4 + ", Conv-S", _MOBILENET_V4_SMALL, reference="timm"),
        Preset("mobilenetv4_conv_medium", _MOBILENET_V4 + ", Conv-M", _MOBILENET_V4_MEDIUM, reference="timm"),
        Preset("mobilenetv4_conv_large", _MOBILENET_V4 + ", Conv-L", _MOBILENET_V4_LARGE, reference="timm"),
        Preset("repvgg_a0", _REPVGG + ", A0", _repvgg((0.75, 0.75, 0.75, 2.5), (2, 4, 14, 1)), reference="timm"),
        Preset("repvgg_a1", _REPVGG + ", A1", _repvgg((1, 1, 1, 2.5), (2, 4, 14, 1)), reference="timm"),
        Preset("repvgg_b0", _REPVGG + ", B0", _repvgg((1, 1, 1, 2.5), (4, 6, 16, 1)), reference="timm"),
        Preset("mixnet_s", _MIXNET + ", S", _MIXNET_S, reference="timm"),
        Preset("mixnet_m", _MIXNET + ", M", _mixnet(24, _MIXNET_M_ROWS), reference="timm"),
        Preset("mixnet_l", _MIXNET + ", L (M at width 1.3)", _mixnet(24, _MIXNET_M_ROWS, 1.3), reference="timm"),
        Preset("mobileone_s0", _MOBILEONE + ", S0", _mobileone((0.75, 1.0, 1.0, 2.0), branches=4), reference="timm"),
        Preset("mobileone_s1", _MOBILEONE + ", S1", _mobileone((1.5, 1.5, 2.0, 2.5)), reference="timm"),
        Preset("mobileone_s2", _MOBILEONE + ", S2", _mobileone((1.5, 2.0, 2.5, 4.0)), reference="timm"),
        Preset("mobileone_s3", _MOBILEONE + ", S3", _mobileone((2.0, 2.5, 3.0, 4.0)), reference="timm"),
        Preset("mobileone_s4", _MOBILEONE + ", S4", _mobileone((3.0, 3.5, 3.5, 4.0), se_last=(5, 1)), reference="timm"),
        Preset("ghostnet_100", "Han et al., GhostNet (2020), Table 7 (as timm builds it)", _GHOSTNET, reference="timm"),
    )
}
