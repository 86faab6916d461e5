"""`export`: a traced function assembled into an ONNX model, checked, and written whole or not at all.

Each traced tensor becomes an ONNX value: the arguments are the graph's inputs, the tensors made of no
argument (parameters, constants) its initializers, and each operation is written by its form
(`forms.py`), its inputs first cast to its output's dtype (ONNX operators take one element type;
NumPy promotes, to the same values).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper

from minigrad import Tensor
from minigrad.files import atomic_write
from minigrad.onnx.emitter import IR_VERSION, OPSET, Emitter, ExportError, Value, element_type
from minigrad.onnx.forms import form_of
from minigrad.onnx.trace import Traced, operation_of, trace

DynamicAxes = Mapping[int | str, Mapping[int, str]]


def export(
    fn: Callable[..., Any],
    example_args: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    gradients: bool = False,
    dynamic_axes: DynamicAxes | None = None,
) -> onnx.ModelProto:
    """Trace `fn(*example_args)` once and return it as an ONNX model (written to `path` when given).

    The model's inputs are `fn`'s arguments in order (named after the Tensors' names, else `arg0`...),
    its outputs `fn`'s result (a Tensor or a tuple of them); tensors that `fn` closes over are
    initializers, a module's parameters under their dotted names. Dtypes are kept.

    `gradients=True` (for a `fn` that returns one element): the outputs are the value, then one
    gradient per argument given as a Tensor with `requires_grad=True`, in argument order, as
    `mg.compile` returns them. The gradients are the graph the rules build under `create_graph=True`.

    `dynamic_axes={"X": {1: "batch"}}` (an input's name or position, then axis -> symbol) makes those
    axes symbolic: one file serves any batch size (`fn` is traced again at another size to be sure).

    `ExportError`: an operation without an ONNX form (named), a value read while tracing, or a graph
    that would be right only at the traced values (`fn` is traced again on shuffled data to know).
    """
    args = tuple(example_args) if isinstance(example_args, tuple | list) else (example_args,)
    traced = trace(fn, args, gradients)
    graph = _assemble(traced)
    what = "other values of the arguments (the parameters' signs flipped, the data shuffled)"
    _same_graph(graph, _retrace(fn, _perturbed(args), gradients, what)[1], what)
    symbols = _symbols(dynamic_axes, traced.input_names)
    output_symbols = _dynamic(fn, args, gradients, traced, graph, symbols)
    model = _model(graph, traced, symbols, output_symbols, _name(fn))
    _check(model, graph)
    if path is not None:
        with atomic_write(path) as f:
            f.write(model.SerializeToString())
    return model


def _dynamic(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    gradients: bool,
    traced: Traced,
    graph: Graph,
    symbols: dict[int, dict[int, str]],
) -> list[dict[int, str]]:
    """The outputs' symbolic axes, once a trace at another size of the inputs' made the same graph."""
    if not symbols:
        return [{} for _ in traced.outputs]
    what = "another size of the dynamic axes"
    other, other_graph = _retrace(fn, _resized(args, symbols), gradients, what)
    _same_graph(graph, other_graph, what)
    return _output_symbols(traced, other, symbols)


def _check(model: onnx.ModelProto, graph: Graph) -> None:
    """ONNX's checker, with full shape and type inference; its refusal named after the forms it found."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        op_types = set(re.findall(r"op_type:(\w+)", str(error)))
        culprits = sorted({s for n, s in zip(graph.nodes, graph.sources) if n.op_type in op_types})
        raise ExportError(
            f"export: ONNX's checker refused the model: {str(error).strip()}. A form that makes another "
            f"shape or dtype than its operation does this (the forms of {', '.join(culprits) or 'unknown'})"
        ) from None


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


class Graph:
    """The nodes and initializers of a trace, with the minigrad operation each node was written for, the
    names of its inputs and outputs, and the traced values that its nodes make (their shapes known)."""

    def __init__(
        self, emitter: Emitter, sources: list[str], inputs: list[str], outputs: list[str], made: list[Value]
    ) -> None:
        self.nodes = emitter.nodes
        self.initializers = emitter.initializers
        self.sources = sources
        self.inputs = inputs
        self.outputs = outputs
        self.made = made


def _assemble(traced: Traced) -> Graph:
    """Every traced tensor as an ONNX value: inputs, initializers, then each operation's form in order."""
    g = Emitter()
    values: dict[int, Value] = {}
    for t, name in zip(traced.tracers, traced.input_names):
        values[id(t)] = Value(g.fresh(name), t.shape, t.dtype)
    sources: list[str] = []
    for t in traced.order:
        if id(t) in values:
            continue
        fn, options = operation_of(t)
        if fn is None:  # made of no argument: a parameter or a constant
            hint = traced.leaf_names.get(id(t)) or t.name or "const"
            values[id(t)] = Value(g.constant(t.data, hint=hint), t.shape, t.dtype)
            continue
        element_type(t.dtype, f"the output of {fn.name}")
        g.out = Value("", t.shape, t.dtype)
        inputs = [g.cast(values[id(p)], t.dtype) for p in t.parents]
        first = len(g.nodes)
        made = form_of(fn)(g, *inputs, **options)
        values[id(t)] = Value(made.name if isinstance(made, Value) else made, t.shape, t.dtype)
        sources += [fn.name] * (len(g.nodes) - first)
    outputs = _name_outputs(g, traced, values, sources)
    produced = {name for node in g.nodes for name in node.output} - set(outputs)
    made = list({v.name: v for v in values.values() if v.name in produced}.values())
    inputs = [values[id(t)].name for t in traced.tracers]
    return Graph(g, sources, inputs, outputs, made)


def _name_outputs(g: Emitter, traced: Traced, values: dict[int, Value], sources: list[str]) -> list[str]:
    """The outputs under their own names: the node that made one renamed, or an Identity where it cannot be
    (an input, an initializer, or a value that is already another output)."""
    made = {name: k for k, node in enumerate(g.nodes) for name in node.output}
    names = []
    for t, wanted in zip(traced.outputs, traced.output_names):
        name, value = g.fresh(wanted), values[id(t)]
        k = made.get(value.name)
        if k is not None and value.name not in names:
            _rename(g, value.name, name)
            made[name] = made.pop(value.name)
            values[id(t)] = Value(name, value.shape, value.dtype)
        else:
            g.nodes.append(helper.make_node("Identity", [value.name], [name]))
            sources.append("output")
        names.append(name)
    return names


def _rename(g: Emitter, old: str, new: str) -> None:
    for node in g.nodes:
        for field in (node.input, node.output):
            for i, name in enumerate(field):
                if name == old:
                    field[i] = new


def _model(
    graph: Graph,
    traced: Traced,
    symbols: dict[int, dict[int, str]],
    output_symbols: list[dict[int, str]],
    name: str,
) -> onnx.ModelProto:
    inputs = [
        _value_info(n, t, symbols.get(i, {})) for i, (t, n) in enumerate(zip(traced.tracers, graph.inputs))
    ]
    outputs = [_value_info(n, t, s) for t, n, s in zip(traced.outputs, graph.outputs, output_symbols)]
    # Every value's traced shape, where all are fixed: the checker's shape inference then holds each
    # form's output against the shape minigrad computed, node by node.
    typed = [] if symbols else [_value_info(v.name, v, {}) for v in graph.made]
    onnx_graph = helper.make_graph(
        graph.nodes, name, inputs, outputs, initializer=graph.initializers, value_info=typed
    )
    return helper.make_model(
        onnx_graph,
        producer_name="minigrad",
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )


def _value_info(name: str, t: Tensor | Value, symbols: Mapping[int, str]) -> Any:
    shape = [symbols.get(axis, n) for axis, n in enumerate(t.shape)]
    return helper.make_tensor_value_info(name, element_type(t.dtype, name), shape)


# ----- the checks that a trace holds beyond the values it was made with -------------------------------


def _same_graph(graph: Graph, other: Graph, what: str) -> None:
    """The same nodes and constants from a second trace, or an ExportError naming the operation that
    wrote what differs: it read a value (or a size) that the exported graph would keep fixed."""
    nodes = [(n.op_type, list(n.input), list(n.output), str(n.attribute)) for n in graph.nodes]
    others = [(n.op_type, list(n.input), list(n.output), str(n.attribute)) for n in other.nodes]
    for k, (a, b) in enumerate(zip(nodes, others)):
        if a != b:
            raise ExportError(
                f"export: {graph.sources[k]} was written differently when traced with {what}: the exported "
                "graph would hold only for the values it was traced with"
            )
    if len(nodes) != len(others):
        raise ExportError(f"export: traced with {what}, the function made a different graph")
    for a, b in zip(graph.initializers, other.initializers):
        if a.name != b.name or a.SerializeToString() != b.SerializeToString():
            raise ExportError(
                f"export: the constant {a.name!r} of shape {tuple(a.dims)} (read by "
                f"{_reader(graph, a.name)}) changed when traced with {what}: it was read off the "
                "traced values, and the exported graph would keep it fixed. A mask or a size computed "
                "from a tensor does this, in the function or in a rule that reads its inputs' values "
                "(build a rule's mask with mg.ops.is_less, is_equal, ...: operations, so that it is "
                "part of the graph); write it with minigrad operations, or pass it in as an argument"
            )


def _reader(graph: Graph, name: str) -> str:
    for node, source in zip(graph.nodes, graph.sources):
        if name in node.input:
            return source
    return "no operation"


def _perturbed(args: Sequence[Any]) -> tuple[Any, ...]:
    """The arguments with other values of the same shapes: the parameters (the Tensors that get a
    gradient) with new signs and nothing tied at zero; the data shuffled, so that what checks hold on it
    (labels in {0, 1}, probabilities) still hold, while every mask read off it changes."""
    rng = np.random.default_rng(0)
    out = []
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            data = a.data * -rng.uniform(0.5, 1.5, a.shape) + rng.normal(0, 0.1, a.shape)
            a = Tensor(data.astype(a.dtype), requires_grad=True, name=a.name)
        elif isinstance(a, Tensor):
            a = Tensor(rng.permutation(a.data.reshape(-1)).reshape(a.shape), name=a.name)
        elif isinstance(a, np.ndarray) and a.size > 1:
            a = rng.permutation(a.reshape(-1)).reshape(a.shape)
        out.append(a)
    return tuple(out)


def _retrace(
    fn: Callable[..., Any], args: tuple[Any, ...], gradients: bool, what: str
) -> tuple[Traced, Graph]:
    """A second trace and its graph, with `what` said in the error should `fn` refuse those arguments."""
    try:
        traced = trace(fn, args, gradients)
        return traced, _assemble(traced)
    except ExportError:
        raise
    except Exception as error:
        raise ExportError(
            f"export: traced a second time with {what} (to make sure that the graph does not hold only "
            f"for the example's values), {_name(fn)} raised {type(error).__name__}: {error}"
        ) from error


def _symbols(dynamic_axes: DynamicAxes | None, names: list[str]) -> dict[int, dict[int, str]]:
    """`dynamic_axes` by argument position, every axis checked."""
    symbols: dict[int, dict[int, str]] = {}
    for key, axes in (dynamic_axes or {}).items():
        i = names.index(key) if key in names else key
        if not isinstance(i, int) or not 0 <= i < len(names):
            raise ValueError(f"export: dynamic_axes names {key!r}, which is not an argument: {names}")
        symbols[i] = {int(axis): str(symbol) for axis, symbol in axes.items()}
    return symbols


def _resized(args: Sequence[Any], symbols: dict[int, dict[int, str]]) -> tuple[Any, ...]:
    """The arguments one longer along each dynamic axis (its first slice repeated: still valid data)."""
    out = list(args)
    for i, axes in symbols.items():
        a = args[i]
        data = a.data if isinstance(a, Tensor) else np.asarray(a)
        for axis in axes:
            if not -data.ndim <= axis < data.ndim:
                raise ValueError(f"export: dynamic axis {axis} of argument {i}, of shape {data.shape}")
            data = np.concatenate([data, np.take(data, [0], axis=axis)], axis=axis)
        out[i] = Tensor(data, requires_grad=a.requires_grad, name=a.name) if isinstance(a, Tensor) else data
    return tuple(out)


def _output_symbols(
    traced: Traced, other: Traced, symbols: dict[int, dict[int, str]]
) -> list[dict[int, str]]:
    """The output axes that followed the dynamic axes, under their symbols (found by the traced size)."""
    by_size = {traced.tracers[i].shape[axis]: s for i, axes in symbols.items() for axis, s in axes.items()}
    found = []
    for a, b in zip(traced.outputs, other.outputs):
        found.append(
            {
                axis: by_size.get(n, f"{a.name or 'output'}_{axis}")
                for axis, n in enumerate(a.shape)
                if b.shape[axis] != n
            }
        )
    return found
