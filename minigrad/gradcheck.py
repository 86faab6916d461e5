"""Gradient checking: the backward pass against central finite differences, element by element."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.tensor import Tensor, _topological_order


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
    args = [
        Tensor(np.array(x.data, dtype=np.float64), requires_grad=x.requires_grad, name=x.name)
        if isinstance(x, Tensor)
        else x
        for x in inputs
    ]
    checked = [i for i, x in enumerate(args) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient, so there is nothing to check")

    out = _call(fn, args)
    # fn may use tensors of the caller's (its parameters): each backward pass below adds to their
    # .grad, so it is put back as it was afterwards.
    others = (
        [t for t in _topological_order(out) if all(t is not a for a in args)] if out.requires_grad else []
    )
    saved = [t.grad for t in others]
    for t in others:  # so that the passes below add into new arrays, not into the caller's
        t.grad = None
    try:
        for out_index in np.ndindex(out.shape):
            for i in checked:
                args[i].grad = None
            if out.requires_grad:
                seed = np.zeros(out.shape)
                seed[out_index] = 1.0
                out.backward(seed)
            for i in checked:
                x = args[i]
                analytic = x.grad if x.grad is not None else np.zeros_like(x.data)
                for index in np.ndindex(x.shape):
                    numeric = _central_difference(fn, args, x, index, out_index, eps)
                    if not np.isclose(analytic[index], numeric, atol=atol, rtol=rtol):
                        raise GradcheckError(_mismatch(i, x, index, out, out_index, analytic[index], numeric))
    finally:
        for t, grad in zip(others, saved):
            t.grad = grad
    return True


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
