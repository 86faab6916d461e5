"""Products, running sums and spreads, each forward beside its rule where it has one:
prod, cumsum, cumprod, var, std, average, ptp, nansum, nanmean.

`var`, `std`, `average`, `ptp`, `nansum` and `nanmean` are written with `sum`, `mean`, `max`, `min` and
`where`, so they inherit those rules (and their ties: `ptp` shares its gradient among tied extremes as
`max` and `min` do).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.assembly import flip, moveaxis, ravel
from minigrad.ops.common import Operand, array_of, normalise_axes
from minigrad.ops.elementwise import sqrt, where
from minigrad.ops.reductions import max, mean, min, sum
from minigrad.ops.shape import concatenate, reshape
from minigrad.tensor import Tensor


@op(name="cumsum")
def _cumsum(x, *, axis):
    return np.cumsum(x, axis=axis)


# Element j reaches every running sum from j on: its gradient is the sum of g from j to the end.
_cumsum.defvjp(lambda g, out, x, *, axis: flip(_cumsum(flip(g, axis), axis=axis), axis))


def cumsum(x: Operand, axis: int | None = None) -> Tensor:
    """Running sums along `axis` (of the flattened input for None), as `np.cumsum`."""
    if axis is None:
        return _cumsum(ravel(x), axis=0)
    (axis,) = normalise_axes(array_of(x), axis, "cumsum")
    return _cumsum(x, axis=axis)


@op(name="cumprod")
def _cumprod(x, *, axis):
    return np.cumprod(x, axis=axis)


# d out_k / d x_j = out_k / x_j for k >= j: the gradient is the reversed running sum of g out, over x.
# At an element exactly 0 this divides by 0 (inf or nan), as autograd's prod rule does; `prod` below
# has a rule of its own that is exact there.
_cumprod.defvjp(lambda g, out, x, *, axis: flip(_cumsum(flip(g * out, axis), axis=axis), axis) / x)


def cumprod(x: Operand, axis: int | None = None) -> Tensor:
    """Running products along `axis` (of the flattened input for None), as `np.cumprod`."""
    if axis is None:
        return _cumprod(ravel(x), axis=0)
    (axis,) = normalise_axes(array_of(x), axis, "cumprod")
    return _cumprod(x, axis=axis)


def _others(x: Any) -> Any:
    """Along the last axis, the product of every other element: exact where an element is 0 (no division)."""
    ones = np.ones((*array_of(x).shape[:-1], 1), dtype=array_of(x).dtype)
    before = _cumprod(concatenate([ones, x[..., :-1]], axis=-1), axis=-1)
    after = flip(_cumprod(concatenate([ones, flip(x, -1)[..., :-1]], axis=-1), axis=-1), -1)
    return before * after


def _prod_vjp(g, out, x, axis=None, keepdims=False):
    """Each element's gradient is g times the product of the others, as PyTorch (exact at zeros)."""
    axes = tuple(range(x.ndim)) if axis is None else normalise_axes(array_of(x), axis, "prod")
    rest = [i for i in range(x.ndim) if i not in axes]
    moved = moveaxis(x, (*rest, *axes), tuple(range(x.ndim)))  # reduced axes last, flattened to one
    flat = reshape(moved, (*moved.shape[: len(rest)], -1))
    others = reshape(_others(flat), moved.shape)
    others = moveaxis(others, tuple(range(x.ndim)), (*rest, *axes))
    if not keepdims:
        g = reshape(g, tuple(1 if i in axes else n for i, n in enumerate(x.shape)))
    return g * others


@op
def prod(x, axis=None, keepdims=False):
    """The product of the elements over `axis`, as `np.prod`."""
    return np.prod(x, axis=normalise_axes(x, axis, "prod"), keepdims=keepdims)


prod.defvjp(_prod_vjp)


