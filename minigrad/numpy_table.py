"""The tables behind NumPy's functions on Tensors: which minigrad operation computes each, which are
answered on the values, and what to write instead of the others. `numpy_api.py` dispatches through them.

Three kinds of entry:
- an operation with a gradient (`UFUNCS`, `FUNCTIONS`): `np.sin(t)` is `mg.sin(t)`, in the graph;
- a function whose answer has no gradient at all, a position, a truth value or a shape (`VALUE_UFUNCS`,
  `VALUE_FUNCTIONS`): answered on the values with NumPy itself, as autograd does, building no graph;
- a function minigrad has no rule for (`HINTS`): refused with a `TypeError` that says what to write.
Each handler takes NumPy's arguments by NumPy's names, as far as minigrad supports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.tensor import Tensor


def _power(base: Any, exponent: Any) -> Tensor:
    if isinstance(base, Tensor) and not isinstance(exponent, Tensor | np.ndarray):
        return ops.pow(base, exponent)
    return ops.power(base, exponent)


def _floor_divide(a: Any, b: Any) -> Tensor:
    return ops.floor(ops.div(a, b))


# ufunc -> the minigrad operation that computes it, with the same positional inputs.
UFUNCS: dict[np.ufunc, Callable[..., Any]] = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.divide: ops.div,
    np.negative: ops.neg,
    np.positive: ops.copy,
    np.power: _power,
    np.float_power: ops.power,
    np.matmul: ops.matmul,
    np.exp: ops.exp,
    np.exp2: ops.exp2,
    np.expm1: ops.expm1,
    np.log: ops.log,
    np.log2: ops.log2,
    np.log10: ops.log10,
    np.log1p: ops.log1p,
    np.logaddexp: ops.logaddexp,
    np.logaddexp2: ops.logaddexp2,
    np.sqrt: ops.sqrt,
    np.square: ops.square,
    np.reciprocal: ops.reciprocal,
    np.absolute: ops.abs,
    np.fabs: ops.abs,
    np.maximum: ops.maximum,
    np.minimum: ops.minimum,
    np.sin: ops.sin,
    np.cos: ops.cos,
    np.tan: ops.tan,
    np.arcsin: ops.arcsin,
    np.arccos: ops.arccos,
    np.arctan: ops.arctan,
    np.sinh: ops.sinh,
    np.cosh: ops.cosh,
    np.tanh: ops.tanh,
    np.arcsinh: ops.arcsinh,
    np.arccosh: ops.arccosh,
    np.arctanh: ops.arctanh,
    np.arctan2: ops.arctan2,
    np.hypot: ops.hypot,
    np.deg2rad: ops.deg2rad,
    np.radians: ops.deg2rad,
    np.rad2deg: ops.rad2deg,
    np.degrees: ops.rad2deg,
    np.sign: ops.sign,
    np.floor: ops.floor,
    np.ceil: ops.ceil,
    np.trunc: ops.trunc,
    np.rint: ops.rint,
    np.remainder: ops.remainder,
    np.fmod: ops.fmod,
    np.floor_divide: _floor_divide,
    np.conjugate: ops.conj,
    np.cbrt: ops.cbrt,
    np.fmax: ops.fmax,
    np.fmin: ops.fmin,
}

# Ufuncs whose answer is a truth value: computed on the values, with every option NumPy takes.
VALUE_UFUNCS: frozenset[np.ufunc] = frozenset(
    {
        np.less,
        np.less_equal,
        np.greater,
        np.greater_equal,
        np.equal,
        np.not_equal,
        np.isnan,
        np.isinf,
        np.isfinite,
        np.signbit,
        np.logical_and,
        np.logical_or,
        np.logical_xor,
        np.logical_not,
    }
)


def _reduction(operation: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def handler(a, axis=None, keepdims=False):
        return operation(a, axis=axis, keepdims=keepdims)

    handler.__name__ = operation.__name__
    return handler


def _spread(operation: Callable[..., Tensor]) -> Callable[..., Tensor]:
    def handler(a, axis=None, *, ddof=0, keepdims=False):
        return operation(a, axis=axis, ddof=ddof, keepdims=keepdims)

    handler.__name__ = operation.__name__
    return handler


def _clip(a, a_min=None, a_max=None, *, min=None, max=None):
    return ops.clip(a, a_min if a_min is not None else min, a_max if a_max is not None else max)


def _transpose(a, axes=None):
    return ops.transpose(a, None if axes is None else tuple(axes))


def _broadcast_to(array, shape):
    return ops.broadcast_to(array, shape=(shape,) if np.ndim(shape) == 0 else tuple(shape))


def _expand_dims(a, axis):
    return ops.expand_dims(a, axis=axis)


def _reshape(a, shape):
    return ops.reshape(a, shape)


def _ravel(a, order="C"):
    if order != "C":
        raise TypeError(f"np.ravel(..., order={order!r}) on a Tensor: only order='C' is supported")
    return ops.ravel(a)


def _each(operation: Callable[[Any], Tensor]) -> Callable[..., Any]:
    """NumPy's atleast_nd: one array for one input, a tuple for several."""

    def handler(*arys):
        results = tuple(operation(a) for a in arys)
        return results[0] if len(results) == 1 else results

    handler.__name__ = operation.__name__
    return handler


