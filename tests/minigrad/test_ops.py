"""Every operation's gradient, checked two ways for any shapes and values hypothesis draws.

1. against central finite differences of the whole Jacobian (`mg.gradcheck`), and
2. against the derivative written out here by hand, with a random upstream gradient `g`
   (`minigrad.testing.assert_grads_match`).

The hand-written derivatives never call minigrad. Broadcasting is undone by `sum_to`, which counts,
for every input element, the output positions it was copied to: a different route from the engine's.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, assert_grads_match, broadcastable_shapes, shapes, tensors

# Shapes stay small: gradcheck costs two forward passes per input element per output element.
SMALL = {"max_dims": 3, "max_side": 3}


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an input of `shape` that was broadcast to `g.shape`: each element collects `g`
    from every output position it was copied to."""
    source = np.broadcast_to(np.arange(math.prod(shape)).reshape(shape), g.shape)
    return np.bincount(source.ravel(), weights=g.ravel(), minlength=math.prod(shape)).reshape(shape)


def moved(g: np.ndarray, shape: tuple[int, ...], move) -> np.ndarray:
    """The gradient of an input of `shape` whose elements `move` rearranges: each gets `g` where it went."""
    source = move(np.arange(math.prod(shape)).reshape(shape))
    grad = np.zeros(math.prod(shape))
    grad[source.ravel()] = g.ravel()
    return grad.reshape(shape)


def check(fn, inputs, analytic, upstream) -> None:
    """Both checks: finite differences, then the hand-written derivative."""
    assert mg.gradcheck(fn, *inputs)
    assert_grads_match(fn, inputs, analytic, upstream)


def upstream_for(data, shape) -> np.ndarray:
    return data.draw(arrays(shape), label="upstream g")


# ----- arithmetic ---------------------------------------------------------------------------------


@st.composite
def broadcast_pair(draw, **array_options):
    shape_a, shape_b = draw(broadcastable_shapes(**SMALL))
    a = draw(tensors(shape_a, name="a"))
    b = draw(tensors(shape_b, name="b", **array_options))
    return a, b


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


# ----- linear algebra -----------------------------------------------------------------------------


@st.composite
def matmul_pair(draw):
    """A of (..., n, k) and B of (..., k, m), the leading (batch) dimensions broadcastable."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=2, max_side=2))
    A = draw(tensors((*batch_a, n, k), name="A"))
    B = draw(tensors((*batch_b, k, m), name="B"))
    return A, B


@given(matmul_pair(), st.data())
def test_matmul_gradient_is_g_Bt_and_At_g(AB, data):
    A, B = AB
    g = upstream_for(data, np.matmul(A.data, B.data).shape)

    def analytic(g, A, B):
        # d(AB)/dA_ik = sum_j g_ij B_kj ; d(AB)/dB_kj = sum_i A_ik g_ij  (per batch, then summed over it)
        dA = np.einsum("...ij,...kj->...ik", g, np.broadcast_to(B, g.shape[:-2] + B.shape[-2:]))
        dB = np.einsum("...ik,...ij->...kj", np.broadcast_to(A, g.shape[:-2] + A.shape[-2:]), g)
        return [sum_to(dA, A.shape), sum_to(dB, B.shape)]

    check(mg.matmul, AB, analytic, g)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [((3,), (3, 2)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((3,), (3,))]
)
def test_matmul_with_a_vector_follows_numpy(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = Tensor(rng.standard_normal(shape_b), requires_grad=True)
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    assert out.shape == (a.data @ b.data).shape
    assert mg.gradcheck(mg.matmul, a, b)


@st.composite
def permuted(draw):
    """A tensor and a permutation of its axes, some written as negative axes."""
    x = draw(tensors(shapes(min_dims=1, **SMALL)))
    perm = draw(st.permutations(range(x.ndim)))
    negative = draw(st.lists(st.booleans(), min_size=x.ndim, max_size=x.ndim))
    return x, tuple(p - x.ndim if neg else p for p, neg in zip(perm, negative))


@given(permuted(), st.data())
def test_transpose_gradient_puts_g_back_where_each_element_came_from(x_axes, data):
    x, axes = x_axes
    g = upstream_for(data, np.transpose(x.data, axes).shape)
    check(
        lambda x: mg.transpose(x, axes),
        [x],
        lambda g, x: [moved(g, x.shape, lambda i: np.transpose(i, axes))],
        g,
    )


@given(tensors(shapes(**SMALL)), st.data())
def test_transpose_without_axes_reverses_them(x, data):
    g = upstream_for(data, x.shape[::-1])
    assert x.T.shape == x.shape[::-1]
    check(lambda x: x.T, [x], lambda g, x: [moved(g, x.shape, np.transpose)], g)


@st.composite
def reshaped(draw):
    """A tensor and a shape of the same size: its size's prime factors dealt out among new axes."""
    x = draw(tensors(shapes(max_dims=3, max_side=4)))
    factors, n, d = [], x.size, 2
    while n > 1:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1
    ndim = draw(st.integers(0 if x.size == 1 else 1, 4))
    new = [1] * ndim
    for f in factors:
        new[draw(st.integers(0, ndim - 1))] *= f
    if ndim and draw(st.booleans()):
        new[draw(st.integers(0, ndim - 1))] = -1
    return x, tuple(new)


