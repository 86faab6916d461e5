"""Arithmetic: `+ - * /`, negation and powers, each forward beside its rule."""

from __future__ import annotations

import numbers

import numpy as np

from minigrad.op import op
from minigrad.ops.common import Operand
from minigrad.tensor import Tensor


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


__all__ = ["add", "div", "mul", "neg", "pow", "sub"]
