"""The README's field reference is the one the schema writes."""

from __future__ import annotations

from pathlib import Path

from profiler.spec.reference import BEGIN, END, field_reference

README = Path(__file__).resolve().parents[3] / "README.md"


def test_the_readme_holds_the_generated_field_reference() -> None:
    text = README.read_text()
    copy = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert copy == field_reference(), "run: python -m profiler.spec.reference, and paste it into README.md"


def test_every_block_and_activation_is_in_it() -> None:
    from profiler.model.blocks import BLOCKS
    from profiler.model.layers import ACTIVATIONS

    reference = field_reference()
    assert all(f"#### `{name}`" in reference for name in BLOCKS)
    assert all(f"`{act}`" in reference for act in ACTIVATIONS)
