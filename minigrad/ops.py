"""The built-in operations: each forward computation beside its rule, in the one public rule table.

Every operation is an `@op`; its rule, registered with `defvjp`, reads like the chain rule:

    out = f(a, b)        rule: g -> (g * df/da, g * df/db)

A rule is given `g` (the output's gradient), `out` (the output) and the inputs, as arrays on an
ordinary backward pass and as Tensors under `create_graph=True`. Written with operators and minigrad's
functions, the same line serves both, and so gives gradients of any order. Where a rule is given per
input, only the gradients that are needed are computed (`W1 @ X` never computes dX).

A rule returns gradients of the broadcast shape: the backward pass sums them back to each input's
shape, in one place for all. The options of a call (an axis, a shape, an exponent) reach the rule as
keyword arguments.
"""

from __future__ import annotations

import builtins
import numbers
from typing import Any

import numpy as np

from minigrad.tensor import Tensor, op

Operand = Tensor | np.ndarray | float | int
Axis = int | tuple[int, ...] | None

# ----- arithmetic ------------------------------------------------------------------------------


@op
def add(a, b):
    return a + b


add.defvjp(
    lambda g, out, a, b: g,  # d(a + b) = da + db
    lambda g, out, a, b: g,
)


@op
def sub(a, b):
    return a - b


sub.defvjp(
    lambda g, out, a, b: g,  # d(a - b) = da - db
    lambda g, out, a, b: -g,
)


@op
def mul(a, b):
    return a * b


mul.defvjp(
    lambda g, out, a, b: g * b,  # d(a b) = b da + a db
    lambda g, out, a, b: g * a,
)


@op
def div(a, b):
    return a / b


div.defvjp(
    lambda g, out, a, b: g / b,  # d(a / b) = da / b - (a / b²) db
    lambda g, out, a, b: -g * out / b,
)


@op
def neg(x):
    return -x


neg.defvjp(lambda g, out, x: -g)


@op
def _pow(x, *, exponent):
    return x**exponent


# d(x^p) = p x^(p-1) dx; for p = 0 the derivative is 0, where x^(p-1) would be 1/0 at x = 0.
_pow.defvjp(lambda g, out, x, *, exponent: g * exponent * x ** (exponent - 1) if exponent else g * 0)
_pow.name = "pow"


def pow(x: Operand, exponent: float) -> Tensor:
    """`x ** exponent` for a number `exponent`."""
    if not isinstance(exponent, numbers.Real) or isinstance(exponent, np.ndarray):
        raise TypeError(
            f"pow: the exponent must be a number, got {type(exponent).__name__}; "
            "for a tensor exponent write exp(exponent * log(x))"
        )
    return _pow(x, exponent=float(exponent))


# ----- linear algebra --------------------------------------------------------------------------


@op
def _matmul(a, b):
    return a @ b


_matmul.defvjp(
    lambda g, out, a, b: g @ b.mT,  # d(A B) = dA B + A dB  ->  dA = g Bᵀ, dB = Aᵀ g
    lambda g, out, a, b: a.mT @ g,
)
_matmul.name = "matmul"


def matmul(a: Operand, b: Operand) -> Tensor:
    """`a @ b` as `np.matmul`; a 1-D operand is a row (on the left) or a column (on the right)."""
    sa, sb = np.shape(_data(a)), np.shape(_data(b))
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: {sa} @ {sb}: operands must have at least one dimension")
    inner = sb[-2] if len(sb) > 1 else sb[0]
    if sa[-1] != inner:
        raise ValueError(f"matmul: {sa} @ {sb}: the inner dimensions {sa[-1]} and {inner} differ")
    if len(sa) > 1 and len(sb) > 1:
        return _matmul(a, b)
    out = _matmul(
        reshape(a, (1, sa[0])) if len(sa) == 1 else a, reshape(b, (sb[0], 1)) if len(sb) == 1 else b
    )
    shape = out.shape[:-2] + out.shape[-1:] if len(sa) == 1 else out.shape
    return reshape(out, shape[:-1] if len(sb) == 1 else shape)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


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


