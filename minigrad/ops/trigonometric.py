"""Trigonometric and hyperbolic functions and their inverses, each forward beside its rule.

Each rule is the textbook derivative written with minigrad's own functions, so it serves second order
too. At the edges of a domain (arcsin at ±1, arccosh at 1, arctanh at ±1) the derivative is infinite
and the rule gives inf or nan, as NumPy's values, autograd and PyTorch do.
"""

from __future__ import annotations

import numpy as np

from minigrad.op import op
from minigrad.ops.common import array_of
from minigrad.ops.elementwise import sqrt, where


@op
def sin(x):
    """The sine of x in radians, as `np.sin`."""
    return np.sin(x)


sin.defvjp(lambda g, out, x: g * cos(x))  # d sin = cos dx


@op
def cos(x):
    """The cosine of x in radians, as `np.cos`."""
    return np.cos(x)


cos.defvjp(lambda g, out, x: -g * sin(x))  # d cos = -sin dx


@op
def tan(x):
    """The tangent of x in radians, as `np.tan`."""
    return np.tan(x)


tan.defvjp(lambda g, out, x: g * (1 + out * out))  # d tan = (1 + tan²) dx


@op
def arcsin(x):
    """The inverse sine, in [-π/2, π/2], as `np.arcsin`."""
    return np.arcsin(x)


arcsin.defvjp(lambda g, out, x: g / sqrt(1 - x * x))  # d arcsin = dx / sqrt(1 - x²)


@op
def arccos(x):
    """The inverse cosine, in [0, π], as `np.arccos`."""
    return np.arccos(x)


arccos.defvjp(lambda g, out, x: -g / sqrt(1 - x * x))  # d arccos = -dx / sqrt(1 - x²)


@op
def arctan(x):
    """The inverse tangent, in (-π/2, π/2), as `np.arctan`."""
    return np.arctan(x)


arctan.defvjp(lambda g, out, x: g / (1 + x * x))  # d arctan = dx / (1 + x²)


@op
def sinh(x):
    """The hyperbolic sine, as `np.sinh`."""
    return np.sinh(x)


sinh.defvjp(lambda g, out, x: g * cosh(x))  # d sinh = cosh dx


@op
def cosh(x):
    """The hyperbolic cosine, as `np.cosh`."""
    return np.cosh(x)


cosh.defvjp(lambda g, out, x: g * sinh(x))  # d cosh = sinh dx


@op
def arcsinh(x):
    """The inverse hyperbolic sine, as `np.arcsinh`."""
    return np.arcsinh(x)


arcsinh.defvjp(lambda g, out, x: g / sqrt(x * x + 1))  # d arcsinh = dx / sqrt(x² + 1)


@op
def arccosh(x):
    """The inverse hyperbolic cosine (x >= 1), as `np.arccosh`."""
    return np.arccosh(x)


arccosh.defvjp(lambda g, out, x: g / sqrt(x * x - 1))  # d arccosh = dx / sqrt(x² - 1), x > 1


@op
def arctanh(x):
    """The inverse hyperbolic tangent (|x| < 1), as `np.arctanh`."""
    return np.arctanh(x)


arctanh.defvjp(lambda g, out, x: g / (1 - x * x))  # d arctanh = dx / (1 - x²)


@op
def sinc(x):
    """sin(πx) / (πx), 1 at 0, as `np.sinc`."""
    return np.sinc(x)


def _sinc_slope(x):
    """d sinc / dx = (cos(πx) - sinc(x)) / x, and 0 at x = 0 where sinc is flat.

    At exactly 0 the slope is taken from the other branch of a `where`, as autograd and PyTorch do, so
    the second derivative there is 0, not sinc''(0) = -π²/3; everywhere else it is exact.
    """
    at_zero = array_of(x) == 0
    safe = where(at_zero, 1.0, x)  # 1 where x is 0, to keep the unused branch finite
    return where(at_zero, 0.0, (cos(np.pi * safe) - sinc(safe)) / safe)


sinc.defvjp(lambda g, out, x: g * _sinc_slope(x))


@op
def deg2rad(x):
    """Degrees to radians, as `np.deg2rad`."""
    return np.deg2rad(x)


deg2rad.defvjp(lambda g, out, x: g * (np.pi / 180))


@op
def rad2deg(x):
    """Radians to degrees, as `np.rad2deg`."""
    return np.rad2deg(x)


rad2deg.defvjp(lambda g, out, x: g * (180 / np.pi))


@op
def arctan2(y, x):
    """The angle of the point (x, y), as `np.arctan2(y, x)`: y first."""
    return np.arctan2(y, x)


# d atan2(y, x) = (x dy - y dx) / (x² + y²); at the origin both are 0/0 = nan (autograd; PyTorch too).
arctan2.defvjp(
    lambda g, out, y, x: g * x / (x * x + y * y),
    lambda g, out, y, x: -g * y / (x * x + y * y),
)


@op
def hypot(a, b):
    """sqrt(a² + b²) without overflow, as `np.hypot`."""
    return np.hypot(a, b)


# d hypot(a, b) = (a da + b db) / hypot; at a = b = 0 this is 0/0 = nan, as autograd's.
hypot.defvjp(
    lambda g, out, a, b: g * a / out,
    lambda g, out, a, b: g * b / out,
)


__all__ = [
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "cos",
    "cosh",
    "deg2rad",
    "hypot",
    "rad2deg",
    "sin",
    "sinc",
    "sinh",
    "tan",
]
