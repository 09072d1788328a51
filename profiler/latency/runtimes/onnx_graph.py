"""The built model as ONNX, and ONNX node names mapped back to the spec's layers.

The exporter (torch.onnx's TorchScript tracer) names each node after the module scopes it ran in
(``/features/features.3/conv_pw/Conv``), and the generated model's modules carry the spec's layer names, so a
node's name says which layer or op it came from. BatchNorm folded into the conv before it (the exporter does
this in eval mode) and layers that export to nothing (Dropout, Identity) are covered by the row of the layer
before them, as a deployed model runs them."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable

import torch
from pydantic import TypeAdapter
from torch import nn

from ...limits import Limits
from ...model.build import plan_model
from ...spec import ModelSpec

__all__ = ["OPSET", "covered_layers", "export_onnx", "layer_of_node", "spec_onnx"]

OPSET = 17
EXPORTER = f"torch.onnx TorchScript exporter (dynamo=False), torch {torch.__version__.split('+')[0]}"
# ONNX op types of the ops a block runs itself, and the words its report rows use for them.
_OP_WORDS = {"Add": ("add",), "Mul": ("scale", "mul"), "Concat": ("concat",), "Split": ("split",)}


def export_onnx(model: nn.Module, x: torch.Tensor, metadata: dict[str, str] | None = None) -> bytes:
    """``model`` (eval) as an ONNX file traced on ``x``: batch-norm folded, opset ``OPSET``, the exporter and
    ``metadata`` in its metadata properties."""
    import onnx

    with (
        tempfile.TemporaryDirectory(prefix="onnx-export-") as folder,
        warnings.catch_warnings(),
        torch.inference_mode(False),
        torch.no_grad(),
    ):
        warnings.simplefilter("ignore")  # the tracer's deprecation notice: this exporter keeps module scopes
        path = os.path.join(folder, "model.onnx")
        torch.onnx.export(
            model.eval(),
            (x,),
            path,
            dynamo=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            do_constant_folding=True,
        )
        proto = onnx.load(path)
    props = {"exporter": EXPORTER, "opset": str(OPSET), **(metadata or {})}
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "archprofiler"
    return proto.SerializeToString()


def spec_onnx(spec: ModelSpec, batch_size: int = 1, limits: Limits | None = None) -> bytes:
    """The spec's built model as an ONNX file: weights from a fixed seed (0), traced at ``batch_size``, node
    names carrying the spec's layer names; the spec, batch and seed in its metadata. Checked against the
    limits first (the model and one forward are allocated)."""
    from ...report import profile

    limits = limits or Limits()
    report = profile(spec, batch_size=batch_size, limits=limits)
    totals = report.counts.totals
    limits.check("max_activation_bytes", 4 * (totals.params + totals.activations), (), "memory of one forward (bytes)")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = plan_model(spec, limits).build(inplace=False).eval()
    x = torch.randn(batch_size, spec.in_channels, *spec.hw)
    spec_json = TypeAdapter(ModelSpec).dump_json(spec).decode()
    return export_onnx(
        model,
        x,
        {
            "archprofiler.spec": spec_json,
            "archprofiler.batch_size": str(batch_size),
            "archprofiler.weights": "random, torch.manual_seed(0): for timing, not for accuracy",
            "archprofiler.node_names": "/<module scopes>/<op>: the scopes join to the spec's layer names",
        },
    )


def layer_of_node(node: str, rows: list[str]) -> str | None:
    """The report row (a leaf layer, or a block's op like ``features.3 (add)``) an ONNX node name comes from."""
    known = set(rows)
    path = ""
    best: str | None = None
    rest: list[str] = []
    parts = [p for p in node.split("/") if p]
    for i, part in enumerate(parts):
        # A scope is the module's name from the model's root, or from a module above it: ``conv_kxk.0`` under
        # ``features.0.conv_kxk`` (a numbered child of a nested graph) is ``features.0.conv_kxk.0``.
        parent, _, last = path.rpartition(".")
        candidates = [part] if not path or part.startswith(path + ".") else [f"{path}.{part}"]
        if path and part.split(".")[0] == last and "." in part:
            candidates.append(f"{parent}.{part}" if parent else part)
        found = [c for c in candidates if any(r == c or r.startswith((c + ".", c + " (")) for r in rows)]
        if not found:
            rest = parts[i:]
            break
        candidate = path = found[0]
        if candidate in known:
            best = candidate
    if best is not None and best == path:
        return best
    ops = [r for r in rows if r.startswith(path + " (")]
    if path and ops and rest:
        words = _OP_WORDS.get(rest[0].split("_")[0], ())
        matching = [r for r in ops if any(f"({w})" in r for w in words)]
        if len(matching) == 1:
            return matching[0]
        if len(ops) == 1:
            return ops[0]
    return best


def covered_layers(mapped: Iterable[str], rows: list[str]) -> dict[str, str]:
    """Each report row -> the mapped row that covers it: itself where a node came from it, else the row
    before it (a folded batch norm, a Dropout that exports to nothing)."""
    present = set(mapped)
    owner: dict[str, str] = {}
    last: str | None = None
    for row in rows:
        if row in present:
            last = row
        if last is not None:
            owner[row] = last
    return owner
