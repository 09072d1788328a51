"""The architecture spec: a paper-style table of rows, as frozen dataclasses validated by pydantic.

A row is one kind of block repeated ``n`` times; only the first repetition takes the stride ``s``
(the rule of the MobileNet and ResNet tables). ``c`` is scaled once per row by the width multiplier
with :func:`make_divisible`, except where the row's ``width`` says otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from .errors import SpecError, UnknownPresetError
from .presets import PRESETS

_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False)

PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
Activation = Literal["relu", "relu6", "hardswish", "hardsigmoid", "silu", "none"]
WidthRule = Annotated[
    Literal["scale", "no_shrink", "fixed"],
    Field(description="scale: make_divisible(c*alpha); no_shrink: scale up only (MobileNetV2's 1280 head); fixed: c as given"),
]
Channels = Annotated[StrictInt, Field(ge=1, description="output channels before width scaling")]
Repeats = Annotated[StrictInt, Field(ge=1, description="times the block is repeated; only the first takes the stride")]
Stride = Annotated[StrictInt, Field(ge=1, description="stride of the first repetition")]
Kernel = Annotated[StrictInt, Field(ge=1, description="kernel size (square)")]
Dilation = Annotated[StrictInt, Field(ge=1)]
Padding = Annotated[
    StrictInt | None, Field(ge=0, description="explicit padding; default 'same': dilation*(k-1)//2")
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


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class ConvRow:
    """Normal convolution + BN + activation. ``groups`` may be ``"depthwise"`` (one group per input channel)."""

    block: Literal["conv"] = "conv"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    groups: Annotated[StrictInt, Field(ge=1)] | Literal["depthwise"] = 1
    dilation: Dilation = 1
    padding: Padding = None
    act: Activation = "relu"
    bn: StrictBool = True
    bias: StrictBool | None = Field(default=None, description="conv bias; default: only when there is no BN")
    width: WidthRule = "scale"


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class DepthwiseSeparableRow:
    """MobileNetV1: k x k depthwise conv + BN + act, then 1x1 pointwise conv + BN + act."""

    block: Literal["depthwise_separable"] = "depthwise_separable"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    k: Kernel = 3
    dilation: Dilation = 1
    act: Activation = "relu"
    width: WidthRule = "scale"


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class InvertedResidualRow:
    """MobileNetV2/V3: 1x1 expand, k x k depthwise, optional SE, 1x1 linear projection; skip when s=1, in=out.

    The expansion is ``t`` (V2 tables: expanded = round(in*t)) or ``exp`` (V3 tables: expanded channels,
    width-scaled like ``c``). The expand conv is left out when expanded == in.
    """

    block: Literal["inverted_residual"] = "inverted_residual"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    t: Annotated[StrictFloat, Field(gt=0, le=1024)] | None = None
    exp: Annotated[StrictInt, Field(ge=1)] | None = None
    k: Kernel = 3
    se: Annotated[StrictFloat, Field(ge=0, lt=1)] | StrictBool = Field(
        default=0.0, description="squeeze-excite ratio of the expanded channels; true = 0.25 (MobileNetV3)"
    )
    se_gate: Activation = "hardsigmoid"
    act: Activation = "relu6"
    dilation: Dilation = 1
    width: WidthRule = "scale"

    def __post_init__(self) -> None:
        if self.t is not None and self.exp is not None:
            raise ValueError("give either t (expansion ratio) or exp (expanded channels), not both")

    @property
    def se_ratio(self) -> float:
        return 0.25 if self.se is True else float(self.se)


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class BasicRow:
    """ResNet basic block (two 3x3 convs, expansion 1); 1x1 downsample on the skip when the shape changes."""

    block: Literal["basic"] = "basic"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    width: WidthRule = "scale"


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class BottleneckRow:
    """ResNet bottleneck (1x1, 3x3, 1x1; ``c`` is the inner width, output is 4c); stride on the 3x3 (V1.5)."""

    block: Literal["bottleneck"] = "bottleneck"
    c: Channels
    n: Repeats = 1
    s: Stride = 1
    width: WidthRule = "scale"


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class MaxPoolRow:
    """Max pooling (ResNet stem). Padding defaults to (k-1)//2."""

    block: Literal["maxpool"] = "maxpool"
    k: Kernel = 3
    s: Stride = 2
    padding: Padding = None
    n: Repeats = 1


Row = Annotated[
    Union[ConvRow, DepthwiseSeparableRow, InvertedResidualRow, BasicRow, BottleneckRow, MaxPoolRow],
    Field(discriminator="block"),
]


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class ClassifierSpec:
    """After global average pooling: an optional hidden FC (MobileNetV3's 1280) and the final FC."""

    hidden: Annotated[StrictInt, Field(ge=1)] | None = None
    hidden_width: WidthRule = "scale"
    act: Activation = "hardswish"
    dropout: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.2


@dataclass(frozen=True, kw_only=True, config=_CONFIG)
class ModelSpec:
    """A whole network. With ``preset``, the paper's table is the base and every given field overrides it."""

    preset: PresetName | None = Field(default=None, description="start from a paper table (GET /presets)")
    name: str | None = Field(default=None, max_length=200)
    width_multiplier: Annotated[StrictFloat, Field(gt=0, le=64)] = 1.0
    resolution: Annotated[StrictInt, Field(ge=1)] | tuple[Annotated[StrictInt, Field(ge=1)], Annotated[StrictInt, Field(ge=1)]] = 224
    in_channels: Annotated[StrictInt, Field(ge=1)] = 3
    num_classes: Annotated[StrictInt, Field(ge=1)] = 1000
    classifier: ClassifierSpec | None = Field(
        default_factory=ClassifierSpec, description="null: no pooling and no classifier (profile the table alone)"
    )
    stages: tuple[Row, ...] = Field(default=(), validate_default=True, description="the table, one row per block kind")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        # An unknown name is left to the field's own check, which lists the known ones.
        if isinstance(data, dict) and isinstance(data.get("preset"), str) and data["preset"] in PRESETS:
            return {**preset_table(data["preset"]), **data}
        return data

    @field_validator("stages")
    @classmethod
    def _not_empty(cls, stages: tuple[Any, ...], info: ValidationInfo) -> tuple[Any, ...]:
        if not stages and "preset" in info.data:  # preset absent from info.data: its own error says why
            raise ValueError("the table is empty: give a list of rows or a preset")
        return stages

    @property
    def hw(self) -> tuple[int, int]:
        r = self.resolution
        return (r, r) if isinstance(r, int) else (r[0], r[1])


def preset_table(name: Any) -> dict[str, Any]:
    """A copy of a preset's table as plain data (never the shared one: callers may edit it)."""
    if not isinstance(name, str) or name not in PRESETS:
        raise UnknownPresetError(str(name), sorted(PRESETS))
    preset = PRESETS[name]
    return {"preset": name, "name": name, **_deep_copy(preset.spec)}


def _deep_copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _deep_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_deep_copy(v) for v in obj]
    return obj


_SPEC_ADAPTER = TypeAdapter(ModelSpec)


def parse_spec(data: Any) -> ModelSpec:
    """JSON-like data -> ModelSpec, or SpecError naming every bad field."""
    if isinstance(data, ModelSpec):
        return data
    try:
        return _SPEC_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise spec_error_from(exc) from None


def spec_error_from(exc: ValidationError) -> SpecError:
    return SpecError([(tuple(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)])
