"""The operations `softmax` and `log_softmax` (`minigrad/ops/normalisation.py`).

Each gradient is checked two ways for any shapes and values hypothesis draws: against central finite
differences of the whole Jacobian (`mg.gradcheck`), and against the derivative written out here by hand, with
a random upstream gradient `g` (`minigrad.testing.assert_grads_match`). The hand-written derivatives never
call minigrad; broadcasting is undone by `opcheck.sum_to`, a different route from the engine's.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opcheck import SMALL, check, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import shapes, tensors


@st.composite
def along_an_axis(draw):
    x = draw(tensors(shapes(min_dims=1, **SMALL)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


def jacobian_along(s, axis, jacobian):
    """g pulled back through a map applied along `axis` whose Jacobian (n × n) is `jacobian(s)`."""
    return lambda g: np.moveaxis(
        np.einsum("...j,...ji->...i", np.moveaxis(g, axis, -1), jacobian(np.moveaxis(s, axis, -1))), -1, axis
    )


def naive_softmax(x, axis):
    return np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)


@given(along_an_axis(), st.data())
def test_softmax_gradient_is_its_jacobian_diag_s_minus_s_st(x_axis, data):
    x, axis = x_axis
    g = upstream_for(data, x.shape)
    np.testing.assert_allclose(mg.softmax(x, axis=axis).data, naive_softmax(x.data, axis), rtol=1e-12)

    def analytic(g, x):
        # d s_j / d x_i = s_j (δ_ji - s_i)
        J = lambda s: s[..., :, None] * np.eye(s.shape[-1]) - s[..., :, None] * s[..., None, :]  # noqa: E731
        return [jacobian_along(naive_softmax(x, axis), axis, J)(g)]

    check(lambda x: mg.softmax(x, axis=axis), [x], analytic, g)


@given(along_an_axis(), st.data())
def test_log_softmax_gradient_is_its_jacobian_identity_minus_s(x_axis, data):
    x, axis = x_axis
    g = upstream_for(data, x.shape)
    np.testing.assert_allclose(
        mg.log_softmax(x, axis=axis).data, np.log(naive_softmax(x.data, axis)), rtol=1e-10, atol=1e-12
    )

    def analytic(g, x):
        # d log s_j / d x_i = δ_ji - s_i
        J = lambda s: np.eye(s.shape[-1]) - s[..., None, :]  # noqa: E731
        return [jacobian_along(naive_softmax(x, axis), axis, J)(g)]

    check(lambda x: mg.log_softmax(x, axis=axis), [x], analytic, g)


@pytest.mark.parametrize(
    ("name", "fn", "expected"),
    [
        ("softmax", lambda z: mg.softmax(z, axis=0), [[1.0, 0.0], [0.0, 0.5], [0.0, 0.5]]),
        (
            "log_softmax",
            lambda z: mg.log_softmax(z, axis=0),
            [[0.0, -2000.0 - np.log(2)], [-2000.0, -np.log(2)], [-2000.0, -np.log(2)]],
        ),
        ("logsumexp", lambda z: mg.logsumexp(z, axis=0), [1000.0, 1000.0 + np.log(2)]),
    ],
)
def test_normalisations_are_finite_with_finite_gradients_at_plus_minus_1000(name, fn, expected):
    z = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0], [-1000.0, 1000.0]], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = fn(z)
        out.backward(np.arange(1, out.size + 1, dtype=float).reshape(out.shape))
        (second,) = mg.grad((fn(z) * 1.5).sum(), z, create_graph=True)
        second.sum().backward()
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    assert np.all(np.isfinite(z.grad))