def _stacking(operation: Callable[[Any], Tensor]) -> Callable[..., Tensor]:
    """np.vstack and np.hstack take a dtype and a casting rule: only the default (None) here."""

    def handler(tup, *, dtype=None, casting="same_kind"):
        if dtype is not None:
            raise TypeError(f"np.{operation.__name__}(..., dtype={dtype!r}) on a Tensor: leave dtype out")
        return operation(tup)

    handler.__name__ = operation.__name__
    return handler


def _linspace(start, stop, num=50, endpoint=True):
    return ops.linspace(start, stop, num, endpoint)


def _angle(z, deg=False):
    return ops.rad2deg(ops.angle(z)) if deg else ops.angle(z)


def _sort(a, axis=-1, kind=None):
    return ops.sort(a, axis=axis)


def _cholesky(a, *, upper=False):
    lower = ops.cholesky(a)
    return lower.mT if upper else lower


def _pinv(a, rcond=None, hermitian=False):
    return ops.pinv(a, rcond=rcond)


def _vecdot(x1, x2, axis=-1):
    return ops.sum(x1 * x2, axis=axis)


def _unstack(x, axis=0):
    return tuple(ops.moveaxis(x, axis, 0))


FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: _reduction(ops.sum),
    np.mean: _reduction(ops.mean),
    np.max: _reduction(ops.max),
    np.amax: _reduction(ops.max),
    np.min: _reduction(ops.min),
    np.amin: _reduction(ops.min),
    np.prod: _reduction(ops.prod),
    np.ptp: _reduction(ops.ptp),
    np.nansum: _reduction(ops.nansum),
    np.nanmean: _reduction(ops.nanmean),
    np.var: _spread(ops.var),
    np.std: _spread(ops.std),
    np.average: ops.average,
    np.cumsum: ops.cumsum,
    np.cumprod: ops.cumprod,
    np.clip: _clip,
    np.where: ops.where,
    np.concatenate: ops.concatenate,
    np.concat: ops.concatenate,
    np.stack: ops.stack,
    np.vstack: _stacking(ops.vstack),
    np.hstack: _stacking(ops.hstack),
    np.dstack: ops.dstack,
    np.column_stack: ops.column_stack,
    np.append: ops.append,
    np.split: ops.split,
    np.array_split: ops.array_split,
    np.hsplit: ops.hsplit,
    np.vsplit: ops.vsplit,
    np.dsplit: ops.dsplit,
    np.unstack: _unstack,
    np.reshape: _reshape,
    np.ravel: _ravel,
    np.transpose: _transpose,
    np.permute_dims: _transpose,
    np.matrix_transpose: ops.matrix_transpose,
    np.swapaxes: ops.swapaxes,
    np.moveaxis: ops.moveaxis,
    np.expand_dims: _expand_dims,
    np.squeeze: ops.squeeze,
    np.broadcast_to: _broadcast_to,
    np.broadcast_arrays: ops.broadcast_arrays,
    np.atleast_1d: _each(ops.atleast_1d),
    np.atleast_2d: _each(ops.atleast_2d),
    np.atleast_3d: _each(ops.atleast_3d),
    np.repeat: ops.repeat,
    np.tile: ops.tile,
    np.roll: ops.roll,
    np.flip: ops.flip,
    np.fliplr: ops.fliplr,
    np.flipud: ops.flipud,
    np.tril: ops.tril,
    np.triu: ops.triu,
    np.diag: ops.diag,
    np.diagonal: ops.diagonal,
    np.trace: ops.trace,
    np.pad: ops.pad,
    np.take: ops.take,
    np.take_along_axis: ops.take_along_axis,
    np.sort: _sort,
    np.diff: ops.diff,
    np.copy: ops.copy,
    np.round: ops.round,
    np.around: ops.round,
    np.fix: ops.trunc,
    np.real: ops.real,
    np.real_if_close: ops.real,
    np.sinc: ops.sinc,
    np.dot: ops.dot,
    np.vdot: ops.vdot,
    np.inner: ops.inner,
    np.outer: ops.outer,
    np.tensordot: ops.tensordot,
    np.einsum: ops.einsum,
    np.kron: ops.kron,
    np.vecdot: _vecdot,
    np.linalg.matmul: ops.matmul,
    np.linalg.outer: ops.outer,
    np.linalg.tensordot: ops.tensordot,
    np.linalg.vecdot: _vecdot,
    np.linalg.matrix_transpose: ops.matrix_transpose,
    np.linalg.inv: ops.inv,
    np.linalg.det: ops.det,
    np.linalg.slogdet: ops.slogdet,
    np.linalg.solve: ops.solve,
    np.linalg.cholesky: _cholesky,
    np.linalg.eigh: ops.eigh,
    np.linalg.eigvalsh: ops.eigenvalues,
    np.linalg.svd: ops.svd,
    np.linalg.svdvals: ops.singular_values,
    np.linalg.pinv: _pinv,
    np.linalg.norm: ops.norm,
    np.linalg.qr: ops.qr,
    np.linalg.cond: ops.cond,
    np.linalg.lstsq: ops.lstsq,
    np.linalg.matrix_power: ops.matrix_power,
    np.linalg.multi_dot: ops.multi_dot,
    np.median: ops.median,
    np.quantile: ops.quantile,
    np.percentile: ops.percentile,
    np.nanmax: _reduction(ops.nanmax),
    np.nanmin: _reduction(ops.nanmin),
    np.nan_to_num: ops.nan_to_num,
    np.cov: ops.cov,
    np.corrcoef: ops.corrcoef,
    np.cross: ops.cross,
    np.convolve: ops.convolve,
    np.correlate: ops.correlate,
    np.meshgrid: ops.meshgrid,
    np.rot90: ops.rot90,
    np.rollaxis: ops.rollaxis,
    np.select: ops.select,
    np.linspace: _linspace,
    np.gradient: ops.gradient,
    np.imag: ops.imag,
    np.angle: _angle,
}

