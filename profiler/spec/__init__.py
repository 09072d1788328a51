"""The spec stage: what a user sends. Rows (defined with their blocks), the top-level spec, presets."""

from .fields import make_divisible, scale_channels
from .model_spec import ClassifierSpec, ModelSpec, Row, parse_spec, preset_table, spec_error_from
from .presets import PRESETS, Preset

__all__ = [
    "PRESETS",
    "ClassifierSpec",
    "ModelSpec",
    "Preset",
    "Row",
    "make_divisible",
    "parse_spec",
    "preset_table",
    "scale_channels",
    "spec_error_from",
]