@given(reshaped(), st.data())
def test_reshape_gradient_is_g_in_the_input_shape(x_shape, data):
    x, shape = x_shape
    g = upstream_for(data, x.data.reshape(shape).shape)
    check(
        lambda x: mg.reshape(x, shape), [x], lambda g, x: [moved(g, x.shape, lambda i: i.reshape(shape))], g
    )


# ----- elementwise --------------------------------------------------------------------------------


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


# ----- reductions ---------------------------------------------------------------------------------


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


# ----- forward values agree with NumPy ------------------------------------------------------------

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


# ----- operators, reflected operators, functions and methods ----------------------------------

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


def test_matmul_operator_with_an_ndarray_on_either_side():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((2, 3))
    N = rng.standard_normal((4, 2))
    W = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    right, left = M @ W, W @ N
    assert isinstance(right, Tensor) and isinstance(left, Tensor)
    np.testing.assert_allclose(right.data, M @ W.data)
    np.testing.assert_allclose(left.data, W.data @ N)
    assert_grads_match(lambda W: M @ W, [W], lambda g, W: [M.T @ g])
    assert_grads_match(lambda W: W @ N, [W], lambda g, W: [g @ N.T])


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


ALIKE = [
    ("add", lambda x, y: mg.add(x, y), lambda x, y: x.add(y), lambda x, y: x + y),
    ("sub", lambda x, y: mg.sub(x, y), lambda x, y: x.sub(y), lambda x, y: x - y),
    ("mul", lambda x, y: mg.mul(x, y), lambda x, y: x.mul(y), lambda x, y: x * y),
    ("div", lambda x, y: mg.div(x, y), lambda x, y: x.div(y), lambda x, y: x / y),
    ("matmul", lambda x, y: mg.matmul(x, y.T), lambda x, y: x.matmul(y.T), lambda x, y: x @ y.T),
    ("neg", lambda x, y: mg.neg(x), lambda x, y: x.neg(), lambda x, y: -x),
    ("pow", lambda x, y: mg.pow(x, 2), lambda x, y: x.pow(2), lambda x, y: x**2),
    ("transpose", lambda x, y: mg.transpose(x), lambda x, y: x.transpose(), lambda x, y: x.T),
    (
        "reshape",
        lambda x, y: mg.reshape(x, (3, 2)),
        lambda x, y: x.reshape(3, 2),
        lambda x, y: x.reshape((3, 2)),
    ),
    ("exp", lambda x, y: mg.exp(x), lambda x, y: x.exp(), None),
    ("log", lambda x, y: mg.log(x), lambda x, y: x.log(), None),
    ("sigmoid", lambda x, y: mg.sigmoid(x), lambda x, y: x.sigmoid(), None),
    ("relu", lambda x, y: mg.relu(x), lambda x, y: x.relu(), None),
    ("tanh", lambda x, y: mg.tanh(x), lambda x, y: x.tanh(), None),
    ("sum", lambda x, y: mg.sum(x, axis=1, keepdims=True), lambda x, y: x.sum(axis=1, keepdims=True), None),
    ("mean", lambda x, y: mg.mean(x, 0), lambda x, y: x.mean(0), None),
]


@pytest.mark.parametrize(("name", "function", "method", "operator"), ALIKE, ids=[a[0] for a in ALIKE])
def test_module_function_method_and_operator_agree(name, function, method, operator):
    ways = [w for w in (function, method, operator) if w is not None]
    results = []
    for way in ways:
        x = Tensor([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]], requires_grad=True)
        y = Tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 4.0]], requires_grad=True)
        out = way(x, y)
        out.backward(np.arange(out.size, dtype=float).reshape(out.shape))
        results.append((out.data, out.op, x.grad, y.grad))
    for data, op, x_grad, y_grad in results[1:]:
        np.testing.assert_array_equal(data, results[0][0])
        assert op == results[0][1] == name
        np.testing.assert_array_equal(x_grad, results[0][2])
        np.testing.assert_array_equal(
            np.zeros(1) if y_grad is None else y_grad, np.zeros(1) if results[0][3] is None else results[0][3]
        )


# ----- errors raised by the operation at fault ----------------------------------------------------


@pytest.mark.parametrize("op", [mg.add, mg.sub, mg.mul, mg.div])
def test_broadcast_error_is_raised_by_the_operation_and_names_both_shapes(op):
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones((4,)), requires_grad=True)
    with pytest.raises(ValueError) as caught:
        op(a, b)
    message = str(caught.value)
    assert "(2, 3)" in message and "(4,)" in message
    assert op.__name__ in message


def test_matmul_shape_error_names_both_shapes_like_the_contract():
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(5, 2\)"):
        Tensor(np.ones((3, 4)), requires_grad=True) @ Tensor(np.ones((5, 2)))


def test_matmul_of_a_scalar_is_a_value_error():
    with pytest.raises(ValueError, match="matmul"):
        mg.matmul(Tensor(2.0), Tensor(np.ones((2, 2))))


def test_reshape_to_a_different_size_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


@pytest.mark.parametrize("op", [mg.sum, mg.mean])
def test_reduction_over_a_missing_axis_names_the_axis_and_shape(op):
    with pytest.raises(ValueError, match=r"axis 2 .*\(2, 3\)"):
        op(Tensor(np.ones((2, 3))), axis=2)


# ----- numerics the contract names ----------------------------------------------------------------


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


def test_a_transpose_with_wrong_axes_names_them_and_the_shape():
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 2\) .*shape \(2, 3\)"):
        Tensor(np.ones((2, 3))).transpose(0, 2)
