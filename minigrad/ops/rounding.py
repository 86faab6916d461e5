"""Steps and remainders, each forward beside its rule: sign, floor, ceil, trunc, rint, round (all with
gradient 0, as autograd and PyTorch), remainder / mod, fmod, and real / conj of real data (identity).

Also the comparisons as masks, `is_less(a, b)` ... : 1.0 where the relation holds, else 0.0, with no
gradient. The rules that pass a gradient only where an input won (relu, abs, maximum, max, clip) build
their masks from these, so that under `create_graph=True` the mask is an operation of the graph, computed
again from new inputs (an exported training step), not a constant read off the values it was traced with.
On an ordinary backward pass they are given arrays and return arrays: NumPy's comparison, as before."""

from __future__ import annotations

import numpy as np

from minigrad.op import op
from minigrad.ops.common import array_of


def _flat(g, out, x, **options):
    """A step function is flat wherever it has a derivative; at its jumps it is taken as 0 too."""
    return np.zeros_like(array_of(g))


@op
def sign(x):
    """-1, 0 or 1 as x is below, at or above 0, as `np.sign`."""
    return np.sign(x)


@op
def floor(x):
    """The largest whole number <= x, as `np.floor`."""
    return np.floor(x)


@op
def ceil(x):
    """The smallest whole number >= x, as `np.ceil`."""
    return np.ceil(x)


@op
def trunc(x):
    """x with its fraction dropped (towards 0), as `np.trunc`."""
    return np.trunc(x)


@op
def rint(x):
    """The nearest whole number, halves to even, as `np.rint`."""
    return np.rint(x)


@op(name="round")
def round(x, decimals=0):
    """Round half to even, to `decimals` places, as `np.round`."""
    return np.round(x, decimals)


sign.defvjp(_flat)
floor.defvjp(_flat)
ceil.defvjp(_flat)
trunc.defvjp(_flat)
rint.defvjp(_flat)
round.defvjp(_flat)


@op
def remainder(a, b):
    """a - floor(a / b) b: the sign of b, as `np.remainder` and Python's `%`."""
    return np.remainder(a, b)


# d(a - floor(a/b) b) = da - floor(a/b) db between the jumps, as autograd and PyTorch.
remainder.defvjp(
    lambda g, out, a, b: g,
    lambda g, out, a, b: -g * np.floor(array_of(a) / array_of(b)),
)

mod = remainder


@op
def fmod(a, b):
    """a - trunc(a / b) b: the sign of a, as `np.fmod` and C's fmod."""
    return np.fmod(a, b)


fmod.defvjp(
    lambda g, out, a, b: g,
    lambda g, out, a, b: -g * np.trunc(array_of(a) / array_of(b)),
)


@op
def real(x):
    """The real part: a Tensor holds real numbers only, so the data itself (a copy)."""
    return np.array(x)


@op
def conj(x):
    """The complex conjugate: of real numbers, the numbers themselves (a copy)."""
    return np.array(x)


@op
def imag(x):
    """The imaginary part: of a Tensor's real numbers, zeros (with gradient 0)."""
    return np.zeros_like(x)


@op
def angle(x):
    """The argument of each number: 0 for a real number >= 0, π for one below 0, gradient 0."""
    return np.angle(x)


def _as_mask(holds: np.ndarray, a, b) -> np.ndarray:
    """A comparison's booleans as 0.0 and 1.0, in the dtype of `a` (a float32 x beside a float64 bound
    stays float32, so that its gradient does too), or of both where `a` is no floating array."""
    dtype = a.dtype if isinstance(a, np.ndarray) and a.dtype.kind == "f" else np.result_type(a, b)
    return holds.astype(dtype if dtype.kind == "f" else np.float64)


@op
def is_less(a, b):
    """1.0 where `a < b`, else 0.0 (NaN compares false): a mask, with no gradient."""
    return _as_mask(np.less(a, b), a, b)


@op
def is_less_equal(a, b):
    """1.0 where `a <= b`, else 0.0 (NaN compares false): a mask, with no gradient."""
    return _as_mask(np.less_equal(a, b), a, b)


@op
def is_equal(a, b):
    """1.0 where `a == b`, else 0.0 (NaN compares false): a mask, with no gradient."""
    return _as_mask(np.equal(a, b), a, b)


@op
def is_greater_equal(a, b):
    """1.0 where `a >= b`, else 0.0 (NaN compares false): a mask, with no gradient."""
    return _as_mask(np.greater_equal(a, b), a, b)


def _no_gradient(g, out, a, b):
    """A mask is flat wherever it has a derivative: no gradient reaches either operand."""
    return None, None


is_less.defvjp(_no_gradient)
is_less_equal.defvjp(_no_gradient)
is_equal.defvjp(_no_gradient)
is_greater_equal.defvjp(_no_gradient)


real.defvjp(lambda g, out, x: g)
imag.defvjp(_flat)
angle.defvjp(_flat)
conj.defvjp(lambda g, out, x: g)


__all__ = [
    "angle",
    "ceil",
    "conj",
    "floor",
    "fmod",
    "imag",
    "is_equal",
    "is_greater_equal",
    "is_less",
    "is_less_equal",
    "mod",
    "real",
    "remainder",
    "rint",
    "round",
    "sign",
    "trunc",
]
