"""Order statistics and NaN-aware functions, written with the operations whose rules they inherit:
median, quantile, percentile, nanmax, nanmin, cov, corrcoef, nan_to_num, fmax, fmin, cbrt, cross,
convolve, correlate, meshgrid.

An order statistic is picking (`sort`, then indexing), so its gradient goes to the element picked (to one
of tied elements: the first in a stable sort, as `torch.median` also picks one), and to both neighbours in
the share the interpolation gave them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.assembly import flip, moveaxis, pad, ravel, sort, swapaxes
from minigrad.ops.common import Operand, array_of, normalise_axes
from minigrad.ops.contractions import dot
from minigrad.ops.elementwise import maximum, minimum, sqrt, where
from minigrad.ops.reductions import max, mean, min
from minigrad.ops.shape import broadcast_to, expand_dims, getitem, reshape, stack
from minigrad.tensor import Tensor


def _along_last(a: Operand, axis: Any) -> tuple[Any, int | None]:
    """`a` sorted along `axis`, moved last (flattened for None), and the axis it came from."""
    if axis is None:
        return sort(ravel(a), axis=-1), None
    (axis,) = normalise_axes(array_of(a), axis, "quantile")
    return moveaxis(sort(a, axis=axis), axis, -1), axis


def quantile(a: Operand, q: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """The `q`-th quantile (0 <= q <= 1) along `axis`, as `np.quantile` with its default, linear method."""
    q = np.asarray(q, dtype=float)
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"quantile: q must be within [0, 1], got {q.tolist()}")
    ordered, axis = _along_last(a, axis)
    n = ordered.shape[-1]
    position = q * (n - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, n - 1)
    share = position - low  # the interpolation's weight on the upper neighbour: a constant
    result = getitem(ordered, (Ellipsis, low)) * (1 - share) + getitem(ordered, (Ellipsis, high)) * share
    if q.ndim:  # NumPy puts the quantiles' axis first
        result = moveaxis(result, -1, 0)
    if keepdims and axis is None:
        return reshape(result, q.shape + (1,) * np.ndim(array_of(a)))
    return expand_dims(result, axis=axis + q.ndim) if keepdims else result


def percentile(a: Operand, q: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """The `q`-th percentile (0 <= q <= 100), as `np.percentile`."""
    return quantile(a, np.asarray(q, dtype=float) / 100, axis=axis, keepdims=keepdims)


def median(a: Operand, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """The middle value along `axis` (the mean of the two middle ones for an even count), as `np.median`."""
    return quantile(a, 0.5, axis=axis, keepdims=keepdims)


def nanmax(a: Operand, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The max ignoring NaNs, as `np.nanmax`; a NaN gets no gradient."""
    return max(where(np.isnan(array_of(a)), -np.inf, a), axis=axis, keepdims=keepdims)


