"""Elementwise functions, each forward beside its rule: exp, log, sigmoid, relu, tanh, abs, sqrt,
maximum, minimum, where, clip."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.common import Operand, array_of
from minigrad.ops.rounding import is_equal, is_greater_equal, is_less, is_less_equal, sign
from minigrad.parallel import elementwise, is_large
from minigrad.tensor import Tensor

# sigmoid, tanh, exp and relu hand a large array to `parallel.elementwise`: cache-sized blocks shared
# among threads, each block's passes written into the one output, bit for bit as the whole-array calls.
# Below the threshold they are the plain NumPy expressions they were.
# A rule writes only into an array it made: never into `g` or `out`, which the backward pass may share.


def _large(x: Any) -> bool:
    """A floating array large enough for blocks and threads."""
    return type(x) is np.ndarray and x.dtype.kind == "f" and is_large(x)


def _large_like(g: Any, *others: Any) -> bool:
    """Whether a rule takes the blocked path: large arrays (not Tensors, under create_graph) all like `g`."""
    if not _large(g):
        return False
    return all(type(a) is np.ndarray and a.shape == g.shape and a.dtype == g.dtype for a in others)


@op
def exp(x):
    """`e ** x`, elementwise."""
    if _large(x):
        return elementwise(lambda o, x: np.exp(x, out=o), np.empty_like(x), x)
    return np.exp(x)


def _exp_rule(g, out, x):
    """d(e^x) = e^x dx."""
    if _large_like(g, out):
        return elementwise(lambda t, g, out: np.multiply(g, out, out=t), np.empty_like(g), g, out)
    return g * out


exp.defvjp(_exp_rule)


@op
def log(x):
    """Natural logarithm, as NumPy: log(0) = -inf, log of a negative number is nan."""
    return np.log(x)


log.defvjp(lambda g, out, x: g / x)  # d(log x) = dx / x


@op
def sigmoid(x):
    """1 / (1 + exp(-x)). Its own rule, not composed from exp, for the overflow below and for speed.

    1 / (1 + exp(-x)) is exact to rounding for every x: for x << 0 the sum rounds to exp(-x) and the
    quotient to exp(x). Its one flaw is that exp(-x) overflows for x < -709 (float64), where the true
    value is below the smallest double and 1 / inf = 0 is the right answer, so that overflow is silenced.
    """
    if _large(x):
        return elementwise(_sigmoid_into, np.empty_like(x), x)
    with np.errstate(over="ignore"):  # the same passes, bit for bit, with temporaries: faster when small
        return 1 / (1 + np.exp(-x))


def _sigmoid_into(s, x):
    # Four passes, all into the output (no temporary); over one block at a time while it is in the cache.
    np.negative(x, out=s)
    with np.errstate(over="ignore"):
        np.exp(s, out=s)
    np.add(s, 1, out=s)
    np.reciprocal(s, out=s)


def _sigmoid_rule(g, out, x):
    """d sigmoid = sigmoid (1 - sigmoid) dx: `g * (out * (1 - out))` in three passes and one array."""
    if _large_like(g, out):
        return elementwise(_sigmoid_grad_into, np.empty_like(g), g, out)
    return g * (out * (1 - out))


def _sigmoid_grad_into(t, g, out):
    np.subtract(1, out, out=t)
    np.multiply(out, t, out=t)
    np.multiply(g, t, out=t)


sigmoid.defvjp(_sigmoid_rule)


@op
def relu(x):
    """max(0, x); its derivative at exactly 0 is taken as 0, as PyTorch and the lab do."""
    if _large(x):
        return elementwise(lambda o, x: np.maximum(x, 0, out=o), np.empty_like(x), x)
    return np.maximum(x, 0)


def _relu_rule(g, out, x):
    """`g * (1 - [x <= 0])`, not `[x > 0]`: at x = NaN the gradient passes (a NaN in the forward pass is
    not hidden in the backward), as PyTorch's relu does. The mask is an operation, so that under
    create_graph it is part of the graph; a large array on an ordinary pass takes the blocked path."""
    if _large_like(g, x):
        return elementwise(lambda t, g, x: np.multiply(g, ~(x <= 0), out=t), np.empty_like(g), g, x)
    return g * (1 - is_less_equal(x, 0))


relu.defvjp(_relu_rule)


@op
def tanh(x):
    """The hyperbolic tangent, elementwise."""
    if _large(x):
        return elementwise(lambda o, x: np.tanh(x, out=o), np.empty_like(x), x)
    return np.tanh(x)


def _tanh_rule(g, out, x):
    """d tanh = (1 - tanh²) dx: `g * (1 - out * out)` in three passes and one array."""
    if _large_like(g, out):
        return elementwise(_tanh_grad_into, np.empty_like(g), g, out)
    return g * (1 - out * out)


def _tanh_grad_into(t, g, out):
    np.multiply(out, out, out=t)
    np.subtract(1, t, out=t)
    np.multiply(g, t, out=t)


tanh.defvjp(_tanh_rule)


@op
def abs(x):
    """`|x|`, elementwise; its derivative at 0 is 0, as PyTorch's."""
    return np.abs(x)


