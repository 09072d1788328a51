"""The count stage: closed-form counts from shapes (``shapes``), and fvcore as a counter on request
(``fvcore_counter``). Every figure says which convention it follows (``CONVENTIONS``)."""

from .shapes import CONVENTIONS, Counts, LayerRow, ModuleTotals, aggregate, count_plan

__all__ = ["CONVENTIONS", "Counts", "LayerRow", "ModuleTotals", "aggregate", "count_plan"]
