"""What the tests of the operations share: shapes kept small, broadcasting undone by counting, the
two-way check of a gradient, and the strategies that draw inputs of more than one family."""

import math

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
