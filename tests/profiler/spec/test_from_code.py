"""Public-style PyTorch code translated into specs, as the README's "from code to spec" shows: each module below
is written as such code is, and the spec must give its parameters (and their shapes), fvcore's FLOPs and its
output shape. The expected figures come from running the code."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from profiler import build_model, parse_spec, profile
from tests.references import fvcore_analysis


class KeepExpand(nn.Module):
    """A MobileNetV2 block that keeps its 1x1 expand conv at t = 1 (as some public code does)."""

    def __init__(self, inp: int, oup: int, t: int, stride: int) -> None:
        super().__init__()
        hidden = inp * t
        self.use_res = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class LinearSE(nn.Module):
    """Squeeze-excite of Linear layers without bias and a sigmoid gate."""

    def __init__(self, c: int, r: int = 4) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True), nn.Linear(c // r, c, bias=False), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, _, _ = x.shape
        return x * self.fc(self.pool(x).view(b, c)).view(b, c, 1, 1)


class SEBlock(nn.Module):
    def __init__(self, inp: int, oup: int, t: int) -> None:
        super().__init__()
        hidden = inp * t
        self.body = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            LinearSE(hidden),
            nn.Conv2d(hidden, oup, 1, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _stem() -> list[nn.Module]:
    return [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(inplace=True)]


CASES: dict[str, tuple[nn.Module, dict[str, Any], tuple[int, ...]]] = {
    "expand conv kept at t = 1": (
        nn.Sequential(*_stem(), KeepExpand(32, 16, 1, 1), KeepExpand(16, 24, 6, 2)),
        {
            "resolution": 96,
            "classifier": None,
            "stages": [
                {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu6"},
                {"block": "inverted_residual", "t": 1, "c": 16, "expand": "always"},
                {"block": "inverted_residual", "t": 6, "c": 24, "s": 2},
            ],
        },
        (1, 3, 96, 96),
    ),
    "SE of Linear layers, no bias, sigmoid gate": (
        nn.Sequential(*_stem(), SEBlock(32, 24, 6)),
        {
            "resolution": 96,
            "classifier": None,
            "stages": [
                {"block": "conv", "c": 32, "k": 3, "s": 2, "act": "relu6"},
                {
                    "block": "inverted_residual",
                    "t": 6,
                    "c": 24,
                    "act": "relu",
                    "se": {"ratio": 0.25, "gate": "sigmoid", "bias": False, "divisor": 1},
                },
            ],
        },
        (1, 3, 96, 96),
    ),
    "depthwise-separable conv, padding 0, no BN": (
        nn.Sequential(nn.Conv2d(64, 64, 3, padding=0, groups=64), nn.ReLU(), nn.Conv2d(64, 128, 1), nn.ReLU()),
        {
            "in_channels": 64,
            "resolution": 56,
            "classifier": None,
            "stages": [{"block": "depthwise_separable", "c": 128, "padding": 0, "bn": False}],
        },
        (1, 64, 56, 56),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_spec_counts_what_the_code_runs(case: str) -> None:
    code, spec, input_shape = CASES[case]
    x = torch.randn(input_shape)
    report = profile(spec)
    built = build_model(parse_spec(spec))
    assert report.counts.totals.params == sum(p.numel() for p in code.parameters())
    # Tensor by tensor (a Linear's weight is a 1x1 conv's, less two unit dimensions).
    assert sorted(p.numel() for p in built.parameters()) == sorted(p.numel() for p in code.parameters())
    assert report.counts.totals.fvcore_flops == fvcore_analysis(code, x).total()
    with torch.no_grad():
        assert tuple(built(x).shape) == tuple(code.eval()(x).shape) == tuple(report.counts.output_shape)


def test_the_act_and_pool_rows_count_what_torch_runs() -> None:
    code = nn.Sequential(
        nn.Conv2d(8, 16, 3, 1, 1),
        nn.SiLU(),
        nn.AvgPool2d(3, 2, 1),
        nn.MaxPool2d(2),
        nn.Sigmoid(),
        nn.AdaptiveAvgPool2d(1),
    )
    spec = {
        "in_channels": 8,
        "resolution": 32,
        "classifier": None,
        "stages": [
            {"block": "conv", "c": 16, "bn": False, "act": "none"},
            {"block": "act", "act": "silu"},
            {"block": "pool", "type": "avg", "k": 3, "s": 2},
            {"block": "pool", "type": "max", "k": 2},
            {"block": "act", "act": "sigmoid"},
            {"block": "pool", "k": "global"},
        ],
    }
    x = torch.randn(1, 8, 32, 32)
    report = profile(spec)
    analysis = fvcore_analysis(code, x)
    assert report.counts.totals.params == sum(p.numel() for p in code.parameters())
    assert report.counts.totals.fvcore_flops == analysis.total()
    assert report.counts.totals.unsupported_ops == dict(analysis.unsupported_ops())
    with torch.no_grad():
        assert tuple(build_model(parse_spec(spec))(x).shape) == tuple(code(x).shape)


def test_depth_multiplier_scales_repeated_rows_up_and_leaves_stems_alone() -> None:
    spec = {
        "depth_multiplier": 1.2,
        "stages": [
            {"block": "conv", "c": 32, "s": 2},
            {"block": "inverted_residual", "t": 6, "c": 24, "n": 2},  # ceil(2.4) = 3
            {"block": "fused_mbconv", "t": 4, "c": 24, "n": 1},  # ceil(1.2) = 2
            {"block": "pool", "k": 2},
        ],
    }
    names = {row.name.split(".")[1] for row in profile(spec).counts.rows if row.name.startswith("features.")}
    assert len(names) == 1 + 3 + 2 + 1
