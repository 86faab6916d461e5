"""Every operation's ONNX form, one small function each: the table that `export` reads.

A form is given the `Emitter` `g` and the operation's inputs (`Value`s, already in the output's dtype),
with the operation's options as keywords, and returns the name of the value it made. Where ONNX has the
operator it is one node; where not, a few:

    add        Add(a, b)                       numpy-style broadcasting, as ONNX's
    getitem    Slice, Squeeze, Unsqueeze       basic indexing; integer arrays and masks: Gather
    scatter_add  ScatterND(zeros, ...)         indexing's adjoint, as np.add.at

Ties only need the forward values: exported gradients are the rules' own graphs, made of these same
operations. An operation outside this table gets its form from `register(op, form)` (or `@form(op)`),
or, where the module defining it must not import onnx, from an attribute `op.onnx_form = form`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from onnx import helper

from minigrad.onnx.emitter import Emitter, ExportError, Value, element_type

Form = Callable[..., str]

# name -> (form, the module that defines that operation): a user's own operation that happens to be
# called "add" is not minigrad's add, and must not be exported as one.
BUILT_IN: dict[str, tuple[Form, str]] = {}
REGISTERED: dict[str, Form] = {}


def built_in(*names: str, module: str = "minigrad.ops") -> Callable[[Form], Form]:
    def enter(fn: Form) -> Form:
        for name in names:
            BUILT_IN[name] = (fn, module)
        return fn

    return enter


def register(operation: Any, form: Form) -> Form:
    """Declare the ONNX form of an operation (an `mg.op`, or its name): `form(g, *inputs, **options)`.

    It is stored on the operation itself (`operation.onnx_form`), so that it travels with it; a name
    declares it for every operation of that name.
    """
    if not callable(form):
        raise TypeError(f"register: the form must be a function, got {type(form).__name__}")
    if isinstance(operation, str):
        REGISTERED[operation] = form
    elif hasattr(operation, "defvjp") and hasattr(operation, "name"):
        operation.onnx_form = form
    else:
        raise TypeError(f"register: give an operation made by mg.op, or its name; got {operation!r}")
    return form


def form(operation: Any) -> Callable[[Form], Form]:
    """`@form(softplus)` above a form function: as `register(softplus, fn)`, next to `defvjp`."""
    return lambda fn: register(operation, fn)


def form_of(operation: Any) -> Form:
    """The form that writes `operation`, or an ExportError that names it and says how to give one."""
    own = getattr(operation, "onnx_form", None)
    if own is not None:
        return own
    if operation.name in REGISTERED:
        return REGISTERED[operation.name]
    entry = BUILT_IN.get(operation.name)
    module = getattr(operation, "__module__", "") or ""
    if entry is not None and (module == entry[1] or module.startswith(entry[1] + ".")):
        return entry[0]
    raise ExportError(
        f"export: the operation {operation.name!r} (from {module or 'an unknown module'}) has no ONNX form; "
        f"declare one next to its defvjp with @mg.onnx.form({operation.name}) def f(g, *inputs, **options): "
        "return g.node(...)"
    )


# ----- arithmetic ------------------------------------------------------------------------------

_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "maximum": "Max", "minimum": "Min"}
_UNARY = {
    "neg": "Neg",
    "exp": "Exp",
    "log": "Log",
    "relu": "Relu",
    "tanh": "Tanh",
    "abs": "Abs",
    "sqrt": "Sqrt",
}


def _operator(op_type: str) -> Form:
    """The form of an operation that is one ONNX operator of the same inputs, broadcasting as NumPy."""
    return lambda g, *inputs: g.node(op_type, *inputs)


for _name, _op_type in {**_BINARY, **_UNARY}.items():
    BUILT_IN[_name] = (_operator(_op_type), "minigrad.ops")


@built_in("sigmoid")
def sigmoid(g: Emitter, x: Value) -> str:
    # 1 / (1 + e^-x), as minigrad computes it: exact to rounding for every x. onnxruntime's Sigmoid
    # loses the tail (float64: 4e-8 relative at x = -20, and 0 instead of 4e-18 at x = -40).
    e = g.node("Exp", g.node("Neg", x))
    return g.node("Reciprocal", g.node("Add", e, g.like(1)))


@built_in("pow")
def pow(g: Emitter, x: Value, *, exponent: float) -> str:
    return g.node("Pow", x, g.like(exponent))


# ----- linear algebra --------------------------------------------------------------------------


@built_in("matmul")
def matmul(g: Emitter, a: Value, b: Value) -> str:
    return g.node("MatMul", a, b)  # `mg.matmul` makes 1-D operands 2-D with reshapes first


@built_in("transpose")
def transpose(g: Emitter, x: Value, axes: Any = None) -> str:
    perm = list(reversed(range(x.ndim))) if axes is None else [int(a) % x.ndim for a in axes]
    return g.node("Transpose", x, perm=perm) if x.ndim > 1 else g.node("Identity", x)


@built_in("matrix_transpose")
def matrix_transpose(g: Emitter, x: Value) -> str:
    perm = [*range(x.ndim - 2), x.ndim - 1, x.ndim - 2]
    return g.node("Transpose", x, perm=perm)


@built_in("reshape")
def reshape(g: Emitter, x: Value, *, shape: tuple[int, ...]) -> str:
    # The shape as given (a -1 stays -1, so that a batch axis may vary); ONNX reads a 0 as "keep this
    # axis" unless told that it means a length of 0.
    return g.node("Reshape", x, g.ints(shape), allowzero=int(0 in shape))


@built_in("broadcast_to")
def broadcast_to(g: Emitter, x: Value, *, shape: tuple[int, ...]) -> str:
    return g.node("Expand", x, g.ints(shape))


# ----- reductions -------------------------------------------------------------------------------


def _axes(axis: Any, ndim: int) -> tuple[int, ...] | None:
    if axis is None:
        return None
    return tuple(int(a) % ndim for a in (axis if isinstance(axis, tuple | list) else (axis,)))


def reduce_form(op_type: str) -> Form:
    """The form of a reduction: ReduceSum, ReduceMean, ... with the axes as an input (opset 18); no
    axes reduces every axis."""

    def reduction(g: Emitter, x: Value, axis: Any = None, keepdims: bool = False) -> str:
        axes = _axes(axis, x.ndim)
        if x.ndim == 0 or axes == ():  # nothing to reduce: NumPy gives the values back
            return g.node("Identity", x)
        if axes is None:
            return g.node(op_type, x, keepdims=int(keepdims))
        return g.node(op_type, x, g.ints(axes), keepdims=int(keepdims))

    return reduction


for _name, _op_type in {
    "sum": "ReduceSum",
    "mean": "ReduceMean",
    "max": "ReduceMax",
    "min": "ReduceMin",
    "logsumexp": "ReduceLogSumExp",
}.items():
    BUILT_IN[_name] = (reduce_form(_op_type), "minigrad.ops")


# ----- more elementwise ---------------------------------------------------------------------------


@built_in("where")
def where(g: Emitter, a: Value, b: Value, *, condition: np.ndarray) -> str:
    return g.node("Where", g.constant(np.asarray(condition, dtype=bool)), a, b)


@built_in("clip")
def clip(g: Emitter, x: Value, *, low: Any, high: Any) -> str:
    # min(max(x, low), high), as np.clip, for scalar and array bounds alike. Not ONNX's Clip: onnxruntime's
    # Relu-Clip fusion refuses a float64 Clip after a Relu ("Unexpected data type for Clip 'min' input").
    y = x if low is None else g.node("Max", x, g.like(low, x))
    return y if high is None else g.node("Min", y, g.like(high, x))


# ----- normalisation ------------------------------------------------------------------------------


def _normalise(op_type: str, log: bool) -> Form:
    """Softmax and LogSoftmax along one axis; along several, the stable formula written out."""

    def normalisation(g: Emitter, x: Value, axis: Any = None) -> str:
        axes = _axes(axis, x.ndim)
        if len(axes) == 1:
            return g.node(op_type, x, axis=axes[0])
        shifted = g.node("Sub", x, g.node("ReduceMax", x, g.ints(axes), keepdims=1))
        total = g.node("ReduceSum", g.node("Exp", shifted), g.ints(axes), keepdims=1)
        if log:
            return g.node("Sub", shifted, g.node("Log", total))
        return g.node("Div", g.node("Exp", shifted), total)

    return normalisation


BUILT_IN["softmax"] = (_normalise("Softmax", log=False), "minigrad.ops")
BUILT_IN["log_softmax"] = (_normalise("LogSoftmax", log=True), "minigrad.ops")


# ----- shape ------------------------------------------------------------------------------------


def _basic(index: Any) -> tuple[Any, ...] | None:
    """The index as a tuple of ints, slices, None and ..., or None where it is advanced (arrays, masks)."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, bool | np.bool_) or not (
            part is None or part is Ellipsis or isinstance(part, slice | int | np.integer)
        ):
            return None
    return parts