# d|x| = sign(x) dx; sign(0) = 0, so abs'(0) = 0 as in PyTorch.
abs.defvjp(lambda g, out, x: g * sign(x))


@op
def sqrt(x):
    """The square root, elementwise."""
    return np.sqrt(x)


sqrt.defvjp(lambda g, out, x: g / (2 * out))  # d sqrt(x) = dx / (2 sqrt(x))


def _share(a: Any, b: Any) -> Any:
    """1 where `a` won, 0 where it lost, 1/2 where `a == b`: a tie splits the gradient evenly, as PyTorch.
    Where either is NaN, both get the whole gradient, as PyTorch's: the NaN is not hidden (NaN compares
    false, so nothing is taken away from the 1)."""
    return 1 - is_less(a, b) - 0.5 * is_equal(a, b)


@op
def maximum(a, b):
    """The larger of `a` and `b`, elementwise; where they are equal, each gets half the gradient."""
    return np.maximum(a, b)


maximum.defvjp(
    lambda g, out, a, b: g * _share(a, b),  # the larger input gets g
    lambda g, out, a, b: g * _share(b, a),
)


@op
def minimum(a, b):
    """The smaller of `a` and `b`, elementwise; where they are equal, each gets half the gradient."""
    return np.minimum(a, b)


minimum.defvjp(
    lambda g, out, a, b: g * _share(b, a),  # the smaller input gets g
    lambda g, out, a, b: g * _share(a, b),
)


@op(name="where")
def _where(a, b, *, condition):
    """`a` where `condition` holds, else `b` (`mg.where(condition, a, b)` is the public order)."""
    return np.where(condition, a, b)


_where.defvjp(
    lambda g, out, a, b, *, condition: _where(g, 0, condition=condition),  # a where chosen, else 0
    lambda g, out, a, b, *, condition: _where(0, g, condition=condition),
)


def where(condition: Any, a: Operand, b: Operand) -> Tensor:
    """`a` where `condition` holds, else `b`, as `np.where`; the condition (a bool array) has no gradient."""
    return _where(a, b, condition=np.asarray(array_of(condition), dtype=bool))


@op(name="clip")
def _clip(x, *, low, high):
    """`x` limited to `[low, high]` (`mg.clip(x, min, max)` is the public form)."""
    return np.clip(x, low, high).astype(x.dtype, copy=False)  # float32 stays float32


# The gradient passes where low <= x <= high (at a bound too, as PyTorch); the bounds are constants.
_clip.defvjp(lambda g, out, x, *, low, high: g * _inside(x, low, high))


def _inside(x: Any, low: Any, high: Any) -> Any:
    """1 where `low <= x <= high` (a bound of None holds everywhere), else 0 (and at NaN): a mask."""
    above = 1 if low is None else is_greater_equal(x, low)
    below = 1 if high is None else is_less_equal(x, high)
    return above * below


def clip(x: Operand, min: Any = None, max: Any = None) -> Tensor:
    """`x` limited to `[min, max]`, as `np.clip`; either bound may be None. The bounds have no gradient."""
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    low, high = (array_of(v) for v in (min, max))
    shape = np.shape(array_of(x))
    try:
        wider = np.broadcast_shapes(shape, np.shape(low), np.shape(high))
    except ValueError:
        wider = None
    if wider != shape:  # the output would be of the bounds' shape, and x's gradient of no input's shape
        raise ValueError(
            f"clip: the bounds (shapes {np.shape(low)} and {np.shape(high)}) broadcast x of shape {shape} "
            f"to {wider or 'no common shape'}; bounds may not be wider than x: "
            "broadcast x first (mg.broadcast_to)"
        )
    return _clip(x, low=low, high=high)


__all__ = ["abs", "clip", "exp", "log", "maximum", "minimum", "relu", "sigmoid", "sqrt", "tanh", "where"]
