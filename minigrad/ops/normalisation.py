"""Normalisation along an axis, each forward beside its rule: softmax, log_softmax."""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.common import normalise_axes
from minigrad.ops.elementwise import exp
from minigrad.ops.reductions import sum


def _required(axis: Any, x: np.ndarray, name: str) -> tuple[int, ...]:
    if axis is None:
        raise TypeError(f"{name}: the axis is required (the lab puts the classes on axis 0: axis=0)")
    return normalise_axes(x, axis, name)


@op
def softmax(x, axis=None):
    """exp(x) / sum(exp(x)) along `axis`, with the max subtracted first: never overflows."""
    axes = _required(axis, x, "softmax")
    e = np.exp(x - np.max(x, axis=axes, keepdims=True))
    return e / np.add.reduce(e, axis=axes, keepdims=True)


# d softmax = s * (dx - sum(s dx)): the Jacobian diag(s) - s sᵀ, applied to g.
softmax.defvjp(lambda g, out, x, axis=None: out * (g - sum(g * out, axis=axis, keepdims=True)))


@op
def log_softmax(x, axis=None):
    """x - logsumexp(x) along `axis`, stable as logsumexp."""
    axes = _required(axis, x, "log_softmax")
    shifted = x - np.max(x, axis=axes, keepdims=True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axes, keepdims=True))


# d log_softmax = dx - sum(softmax(x) dx), and softmax(x) = exp(log_softmax(x)).
log_softmax.defvjp(lambda g, out, x, axis=None: g - exp(out) * sum(g, axis=axis, keepdims=True))


__all__ = ["log_softmax", "softmax"]