def nanmin(a: Operand, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The min ignoring NaNs, as `np.nanmin`; a NaN gets no gradient."""
    return min(where(np.isnan(array_of(a)), np.inf, a), axis=axis, keepdims=keepdims)


def nan_to_num(
    x: Operand, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Tensor:
    """NaN and infinities replaced by numbers, as `np.nan_to_num`; the replaced elements get no gradient."""
    data = array_of(x)
    largest = np.finfo(data.dtype).max
    x = where(np.isnan(data), nan, x)
    x = where(np.isposinf(data), largest if posinf is None else posinf, x)
    return where(np.isneginf(data), -largest if neginf is None else neginf, x)


def fmax(a: Operand, b: Operand) -> Tensor:
    """The larger of each pair, a NaN losing to a number, as `np.fmax`; ties as `maximum`."""
    na, nb = np.isnan(array_of(a)), np.isnan(array_of(b))
    return where(na, b, where(nb, a, maximum(a, b)))


def fmin(a: Operand, b: Operand) -> Tensor:
    """The smaller of each pair, a NaN losing to a number, as `np.fmin`; ties as `minimum`."""
    na, nb = np.isnan(array_of(a)), np.isnan(array_of(b))
    return where(na, b, where(nb, a, minimum(a, b)))


@op
def cbrt(x):
    """The real cube root, for negative numbers too, as `np.cbrt`."""
    return np.cbrt(x)


cbrt.defvjp(lambda g, out, x: g / (3 * out * out))  # d x^(1/3) = dx / (3 x^(2/3)); infinite at 0


def cov(
    m: Operand, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: int | None = None
) -> Tensor:
    """The covariance matrix of the variables (rows, or columns with rowvar=False), as `np.cov`."""
    if y is not None:
        from minigrad.ops.shape import concatenate

        m = concatenate(
            [reshape(m, (-1, np.shape(array_of(m))[-1])), reshape(y, (-1, np.shape(array_of(y))[-1]))]
        )
    x = m if rowvar else swapaxes(m, 0, -1) if np.ndim(array_of(m)) > 1 else m
    x = reshape(x, (1, -1)) if np.ndim(array_of(x)) == 1 else x
    n = np.shape(array_of(x))[1]
    ddof = (0 if bias else 1) if ddof is None else ddof
    centred = x - mean(x, axis=1, keepdims=True)
    result = dot(centred, swapaxes(centred, 0, 1)) / (n - ddof)
    return reshape(result, ()) if result.shape == (1, 1) else result


def corrcoef(x: Operand, y: Any = None, rowvar: bool = True) -> Tensor:
    """The correlation coefficients of the variables, as `np.corrcoef`."""
    c = cov(x, y, rowvar=rowvar)
    if c.ndim == 0:
        return c / c
    spread = sqrt(getitem(c, (np.arange(c.shape[0]), np.arange(c.shape[0]))))
    return c / reshape(spread, (-1, 1)) / reshape(spread, (1, -1))


def cross(
    a: Operand, b: Operand, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Tensor:
    """The cross product of 3-vectors, as `np.cross`: along `axisa` of a, `axisb` of b, into `axisc`."""
    if axis is not None:
        axisa = axisb = axisc = axis
    sa, sb = np.shape(array_of(a)), np.shape(array_of(b))
    if sa[axisa] != 3 or sb[axisb] != 3:
        raise ValueError(
            f"cross: needs vectors of 3 along the axes {axisa}, {axisb}, got shapes {sa} and {sb}"
        )
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    x, y = ([getitem(v, (Ellipsis, i)) for i in range(3)] for v in (a, b))
    parts = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]]
    return moveaxis(stack(parts, axis=-1), -1, axisc)


def convolve(a: Operand, v: Operand, mode: str = "full") -> Tensor:
    """The discrete convolution of two 1-D sequences, as `np.convolve` (modes full, same, valid)."""
    n, k = np.shape(array_of(a))[0], np.shape(array_of(v))[0]
    if n < k:  # NumPy swaps them: convolution is symmetric
        return convolve(v, a, mode)
    padded = pad(a, (k - 1, k - 1))
    windows = getitem(padded, np.arange(n + k - 1)[:, None] + np.arange(k)[None, :])  # (n + k - 1, k)
    full = dot(windows, flip(v))
    if mode == "full":
        return full
    if mode == "same":
        start = (k - 1) // 2
        return getitem(full, slice(start, start + n))
    if mode == "valid":
        return getitem(full, slice(k - 1, n))
    raise ValueError(f"convolve: mode must be 'full', 'same' or 'valid', got {mode!r}")


def correlate(a: Operand, v: Operand, mode: str = "valid") -> Tensor:
    """The cross-correlation of two 1-D sequences of real numbers, as `np.correlate`."""
    n, k = np.shape(array_of(a))[0], np.shape(array_of(v))[0]
    if n < k:  # NumPy's result for the swapped pair, reversed
        return flip(correlate(v, a, mode))
    return convolve(a, flip(v), mode)


def meshgrid(*xi: Operand, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-D coordinates, as `np.meshgrid` (indexing 'xy' or 'ij')."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    sizes = [np.size(array_of(x)) for x in xi]
    if indexing == "xy" and len(xi) > 1:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, x in enumerate(xi):
        place = 1 - i if indexing == "xy" and i < 2 and len(xi) > 1 else i
        shape = [1] * len(xi)
        shape[place] = -1
        grids.append(broadcast_to(reshape(x, tuple(shape)), shape=tuple(sizes)))
    return grids


__all__ = [
    "cbrt",
    "convolve",
    "corrcoef",
    "correlate",
    "cov",
    "cross",
    "fmax",
    "fmin",
    "median",
    "meshgrid",
    "nan_to_num",
    "nanmax",
    "nanmin",
    "percentile",
    "quantile",
]
