"""The Tensor's operators and methods, attached from one table: each is the operation of the same name.

`a + b` is `ops.add(a, b)`, `t.sum(axis=0)` is `ops.sum(t, axis=0)`: an operation is a method as a
function is, so the table holds the operations themselves (as HIPS autograd's `numpy_boxes.py` does),
and `Tensor` itself (`tensor.py`) stays free of them. NumPy's protocols and `backward()` are attached here
too, which keeps every import of the core pointing one way: `tensor` <- `op` <- `ops` <- this file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from minigrad import numpy_api, ops
from minigrad.backward import backward
from minigrad.op import Op
from minigrad.tensor import Tensor


def _reflected(operation: Callable[[Any, Any], Tensor]) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        return operation(other, self)

    method.__name__ = f"r{operation.__name__}"
    return method


def _rpow(self: Tensor, base: Any) -> Tensor:
    # base ** t = exp(t log base), so no rule of its own is needed.
    if not isinstance(base, int | float):
        return NotImplemented
    if base <= 0:
        raise ValueError(f"number ** Tensor needs a positive number, got {base}: it is exp(t log(base))")
    return ops.exp(ops.mul(self, float(np.log(base))))


def _pow(self: Tensor, exponent: Any) -> Tensor:
    # A number exponent keeps the one-input rule; a Tensor or an array exponent needs `power`'s two.
    if isinstance(exponent, Tensor | np.ndarray):
        return ops.power(self, exponent)
    return ops.pow(self, exponent)


def _floordiv(a: Any, b: Any) -> Tensor:
    """a // b: floor(a / b), whose gradient is 0 (a step function), as autograd and PyTorch."""
    return ops.floor(ops.div(a, b))


def _astype(self: Tensor, dtype: Any, copy: bool = True) -> Any:
    """As `ndarray.astype`: another floating dtype in the graph; an integer or bool dtype gives values."""
    return ops.astype(self, dtype)


def _flatten(self: Tensor, order: str = "C") -> Tensor:
    """The elements in one row (C order), as `ndarray.flatten`."""
    if order != "C":
        raise ValueError(f"flatten: only order='C' is supported, got {order!r}")
    return ops.ravel(self)


