"""The top-level spec: a paper-style table of rows (each row defined with its block, ``profiler.model.blocks``),
the input, the classifier and an optional preset, as frozen dataclasses validated by pydantic.

A row is one kind of block repeated ``n`` times; only the first repetition takes the stride ``s``
(the rule of the MobileNet and ResNet tables). ``c`` is scaled once per row by the width multiplier
with :func:`make_divisible`, except where the row's ``width`` says otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    Field,
    StrictBool,
    StrictFloat,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass

from ..errors import SpecError, UnknownPresetError
from ..model.blocks import BLOCKS
from .fields import ROW_CONFIG, Activation, Size, Width, WidthRule
from .presets import PRESETS
from .problems import clean_errors

if TYPE_CHECKING:  # built from the registries at run time
    PresetName = str
    Row = Any
else:
    PresetName = Literal[tuple(PRESETS)]
    # The rows a table may hold: one per registered block type, told apart by ``block``.
    Row = Annotated[Union[tuple(b.row for b in BLOCKS.values())], Field(discriminator="block")]  # noqa: UP007


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class ClassifierSpec:
    """After global average pooling: an optional hidden FC (MobileNetV3's 1280) and the final FC."""

    hidden: Width | None = None
    hidden_width: WidthRule = "scale"
    hidden_layer: Literal["linear", "conv"] = Field(
        default="linear",
        description="the hidden layer: a Linear after flattening, or a 1x1 conv on the pooled map before it (timm's "
        "conv_head: LCNet, MobileNetV4); the same count",
    )
    hidden_bn: StrictBool = Field(default=False, description="BN after the hidden layer (MobileNetV4's head)")
    hidden_bias: StrictBool | None = Field(default=None, description="the hidden layer's bias; default: unless BN")
    act: Activation = "hardswish"
    dropout: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.2


@dataclass(frozen=True, kw_only=True, config=ROW_CONFIG)
class ModelSpec:
    """A whole network. With ``preset``, the paper's table is the base and every given field overrides it."""

    preset: PresetName | None = Field(default=None, description="start from a paper table (GET /presets)")
    name: str | None = Field(default=None, max_length=200)
    width_multiplier: Annotated[StrictFloat, Field(gt=0, le=64)] = 1.0
    depth_multiplier: Annotated[StrictFloat, Field(gt=0, le=64)] = Field(
        default=1.0,
        description="scales each repeated row's n, rounded up (EfficientNet); conv, maxpool, pool and act rows keep "
        "theirs",
    )
    depth_rounding: Literal["up", "nearest"] = Field(
        default="up",
        description="how a scaled n is rounded: up (EfficientNet, ceil) or to the nearest (timm's TinyNet)",
    )
    resolution: Size | tuple[Size, Size] = 224
    in_channels: Width = 3
    num_classes: Width = 1000
    classifier: ClassifierSpec | None = Field(
        default_factory=ClassifierSpec, description="null: no pooling and no classifier (profile the table alone)"
    )
    form: Literal["train", "deploy"] = Field(
        default="train",
        description="reparameterizable blocks (repvgg): train, their parallel branches as timm builds them; deploy, "
        "each fused into one conv with bias (what inference runs)",
    )
    stages: tuple[Row, ...] = Field(default=(), validate_default=True, description="the table, one row per block kind")

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        # An unknown name is left to the field's own check, which lists the known ones.
        if isinstance(data, dict) and isinstance(data.get("preset"), str) and data["preset"] in PRESETS:
            if data.keys() >= PRESETS[data["preset"]].spec.keys() | {"name"}:
                return data  # every field of the table given (a sweep's point): nothing to take from it
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


def spec_error_from(exc: ValidationError, root: Any = ModelSpec) -> SpecError:
    """The spec's errors in its own terms (``problems.clean_errors``)."""
    return SpecError([(tuple(e["loc"]), e["msg"]) for e in clean_errors(exc.errors(include_url=False), root)])
