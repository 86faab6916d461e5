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
    """`a + b`, elementwise, broadcasting as NumPy; each gradient is summed back to its input's shape."""
    return a + b


add.defvjp(
    lambda g, out, a, b: g,  # d(a + b) = da + db
    lambda g, out, a, b: g,
)


@op
def sub(a, b):
    """`a - b`, elementwise, broadcasting as NumPy."""
    return a - b


sub.defvjp(
    lambda g, out, a, b: g,  # d(a - b) = da - db
    lambda g, out, a, b: -g,
)


@op
def mul(a, b):
    """`a * b`, elementwise, broadcasting as NumPy."""
    return a * b


mul.defvjp(
    lambda g, out, a, b: g * b,  # d(a b) = b da + a db
    lambda g, out, a, b: g * a,
)


@op
def div(a, b):
    """`a / b`, elementwise, broadcasting as NumPy."""
    return a / b


div.defvjp(
    lambda g, out, a, b: g / b,  # d(a / b) = da / b - (a / b²) db
    lambda g, out, a, b: -g * out / b,
)


@op
def neg(x):
    """`-x`."""
    return -x


neg.defvjp(lambda g, out, x: -g)


@op(name="pow")
def _pow(x, *, exponent):
    """`x ** exponent` for a number `exponent` (`mg.pow` checks it is one)."""
    return x**exponent


# d(x^p) = p x^(p-1) dx; for p = 0 the derivative is 0, where x^(p-1) would be 1/0 at x = 0.
_pow.defvjp(lambda g, out, x, *, exponent: g * exponent * x ** (exponent - 1) if exponent else g * 0)


def pow(x: Operand, exponent: float) -> Tensor:
    """`x ** exponent` for a number `exponent`."""
    if not isinstance(exponent, numbers.Real) or isinstance(exponent, np.ndarray):
        raise TypeError(
            f"pow: the exponent must be a number, got {type(exponent).__name__}; "
            "for a tensor exponent write exp(exponent * log(x))"
        )
    return _pow(x, exponent=float(exponent))


# ----- linear algebra --------------------------------------------------------------------------


@op(name="matmul")
def _matmul(a, b):
    """`a @ b`, the matrix product (`mg.matmul` checks the shapes and names both on a mismatch)."""
    return a @ b


_matmul.defvjp(
    lambda g, out, a, b: g @ b.mT,  # d(A B) = dA B + A dB  ->  dA = g Bᵀ, dB = Aᵀ g
    lambda g, out, a, b: a.mT @ g,
)


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
    if not builtins.all(_whole_number(n) for n in new_shape):
        raise TypeError(f"reshape: the new shape must be whole numbers, got {new_shape!r}")
    return _reshape(x, shape=tuple(int(n) for n in new_shape))


def _whole_number(n: Any) -> bool:
    """An int or a NumPy integer; not a bool, a float or a string (NumPy refuses each as an axis)."""
    return isinstance(n, numbers.Integral) and not isinstance(n, bool | np.bool_)


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
    """`e ** x`, elementwise."""
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
    """The hyperbolic tangent, elementwise."""
    return np.tanh(x)


tanh.defvjp(lambda g, out, x: g * (1 - out * out))  # d tanh = (1 - tanh²) dx


# ----- reductions -------------------------------------------------------------------------------


def _axes(x: np.ndarray, axis: Any, name: str) -> tuple[int, ...] | None:
    """`axis` as non-negative ints, with an error that names the operation and the shape."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    for a in axes:
        if not _whole_number(a):  # NumPy refuses a bool axis too
            raise TypeError(
                f"{name}: axis must be an int, a tuple of ints or None; got {axis!r} ({type(a).__name__})"
            )
    if not builtins.all(-x.ndim <= a < x.ndim for a in axes):
        raise ValueError(f"{name}: axis {axis!r} is out of range for shape {x.shape}")
    normalised = tuple(int(a) % x.ndim for a in axes)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return normalised


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """A reduction's gradient laid back over its input: every element it reduced gets `g`."""
    if not keepdims and axis is not None:  # a full reduction's g is 0-d, and broadcasts as it is
        axes = _axes(x, axis, "sum")
        g = g.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
    return broadcast_to(g, shape=x.shape)


