"""Exponentials, logarithms and powers beyond `exp` and `log`, each forward beside its rule:
log1p, expm1, log2, log10, exp2, square, reciprocal, logaddexp, logaddexp2, power (a Tensor exponent)."""

from __future__ import annotations

import numpy as np

from minigrad.op import op
from minigrad.ops.common import array_of
from minigrad.ops.elementwise import exp, log, where

_LN2, _LN10 = float(np.log(2)), float(np.log(10))


@op
def log1p(x):
    """log(1 + x), exact for small x."""
    return np.log1p(x)


log1p.defvjp(lambda g, out, x: g / (1 + x))  # d log(1 + x) = dx / (1 + x)


@op
def expm1(x):
    """exp(x) - 1, exact for small x."""
    return np.expm1(x)


expm1.defvjp(lambda g, out, x: g * (out + 1))  # d (e^x - 1) = e^x dx


@op
def log2(x):
    """The base-2 logarithm, as `np.log2`."""
    return np.log2(x)


log2.defvjp(lambda g, out, x: g / (x * _LN2))  # d log2 x = dx / (x ln 2)


@op
def log10(x):
    """The base-10 logarithm, as `np.log10`."""
    return np.log10(x)


log10.defvjp(lambda g, out, x: g / (x * _LN10))  # d log10 x = dx / (x ln 10)


@op
def exp2(x):
    """2 ** x, as `np.exp2`."""
    return np.exp2(x)


exp2.defvjp(lambda g, out, x: g * out * _LN2)  # d 2^x = 2^x ln 2 dx


@op
def square(x):
    """x * x, as `np.square`."""
    return np.square(x)


square.defvjp(lambda g, out, x: g * 2 * x)  # d x² = 2x dx


@op
def reciprocal(x):
    """1 / x, as `np.reciprocal`."""
    return np.reciprocal(x)


reciprocal.defvjp(lambda g, out, x: -g * out * out)  # d (1/x) = -dx / x²


@op
def logaddexp(a, b):
    """log(e^a + e^b), without overflow."""
    return np.logaddexp(a, b)


# d log(e^a + e^b) = (e^a da + e^b db) / (e^a + e^b): each input's share, e^(a - out), never overflows.
logaddexp.defvjp(
    lambda g, out, a, b: g * exp(a - out),
    lambda g, out, a, b: g * exp(b - out),
)


@op
def logaddexp2(a, b):
    """log2(2^a + 2^b), without overflow."""
    return np.logaddexp2(a, b)


logaddexp2.defvjp(
    lambda g, out, a, b: g * exp((a - out) * _LN2),
    lambda g, out, a, b: g * exp((b - out) * _LN2),
)


@op
def power(x, y):
    """x ** y elementwise, either or both a Tensor, as `np.power`."""
    return np.power(x, y)


# d x^y = y x^(y-1) dx + x^y log(x) dy. As autograd: where y = 0 the first is 0 (x^(y-1) would be 1/0
# at x = 0), and log(x) is read as 0 at x = 0 (the dy term of 0^y, y > 0, is 0).
power.defvjp(
    lambda g, out, x, y: g * y * power(x, where(array_of(y) != 0, y - 1, 1.0)),
    lambda g, out, x, y: g * out * log(where(array_of(x) == 0, 1.0, x)),
)


__all__ = [
    "exp2",
    "expm1",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "power",
    "reciprocal",
    "square",
]
