"""The pieces every row is made of: field types with their bounds, width scaling, the row config.

Width scaling happens in one place (:func:`scale_channels`); the exceptions are flags on the row
(``width``), not branches in the blocks.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictInt

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
    "Size",
    "Stride",
    "Width",
    "WidthRule",
    "make_divisible",
    "scale_channels",
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