def _positions(shape: tuple[int, ...], index: Any) -> np.ndarray:
    """Where each element that `index` picks sits in the flattened array: NumPy's own indexing, once."""
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[index]


@built_in("getitem")
def getitem(g: Emitter, x: Value, *, index: Any) -> str:
    parts = _basic(index)
    if parts is None:  # integer arrays and masks: the picked positions, a constant of the trace
        flat = g.node("Reshape", x, g.ints([-1]))
        return g.node("Gather", flat, g.constant(_positions(x.shape, index), np.int64), axis=0)
    return _slice(g, x, parts)


def _slice(g: Emitter, x: Value, parts: tuple[Any, ...]) -> str:
    """Basic indexing: one Slice, then Squeeze the axes an integer took, Unsqueeze where None stood."""
    taken = sum(p is not None and p is not Ellipsis for p in parts)
    if sum(p is Ellipsis for p in parts) > 1 or taken > x.ndim:
        raise ExportError(f"export: index {parts!r} does not fit shape {x.shape}")
    parts = _without_ellipsis(parts, x.ndim - taken)
    starts, ends, steps, axes, squeezed, new = [], [], [], [], [], []
    axis = out_axis = 0
    for part in parts:
        if part is None:
            new.append(out_axis)
            out_axis += 1
            continue
        n = x.shape[axis]
        if isinstance(part, slice):
            start, stop, step = part.indices(n)
            if not range(start, stop, step):  # Python's -1 ("before the first") reads as the last in ONNX
                start, stop, step = 0, 0, 1
            if (start, stop, step) != (0, n, 1):
                # A negative step that runs past the first element: ONNX clamps an end below -n to -1.
                stop = stop if stop >= 0 else -(2**62)
                starts, ends, steps, axes = [*starts, start], [*ends, stop], [*steps, step], [*axes, axis]
            out_axis += 1
        else:
            k = int(part) % n if -n <= int(part) < n else None
            if k is None:
                raise ExportError(f"export: index {int(part)} is out of range for axis {axis} of {x.shape}")
            starts, ends, steps, axes = [*starts, k], [*ends, k + 1], [*steps, 1], [*axes, axis]
            squeezed.append(axis)
        axis += 1
    y: Value | str = x
    if axes:
        y = g.node("Slice", y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))
    if squeezed:
        y = g.node("Squeeze", y, g.ints(squeezed))
    if new:
        y = g.node("Unsqueeze", y, g.ints(new))
    return y if isinstance(y, str) else g.node("Identity", y)


