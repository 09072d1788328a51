"""The docs site's field reference (docs/reference.md) is the one the schema writes."""

from __future__ import annotations

from pathlib import Path

from profiler.spec.reference import BEGIN, END, field_reference, with_reference

PAGE = Path(__file__).resolve().parents[3] / "docs" / "reference.md"


def test_the_docs_page_holds_the_generated_field_reference() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    copy = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert copy == field_reference(), "run: python -m profiler.spec.reference --write docs/reference.md"


def test_writing_it_keeps_the_rest_of_the_page() -> None:
    text = PAGE.read_text(encoding="utf-8")
    stale = text.replace(field_reference(), f"{BEGIN}\nstale\n{END}")
    assert with_reference(stale) == text


def test_every_block_and_activation_is_in_it() -> None:
    from profiler.model.blocks import BLOCKS
    from profiler.model.layers import ACTIVATIONS

    reference = field_reference()
    assert all(f"## `{name}`" in reference for name in BLOCKS)
    assert all(f"`{act}`" in reference for act in ACTIVATIONS)
