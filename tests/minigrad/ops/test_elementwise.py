"""The operations `exp`, `log`, `sigmoid`, `relu`, `tanh`, `abs`, `sqrt`, `maximum`, `minimum`, `where`,
`clip` (`minigrad/ops/elementwise.py`).

Each gradient is checked two ways for any shapes and values hypothesis draws: against central finite
differences of the whole Jacobian (`mg.gradcheck`), and against the derivative written out here by hand, with
a random upstream gradient `g` (`minigrad.testing.assert_grads_match`). The hand-written derivatives never
call minigrad; broadcasting is undone by `opcheck.sum_to`, a different route from the engine's.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import SMALL, broadcast_pair, check, grad_of, no_near_ties, sum_to, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, assert_grads_match, broadcastable_shapes, shapes, tensors


@given(tensors(shapes(**SMALL)), st.data())
def test_exp_gradient_is_exp(x, data):
    g = upstream_for(data, x.shape)
    check(mg.exp, [x], lambda g, x: [g * np.exp(x)], g)


@given(tensors(shapes(**SMALL), min_value=0.2, max_value=5.0), st.data())
def test_log_gradient_is_one_over_x(x, data):
    g = upstream_for(data, x.shape)
    check(mg.log, [x], lambda g, x: [g / x], g)


@given(tensors(shapes(**SMALL), min_value=-6.0, max_value=6.0), st.data())
def test_sigmoid_gradient_is_sigmoid_times_one_minus_sigmoid(x, data):
    g = upstream_for(data, x.shape)

    def analytic(g, x):
        s = 1 / (1 + np.exp(-x))
        return [g * s * (1 - s)]

    check(mg.sigmoid, [x], analytic, g)


@given(tensors(shapes(**SMALL), min_magnitude=0.01), st.data())
def test_relu_gradient_is_one_where_positive_zero_elsewhere(x, data):
    # Away from 0, where finite differences would straddle the kink (the value at 0 has its own test).
    g = upstream_for(data, x.shape)
    check(mg.relu, [x], lambda g, x: [np.where(x > 0, g, 0.0)], g)


@given(tensors(shapes(**SMALL)), st.data())
def test_tanh_gradient_is_one_over_cosh_squared(x, data):
    g = upstream_for(data, x.shape)
    check(mg.tanh, [x], lambda g, x: [g / np.cosh(x) ** 2], g)


UNARY = {
    "neg": np.negative,
    "exp": np.exp,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(x=arrays())
def test_elementwise_forward_matches_numpy(name, x):
    np.testing.assert_allclose(getattr(mg, name)(Tensor(x)).data, UNARY[name](x), rtol=1e-12, atol=1e-15)


@given(x=arrays(min_value=0.01, max_value=10.0))
def test_log_forward_matches_numpy(x):
    np.testing.assert_allclose(mg.log(Tensor(x)).data, np.log(x), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_sigmoid_of_a_small_array_is_bit_for_bit_that_of_the_same_values_in_a_large_one(dtype):
    # Small arrays take the plain expression, large ones the blocked passes into one output: the same numbers.
    from minigrad.parallel import settings

    values = (np.random.default_rng(3).standard_normal(settings.min_size + 10) * 400).astype(dtype)
    values[:4] = [-1000, 1000, 0, -0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        large = mg.sigmoid(Tensor(values)).data
        small = np.concatenate(
            [mg.sigmoid(Tensor(values[i : i + 999])).data for i in range(0, len(values), 999)]
        )
    assert large.dtype == small.dtype == dtype
    np.testing.assert_array_equal(small, large)


def test_sigmoid_at_plus_minus_1000_warns_nothing_and_has_a_finite_gradient():
    z = Tensor([-1000.0, 1000.0], requires_grad=True)
    # exp(-1000) underflowing to 0 is exact enough and NumPy is silent about it; overflow, invalid
    # values and divisions by zero are what a naive 1 / (1 + exp(-z)) would raise here.
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        A = mg.sigmoid(z)
        A.backward(np.ones(2))
    np.testing.assert_array_equal(A.data, [0.0, 1.0])
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_array_equal(z.grad, [0.0, 0.0])


@given(arrays(min_value=-800.0, max_value=800.0))
def test_sigmoid_stays_in_zero_one_and_never_nan(z):
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        A = mg.sigmoid(Tensor(z)).data
    assert not np.any(np.isnan(A))
    assert np.all((A >= 0) & (A <= 1))


def test_relu_derivative_at_exactly_zero_is_zero():
    x = Tensor([-1.0, 0.0, 1.0], requires_grad=True)
    mg.relu(x).backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_log_of_zero_is_minus_infinity_as_in_numpy():
    with np.errstate(divide="ignore"):
        assert mg.log(Tensor(0.0)).item() == -np.inf


@settings(max_examples=20)
@given(st.sampled_from(sorted(UNARY)), tensors(shapes(), dtype=np.float32, min_value=0.1, max_value=2.0))
def test_float32_stays_float32_through_every_operation_and_its_gradient(name, x):
    out = getattr(mg, name)(x)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32


@given(tensors(shapes(**SMALL), min_magnitude=0.01), st.data())
def test_abs_gradient_is_the_sign(x, data):
    g = upstream_for(data, x.shape)
    check(mg.abs, [x], lambda g, x: [g * np.sign(x)], g)


@given(tensors(shapes(**SMALL), min_value=0.2, max_value=5.0), st.data())
def test_sqrt_gradient_is_one_over_two_sqrt(x, data):
    g = upstream_for(data, x.shape)
    check(mg.sqrt, [x], lambda g, x: [g / (2 * np.sqrt(x))], g)


def larger_gets_g(g, a, b):
    """d max(a, b): g to the larger, half of g to each where they tie."""
    return np.where(a > b, g, np.where(a == b, g / 2, 0.0))


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(ab=broadcast_pair(), data=st.data())
def test_maximum_and_minimum_give_g_to_the_winner_and_split_ties(name, ab, data):
    a, b = ab
    g = upstream_for(data, np.broadcast_shapes(a.shape, b.shape))
    sign = 1 if name == "maximum" else -1

    def analytic(g, a, b):
        A, B = np.broadcast_arrays(sign * a, sign * b)
        return [sum_to(larger_gets_g(g, A, B), a.shape), sum_to(larger_gets_g(g, B, A), b.shape)]

    fn = getattr(mg, name)
    assert_grads_match(fn, ab, analytic, g)
    A, B = np.broadcast_arrays(a.data, b.data)
    if np.all(np.abs(A - B) > 1e-3):
        assert mg.gradcheck(fn, *ab)


@st.composite
def where_inputs(draw):
    shape_c, shape_a, shape_b = draw(broadcastable_shapes(3, **SMALL))
    condition = draw(hnp.arrays(bool, shape_c))
    return condition, draw(tensors(shape_a, name="a")), draw(tensors(shape_b, name="b"))


@given(where_inputs(), st.data())
def test_where_gives_g_to_the_chosen_side(cab, data):
    condition, a, b = cab
    g = upstream_for(data, np.broadcast_shapes(condition.shape, a.shape, b.shape))
    fn = lambda a, b: mg.where(condition, a, b)  # noqa: E731
    check(
        fn,
        [a, b],
        lambda g, a, b: [
            sum_to(np.where(condition, g, 0.0), a.shape),
            sum_to(np.where(condition, 0.0, g), b.shape),
        ],
        g,
    )


@given(
    tensors(shapes(**SMALL)), st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0.0, 0.0)]), st.data()
)
def test_clip_passes_g_inside_the_bounds(x, bounds, data):
    low, high = bounds
    g = upstream_for(data, x.shape)
    inside = np.ones(x.shape, bool)
    if low is not None:
        inside &= x.data >= low
    if high is not None:
        inside &= x.data <= high
    fn = lambda x: mg.clip(x, low, high)  # noqa: E731
    np.testing.assert_array_equal(fn(x).data, np.clip(x.data, low, high))
    assert_grads_match(fn, [x], lambda g, x: [np.where(inside, g, 0.0)], g)
    if no_near_ties(x.data, [b for b in bounds if b is not None]):
        assert mg.gradcheck(fn, x)


def test_maximum_and_minimum_split_evenly_where_equal():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([3.0, 2.0, 1.0], requires_grad=True)
    mg.maximum(a, b).backward(np.ones(3))
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: mg.minimum(x, 2.0), [1.0, 2.0, 3.0]), [1.0, 0.5, 0.0])


def test_abs_has_zero_slope_at_zero_and_clip_passes_at_its_bounds():
    np.testing.assert_array_equal(grad_of(mg.abs, [-2.0, 0.0, 3.0]), [-1.0, 0.0, 1.0])
    clipped = grad_of(lambda x: x.clip(-1, 1), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(clipped, [0.0, 1.0, 1.0, 1.0, 0.0])
