"""The count stage: closed-form counts from shapes (``shapes``), activation memory by liveness (``memory``),
and fvcore as a counter on request (``fvcore_counter``). Every figure says which convention it follows
(``CONVENTIONS``, ``MEMORY_CONVENTIONS``)."""

from .memory import MEMORY_CONVENTIONS, MemoryOptions, MemoryProgram, MemoryReport, memory_of
from .shapes import CONVENTIONS, Counts, LayerRow, ModuleTotals, aggregate, count_plan

__all__ = [
    "CONVENTIONS",
    "MEMORY_CONVENTIONS",
    "Counts",
    "LayerRow",
    "MemoryOptions",
    "MemoryProgram",
    "MemoryReport",
    "ModuleTotals",
    "aggregate",
    "count_plan",
    "memory_of",
]
