"""The operations `sum`, `mean`, `max`, `min`, `logsumexp` (`minigrad/ops/reductions.py`).

Each gradient is checked two ways for any shapes and values hypothesis draws: against central finite
differences of the whole Jacobian (`mg.gradcheck`), and against the derivative written out here by hand, with
a random upstream gradient `g` (`minigrad.testing.assert_grads_match`). The hand-written derivatives never
call minigrad; broadcasting is undone by `opcheck.sum_to`, a different route from the engine's.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import SMALL, check, grad_of, no_near_ties, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import assert_grads_match, shapes, tensors


def spread(g: np.ndarray, shape: tuple[int, ...], axis, keepdims: bool) -> np.ndarray:
    """Every input element gets the upstream value of the output element it was reduced into."""
    axes = reduced_axes(len(shape), axis)
    grad = np.empty(shape)
    for index in np.ndindex(shape):
        if keepdims:
            out_index = tuple(0 if d in axes else i for d, i in enumerate(index))
        else:
            out_index = tuple(i for d, i in enumerate(index) if d not in axes)
        grad[index] = g[out_index]
    return grad


@st.composite
def reduction(draw):
    """A tensor, an axis argument (None, one axis or a tuple, possibly negative) and keepdims."""
    x = draw(tensors(shapes(**SMALL)))
    kind = draw(st.sampled_from(["none", "int", "tuple"] if x.ndim else ["none", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-x.ndim, x.ndim - 1))
    else:
        axis = draw(hnp.valid_tuple_axes(x.ndim))  # negative axes among them
    return x, axis, draw(st.booleans())


def reduced_axes(ndim: int, axis) -> set[int]:
    if axis is None:
        return set(range(ndim))
    return {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


@given(reduction(), st.data())
def test_sum_gradient_copies_g_to_every_summed_element(x_axis_keep, data):
    x, axis, keepdims = x_axis_keep
    g = upstream_for(data, np.sum(x.data, axis=axis, keepdims=keepdims).shape)
    check(
        lambda x: mg.sum(x, axis=axis, keepdims=keepdims),
        [x],
        lambda g, x: [spread(g, x.shape, axis, keepdims)],
        g,
    )


@given(reduction(), st.data())
def test_mean_gradient_is_g_over_the_count(x_axis_keep, data):
    x, axis, keepdims = x_axis_keep
    g = upstream_for(data, np.mean(x.data, axis=axis, keepdims=keepdims).shape)
    count = math.prod(x.shape[d] for d in reduced_axes(x.ndim, axis))
    check(
        lambda x: mg.mean(x, axis=axis, keepdims=keepdims),
        [x],
        lambda g, x: [spread(g, x.shape, axis, keepdims) / count],
        g,
    )


@pytest.mark.parametrize("op", [mg.sum, mg.mean])
def test_reduction_over_a_missing_axis_names_the_axis_and_shape(op):
    with pytest.raises(ValueError, match=r"axis 2 .*\(2, 3\)"):
        op(Tensor(np.ones((2, 3))), axis=2)


def shared_among_ties(g, x, axis, keepdims, pick):
    """The reduced value's gradient, shared equally by the elements equal to it."""
    m = pick(x, axis=axis, keepdims=True)
    ties = x == m
    return spread(g, x.shape, axis, keepdims) * ties / ties.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["max", "min"])
@given(x_axis_keep=reduction(), data=st.data())
def test_max_and_min_gradient_goes_to_the_extreme_elements(name, x_axis_keep, data):
    x, axis, keepdims = x_axis_keep
    pick = np.max if name == "max" else np.min
    out = getattr(mg, name)(x, axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(out.data, pick(x.data, axis=axis, keepdims=keepdims))
    g = upstream_for(data, out.shape)
    fn = lambda x: getattr(mg, name)(x, axis=axis, keepdims=keepdims)  # noqa: E731
    assert_grads_match(fn, [x], lambda g, x: [shared_among_ties(g, x, axis, keepdims, pick)], g)
    if no_near_ties(x.data):
        assert mg.gradcheck(fn, x)


@given(reduction(), st.data())
def test_logsumexp_gradient_is_the_softmax(x_axis_keep, data):
    x, axis, keepdims = x_axis_keep
    fn = lambda x: mg.logsumexp(x, axis=axis, keepdims=keepdims)  # noqa: E731
    np.testing.assert_allclose(
        fn(x).data, np.log(np.sum(np.exp(x.data), axis=axis, keepdims=keepdims)), rtol=1e-12, atol=1e-12
    )
    g = upstream_for(data, fn(x).shape)

    def analytic(g, x):
        softmax = np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)
        return [spread(g, x.shape, axis, keepdims) * softmax]

    check(fn, [x], analytic, g)


def test_max_and_min_share_the_gradient_equally_among_ties():
    np.testing.assert_array_equal(grad_of(mg.max, [1.0, 3.0, 3.0]), [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(grad_of(mg.min, [2.0, 2.0, 2.0, 5.0]), [1 / 3, 1 / 3, 1 / 3, 0.0])
    rows = grad_of(lambda x: x.max(axis=1), [[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(rows, [[0.5, 0.5], [0.0, 1.0]])


def test_logsumexp_of_minus_infinity_is_minus_infinity_as_in_numpy():
    out = mg.logsumexp(Tensor([-np.inf, -np.inf]))
    assert out.item() == -np.inf
