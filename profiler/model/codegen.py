"""A plan's ``Graph`` as code: each graph becomes a ``torch.fx.GraphModule`` whose ``forward`` is generated
straight-line Python, one line per node, so the built model runs and allocates like the same architecture
written by hand (torchvision's): fx's code generator drops every value after its last use, and an activation,
a skip add or an SE multiply overwrites its first input when nothing reads that input later (torchvision's
``inplace=True`` and ``out += identity``). Module names are the plan's node names, so ``features.4.conv_dw`` is
both the report's row and the module's dotted name; a nested graph (a block, ``se``, ``downsample``) is a
generated module of its own, and the ops a block runs (``features.3 (add)``) are lines of its ``forward``, so
fvcore and the profiler attribute them to it.

``probed`` builds a twin of a generated model that calls ``before(name)`` and ``after(name)`` around every
leaf layer and op, with the same modules (same weights): per-layer timing reads its clock there, inside the
real forward, with nothing else added to the model that is timed end to end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from torch import fx, nn

from .graph import INPUT, Graph, Node, Op, op_row_name

__all__ = ["generate", "inplace_nodes", "is_generated", "plan_of", "probed", "timed_names"]

Probe = Callable[[str], object]
_PLAN = "plan"  # a generated module's ``meta`` key for the graph it runs (meta survives copy.deepcopy)
_CLASS = "PlanModule"


def generate(graph: Graph, inplace: bool = True) -> fx.GraphModule:
    """The module that runs ``graph``. With ``inplace``, activations and ops write over a first input that
    is read by nothing after them (never the graph's input, nor a view of another value)."""
    overwrites = inplace_nodes(graph) if inplace else frozenset()
    root = nn.Module()
    for node in graph.nodes:
        if isinstance(node.op, Graph):
            root.add_module(node.name, generate(node.op, inplace))
        elif not isinstance(node.op, Op):
            layer: Any = node.op
            module = layer.module(inplace=True) if node.name in overwrites else layer.module()
            root.add_module(node.name, module)
    return _module(root, _fx_graph(graph, overwrites), graph, overwrites)


def _module(root: nn.Module, code: fx.Graph, graph: Graph, overwrites: frozenset[str]) -> fx.GraphModule:
    module = fx.GraphModule(root, code, _CLASS)
    # Python overhead, which a model of small layers on the CPU pays per layer: fx wraps each call to reword
    # errors raised in generated code, and ``self.conv_dw`` in generated code goes through nn.Module's
    # ``__getattr__`` (each ~2 us on a slow core, where torchvision's Sequential iterates its children). A
    # plain module call, and the children also in the instance's ``__dict__`` (nn.Module's ``__setattr__``
    # keeps the two in step), cost what torchvision's blocks cost. Each GraphModule has a class of its own.
    type(module).__call__ = nn.Module.__call__  # type: ignore[method-assign]
    for name, child in module.named_children():
        object.__setattr__(module, name, child)
    module.meta[_PLAN] = (graph, overwrites)
    return module


def is_generated(module: nn.Module) -> bool:
    return isinstance(module, fx.GraphModule) and _PLAN in module.meta


def plan_of(module: fx.GraphModule) -> Graph:
    graph: Graph = module.meta[_PLAN][0]
    return graph


def timed_names(model: fx.GraphModule) -> list[str]:
    """The name of every leaf layer (its dotted name, the report's row) and every op (``features.3 (add)``)
    of a generated model, in execution order: what ``probed`` passes to its probes."""
    return list(_timed_names(plan_of(model), ""))


def _timed_names(graph: Graph, prefix: str) -> Iterator[str]:
    for node in graph.nodes:
        full = f"{prefix}.{node.name}" if prefix else node.name
        if isinstance(node.op, Graph):
            yield from _timed_names(node.op, full)
        elif isinstance(node.op, Op):
            yield op_row_name(prefix, node.name)
        else:
            yield full


def probed(model: fx.GraphModule, before: Probe, after: Probe, prefix: str = "") -> fx.GraphModule:
    """A twin of generated ``model`` that calls ``before(name)`` and ``after(name)`` around each leaf and op
    (names as ``timed_names`` gives them); its leaf modules are ``model``'s own (shared, not copied)."""
    graph, overwrites = model.meta[_PLAN]
    root = nn.Module()
    for node in graph.nodes:
        if isinstance(node.op, Graph):
            full = f"{prefix}.{node.name}" if prefix else node.name
            root.add_module(node.name, probed(getattr(model, node.name), before, after, full))
        elif not isinstance(node.op, Op):
            root.add_module(node.name, getattr(model, node.name))
    return _module(root, _fx_graph(graph, overwrites, (before, after), prefix), graph, overwrites)


def _fx_graph(
    graph: Graph, overwrites: frozenset[str], probes: tuple[Probe, Probe] | None = None, prefix: str = ""
) -> fx.Graph:
    g = fx.Graph()
    values: dict[str, fx.Node] = {INPUT: g.placeholder("x")}
    prev = values[INPUT]
    for node in graph.nodes:
        args = tuple(values[s] for s in node.inputs) if node.inputs else (prev,)
        name = _identifier(node.name)
        label = None
        if probes is not None and not isinstance(node.op, Graph):
            full = f"{prefix}.{node.name}" if prefix else node.name
            label = op_row_name(prefix, node.name) if isinstance(node.op, Op) else full
            g.create_node("call_function", probes[0], (label,), name=f"before_{name}")
        if isinstance(node.op, Op):
            out = node.op.emit(g, args, name, node.name in overwrites)
        else:
            out = g.create_node("call_module", node.name, args, name=name)
        if label is not None:
            assert probes is not None
            g.create_node("call_function", probes[1], (label,), name=f"after_{name}")
        values[node.name] = prev = out
    g.output(prev)
    return g


def _identifier(name: str) -> str:
    return name if name.isidentifier() else f"_{name}"


def inplace_nodes(graph: Graph, memo: dict[int, frozenset[str]] | None = None) -> frozenset[str]:
    """The nodes that may write over their first input: those that can, whose first input is a tensor this
    graph allocated (not its input, not a view) and is read by no later node. ``memo`` keeps each nested
    graph's answer (by identity) for a caller that walks them all."""
    memo = {} if memo is None else memo
    if id(graph) in memo:
        return memo[id(graph)]
    last_read: dict[str, int] = {}
    sources: list[tuple[str, ...]] = []
    prev = INPUT
    for i, node in enumerate(graph.nodes):
        ins = node.inputs or (prev,)
        sources.append(ins)
        for s in ins:
            last_read[s] = i
        prev = node.name
    fresh: set[str] = set()  # values that are tensors of their own, not the input or a view of another value
    out: set[str] = set()
    for i, (node, ins) in enumerate(zip(graph.nodes, sources, strict=True)):
        first = ins[0]
        if (
            getattr(node.op, "can_be_inplace", False)
            and first in fresh
            and last_read[first] == i
            and ins.count(first) == 1
        ):
            out.add(node.name)
            fresh.add(node.name)  # the same tensor, now this node's value alone
        elif _allocates(node, memo):
            fresh.add(node.name)
    memo[id(graph)] = frozenset(out)
    return memo[id(graph)]


def _allocates(node: Node, memo: dict[int, frozenset[str]]) -> bool:
    """Whether the node's value is a new tensor (not its input or a view of it)."""
    if isinstance(node.op, Graph):
        return _output_allocated(node.op, memo)
    return not getattr(node.op, "aliases_input", False)


def _output_allocated(graph: Graph, memo: dict[int, frozenset[str]]) -> bool:
    if not graph.nodes:
        return False  # it returns its input
    last = graph.nodes[-1]
    return last.name in inplace_nodes(graph, memo) or _allocates(last, memo)
