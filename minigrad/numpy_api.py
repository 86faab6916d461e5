"""NumPy's functions on Tensors: `np.exp(Z)`, `np.sum(A, axis=0)`, `np.where(Z > 0, Z, 0)`, `ndarray + t`.

A student's NumPy code keeps working on Tensors, in the graph: NumPy hands every ufunc (NEP 13,
`__array_ufunc__`) and every other public function (NEP 18, `__array_function__`) that meets a Tensor
to the tables below, and each entry is the minigrad operation that computes the same thing. A NumPy
function without an entry has no gradient here: it raises a `TypeError` that names it and says what to
use instead, rather than returning a plain array that would silently cut the graph.

None of this is on the path of `Tensor + Tensor` or `W @ X`: Python calls the Tensor's operator
directly there. NumPy comes through here only when the left operand is an ndarray or a NumPy scalar
(`Y * A2`, `1 - Y` is not: a Python number defers to the Tensor by itself).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.tensor import Tensor


def _value(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _power(base: Any, exponent: Any) -> Tensor:
    if isinstance(base, Tensor):
        return ops.pow(base, exponent)
    result = exponent.__rpow__(base)
    if result is NotImplemented:
        raise TypeError(
            f"np.power: {type(base).__name__} ** Tensor is not an operation of minigrad; "
            "write mg.exp(t * np.log(base)) for a positive base"
        )
    return result


# ufunc -> the minigrad function that computes it, with the same positional inputs.
UFUNCS: dict[np.ufunc, Callable[..., Any]] = {
    np.add: ops.add,
    np.subtract: ops.sub,
    np.multiply: ops.mul,
    np.divide: ops.div,
    np.negative: ops.neg,
    np.power: _power,
    np.matmul: ops.matmul,
    np.exp: ops.exp,
    np.log: ops.log,
    np.tanh: ops.tanh,
    np.absolute: ops.abs,
    np.sqrt: ops.sqrt,
    np.maximum: ops.maximum,
    np.minimum: ops.minimum,
    # Comparisons give bool arrays outside the graph, as the Tensor's own operators do.
    np.less: lambda a, b: np.less(_value(a), _value(b)),
    np.less_equal: lambda a, b: np.less_equal(_value(a), _value(b)),
    np.greater: lambda a, b: np.greater(_value(a), _value(b)),
    np.greater_equal: lambda a, b: np.greater_equal(_value(a), _value(b)),
    # `==` and `!=` are identity for a Tensor, so that tensors stand in lists, sets and dicts.
    np.equal: lambda a, b: a is b,
    np.not_equal: lambda a, b: a is not b,
}

# Where NumPy has a function without a minigrad operation of its own, what to write instead.
HINTS: dict[Any, str] = {
    np.square: "t ** 2",
    np.reciprocal: "1 / t",
    np.log1p: "mg.log(1 + t)",
    np.expm1: "mg.exp(t) - 1",
    np.tensordot: "mg.matmul with reshape and transpose",
    np.einsum: "mg.matmul with reshape and transpose",
    np.amax: "mg.max",
    np.amin: "mg.min",
}


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A ufunc that met a Tensor: the minigrad operation of the same name, or a `TypeError`."""
    operation = UFUNCS.get(ufunc)
    if method == "__call__" and not kwargs and operation is not None:
        return operation(*inputs)
    name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    if operation is not None and method == "__call__":
        given = ", ".join(f"{k}=" for k in kwargs)
        if "out" in kwargs:
            raise TypeError(
                f"{name}(..., out=...): a Tensor's result cannot be written into an array; "
                f"write `a = a + t` (a new Tensor), or use t.data for a value without a gradient"
            )
        raise TypeError(
            f"{name}(..., {given}) on a Tensor: minigrad's operation takes its inputs only; "
            "use t.data for a value without a gradient"
        )
    if method == "reduce" and ufunc in REDUCTIONS:
        raise TypeError(
            f"{name} on a Tensor: use {REDUCTIONS[ufunc]}, or call it on t.data for a value without gradient"
        )
    raise _unsupported(name, HINTS.get(ufunc))