def transpose(self: Tensor, *axes: int | tuple[int, ...] | None) -> Tensor:
    """As ndarray.transpose: `t.transpose()`, `t.transpose(1, 0)` or `t.transpose((1, 0))`."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
        axes = axes[0]
    return ops.transpose(self, tuple(axes) if axes else None)


def _iter(self: Tensor) -> Iterator[Tensor]:
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (ops.getitem(self, i) for i in range(len(self.data)))  # each row in the graph


# NumPy's functions on Tensors (`np.exp(Z)`, `np.sum(A, axis=0)`, `ndarray + Tensor`): each that has
# a minigrad operation returns that operation's Tensor; any other is a TypeError (see numpy_api.py).
def _array_ufunc(self: Tensor, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if method == "__call__" and not kwargs:  # `ndarray + t`, `np.exp(t)`: straight to the operation
        operation = numpy_api.UFUNCS.get(ufunc)
        if operation is not None:
            return operation(*inputs)
    return numpy_api.array_ufunc(ufunc, method, inputs, kwargs)


def _array_function(self: Tensor, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    return numpy_api.array_function(func, args, kwargs)


METHODS: dict[str, Any] = {
    # operators
    "__add__": ops.add,
    "__radd__": _reflected(ops.add),
    "__sub__": ops.sub,
    "__rsub__": _reflected(ops.sub),
    "__mul__": ops.mul,
    "__rmul__": _reflected(ops.mul),
    "__truediv__": ops.div,
    "__rtruediv__": _reflected(ops.div),
    "__matmul__": ops.matmul,
    "__rmatmul__": _reflected(ops.matmul),
    "__pow__": _pow,
    "__mod__": ops.remainder,
    "__rmod__": _reflected(ops.remainder),
    "__floordiv__": _floordiv,
    "__rfloordiv__": _reflected(_floordiv),
    "__rpow__": _rpow,
    "__neg__": ops.neg,
    "__abs__": ops.abs,
    "__getitem__": ops.getitem,
    "__iter__": _iter,
    "__array_ufunc__": _array_ufunc,
    "__array_function__": _array_function,
    # properties
    "T": property(ops.transpose, doc="The axes reversed, as `ndarray.T`."),
    "real": property(
        ops.real, doc="The real part, as `ndarray.real`: of a Tensor's real numbers, themselves."
    ),
    "imag": property(ops.imag, doc="The imaginary part, as `ndarray.imag`: of real numbers, zeros."),
    "mT": property(ops.matrix_transpose, doc="The last two axes swapped, as `ndarray.mT`."),
    # methods: every operation that acts on one tensor
    "add": ops.add,
    "sub": ops.sub,
    "mul": ops.mul,
    "div": ops.div,
    "neg": ops.neg,
    "pow": ops.pow,
    "matmul": ops.matmul,
    "transpose": transpose,
    "reshape": ops.reshape,
    "exp": ops.exp,
    "log": ops.log,
    "sigmoid": ops.sigmoid,
    "relu": ops.relu,
    "tanh": ops.tanh,
    "sum": ops.sum,
    "mean": ops.mean,
    "abs": ops.abs,
    "sqrt": ops.sqrt,
    "maximum": ops.maximum,
    "minimum": ops.minimum,
    "clip": ops.clip,
    "max": ops.max,
    "min": ops.min,
    "logsumexp": ops.logsumexp,
    "softmax": ops.softmax,
    "log_softmax": ops.log_softmax,
    "expand_dims": ops.expand_dims,
    "squeeze": ops.squeeze,
    "broadcast_to": ops.broadcast_to,
    "flatten": _flatten,
    "ravel": ops.ravel,
    "astype": _astype,
    "copy": ops.copy,
    "prod": ops.prod,
    "cumsum": ops.cumsum,
    "cumprod": ops.cumprod,
    "var": ops.var,
    "std": ops.std,
    "ptp": ops.ptp,
    "round": ops.round,
    "dot": ops.dot,
    "trace": ops.trace,
    "diagonal": ops.diagonal,
    "repeat": ops.repeat,
    "swapaxes": ops.swapaxes,
    "sort": ops.sort,
    "take": ops.take,
    "conj": ops.conj,
    "sign": ops.sign,
    "floor": ops.floor,
    "ceil": ops.ceil,
    "square": ops.square,
    "reciprocal": ops.reciprocal,
    "log1p": ops.log1p,
    "expm1": ops.expm1,
    "log2": ops.log2,
    "log10": ops.log10,
    "sin": ops.sin,
    "cos": ops.cos,
    "tan": ops.tan,
    "sinh": ops.sinh,
    "cosh": ops.cosh,
    "arcsin": ops.arcsin,
    "arccos": ops.arccos,
    "arctan": ops.arctan,
    "power": ops.power,
    "flip": ops.flip,
    "roll": ops.roll,
    "tile": ops.tile,
    "tril": ops.tril,
    "triu": ops.triu,
    "moveaxis": ops.moveaxis,
    "arcsinh": ops.arcsinh,
    "arccosh": ops.arccosh,
    "arctanh": ops.arctanh,
    "sinc": ops.sinc,
    "deg2rad": ops.deg2rad,
    "rad2deg": ops.rad2deg,
    "exp2": ops.exp2,
    "cbrt": ops.cbrt,
    "trunc": ops.trunc,
    "rint": ops.rint,
    "take_along_axis": ops.take_along_axis,
    "diff": ops.diff,
    "median": ops.median,
    "quantile": ops.quantile,
    "nansum": ops.nansum,
    "nanmean": ops.nanmean,
    "nanmax": ops.nanmax,
    "nanmin": ops.nanmin,
    "backward": backward,
}


def as_method(operation: Op) -> Callable[..., Tensor]:
    """The operation as a plain function of the Tensor, `t.exp()` calling `exp(t)`.

    An `Op` is a method by itself (its `__get__`), but that makes a bound method at every use, through a
    Python-level descriptor: a plain function costs one frame and no object (the eager 1,000-op chain's
    forward: 27% more instructions than the engine's before the core cut, with the `Op`s in the table).
    """
    call = operation.__call__

    def method(self: Tensor, *args: Any, **options: Any) -> Tensor:
        if options or len(args) > 1:
            return call(self, *args, **options)
        return call(self, args[0]) if args else call(self)

    method.__name__ = method.__qualname__ = operation.name
    method.__doc__ = operation.__doc__
    method.__wrapped__ = operation  # type: ignore[attr-defined]
    return method


for _name, _method in METHODS.items():
    setattr(Tensor, _name, as_method(_method) if isinstance(_method, Op) else _method)
