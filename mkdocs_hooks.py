"""MkDocs hook: the docs site's tour page is the README's tour, copied in at build time (one text, so the tour
that tests/test_readme.py runs is the one the site shows), its links to ``docs/...`` pages made relative."""

from __future__ import annotations

from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
START = "<!-- tour: start -->"
END = "<!-- tour: end -->"
PLACE = "<!-- the README's tour goes here -->"


def readme_tour() -> str:
    text = README.read_text(encoding="utf-8")
    tour = text[text.index(START) + len(START) : text.index(END)]
    tour = tour.replace("](docs/", "](")  # README.md links docs/x.md; the site's pages sit beside each other
    return "\n".join(line[1:] if line.startswith("##") else line for line in tour.splitlines())  # one level up


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return markdown.replace(PLACE, readme_tour()) if PLACE in markdown else markdown