REDUCTIONS = {np.add: "mg.sum", np.maximum: "mg.max", np.minimum: "mg.min"}


def _unsupported(name: str, hint: str | None) -> TypeError:
    keep = f"; to keep the gradient write {hint}" if hint else ""
    return TypeError(
        f"{name} does not work on a Tensor: minigrad has no operation for it, so no gradient{keep}. "
        f"For its value without a gradient, call it on the data: {name}(t.data)"
    )


# ----- NumPy's other functions (NEP 18) -----------------------------------------------------------
# Each handler takes the arguments of NumPy's function that minigrad supports, by NumPy's names.


def _sum(a, axis=None, keepdims=False):
    return ops.sum(a, axis=axis, keepdims=keepdims)


def _mean(a, axis=None, keepdims=False):
    return ops.mean(a, axis=axis, keepdims=keepdims)


def _max(a, axis=None, keepdims=False):
    return ops.max(a, axis=axis, keepdims=keepdims)


def _min(a, axis=None, keepdims=False):
    return ops.min(a, axis=axis, keepdims=keepdims)


def _clip(a, a_min=None, a_max=None, *, min=None, max=None):
    return ops.clip(a, a_min if a_min is not None else min, a_max if a_max is not None else max)


def _where(condition, x, y):
    return ops.where(condition, x, y)


def _concatenate(arrays, axis=0):
    return ops.concatenate(arrays, axis=axis)


def _stack(arrays, axis=0):
    return ops.stack(arrays, axis=axis)


def _reshape(a, shape):
    return ops.reshape(a, shape)


def _transpose(a, axes=None):
    return ops.transpose(a, None if axes is None else tuple(axes))


def _expand_dims(a, axis):
    return ops.expand_dims(a, axis=axis)


def _squeeze(a, axis=None):
    return ops.squeeze(a, axis=axis)


def _broadcast_to(array, shape):
    return ops.broadcast_to(array, shape=(shape,) if np.ndim(shape) == 0 else tuple(shape))


def _dot(a, b):
    """np.dot is matmul for vectors and matrices and a product for a scalar."""
    if np.ndim(_value(a)) == 0 or np.ndim(_value(b)) == 0:
        return ops.mul(a, b)
    if np.ndim(_value(a)) > 2 or np.ndim(_value(b)) > 2:
        raise TypeError("np.dot of arrays of more than 2 dimensions on a Tensor: use mg.matmul (np.matmul)")
    return ops.matmul(a, b)


FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: _sum,
    np.mean: _mean,
    np.max: _max,
    np.amax: _max,
    np.min: _min,
    np.amin: _min,
    np.clip: _clip,
    np.where: _where,
    np.concatenate: _concatenate,
    np.stack: _stack,
    np.reshape: _reshape,
    np.transpose: _transpose,
    np.expand_dims: _expand_dims,
    np.squeeze: _squeeze,
    np.broadcast_to: _broadcast_to,
    np.dot: _dot,
    # What a shape is needs no gradient.
    np.shape: lambda a: np.shape(_value(a)),
    np.ndim: lambda a: np.ndim(_value(a)),
    np.size: lambda a, axis=None: np.size(_value(a), axis),
}


def array_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A NumPy function that met a Tensor: the minigrad operation that computes it, or a `TypeError`."""
    name = _name(func)
    handler = FUNCTIONS.get(func)
    if handler is None:
        raise _unsupported(name, HINTS.get(func))
    try:
        inspect.signature(handler).bind(*args, **kwargs)
    except TypeError:
        given = ", ".join([*(["..."] if args else []), *(f"{k}=..." for k in kwargs)])
        raise TypeError(
            f"{name}({given}) on a Tensor: minigrad supports {name}{inspect.signature(handler)}; "
            "use t.data for a value without a gradient"
        ) from None
    return handler(*args, **kwargs)


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    module = "np" + module[len("numpy") :] if module.startswith("numpy") else module
    return f"{module}.{getattr(func, '__name__', repr(func))}"
