"""Checks every new operation's tests share: first order against finite differences, and second order
as the finite differences of the gradient (gradcheck of a create_graph gradient)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import minigrad as mg


def gradient_of(fn: Callable[..., mg.Tensor], i: int = 0, seed: int = 0) -> Callable[..., mg.Tensor]:
    """x -> d(sum(w * fn(x)))/d x_i, itself in the graph, for a fixed random weighting w of the output."""

    def first(*xs: Any) -> mg.Tensor:
        out = fn(*xs)
        w = np.random.default_rng(seed).standard_normal(out.shape)
        return mg.grad((out * w).sum(), xs[i], create_graph=True)[0]

    return first


def check_both_orders(fn: Callable[..., mg.Tensor], *xs: Any, atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """fn's gradient against finite differences, and the gradient of each input's gradient too."""
    mg.gradcheck(fn, *xs, atol=atol, rtol=rtol)
    for i, x in enumerate(xs):
        if isinstance(x, mg.Tensor) and x.requires_grad:
            mg.gradcheck(gradient_of(fn, i), *xs, atol=atol, rtol=rtol)


def leaf(a: Any) -> mg.Tensor:
    """A float64 leaf that requires a gradient."""
    return mg.Tensor(np.array(a, dtype=np.float64), requires_grad=True)
