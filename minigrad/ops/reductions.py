"""Reductions, each forward beside its rule: sum, mean, max, min, logsumexp.

Each rule lays the output's gradient back over the elements it reduced (`_spread`)."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.common import normalise_axes
from minigrad.ops.elementwise import exp
from minigrad.ops.rounding import is_equal
from minigrad.ops.shape import broadcast_to


def _spread(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """A reduction's gradient laid back over its input's shape: every element it reduced gets `g`.

    The rules pass `x.shape`, not `x`: a reduction's rule reads no input value, so the graph need not
    keep it (see release.py). The forward pass has already checked `axis`."""
    if not keepdims and axis is not None:  # a full reduction's g is 0-d, and broadcasts as it is
        axes = {int(a) % len(shape) for a in (axis if isinstance(axis, tuple | list) else (axis,))}
        g = g.reshape([1 if i in axes else n for i, n in enumerate(shape)])
    return broadcast_to(g, shape=shape)


@op
def sum(x, axis=None, keepdims=False):
    """The sum over `axis` (all axes when None); the summed axes stay as length 1 if `keepdims`."""
    total = _total(x, None if axis is None else normalise_axes(x, axis, "sum"), keepdims)
    return total if total.dtype == x.dtype else total.astype(x.dtype)


sum.defvjp(lambda g, out, x, axis=None, keepdims=False: _spread(g, x.shape, axis, keepdims))


@op
def mean(x, axis=None, keepdims=False):
    """The mean over `axis` (all axes when None); the averaged axes stay as length 1 if `keepdims`."""
    axes = None if axis is None else normalise_axes(x, axis, "mean")
    total = _total(x, axes, keepdims)
    count = x.size // builtins.max(total.size, 1) if x.size else 0
    # The mean of nothing is left to np.mean, with its warning.
    return (total / count).astype(x.dtype, copy=False) if count else np.mean(x, axis=axes, keepdims=keepdims)


mean.defvjp(
    lambda g, out, x, axis=None, keepdims=False: _spread(
        g / _count(x.size, out.size), x.shape, axis, keepdims
    )
)


def _count(x_size: int, out_size: int) -> int:
    """How many elements each output of a mean averaged (1 for an empty input, whose gradient is empty)."""
    return builtins.max(x_size // builtins.max(out_size, 1), 1)


def _total(x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
    """The sum, accumulated in float32 for float16 (which overflows at 65504), as np.mean does.

    np.add.reduce is np.sum without its Python wrapper, which costs more than the sum at small sizes.
    """
    if x.dtype.char == "e":
        return np.add.reduce(x, axis=axes, keepdims=keepdims, dtype=np.float32)
    return np.add.reduce(x, axis=axes, keepdims=keepdims)


def _kept(y: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """A reduction's output `y` with its reduced axes kept (as length 1), so that it broadcasts over `x`."""
    if keepdims:
        return y
    axes = tuple(range(x.ndim)) if axis is None else normalise_axes(x, axis, "reduction")
    return y.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])


@op
def max(x, axis=None, keepdims=False):
    """The largest value over `axis` (all axes when None); tied elements share the gradient equally."""
    return np.max(x, axis=normalise_axes(x, axis, "max"), keepdims=keepdims)


@op
def min(x, axis=None, keepdims=False):
    """The smallest value over `axis` (all axes when None); tied elements share the gradient equally."""
    return np.min(x, axis=normalise_axes(x, axis, "min"), keepdims=keepdims)


def _extremum_vjp(g, out, x, axis=None, keepdims=False, name="max"):
    """The elements equal to the max (or min) share its gradient equally, as `torch.amax`. The ties are a
    mask operation, so that under create_graph they are found again from new inputs."""
    ties = is_equal(x, _kept(out, x, axis, keepdims))
    share = ties / sum(ties, axis=normalise_axes(x, axis, name), keepdims=True)
    return _spread(g, x.shape, axis, keepdims) * share


max.defvjp(_extremum_vjp)
min.defvjp(lambda g, out, x, axis=None, keepdims=False: _extremum_vjp(g, out, x, axis, keepdims, "min"))


@op
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed as m + log(sum(exp(x - m))) with m the max: never overflows."""
    axes = normalise_axes(x, axis, "logsumexp")
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or an inf): the sum alone says -inf or inf
    with np.errstate(divide="ignore", over="ignore"):
        out = np.log(np.add.reduce(np.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axes)


# d logsumexp = sum(softmax(x) dx), and softmax(x) = exp(x - logsumexp(x)).
logsumexp.defvjp(
    lambda g, out, x, axis=None, keepdims=False: (
        _spread(g, x.shape, axis, keepdims) * exp(x - _kept(out, x, axis, keepdims))
    )
)


__all__ = ["logsumexp", "max", "mean", "min", "sum"]
