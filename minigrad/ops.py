"""The operations: each forward computation beside its backward rule.

Every operation computes its output from the inputs' arrays and defines `backward(g)`, which takes
the gradient `g` of the output and returns one gradient per input, as the chain rule gives it:

    out = f(a, b)        backward(g) = (g * df/da, g * df/db)

A rule skips the inputs that need no gradient (`W1 @ X` never computes dX) and returns gradients of
the broadcast shape: `tensor._unbroadcast` sums them back to each input's shape, in one place for all.
A rule keeps arrays, never the output Tensor, so the graph holds no reference cycle. It returns, for
each input, a new array, or `g` itself or a view of it (which the backward pass then shares read-only),
never one new array for two inputs nor an array it keeps: the backward pass may add into a new one.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

Operand = Tensor | np.ndarray | float | int


def _lift(x: Any, like: Tensor | None = None) -> Tensor:
    """A Tensor for `x`; a Python number takes the other operand's dtype, as NumPy does (float32 stays)."""
    if isinstance(x, Tensor):
        return x
    # The common constants (the data X, 1 - Y, / m) skip Tensor()'s checks: 2 of matmul's 6 us at tiny size.
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return Tensor._constant(x)
    if like is not None and type(x) in _PYTHON_NUMBERS:
        return Tensor._constant(np.asarray(x, dtype=like.dtype))
    return Tensor(x)


_PYTHON_NUMBERS = (float, int, bool)


def _broadcasting(name: str, f: Any, a: Tensor, b: Tensor) -> np.ndarray:
    """`f(a, b)` on the arrays, with NumPy's broadcast error turned into one that names the operation."""
    try:
        return f(a.data, b.data)
    except ValueError:
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def _binary(a: Operand, b: Operand) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, _lift(b, a)
    b = _lift(b)
    return _lift(a, b), b


# ----- arithmetic -------------------------------------------------------------------------------


def add(a: Operand, b: Operand) -> Tensor:
    a, b = _binary(a, b)

    def backward(g):  # d(a + b) = da + db
        return g, g

    return Tensor._from_op(_broadcasting("add", np.add, a, b), (a, b), backward, "add")


def sub(a: Operand, b: Operand) -> Tensor:
    a, b = _binary(a, b)

    def backward(g):  # d(a - b) = da - db
        return g, (-g if b.requires_grad else None)

    return Tensor._from_op(_broadcasting("sub", np.subtract, a, b), (a, b), backward, "sub")


def mul(a: Operand, b: Operand) -> Tensor:
    a, b = _binary(a, b)

    def backward(g):  # d(a b) = b da + a db
        return (
            g * b.data if a.requires_grad else None,
            g * a.data if b.requires_grad else None,
        )

    return Tensor._from_op(_broadcasting("mul", np.multiply, a, b), (a, b), backward, "mul")


def div(a: Operand, b: Operand) -> Tensor:
    a, b = _binary(a, b)
    out = _broadcasting("div", np.divide, a, b)

    def backward(g):  # d(a / b) = da / b - (a / b) db / b
        ga = g / b.data
        return ga if a.requires_grad else None, (-ga * out if b.requires_grad else None)

    return Tensor._from_op(out, (a, b), backward, "div")


def neg(x: Operand) -> Tensor:
    x = _lift(x)

    def backward(g):
        return (-g,)

    return Tensor._from_op(-x.data, (x,), backward, "neg")


def pow(x: Operand, exponent: float) -> Tensor:
    """`x ** exponent` for a number `exponent`."""
    x = _lift(x)
    if not isinstance(exponent, numbers.Real):
        raise TypeError(
            f"pow: the exponent must be a number, got {type(exponent).__name__}; "
            "for a tensor exponent write exp(exponent * log(x))"
        )
    p = float(exponent)
    out = x.data**p

    def backward(g):  # d(x^p) = p x^(p-1) dx, and 0 for p = 0 (where x^(p-1) would be 1/0 at x = 0)
        return (g * p * x.data ** (p - 1) if p != 0 else np.zeros_like(g),)

    return Tensor._from_op(out.astype(x.dtype, copy=False), (x,), backward, "pow")


# ----- linear algebra ---------------------------------------------------------------------------


