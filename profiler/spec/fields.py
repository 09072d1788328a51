"""The pieces every row is made of: field types with their bounds, width scaling, the row config.

Width scaling happens in one place (:func:`scale_channels`); the exceptions are flags on the row
(``width``), not branches in the blocks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt
from pydantic.dataclasses import dataclass

from ..model.layers import ACTIVATIONS

__all__ = [
    "MAX_COUNT",
    "MAX_SIZE",
    "MAX_WIDTH",
    "ROW_CONFIG",
    "Activation",
    "Channels",
    "Dilation",
    "Kernel",
    "Padding",
    "Repeats",
    "SeField",
    "Size",
    "SqueezeExcite",
    "Stride",
    "Width",
    "WidthRule",
    "make_divisible",
    "scale_channels",
    "squeeze_excite_options",
]

# Every row: unknown fields and NaN/Infinity are errors, not ignored.
ROW_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

Activation = Literal[(*ACTIVATIONS, "none")]  # type: ignore[valid-type]
WidthRule = Annotated[
    Literal["scale", "no_shrink", "fixed"],
    Field(
        description="scale: make_divisible(c*alpha); no_shrink: scale up only (MobileNetV2's 1280 head); "
        "fixed: c as given"
    ),
]
# Every number has a range in the schema, far past any limit an operator may set (``profiler.limits``): an absurd
# value is a 422 naming the field and its range, never an overflow further in.
MAX_WIDTH = 2**24
MAX_SIZE = 2**20  # a resolution, kernel, stride, dilation or padding
MAX_COUNT = 10**6  # repeats of a row

Channels = Annotated[StrictInt, Field(ge=1, le=MAX_WIDTH, description="output channels before width scaling")]
Width = Annotated[StrictInt, Field(ge=1, le=MAX_WIDTH)]
Repeats = Annotated[
    StrictInt, Field(ge=1, le=MAX_COUNT, description="times the block is repeated; only the first takes the stride")
]
Stride = Annotated[StrictInt, Field(ge=1, le=MAX_SIZE, description="stride of the first repetition")]
Kernel = Annotated[StrictInt, Field(ge=1, le=MAX_SIZE, description="kernel size (square)")]
Dilation = Annotated[StrictInt, Field(ge=1, le=MAX_SIZE)]
Size = Annotated[StrictInt, Field(ge=1, le=MAX_SIZE)]
Padding = Annotated[
    StrictInt | None, Field(ge=0, le=MAX_SIZE, description="explicit padding; default 'same': dilation*(k-1)//2")
]


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class SqueezeExcite:
    """Squeeze-and-excite: global average pool, 1x1 reduce (or a Linear: the same count) + ``act``, 1x1 expand,
    ``gate``, then the block's features scaled by it. The reduced width is ``make_divisible(int(base_width *
    ratio), divisor)``, ``base_width`` the block's expanded width (MobileNetV3) or its input width (EfficientNet,
    RegNet)."""

    ratio: Annotated[StrictFloat, Field(gt=0, le=1)] = 0.25
    base: Literal["expanded", "input"] = Field(
        default="expanded",
        description="squeeze from the expanded width (MobileNetV3) or the block's input (EfficientNet, RegNet)",
    )
    act: Activation = "relu"
    gate: Activation = "hardsigmoid"
    bias: StrictBool = Field(default=True, description="bias on the two 1x1 convs (Linear layers)")
    divisor: Annotated[StrictInt, Field(ge=1, le=MAX_WIDTH)] = Field(
        default=8, description="round the reduced width to a multiple of this (1: int(base_width * ratio))"
    )


SeField = Annotated[
    Annotated[StrictFloat, Field(ge=0, lt=1)] | StrictBool | SqueezeExcite,
    Field(
        description="squeeze-excite: a ratio of the expanded width, true (0.25, MobileNetV3), or an object (ratio, "
        "base, act, gate, bias, divisor)"
    ),
]


def squeeze_excite_options(se: float | bool | SqueezeExcite, gate: str) -> SqueezeExcite | None:
    """A row's ``se`` as one object (None: no SE): a number or ``true`` take the row's ``se_gate``."""
    if isinstance(se, SqueezeExcite):
        return se
    ratio = 0.25 if se is True else float(se)
    return SqueezeExcite(ratio=ratio, gate=gate) if ratio > 0 else None


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never down by more than 10% (torchvision, timm)."""
    min_value = min_value or divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return new_value


def scale_channels(c: int, width_multiplier: float, rule: str) -> int:
    """The one place where width scaling happens."""
    if rule == "fixed":
        return c
    if rule == "no_shrink":
        return make_divisible(c * max(1.0, width_multiplier))
    return make_divisible(c * width_multiplier)
