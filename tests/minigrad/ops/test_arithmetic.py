"""The operations `add`, `sub`, `mul`, `div`, `neg`, `pow` and their operators (`minigrad/ops/arithmetic.py`).

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
from opcheck import SMALL, broadcast_pair, check, sum_to, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import assert_grads_match, shapes, tensors


@given(broadcast_pair(), st.data())
def test_add_gradient_is_upstream_summed_to_each_shape(ab, data):
    a, b = ab
    g = upstream_for(data, np.broadcast_shapes(a.shape, b.shape))
    check(mg.add, ab, lambda g, a, b: [sum_to(g, a.shape), sum_to(g, b.shape)], g)


@given(broadcast_pair(), st.data())
def test_sub_gradient_is_plus_and_minus_upstream(ab, data):
    a, b = ab
    g = upstream_for(data, np.broadcast_shapes(a.shape, b.shape))
    check(mg.sub, ab, lambda g, a, b: [sum_to(g, a.shape), sum_to(-g, b.shape)], g)


@given(broadcast_pair(), st.data())
def test_mul_gradient_is_the_other_factor(ab, data):
    a, b = ab
    g = upstream_for(data, np.broadcast_shapes(a.shape, b.shape))
    check(mg.mul, ab, lambda g, a, b: [sum_to(g * b, a.shape), sum_to(g * a, b.shape)], g)


@given(broadcast_pair(min_magnitude=0.5), st.data())
def test_div_gradient_is_one_over_b_and_minus_a_over_b_squared(ab, data):
    a, b = ab
    g = upstream_for(data, np.broadcast_shapes(a.shape, b.shape))
    check(mg.div, ab, lambda g, a, b: [sum_to(g / b, a.shape), sum_to(-g * a / b**2, b.shape)], g)


@given(tensors(shapes(**SMALL)), st.data())
def test_neg_gradient_is_minus_upstream(x, data):
    g = upstream_for(data, x.shape)
    check(mg.neg, [x], lambda g, x: [-g], g)


@given(st.data())
def test_pow_gradient_is_p_x_to_the_p_minus_1(data):
    p = data.draw(st.sampled_from([-2, -1, 0, 1, 2, 3, 0.5, -0.5, 1.5, 2.5]), label="p")
    # Fractional powers need x > 0; whole powers are checked on both signs, away from 0.
    domain = {"min_value": 0.3} if p != int(p) else {"min_magnitude": 0.3}
    x = data.draw(tensors(shapes(**SMALL), **domain), label="x")
    g = upstream_for(data, x.shape)
    check(lambda x: mg.pow(x, p), [x], lambda g, x: [g * p * x ** (p - 1)], g)


BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / b, np.divide),
]


# d(op)/da and d(op)/db as functions of (g, a, b), for the operand that is the Tensor.
PARTIALS = {
    "add": (lambda g, a, b: g, lambda g, a, b: g),
    "sub": (lambda g, a, b: g, lambda g, a, b: -g),
    "mul": (lambda g, a, b: g * b, lambda g, a, b: g * a),
    "div": (lambda g, a, b: g / b, lambda g, a, b: -g * a / b**2),
}


OTHERS = {
    "int": 2,
    "float": -1.5,
    "numpy scalar": np.float64(0.75),
    "ndarray": np.array([[0.5, -2.0, 1.25]]),
}


@pytest.mark.parametrize("other", sorted(OTHERS))
@pytest.mark.parametrize("tensor_side", ["left", "right"])
@pytest.mark.parametrize(("name", "operator", "ufunc"), BINARY)
def test_binary_operator_with_a_number_or_array_on_either_side(name, operator, ufunc, tensor_side, other):
    c = OTHERS[other]
    t = Tensor([[1.5, -0.5, 2.0], [0.25, 3.0, -1.0]], requires_grad=True)
    out = operator(t, c) if tensor_side == "left" else operator(c, t)
    assert isinstance(out, Tensor)
    expected = ufunc(t.data, c) if tensor_side == "left" else ufunc(c, t.data)
    np.testing.assert_allclose(out.data, expected)

    partial = PARTIALS[name][0 if tensor_side == "left" else 1]
    if tensor_side == "left":
        assert_grads_match(lambda t: operator(t, c), [t], lambda g, t: [partial(g, t, np.asarray(c))])
    else:
        assert_grads_match(lambda t: operator(c, t), [t], lambda g, t: [partial(g, np.asarray(c), t)])


def test_ndarray_on_the_left_gives_a_tensor_not_an_array():
    t = Tensor([1.0, 2.0], requires_grad=True)
    for result in (np.ones(2) + t, np.ones(2) - t, np.ones(2) * t, np.ones(2) / t):
        assert isinstance(result, Tensor)
        assert result.requires_grad


def test_pow_operator_and_number_to_a_tensor_power():
    x = Tensor([0.5, 1.0, 2.0], requires_grad=True)
    np.testing.assert_allclose((x**3).data, x.data**3)
    assert_grads_match(lambda x: x**3, [x], lambda g, x: [3 * g * x**2])
    np.testing.assert_allclose((2**x).data, 2**x.data)
    assert_grads_match(lambda x: 2**x, [x], lambda g, x: [g * 2**x * np.log(2)])


@pytest.mark.parametrize(("p", "slope"), [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0)])
def test_whole_powers_have_their_finite_slope_at_zero(p, slope):
    # d(x^p)/dx = p x^(p-1) is 0 at x = 0 for p = 0 (a constant) and p >= 2, 1 for p = 1.
    x = Tensor([0.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**p).backward(np.ones(1))
    np.testing.assert_array_equal(x.grad, [slope])


def test_pow_with_a_tensor_exponent_is_power_and_differentiates_both():
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor(3.0, requires_grad=True)
    assert (x**y).op == "power"
    (x**y).backward(np.ones(2))
    np.testing.assert_allclose(x.grad, 3 * np.array([1.0, 2.0]) ** 2)  # y x^(y-1)
    np.testing.assert_allclose(y.grad, 2**3 * np.log(2))  # sum of x^y log x


def test_unary_minus_is_neg():
    x = Tensor([1.0, -2.0], requires_grad=True)
    np.testing.assert_array_equal((-x).data, [-1.0, 2.0])
    assert_grads_match(lambda x: -x, [x], lambda g, x: [-g])


@pytest.mark.parametrize("op", [mg.add, mg.sub, mg.mul, mg.div])
def test_broadcast_error_is_raised_by_the_operation_and_names_both_shapes(op):
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((4,)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        op(a, b)
    message = str(caught.value)
    assert "(2, 3)" in message and "(4,)" in message
    assert op.__name__ in message
