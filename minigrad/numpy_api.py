"""NumPy's functions on Tensors: `np.exp(Z)`, `np.sum(A, axis=0)`, `np.linalg.inv(A)`, `ndarray + t`.

A student's NumPy code keeps working on Tensors, in the graph: NumPy hands every ufunc (NEP 13,
`__array_ufunc__`) and every other public function (NEP 18, `__array_function__`) that meets a Tensor
to the tables in `numpy_table.py`. An entry with a gradient is the minigrad operation that computes the
same thing; a function whose answer has no gradient (`np.isnan`, `np.argmax`, `np.allclose`) is
answered on the values, building no graph; any other is a `TypeError` that names it and says what to
use instead, rather than returning a plain array that would silently cut the graph.

None of this is on the path of `Tensor + Tensor` or `W @ X`: Python calls the Tensor's operator
directly there. NumPy comes through here only when the left operand is an ndarray or a NumPy scalar
(`Y * A2`, `1 - Y` is not: a Python number defers to the Tensor by itself).
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from minigrad.numpy_table import FUNCTIONS, HINTS, UFUNCS, VALUE_FUNCTIONS, VALUE_UFUNCS
from minigrad.tensor import Tensor


def values(x: Any) -> Any:
    """`x` with every Tensor in it (inside lists, tuples and dicts too) replaced by its array."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, list | tuple):
        return type(x)(values(item) for item in x)
    if isinstance(x, dict):
        return {k: values(v) for k, v in x.items()}
    return x


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A ufunc that met a Tensor: the minigrad operation of the same name, its value, or a `TypeError`."""
    if ufunc in VALUE_UFUNCS and not any(isinstance(o, Tensor) for o in kwargs.get("out", ()) or ()):
        return getattr(ufunc, method)(*values(inputs), **values(kwargs))
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
    if method in ("reduce", "accumulate") and ufunc in REDUCTIONS:
        raise TypeError(
            f"{name} on a Tensor: use {REDUCTIONS[ufunc][method]}, "
            "or call it on t.data for a value without gradient"
        )
    raise _unsupported(name, HINTS.get(ufunc))


REDUCTIONS = {
    np.add: {"reduce": "mg.sum", "accumulate": "mg.cumsum"},
    np.multiply: {"reduce": "mg.prod", "accumulate": "mg.cumprod"},
    np.maximum: {"reduce": "mg.max", "accumulate": "a loop of mg.maximum"},
    np.minimum: {"reduce": "mg.min", "accumulate": "a loop of mg.minimum"},
}


def _unsupported(name: str, hint: str | None) -> TypeError:
    keep = f"; to keep the gradient write {hint}" if hint else ""
    return TypeError(
        f"{name} does not work on a Tensor: minigrad has no operation for it, so no gradient{keep}. "
        f"For its value without a gradient, call it on the data: {name}(t.data)"
    )


def array_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A NumPy function that met a Tensor: the minigrad operation that computes it, or a `TypeError`."""
    if func in VALUE_FUNCTIONS:
        return func(*values(args), **values(kwargs))
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
    """`np.sin`, `np.linalg.inv`: the name a user writes, whichever private module NumPy defines it in."""
    module = getattr(func, "__module__", None) or "numpy"
    parts = module.split(".")
    public = len(parts) > 1 and parts[0] == "numpy" and parts[1] in ("linalg", "fft", "random", "polynomial")
    prefix = f"np.{parts[1]}" if public else "np" if parts[0] == "numpy" else module
    return f"{prefix}.{getattr(func, '__name__', repr(func))}"


def supported() -> dict[str, Any]:
    """What NumPy does on a Tensor, read from the tables: the names with a gradient, the names answered on
    the values, and the refused names each with what to write instead. The NumPy guide lists exactly these."""
    return {
        "gradient": sorted({_name(f) for f in [*UFUNCS, *FUNCTIONS]}),
        "values": sorted({_name(f) for f in [*VALUE_UFUNCS, *VALUE_FUNCTIONS]}),
        "refused": dict(sorted((_name(f), hint) for f, hint in HINTS.items())),
    }


__all__ = ["FUNCTIONS", "HINTS", "UFUNCS", "array_function", "array_ufunc", "supported", "values"]