# Functions whose answer has no gradient (a truth value, a position, a count, a shape, a new array of
# the same shape): answered on the values, as autograd does; they build no graph.
VALUE_FUNCTIONS: frozenset[Any] = frozenset(
    {
        np.isclose,
        np.allclose,
        np.array_equal,
        np.array_equiv,
        np.isneginf,
        np.isposinf,
        np.iscomplex,
        np.isreal,
        np.iscomplexobj,
        np.isrealobj,
        np.any,
        np.all,
        np.argmax,
        np.argmin,
        np.argsort,
        np.argwhere,
        np.nonzero,
        np.flatnonzero,
        np.count_nonzero,
        np.searchsorted,
        np.digitize,
        np.histogram,
        np.histogram_bin_edges,
        np.unique,
        np.zeros_like,
        np.ones_like,
        np.full_like,
        np.empty_like,
        np.shape,
        np.ndim,
        np.size,
        np.shares_memory,
        np.may_share_memory,
        np.linalg.matrix_rank,
    }
)

# NumPy functions minigrad has no rule for, and what to write instead to keep the gradient.
HINTS: dict[Any, str] = {
    np.interp: "mg.where and indexing on the bracketing points",
    np.linalg.eig: "np.linalg.eigh for a symmetric matrix (eig's eigenvalues may be complex)",
    np.linalg.eigvals: "np.linalg.eigvalsh for a symmetric matrix",
    np.linalg.tensorinv: "np.linalg.inv after a reshape",
    np.linalg.tensorsolve: "np.linalg.solve after a reshape",
    np.fft.fft: "@ with cos and sin matrices (minigrad has no complex numbers)",
    np.fft.rfft: "@ with cos and sin matrices (minigrad has no complex numbers)",
}

__all__ = ["FUNCTIONS", "HINTS", "UFUNCS", "VALUE_FUNCTIONS", "VALUE_UFUNCS"]
