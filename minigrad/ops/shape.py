"""Shape: reshaping, transposing, broadcasting, indexing, joining; each forward beside its rule.

None of these changes a value, so each rule moves the gradient back to where its value came from."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.common import Operand, normalise_axes, whole_number
from minigrad.tensor import Tensor


@op
def transpose(x, axes=None):
    """Reverse the axes (or permute them as `axes` says), as `np.transpose`."""
    try:
        return np.transpose(x, axes)
    except ValueError:  # NumPy's AxisError is one, and does not name the shape
        raise ValueError(f"transpose: axes {axes} do not permute the axes of shape {x.shape}") from None


transpose.defvjp(lambda g, out, x, axes=None: transpose(g, None if axes is None else _inverse(axes, x.ndim)))


def _inverse(axes: Any, ndim: int) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


@op
def matrix_transpose(x):
    """The last two axes swapped (`x.mT`)."""
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose: needs at least 2 dimensions, got shape {x.shape}")
    return x.swapaxes(-1, -2)


matrix_transpose.defvjp(lambda g, out, x: matrix_transpose(g))


@op(name="reshape")
def _reshape(x, *, shape):
    """The same values in the shape `shape` (`mg.reshape` takes the shape as NumPy does)."""
    try:
        return x.reshape(shape)
    except (ValueError, TypeError):
        raise ValueError(f"reshape: cannot reshape {x.shape} ({x.size} elements) into {shape}") from None


_reshape.defvjp(lambda g, out, x, *, shape: g.reshape(x.shape))


def reshape(x: Operand, *shape: int | tuple[int, ...]) -> Tensor:
    """`x` with a new shape of the same size; `reshape(x, 2, 3)` and `reshape(x, (2, 3))` alike."""
    new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list | np.ndarray) else shape
    if not builtins.all(whole_number(n) for n in new_shape):
        raise TypeError(f"reshape: the new shape must be whole numbers, got {new_shape!r}")
    return _reshape(x, shape=tuple(int(n) for n in new_shape))


@op
def broadcast_to(x, *, shape):
    """`x` repeated along its axes of length 1 (and new leading axes) to `shape`, as `np.broadcast_to`."""
    try:
        # A writeable array of its own, not NumPy's read-only view: a Tensor's data may be changed.
        return np.full(shape, x)
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {tuple(shape)}") from None


# Each input element was copied to several places: its gradient is the sum over them (the pass's
# own un-broadcasting does that sum).
broadcast_to.defvjp(lambda g, out, x, *, shape: g)


@op(name="getitem")
def _getitem(x, *, index):
    """`x[index]`, NumPy's indexing (`t[...]` and `mg.getitem` check the index)."""
    return x[index]


# Each element picked gets its gradient back where it came from; picked twice, it gets both (np.add.at).
_getitem.defvjp(lambda g, out, x, *, index: _scatter_add(g, shape=x.shape, index=index))


@op(name="scatter_add")
def _scatter_add(g, *, shape, index):
    """Zeros of `shape` with `g` added at `index`: the adjoint of indexing, and indexing is its adjoint."""
    grad = np.zeros(shape, dtype=g.dtype)
    np.add.at(grad, index, g)
    return grad


_scatter_add.defvjp(lambda gg, out, g, *, shape, index: _getitem(gg, index=index))


def getitem(x: Operand, index: Any) -> Tensor:
    """`x[index]`: integers, slices, None, ..., integer arrays (repeats allowed) and boolean masks."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, Tensor):
            raise TypeError(
                "getitem: index with integers, slices or NumPy arrays of ints or bools, not a Tensor "
                "(a comparison such as t > 0 already gives a bool array)"
            )
    return _getitem(x, index=index)


@op(name="concatenate")
def _concatenate(*xs, axis=0):
    """The inputs joined along an existing `axis` (`mg.concatenate` takes a list)."""
    try:
        return np.concatenate(xs, axis=axis)
    except ValueError as error:
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"concatenate: shapes {shapes} do not join along axis {axis}: {error}") from None


def _concatenate_vjp(g, out, *xs, axis=0):
    """Each input gets its own stretch of g along the axis (of the flattened g for axis=None)."""
    if axis is None:
        ends = np.cumsum([x.size for x in xs])
        return tuple(g[end - x.size : end].reshape(x.shape) for x, end in zip(xs, ends))
    before = (slice(None),) * (axis % out.ndim)
    ends = np.cumsum([x.shape[axis] for x in xs])
    return tuple(g[(*before, slice(end - x.shape[axis], end))] for x, end in zip(xs, ends))


_concatenate.defvjp(_concatenate_vjp)


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """The tensors joined along an existing axis, as `np.concatenate`."""
    return _concatenate(*tensors, axis=axis)


@op(name="stack")
def _stack(*xs, axis=0):
    """The inputs stacked along a new `axis` (`mg.stack` takes a list)."""
    try:
        return np.stack(xs, axis=axis)
    except ValueError as error:
        shapes = ", ".join(str(x.shape) for x in xs)
        raise ValueError(f"stack: shapes {shapes} cannot be stacked along axis {axis}: {error}") from None


def _stack_vjp(g, out, *xs, axis=0):
    """Each input gets its own slice of g along the new axis."""
    before = (slice(None),) * (axis % out.ndim)
    return tuple(g[(*before, i)] for i in range(len(xs)))


_stack.defvjp(_stack_vjp)


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """The tensors, of one shape, joined along a new axis, as `np.stack`."""
    return _stack(*tensors, axis=axis)


@op
def expand_dims(x, *, axis):
    """A new axis of length 1 at `axis`, as `np.expand_dims`."""
    try:
        return np.expand_dims(x, axis)
    except ValueError:
        raise ValueError(f"expand_dims: axis {axis!r} is out of range for shape {x.shape}") from None


expand_dims.defvjp(lambda g, out, x, *, axis: g.reshape(x.shape))


@op
def squeeze(x, axis=None):
    """The axes of length 1 removed (only `axis`, when given), as `np.squeeze`."""
    axes = normalise_axes(x, axis, "squeeze")
    if axes is not None and builtins.any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"squeeze: axis {axis!r} of shape {x.shape} is not of length 1")
    return np.squeeze(x, axes)


squeeze.defvjp(lambda g, out, x, axis=None: g.reshape(x.shape))


__all__ = [
    "broadcast_to",
    "concatenate",
    "expand_dims",
    "getitem",
    "matrix_transpose",
    "reshape",
    "squeeze",
    "stack",
    "transpose",
]