@op
def _reshape(x, *, shape):
    try:
        return x.reshape(shape)
    except (ValueError, TypeError):
        raise ValueError(f"reshape: cannot reshape {x.shape} ({x.size} elements) into {shape}") from None


_reshape.defvjp(lambda g, out, x, *, shape: g.reshape(x.shape))
_reshape.name = "reshape"


def reshape(x: Operand, *shape: int | tuple[int, ...]) -> Tensor:
    """`x` with a new shape of the same size; `reshape(x, 2, 3)` and `reshape(x, (2, 3))` alike."""
    new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list | np.ndarray) else shape
    try:
        new_shape = tuple(int(n) for n in new_shape)
    except TypeError:
        raise TypeError(f"reshape: the new shape must be whole numbers, got {new_shape!r}") from None
    return _reshape(x, shape=new_shape)


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


# ----- elementwise ------------------------------------------------------------------------------


@op
def exp(x):
    return np.exp(x)


exp.defvjp(lambda g, out, x: g * out)  # d(e^x) = e^x dx


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
    s = np.negative(x, out=np.empty_like(x))
    with np.errstate(over="ignore"):
        np.exp(s, out=s)
    s += 1
    return np.reciprocal(s, out=s)


sigmoid.defvjp(lambda g, out, x: g * (out * (1 - out)))  # d sigmoid = sigmoid (1 - sigmoid) dx


@op
def relu(x):
    """max(0, x); its derivative at exactly 0 is taken as 0, as PyTorch and the lab do."""
    return np.maximum(x, 0)


relu.defvjp(lambda g, out, x: g * (x > 0))


@op
def tanh(x):
    return np.tanh(x)


tanh.defvjp(lambda g, out, x: g * (1 - out * out))  # d tanh = (1 - tanh²) dx


# ----- reductions -------------------------------------------------------------------------------


def _axes(x: np.ndarray, axis: Any, name: str) -> tuple[int, ...] | None:
    """`axis` as non-negative ints, with an error that names the operation and the shape."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    if not builtins.all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) and -x.ndim <= a < x.ndim for a in axes
    ):
        raise ValueError(f"{name}: axis {axis!r} is out of range for shape {x.shape}")
    normalised = tuple(int(a) % x.ndim for a in axes)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return normalised


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """A reduction's gradient laid back over its input: every element it reduced gets `g`."""
    if not keepdims:
        axes = tuple(range(x.ndim)) if axis is None else _axes(x, axis, "sum")
        g = g.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
    return broadcast_to(g, shape=x.shape)


@op
def sum(x, axis=None, keepdims=False):
    return _total(x, _axes(x, axis, "sum"), keepdims).astype(x.dtype, copy=False)


sum.defvjp(lambda g, out, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims))


@op
def mean(x, axis=None, keepdims=False):
    axes = _axes(x, axis, "mean")
    total = _total(x, axes, keepdims)
    count = x.size // builtins.max(total.size, 1) if x.size else 0
    # The mean of nothing is left to np.mean, with its warning.
    return (total / count).astype(x.dtype, copy=False) if count else np.mean(x, axis=axes, keepdims=keepdims)


mean.defvjp(lambda g, out, x, axis=None, keepdims=False: _spread(g / _count(x, out), x, axis, keepdims))


def _count(x: Any, out: Any) -> int:
    """How many elements each output of a mean averaged (1 for an empty input, whose gradient is empty)."""
    return builtins.max(x.size // builtins.max(out.size, 1), 1)


def _total(x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> Any:
    # np.add.reduce is np.sum without its Python wrapper, which costs more than the sum at small sizes.
    # float16 overflows at 65504: its sums are accumulated in float32, as np.mean does.
    wider = np.float32 if x.dtype == np.float16 else None
    return np.add.reduce(x, axis=axes, keepdims=keepdims, dtype=wider)