def matmul(a: Operand, b: Operand) -> Tensor:
    a, b = _binary(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: operands must have at least one dimension")
    inner = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if a.shape[-1] != inner:
        raise ValueError(
            f"matmul: {a.shape} @ {b.shape}: the inner dimensions {a.shape[-1]} and {inner} differ"
        )
    if a.ndim == 1 or b.ndim == 1:
        # NumPy's rule for vectors: a 1-D operand is a row (left) or a column (right), dropped after.
        out = matmul(
            reshape(a, (1, a.shape[0])) if a.ndim == 1 else a,
            reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b,
        )
        shape = out.shape[:-2] + out.shape[-1:] if a.ndim == 1 else out.shape
        return reshape(out, shape[:-1] if b.ndim == 1 else shape)
    out = _broadcasting("matmul", np.matmul, a, b)

    def backward(g):  # d(A B) = dA B + A dB  ->  dA = g Bᵀ, dB = Aᵀ g
        return (
            g @ b.data.swapaxes(-1, -2) if a.requires_grad else None,
            a.data.swapaxes(-1, -2) @ g if b.requires_grad else None,
        )

    return Tensor._from_op(out, (a, b), backward, "matmul")


def transpose(x: Operand, axes: tuple[int, ...] | None = None) -> Tensor:
    """Reverse the axes (or permute them as `axes` says), as `np.transpose`."""
    x = _lift(x)
    try:
        out = np.transpose(x.data, axes)
    except ValueError:  # NumPy's AxisError is one, and does not name the shape
        raise ValueError(f"transpose: axes {axes} do not permute the axes of shape {x.shape}") from None
    inverse = None if axes is None else tuple(np.argsort([a % x.ndim for a in axes]))

    def backward(g):
        return (np.transpose(g, inverse),)

    return Tensor._from_op(out, (x,), backward, "transpose")


def reshape(x: Operand, *shape: int | tuple[int, ...]) -> Tensor:
    """`x` with a new shape of the same size; `reshape(x, 2, 3)` and `reshape(x, (2, 3))` alike."""
    x = _lift(x)
    new_shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
    try:
        out = x.data.reshape(new_shape)
    except (ValueError, TypeError):
        raise ValueError(
            f"reshape: cannot reshape {x.shape} ({x.size} elements) into {tuple(new_shape)}"
        ) from None
    in_shape = x.shape

    def backward(g):
        return (g.reshape(in_shape),)

    return Tensor._from_op(out, (x,), backward, "reshape")


# ----- elementwise ------------------------------------------------------------------------------


def exp(x: Operand) -> Tensor:
    x = _lift(x)
    out = np.exp(x.data)

    def backward(g):  # d(e^x) = e^x dx
        return (g * out,)

    return Tensor._from_op(out, (x,), backward, "exp")


def log(x: Operand) -> Tensor:
    """Natural logarithm, as NumPy: log(0) = -inf, log of a negative number is nan."""
    x = _lift(x)

    def backward(g):  # d(log x) = dx / x
        return (g / x.data,)

    return Tensor._from_op(np.log(x.data), (x,), backward, "log")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-z)) is exact to rounding for every z: for z << 0 the sum rounds to exp(-z) and the
    # quotient to exp(z). Its one flaw is that exp(-z) overflows for z < -709 (float64), where the true
    # value is below the smallest double and 1 / inf = 0 is the right answer, so that overflow is
    # silenced. Splitting by sign would be as exact and cost a second pass with its own temporaries.
    s = np.empty_like(z)
    with np.errstate(over="ignore"):
        np.exp(np.negative(z, out=s), out=s)
    s += 1
    return np.reciprocal(s, out=s)


def sigmoid(x: Operand) -> Tensor:
    """1 / (1 + exp(-x)). Its own rule, not composed from exp, for the overflow above and for speed."""
    x = _lift(x)
    out = _sigmoid(x.data)

    def backward(g):  # d sigmoid = sigmoid (1 - sigmoid) dx, from the output alone
        d = np.subtract(1, out, out=np.empty_like(out))
        d *= out
        d *= g
        return (d,)

    return Tensor._from_op(out, (x,), backward, "sigmoid")


def relu(x: Operand) -> Tensor:
    """max(0, x); its derivative at exactly 0 is taken as 0, as PyTorch and the lab do."""
    x = _lift(x)

    def backward(g):
        return (g * (x.data > 0),)

    return Tensor._from_op(np.maximum(x.data, 0), (x,), backward, "relu")


def tanh(x: Operand) -> Tensor:
    x = _lift(x)
    out = np.tanh(x.data)

    def backward(g):  # d tanh = (1 - tanh^2) dx
        d = np.multiply(out, out, out=np.empty_like(out))
        np.subtract(1, d, out=d)
        d *= g
        return (d,)

    return Tensor._from_op(out, (x,), backward, "tanh")


# ----- reductions -------------------------------------------------------------------------------


def _spread(g: np.ndarray, shape: tuple[int, ...], axis: Any) -> np.ndarray:
    """A reduction's gradient laid back over the input: every element it summed gets `g`."""
    if axis is not None:
        g = g.reshape([1 if i in axis else n for i, n in enumerate(shape)])
    # np.full copies into a new array in C; np.broadcast_to would make a view but costs 3 us in Python.
    return np.full(shape, g)


def _axis(x: Tensor, axis: Any, op: str) -> int | tuple[int, ...] | None:
    """`axis` normalised to non-negative ints, with an error that names the operation and the shape."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    if not all(isinstance(a, numbers.Integral) and -x.ndim <= a < x.ndim for a in axes):
        raise ValueError(f"{op}: axis {axis} is out of range for shape {x.shape}")
    normalised = tuple(int(a) % x.ndim for a in axes)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{op}: axis {axis} repeats an axis")
    return normalised


def sum(x: Operand, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    x = _lift(x)
    axis = _axis(x, axis, "sum")
    in_shape = x.shape

    def backward(g):  # each summed element contributes 1 times the output's gradient
        return (_spread(g, in_shape, axis),)

    # np.add.reduce is np.sum without its Python wrapper (1 us of a 1.5 us sum at the lab's sizes).
    return Tensor._from_op(np.add.reduce(x.data, axis=axis, keepdims=keepdims), (x,), backward, "sum")


def mean(x: Operand, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
    x = _lift(x)
    axis = _axis(x, axis, "mean")
    in_shape = x.shape
    total = np.add.reduce(x.data, axis=axis, keepdims=keepdims)
    count = x.size // max(total.size, 1) if x.size else 0
    # The mean of nothing is left to np.mean, with its warning; the rest skips its Python wrapper.
    out = total / count if count else np.mean(x.data, axis=axis, keepdims=keepdims)

    def backward(g):  # each averaged element contributes 1/count (and an empty input nothing)
        return (_spread(g / count if count else g, in_shape, axis),)

    return Tensor._from_op(out, (x,), backward, "mean")
