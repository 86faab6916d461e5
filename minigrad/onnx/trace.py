"""A function run once on tracer Tensors, and the graph it leaves, in creation order.

The one place this package reads the engine's graph beyond `t.op` and `t.parents`: which operation
made a tensor, with its options (`operation_of`), and when it was made (`creation_number`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.mode import TraceError, state
from minigrad.onnx.emitter import ExportError
from minigrad.op import operation_of
from minigrad.versions import creation_number

__all__ = ["Traced", "creation_number", "operation_of", "trace"]


@dataclass
class Traced:
    """What `fn` did: its tracers (one per argument), its outputs, and every tensor between, in order."""

    tracers: list[Tensor]
    input_names: list[str]
    outputs: list[Tensor]
    output_names: list[str]
    order: list[Tensor]
    leaf_names: dict[int, str]  # the names of closed-over tensors: a module's dotted parameter names


def trace(fn: Callable[..., Any], args: Sequence[Any], gradients: bool) -> Traced:
    """Run `fn` on a tracer per argument (its gradient too, with `gradients=True`) and collect the graph."""
    if not callable(fn):
        raise TypeError(f"export: fn must be a function or a module, got {type(fn).__name__}")
    tracers = [_tracer(a, i) for i, a in enumerate(args)]
    input_names = [t.name if t.name is not None else f"arg{i}" for i, t in enumerate(tracers)]
    saved = state.tracing, state.grad_enabled
    state.tracing, state.grad_enabled = True, True  # as mg.compile: a value read now would be frozen
    where = f"tracing {_name(fn)}"
    try:
        outputs = _outputs(fn(*tracers), _name(fn))
        output_names = [_output_name(t, k, len(outputs)) for k, t in enumerate(outputs)]
        if gradients:
            wanted = _wanted(args, tracers, outputs, _name(fn))
            where = "building the gradients' graph (gradients=True): a rule read its inputs' values, and"
            outputs += mg.grad(outputs[0], [tracers[i] for i in wanted], create_graph=True)
            output_names += [f"grad_{input_names[i]}" for i in wanted]
    except TraceError as error:
        raise ExportError(f"export: {where}: {error}") from None
    except NotImplementedError as error:  # the trace records every operation, as for a backward pass
        raise ExportError(
            f"export: {where}: {error}; the trace records operations as a backward pass does"
        ) from None
    finally:
        state.tracing, state.grad_enabled = saved
    return Traced(tracers, input_names, outputs, output_names, _graph(outputs), _parameter_names(fn))


def _tracer(a: Any, i: int) -> Tensor:
    # Every argument requires a gradient while tracing, so that every operation that depends on one is
    # recorded (`1 - Y` too), not folded into a constant.
    try:
        data = a.data if isinstance(a, Tensor) else Tensor(a).data  # floats kept, integers made float64
    except TypeError as error:
        raise TypeError(f"export: argument {i}: {error}") from None
    return Tensor(np.array(data), requires_grad=True, name=a.name if isinstance(a, Tensor) else None)


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _outputs(result: Any, name: str) -> list[Tensor]:
    outputs = list(result) if isinstance(result, tuple | list) else [result]
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise ExportError(f"export: {name} must return a Tensor or a tuple of Tensors, got {result!r:.80}")
    return outputs


def _output_name(t: Tensor, k: int, n: int) -> str:
    if t.name is not None and t.op:
        return t.name
    return "output" if n == 1 else f"output{k}"


def _wanted(args: Sequence[Any], tracers: list[Tensor], outputs: list[Tensor], name: str) -> list[int]:
    """The arguments that get a gradient: the Tensors given with `requires_grad=True`, as `mg.compile`."""
    if len(outputs) != 1 or outputs[0].size != 1:
        shapes = ", ".join(str(t.shape) for t in outputs)
        raise ExportError(
            f"export: gradients=True needs {name} to return one one-element Tensor, got {shapes}"
        )
    wanted = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not wanted:
        raise ExportError(
            "export: gradients=True, but no argument requires a gradient: give the parameters as Tensors "
            "with requires_grad=True"
        )
    return wanted


def _parameter_names(fn: Any) -> dict[int, str]:
    """id(parameter) -> its dotted name, for a module (anything with `named_parameters()`)."""
    if not hasattr(fn, "named_parameters"):
        return {}
    return {id(p): name for name, p in fn.named_parameters()}


def _graph(outputs: list[Tensor]) -> list[Tensor]:
    """Every tensor the outputs were computed from, and the outputs, in creation order."""
    nodes = {id(t): t for t in outputs}
    stack = list(outputs)
    while stack:
        for parent in stack.pop().parents:
            if id(parent) not in nodes:
                nodes[id(parent)] = parent
                stack.append(parent)
    return sorted(nodes.values(), key=creation_number)