@op
def sum(x, axis=None, keepdims=False):
    """The sum over `axis` (all axes when None); the summed axes stay as length 1 if `keepdims`."""
    total = _total(x, None if axis is None else _axes(x, axis, "sum"), keepdims)
    return total if total.dtype == x.dtype else total.astype(x.dtype)


sum.defvjp(lambda g, out, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims))


@op
def mean(x, axis=None, keepdims=False):
    """The mean over `axis` (all axes when None); the averaged axes stay as length 1 if `keepdims`."""
    axes = None if axis is None else _axes(x, axis, "mean")
    total = _total(x, axes, keepdims)
    count = x.size // builtins.max(total.size, 1) if x.size else 0
    # The mean of nothing is left to np.mean, with its warning.
    return (total / count).astype(x.dtype, copy=False) if count else np.mean(x, axis=axes, keepdims=keepdims)


mean.defvjp(lambda g, out, x, axis=None, keepdims=False: _spread(g / _count(x, out), x, axis, keepdims))


def _count(x: Any, out: Any) -> int:
    """How many elements each output of a mean averaged (1 for an empty input, whose gradient is empty)."""
    return builtins.max(x.size // builtins.max(out.size, 1), 1)


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
    axes = tuple(range(x.ndim)) if axis is None else _axes(x, axis, "reduction")
    return y.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])


def _like(mask: np.ndarray, y: Any) -> np.ndarray:
    """A constant mask or share in the dtype of `y` (float32 stays float32)."""
    return mask.astype(_data(y).dtype, copy=False)


# ----- more elementwise ---------------------------------------------------------------------------


@op
def abs(x):
    """`|x|`, elementwise; its derivative at 0 is 0, as PyTorch's."""
    return np.abs(x)


# d|x| = sign(x) dx; sign(0) = 0, so abs'(0) = 0 as in PyTorch.
abs.defvjp(lambda g, out, x: g * _like(np.sign(_data(x)), g))


@op
def sqrt(x):
    """The square root, elementwise."""
    return np.sqrt(x)


sqrt.defvjp(lambda g, out, x: g / (2 * out))  # d sqrt(x) = dx / (2 sqrt(x))


def _share(a: Any, b: Any, out: Any) -> np.ndarray:
    """1 where `a` won, 0 where it lost, 1/2 where `a == b`: a tie splits the gradient evenly, as PyTorch."""
    a, b = _data(a), _data(b)
    return _like((a > b) + 0.5 * (a == b), out)


@op
def maximum(a, b):
    """The larger of `a` and `b`, elementwise; where they are equal, each gets half the gradient."""
    return np.maximum(a, b)


maximum.defvjp(
    lambda g, out, a, b: g * _share(a, b, out),  # the larger input gets g
    lambda g, out, a, b: g * _share(b, a, out),
)


@op
def minimum(a, b):
    """The smaller of `a` and `b`, elementwise; where they are equal, each gets half the gradient."""
    return np.minimum(a, b)


