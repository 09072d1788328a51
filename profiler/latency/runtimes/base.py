"""What a runtime is to the latency stage: something that prepares a built model for a device (export,
compile, engine build) and runs one forward on a fixed input; and, where it can profile its own nodes, each
node's time mapped back to the spec's layers."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from ...errors import SpecError
from ..options import LatencyOptions

__all__ = ["Prepared", "ProfiledRow", "Runtime"]


@dataclass(frozen=True)
class ProfiledRow:
    """One node (or fused group) as the runtime ran it: its name there, the spec's layers and ops it covers
    (empty for a node the runtime added itself, a layout reorder), and its time in each profiled forward."""

    name: str
    kind: str  # the runtime's operator or kernel (FusedConv, brgconv_avx2_1x1_f32, ...)
    layers: tuple[str, ...]
    samples_ms: list[float] = field(default_factory=list)


@dataclass
class Prepared:
    """A model ready to run on a runtime: ``run()`` is one forward on the fixed input, returning when its
    output is ready (on a GPU too: it synchronizes, so a wall clock times it); ``profile(n)`` runs
    ``n`` profiled forwards and gives each node's time in each, and each profiled forward's own time (what the
    nodes add up to: the same forwards, so neither drift nor another session's threads come between them),
    as the runtime measures it where it does (ONNX Runtime's run events), else its wall time."""

    run: Callable[[], object]
    options: dict[str, Any]  # what the runtime was given: threads, optimization level, precision, provider
    profile: Callable[[int], tuple[list[ProfiledRow], list[float]]] | None = None
    per_layer_note: str | None = None  # why there are no per-layer figures, or how they were mapped
    close: Callable[[], None] = lambda: None
    nbytes: int = 0  # about what it holds in memory (its model file), for the cache of prepared models


class Runtime(ABC):
    """A way to run a model. Subclasses name their pip package and extra; everything heavy is imported in
    ``prepare`` (in the timing process), never when the server checks a request."""

    name: ClassVar[str]
    package: ClassVar[str]  # the distribution whose version is reported (and whose absence is a 422)
    alternatives: ClassVar[tuple[str, ...]] = ()  # other distributions of the same module (a GPU build)
    module: ClassVar[str]  # what is imported
    extra: ClassVar[str | None] = None  # pip install 'archprofiler[<extra>]' installs it
    devices: ClassVar[tuple[str, ...]] = ("cpu",)  # device kinds it runs on
    dtypes: ClassVar[tuple[str, ...]] = ("float32",)
    # Seconds the preparation (export, compile) may take in the timing process, on top of the measurement's
    # budget: past both (and the grace) the process is killed and replaced, as for a forward that overruns.
    prepare_budget_s: ClassVar[float] = 120.0

    def dtypes_on(self, device_kind: str) -> tuple[str, ...]:
        """The precisions it measures on a device kind (``cpu``, ``cuda``)."""
        return self.dtypes

    def unavailable_on(self, device_kind: str) -> str | None:
        """Why it cannot run on the device kind although installed (a build without that device), or None."""
        return None

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str:
        for package in (self.package, *self.alternatives):
            try:
                return importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                continue
        return "unknown"

    def check(self, opts: LatencyOptions, device_kind: str) -> None:
        """A SpecError (a 422 at ``latency.runtimes``) when this runtime cannot measure ``opts`` on the device."""
        loc = ("latency", "runtimes")
        if not self.installed():
            how = f"pip install 'archprofiler[{self.extra}]'" if self.extra else f"pip install {self.package}"
            raise SpecError.at(loc, f"the {self.name} runtime is not installed on this server: {how}")
        if device_kind not in self.devices:
            raise SpecError.at(
                loc, f"the {self.name} runtime runs on {', '.join(self.devices)} here, not on {device_kind}"
            )
        if (why := self.unavailable_on(device_kind)) is not None:
            raise SpecError.at(loc, why)
        if opts.dtype not in (dtypes := self.dtypes_on(device_kind)):
            raise SpecError.at(
                ("latency", "dtype"),
                f"the {self.name} runtime measures {', '.join(dtypes)} on {device_kind}, not {opts.dtype}",
            )
        if opts.cuda_graph:
            raise SpecError.at(("latency", "cuda_graph"), f"CUDA graphs are eager PyTorch's; not for {self.name}")

    @abstractmethod
    def prepare(self, model: nn.Module, x: torch.Tensor, opts: LatencyOptions, layers: list[str]) -> Prepared:
        """``model`` (eval, float32, on the CPU) made ready to run ``x`` as ``opts`` say; ``layers`` are the
        report's row names, in order, that profiled nodes are mapped to."""
