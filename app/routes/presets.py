"""The papers' tables as editable specs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from profiler import PRESETS, UnknownPresetError, preset_table

from ..schemas import PresetOut, PresetSummary

router = APIRouter(prefix="/presets", tags=["presets"])


@router.get("", response_model=list[PresetSummary])
def list_presets() -> list[PresetSummary]:
    return [PresetSummary(name=p.name, citation=p.citation) for p in PRESETS.values()]


@router.get("/{name}", response_model=PresetOut, responses={404: {"description": "unknown preset"}})
def get_preset(name: str) -> PresetOut:
    try:
        spec = preset_table(name)
    except UnknownPresetError as exc:
        raise HTTPException(404, str(exc)) from None
    return PresetOut(name=name, citation=PRESETS[name].citation, spec=spec)
