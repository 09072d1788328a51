"""torch.compile (inductor) on the CPU: the built model compiled once (the preparation), its compiled forward
timed. Inductor fuses across layers into generated kernels that carry no layer names: no per-layer figures."""

from __future__ import annotations

import torch
from torch import nn

from ..options import LatencyOptions
from .base import Prepared, Runtime


class Compiled(Runtime):
    name = "compiled"
    package = "torch"
    module = "torch"
    extra = None
    prepare_budget_s = 600.0  # inductor compiles C++ kernels: minutes on a small host

    def prepare(self, model: nn.Module, x: torch.Tensor, opts: LatencyOptions, layers: list[str]) -> Prepared:
        compiled = torch.compile(model, backend="inductor", mode="default", dynamic=False)
        with torch.inference_mode():
            compiled(x)  # the compile happens here, in the preparation, not in the first timed call

        def run() -> object:
            with torch.inference_mode():
                return compiled(x)

        return Prepared(
            nbytes=sum(p.numel() * p.element_size() for p in model.parameters()),
            run=run,
            options={"backend": "inductor", "mode": "default", "dynamic": False, "precision": "float32"},
            per_layer_note="end to end only: inductor's generated kernels fuse across layers and carry no layer "
            "names to map back to the spec",
        )
