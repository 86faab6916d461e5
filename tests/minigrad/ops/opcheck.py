"""What the tests of the operations share: shapes kept small, broadcasting undone by counting, the
two-way check of a gradient, the strategies that draw inputs of more than one family, and the check of
first and second order against finite differences (gradcheck of a create_graph gradient)."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, assert_grads_match, broadcastable_shapes, tensors

# Shapes stay small: gradcheck costs two forward passes per input element per output element.
SMALL = {"max_dims": 3, "max_side": 3}


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an input of `shape` that was broadcast to `g.shape`: each element collects `g`
    from every output position it was copied to."""
    source = np.broadcast_to(np.arange(math.prod(shape)).reshape(shape), g.shape)
    return np.bincount(source.ravel(), weights=g.ravel(), minlength=math.prod(shape)).reshape(shape)


def check(fn, inputs, analytic, upstream) -> None:
    """Both checks: finite differences, then the hand-written derivative."""
    assert mg.gradcheck(fn, *inputs)
    assert_grads_match(fn, inputs, analytic, upstream)


def upstream_for(data, shape) -> np.ndarray:
    return data.draw(arrays(shape), label="upstream g")


@st.composite
def broadcast_pair(draw, **array_options):
    shape_a, shape_b = draw(broadcastable_shapes(**SMALL))
    a = draw(tensors(shape_a, name="a"))
    b = draw(tensors(shape_b, name="b", **array_options))
    return a, b


def grad_of(fn, values, upstream=None):
    x = Tensor(values, requires_grad=True)
    out = fn(x)
    out.backward(np.ones(out.shape) if upstream is None else upstream)
    return x.grad


def no_near_ties(*values, gap=1e-3) -> bool:
    """Whether finite differences of step 1e-6 stay clear of every kink between these values."""
    flat = np.sort(np.concatenate([np.ravel(v) for v in values]))
    return flat.size < 2 or bool(np.min(np.diff(flat)) > gap)


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
