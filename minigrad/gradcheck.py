"""Gradient checking: the backward pass against central finite differences, element by element."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.backward import grad
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """The backward pass and the finite differences disagree; the message says where and by how much."""


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check `fn`'s gradients against central differences for every input that requires a gradient.

    The whole Jacobian is compared: one backward pass per output element, two evaluations of `fn`
    per input element. The check runs on float64 copies of the tensor inputs, so a float32 input is
    checked at full precision; the caller's tensors, and the `.grad` of tensors `fn` uses, are left
    as they were.
    Returns True, or raises `GradcheckError` naming the input, the element, both values.
    """
    _check_tolerances(eps, atol, rtol)
    args = [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad, name=x.name)
        if isinstance(x, Tensor)
        else x
        for x in inputs
    ]
    checked = [x for x in args if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient, so there is nothing to check")

    out = _call(fn, args)
    # Every backward pass before the first perturbation: a pass over `out`'s graph after the inputs'
    # arrays were written (even when written back) is refused as stale.
    rows = [
        (out_index, grad(out, checked, grad_output=_unit(out.shape, out_index)))
        for out_index in np.ndindex(out.shape)
    ]
    for out_index, analytic in rows:
        for x, dx in zip(checked, analytic):
            _compare(fn, args, x, dx, out, out_index, (eps, atol, rtol))
    return True


def _compare(
    fn: Callable[..., Tensor],
    args: list[Any],
    x: Tensor,
    dx: Tensor,
    out: Tensor,
    out_index: tuple,
    tolerances: tuple[float, float, float],
) -> None:
    """One input's analytic gradient for one output element against central differences, elementwise."""
    eps, atol, rtol = tolerances
    for index in np.ndindex(x.shape):
        numeric = _central_difference(fn, args, x, index, out_index, eps)
        if not np.isclose(dx.data[index], numeric, atol=atol, rtol=rtol):
            i = next(k for k, a in enumerate(args) if a is x)
            raise GradcheckError(_mismatch(i, x, index, out, out_index, dx.data[index], numeric))


def _check_tolerances(eps: float, atol: float, rtol: float) -> None:
    """A negative or NaN tolerance would report every element as a mismatch: refused by name instead."""
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"gradcheck: eps must be a positive number, got {eps!r}")
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not (
            isinstance(value, int | float | np.floating | np.integer) and np.isfinite(value) and value >= 0
        ):
            raise ValueError(f"gradcheck: {name} must be a number of at least 0, got {value!r}")


def _unit(shape: tuple[int, ...], index: tuple[int, ...]) -> np.ndarray:
    """The gradient flowing into one output element (mg.grad, not backward(): every .grad is left alone)."""
    seed = np.zeros(shape)
    seed[index] = 1.0
    return seed


def _call(fn: Callable[..., Tensor], args: list[Any]) -> Tensor:
    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    return out


def _central_difference(
    fn: Callable[..., Tensor], args: list[Any], x: Tensor, index: tuple, out_index: tuple, eps: float
) -> float:
    original = x.data[index]
    try:
        x.data[index] = original + eps
        plus = _call(fn, args).data[out_index]
        x.data[index] = original - eps
        minus = _call(fn, args).data[out_index]
    finally:
        x.data[index] = original
    return float((plus - minus) / (2 * eps))


def _mismatch(i: int, x: Tensor, index: tuple, out: Tensor, out_index: tuple, a: float, n: float) -> str:
    which = f"input {i}" + (f" ({x.name!r})" if x.name else "") + f" of shape {x.shape}"
    where = f"element {index}" + (f" for output element {out_index}" if out.ndim else "")
    return (
        f"gradcheck: {which}, {where}: analytic gradient {a:.10g}, numeric {n:.10g} "
        f"(difference {abs(a - n):.3g})"
    )