minimum.defvjp(
    lambda g, out, a, b: g * _share(b, a, out),  # the smaller input gets g
    lambda g, out, a, b: g * _share(a, b, out),
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
    return _where(a, b, condition=np.asarray(_data(condition), dtype=bool))


@op(name="clip")
def _clip(x, *, low, high):
    """`x` limited to `[low, high]` (`mg.clip(x, min, max)` is the public form)."""
    return np.clip(x, low, high).astype(x.dtype, copy=False)  # float32 stays float32


# The gradient passes where low <= x <= high (at a bound too, as PyTorch); the bounds are constants.
_clip.defvjp(lambda g, out, x, *, low, high: _where(g, 0, condition=_inside(_data(x), low, high)))


def _inside(x: np.ndarray, low: Any, high: Any) -> np.ndarray:
    inside = np.ones(x.shape, dtype=bool)
    if low is not None:
        inside &= x >= low
    if high is not None:
        inside &= x <= high
    return inside


def clip(x: Operand, min: Any = None, max: Any = None) -> Tensor:
    """`x` limited to `[min, max]`, as `np.clip`; either bound may be None. The bounds have no gradient."""
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    low, high = (_data(v) for v in (min, max))
    return _clip(x, low=low, high=high)


# ----- more reductions ----------------------------------------------------------------------------


@op
def max(x, axis=None, keepdims=False):
    """The largest value over `axis` (all axes when None); tied elements share the gradient equally."""
    return np.max(x, axis=_axes(x, axis, "max"), keepdims=keepdims)


@op
def min(x, axis=None, keepdims=False):
    """The smallest value over `axis` (all axes when None); tied elements share the gradient equally."""
    return np.min(x, axis=_axes(x, axis, "min"), keepdims=keepdims)


def _extremum_vjp(g, out, x, axis=None, keepdims=False):
    """The elements equal to the max (or min) share its gradient equally, as `torch.amax`."""
    ties = _data(x) == _data(_kept(out, x, axis, keepdims))
    share = ties / np.add.reduce(ties, axis=_axes(x, axis, "max"), keepdims=True)
    return _spread(g, x, axis, keepdims) * _like(share, out)


max.defvjp(_extremum_vjp)
min.defvjp(_extremum_vjp)


@op
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed as m + log(sum(exp(x - m))) with m the max: never overflows."""
    axes = _axes(x, axis, "logsumexp")
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or an inf): the sum alone says -inf or inf
    with np.errstate(divide="ignore", over="ignore"):
        out = np.log(np.add.reduce(np.exp(x - m), axis=axes, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axes)


# d logsumexp = sum(softmax(x) dx), and softmax(x) = exp(x - logsumexp(x)).
logsumexp.defvjp(
    lambda g, out, x, axis=None, keepdims=False: (
        _spread(g, x, axis, keepdims) * exp(x - _kept(out, x, axis, keepdims))
    )
)


# ----- normalisation ------------------------------------------------------------------------------


def _required(axis: Any, x: np.ndarray, name: str) -> tuple[int, ...]:
    if axis is None:
        raise TypeError(f"{name}: the axis is required (the lab puts the classes on axis 0: axis=0)")
    return _axes(x, axis, name)


@op
def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) along `axis`, with the max subtracted first: never overflows."""
    axes = _required(axis, x, "softmax")
    e = np.exp(x - np.max(x, axis=axes, keepdims=True))
    return e / np.add.reduce(e, axis=axes, keepdims=True)


# d softmax = s * (dx - sum(s dx)): the Jacobian diag(s) - s sᵀ, applied to g.
softmax.defvjp(lambda g, out, x, axis=None: out * (g - sum(g * out, axis=axis, keepdims=True)))


@op
def log_softmax(x, axis=None):
    """x - logsumexp(x) along `axis`, stable as logsumexp."""
    axes = _required(axis, x, "log_softmax")
    shifted = x - np.max(x, axis=axes, keepdims=True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axes, keepdims=True))


# d log_softmax = dx - sum(softmax(x) dx), and softmax(x) = exp(log_softmax(x)).
log_softmax.defvjp(lambda g, out, x, axis=None: g - exp(out) * sum(g, axis=axis, keepdims=True))


# ----- shape ------------------------------------------------------------------------------------


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
    """Each input gets its own stretch of g along the axis."""
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
    axes = _axes(x, axis, "squeeze")
    if axes is not None and builtins.any(x.shape[a] != 1 for a in axes):
        raise ValueError(f"squeeze: axis {axis!r} of shape {x.shape} is not of length 1")
    return np.squeeze(x, axes)


squeeze.defvjp(lambda g, out, x, axis=None: g.reshape(x.shape))