def _without_ellipsis(parts: tuple[Any, ...], fill: int) -> tuple[Any, ...]:
    if Ellipsis not in parts:
        return parts
    at = parts.index(Ellipsis)
    return (*parts[:at], *(slice(None),) * fill, *parts[at + 1 :])


@built_in("scatter_add")
def scatter_add(g: Emitter, grad: Value, *, shape: tuple[int, ...], index: Any) -> str:
    # Zeros, with each element of `grad` added at the flat position its index names: repeated
    # positions add up, as np.add.at.
    positions = _positions(tuple(shape), index)
    updates = grad.name
    if grad.shape != positions.shape:
        updates = g.node("Expand", grad, g.ints(positions.shape))
    zero = helper.make_tensor("value", element_type(g.out.dtype, "scatter_add"), [1], [0])
    zeros = g.node("ConstantOfShape", g.ints([math.prod(shape)]), value=zero)
    flat = g.node("Reshape", updates, g.ints([-1]))
    at = g.constant(positions.reshape(-1, 1), np.int64)
    added = g.node("ScatterND", zeros, at, flat, reduction="add")
    return g.node("Reshape", added, g.ints(shape), allowzero=int(0 in shape))


@built_in("concatenate")
def concatenate(g: Emitter, *xs: Value, axis: int = 0) -> str:
    return g.node("Concat", *xs, axis=int(axis) % g.out.ndim)


@built_in("stack")
def stack(g: Emitter, *xs: Value, axis: int = 0) -> str:
    at = int(axis) % g.out.ndim
    return g.node("Concat", *(g.node("Unsqueeze", x, g.ints([at])) for x in xs), axis=at)


@built_in("expand_dims")
def expand_dims(g: Emitter, x: Value, *, axis: Any) -> str:
    return g.node("Unsqueeze", x, g.ints(_axes(axis, g.out.ndim)))


@built_in("squeeze")
def squeeze(g: Emitter, x: Value, axis: Any = None) -> str:
    axes = _axes(axis, x.ndim) if axis is not None else tuple(i for i, n in enumerate(x.shape) if n == 1)
    return g.node("Squeeze", x, g.ints(axes)) if axes else g.node("Identity", x)


# ----- the networks' costs ------------------------------------------------------------------------


@built_in("logistic_loss", module="nets.costs")
def logistic_loss(g: Emitter, z: Value, y: Value) -> str:
    # softplus(z) - y z, written as nets.costs computes it: max(z, 0) + log(1 + e^(-|z|)) - y z.
    e = g.node("Exp", g.node("Neg", g.node("Abs", z)))
    softplus = g.node("Add", g.node("Relu", z), g.node("Log", g.node("Add", g.like(1), e)))
    return g.node("Sub", softplus, g.node("Mul", y, z))