def var(x: Operand, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """The variance over `axis`, dividing by n - ddof, as `np.var`."""
    data = array_of(x)
    axes = normalise_axes(data, axis, "var")
    n = data.size if axes is None else int(np.prod([data.shape[a] for a in axes]))
    if n - ddof <= 0:
        raise ValueError(
            f"var: ddof={ddof} leaves no degrees of freedom for {n} elements (shape {data.shape})"
        )
    centred = x - mean(x, axis=axes, keepdims=True)
    return sum(centred * centred, axis=axes, keepdims=keepdims) / (n - ddof)


def std(x: Operand, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    """The standard deviation over `axis`, as `np.std`.

    Where it is 0 its gradient is 0/0 = nan, as PyTorch's."""
    return sqrt(var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def average(
    a: Operand, axis: Any = None, weights: Any = None, returned: bool = False, keepdims: bool = False
) -> Any:
    """The weighted mean over `axis`, as `np.average`; the weights may be a Tensor too."""
    if weights is None:
        result, total = mean(a, axis=axis, keepdims=keepdims), None
    else:
        shape, wshape = np.shape(array_of(a)), np.shape(array_of(weights))
        if wshape != shape:
            if axis is None or len(wshape) != 1 or not isinstance(axis, int) or wshape[0] != shape[axis]:
                raise ValueError(
                    f"average: weights of shape {wshape} do not fit an input of shape {shape} on axis {axis}"
                )
            axis = normalise_axes(array_of(a), axis, "average")[0]
            weights = reshape(weights, tuple(-1 if i == axis else 1 for i in range(len(shape))))
        total = sum(weights * np.ones(shape), axis=axis, keepdims=keepdims)
        result = sum(a * weights, axis=axis, keepdims=keepdims) / total
    if returned:
        return result, total if total is not None else result * 0 + np.size(array_of(a)) / np.size(
            array_of(result)
        )
    return result


def ptp(x: Operand, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The range max - min over `axis`, as `np.ptp`."""
    return max(x, axis=axis, keepdims=keepdims) - min(x, axis=axis, keepdims=keepdims)


def nansum(x: Operand, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The sum over `axis` with NaNs read as 0 (and given no gradient), as `np.nansum`."""
    return sum(where(np.isnan(array_of(x)), 0.0, x), axis=axis, keepdims=keepdims)


def nanmean(x: Operand, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The mean over `axis` of the elements that are not NaN, as `np.nanmean`."""
    counted = np.sum(
        ~np.isnan(array_of(x)), axis=normalise_axes(array_of(x), axis, "nanmean"), keepdims=keepdims
    )
    return nansum(x, axis=axis, keepdims=keepdims) / counted


def gradient(f: Operand, *varargs: float, axis: Any = None) -> Any:
    """The slope of sampled values along each axis, as `np.gradient` (scalar spacings, edge_order 1):
    central differences inside, one-sided at the ends. A list for several axes, as NumPy."""
    data = array_of(f)
    axes = tuple(range(data.ndim)) if axis is None else normalise_axes(data, axis, "gradient")
    spacings = varargs if len(varargs) == len(axes) else varargs * len(axes) if len(varargs) == 1 else ()
    if varargs and not spacings:
        raise ValueError(f"gradient: {len(varargs)} spacings for {len(axes)} axes")
    slopes = []
    for k, a in enumerate(axes):
        if data.shape[a] < 2:
            raise ValueError(f"gradient: axis {a} of shape {data.shape} needs at least 2 samples")
        h = float(spacings[k]) if spacings else 1.0

        def part(start, stop, a=a):
            return f[(slice(None),) * a + (slice(start, stop),)]

        inside = (part(2, None) - part(None, -2)) / (2 * h)
        first, last = (part(1, 2) - part(0, 1)) / h, (part(-1, None) - part(-2, -1)) / h
        slopes.append(concatenate([first, inside, last], axis=a))
    return slopes[0] if len(slopes) == 1 else slopes


__all__ = ["average", "cumprod", "cumsum", "gradient", "nanmean", "nansum", "prod", "ptp", "std", "var"]
