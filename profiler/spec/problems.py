"""Validation errors in the spec's own terms: one per mistake, ``loc`` as the user wrote the field
(``["resolution"]``, ``["stages", 2, "c"]``), no pydantic type names, and an unknown field or block named with
the closest known one ("unknown field 'widht_multiplier'; did you mean 'width_multiplier'?").

pydantic reports a value that fits no member of a union once per member, each with the member's type in its
``loc`` (``constrained-int``, ``tuple[...]``, a row's block name). Those are folded into one: the member the
value came closest to fitting (the deepest error), else the first.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["clean_errors"]

_UNKNOWN = {"unexpected_keyword_argument", "extra_forbidden"}


def clean_errors(errors: Sequence[Mapping[str, Any]], root: Any, prefix: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """pydantic's ``errors()`` for data validated as ``root`` -> errors with ``type``, ``loc`` and ``msg`` in the
    spec's terms. ``prefix`` is the part of each ``loc`` before the data (FastAPI's ``"body"``)."""
    out: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    for error in errors:
        raw = tuple(error["loc"])[len(prefix) :]
        loc, depth, union, _ = _walk(root, raw)
        kind = error["type"]
        msg = error["msg"]
        if kind in _UNKNOWN and loc:
            parent = _walk(root, raw[:-1])[3]  # what the unknown field sits in
            msg = _unknown(str(loc[-1]), sorted({name for c in parent for name in _fields(c)}), "field")
        elif kind == "union_tag_invalid" and isinstance(error.get("ctx"), dict):
            tags = [t.strip(" '") for t in str(error["ctx"].get("expected_tags", "")).split(",") if t.strip()]
            msg = _unknown(str(error["ctx"].get("tag")), tags, "block")
            loc = (*loc, "block")
        cleaned = {"type": kind, "loc": [*prefix, *loc], "msg": msg}
        for extra in ("input", "ctx"):
            if extra in error:
                cleaned[extra] = error[extra]
        # One error per mistake: of a union's members, the one whose error lies deepest (the value came closest).
        mistake = loc if union is None else (*loc[:union], "<union>")
        known = out.get(mistake)
        if known is None or depth > known[0]:
            out[mistake] = (depth, cleaned)
    return [e for _, e in out.values()]


def _unknown(name: str, known: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"unknown {what} {name!r}; did you mean {close[0]!r}?"
    return f"unknown {what} {name!r}; the {what}s here are: {', '.join(known)}" if known else f"unknown {what} {name!r}"


def _walk(root: Any, raw: tuple[Any, ...]) -> tuple[tuple[Any, ...], int, int | None, list[Any]]:
    """``raw`` without union members' type names, how deep the error lies, where (the length of the cleaned
    ``loc``) the first plain union is: its members' errors are one mistake, and the classes the value at ``raw``
    may be. A row's block name chooses its row (pydantic reports only that one): not a union of alternatives."""
    candidates = _members(root)
    loc: list[Any] = []
    union: int | None = None
    for seg in raw:
        if isinstance(seg, int):
            loc.append(seg)
            candidates = [e for c in candidates for e in _elements(c)]
            continue
        rows = [c for c in candidates if _block(c) == seg]
        if rows and len(candidates) > 1:  # a row's block tag (a field of the same name is another row's)
            candidates = rows
            continue
        fields = {name: tp for c in candidates for name, tp in _fields(c).items()}
        if seg in fields or not candidates:
            loc.append(seg)
            candidates = _members(fields.get(seg))
            continue
        # A union member's name (its type, or a row's block): a choice among the candidates, not a field.
        chosen = [c for c in candidates if _names(c) & {seg}]
        if chosen:
            if union is None and not any(_block(c) == seg for c in chosen):
                union = len(loc)
            candidates = chosen
        elif _looks_like_a_type(seg):
            union = len(loc) if union is None else union
        else:
            loc.append(seg)
            candidates = []
    return tuple(loc), len(raw), union, candidates


def _members(tp: Any) -> list[Any]:
    """The classes a value of annotation ``tp`` may be (Annotated, Optional and unions unwrapped)."""
    if tp is None:
        return []
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in _members(arg)]
    return [tp]


def _elements(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (list, tuple):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return [m for a in args for m in _members(a)]
    return []


def _fields(tp: Any) -> dict[str, Any]:
    if isinstance(tp, type):
        pydantic_fields = getattr(tp, "__pydantic_fields__", None) or getattr(tp, "model_fields", None)
        if pydantic_fields:
            return {name: f.annotation for name, f in pydantic_fields.items()}
    return {}


def _names(tp: Any) -> set[str]:
    """What pydantic calls a union member in a ``loc``: its class name, or a row's block tag."""
    return {getattr(tp, "__name__", ""), _block(tp) or ""}


def _block(tp: Any) -> str | None:
    if dataclasses.is_dataclass(tp):
        block = next((f.default for f in dataclasses.fields(tp) if f.name == "block"), None)
        return block if isinstance(block, str) else None
    return None


def _looks_like_a_type(seg: str) -> bool:
    return any(ch in seg for ch in "[]-") or seg in {"int", "float", "bool", "str", "list", "dict", "tuple", "none"}
