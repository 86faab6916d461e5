"""Gradients of gradients: every built-in operation differentiates to second and third order.

`mg.grad(..., create_graph=True)` returns gradients that are themselves in the graph. Two independent
sources check them:

1. finite differences: `gradcheck` of a function that *returns* a gradient compares the gradient's own
   backward pass (the second derivative) with central differences of the first derivative; nesting once
   more checks the third derivative against differences of the second;
2. derivatives written out here by hand in NumPy (sigmoid'' = s(1 - s)(1 - 2s), log''' = 2/x³, ...).

A fixed random weight `w` on the output makes the first derivative `w`-weighted and so non-trivial. A
linear operation's gradient rule only moves `g` about, so its second derivative is zero unless the
gradient flowing into it depends on x: each operation is also checked cubed, `op(x) ** 3`, which sends
a gradient that depends on x through the operation's rule, and makes that rule's own derivative count.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, broadcastable_shapes, shapes, tensors

# gradcheck of a gradient costs (output elements) x (input elements) x 2 backward passes: keep shapes tiny.
SMALL = {"max_dims": 2, "max_side": 3}
# Second and third derivatives cost a pass per Jacobian entry, each a create_graph pass itself.
SECOND_ORDER = settings(max_examples=25)
THIRD_ORDER = settings(max_examples=10)


def first_derivative(f, xs, w, i):
    """d/dx_i of sum(w * f(xs)), in the graph."""
    return mg.grad((f(*xs) * w).sum(), xs[i], create_graph=True)[0]


def second_derivative(f, xs, w, vs, i):
    """d/dx_i of sum_j sum(v_j * d/dx_j sum(w * f(xs))): a weighted row of the Hessian, in the graph."""
    firsts = mg.grad((f(*xs) * w).sum(), xs, create_graph=True)
    weighted = sum((g * v).sum() for g, v in zip(firsts, vs))
    return mg.grad(weighted, xs[i], create_graph=True)[0]


def draw_like(data, shape, label):
    return data.draw(arrays(shape), label=label)


# ----- the operations, each as a function and a strategy for its inputs ------------------------------


def one_input(**domain):
    return lambda data: (data.draw(tensors(shapes(**SMALL), **domain), label="x"),)


def one_input_of(shape_strategy, **domain):
    return lambda data: (data.draw(tensors(shape_strategy, **domain), label="x"),)


def two_broadcastable(**b_domain):
    def draw(data):
        shape_a, shape_b = data.draw(broadcastable_shapes(**SMALL), label="shapes")
        a = data.draw(tensors(shape_a), label="a")
        b = data.draw(tensors(shape_b, **b_domain), label="b")
        return a, b

    return draw


def matmul_pair(data):
    n, k, m = (data.draw(st.integers(1, 3), label=s) for s in "nkm")
    batch = data.draw(st.sampled_from([(), (2,)]), label="batch of A")
    A = data.draw(tensors((*batch, n, k)), label="A")
    B = data.draw(tensors((k, m)), label="B")
    return A, B


def with_option(make_f, option_strategy, x_shapes):
    """An operation whose option (an axis, a shape) is drawn to suit the drawn input."""

    def draw(data):
        x = data.draw(tensors(x_shapes), label="x")
        option = data.draw(option_strategy(x.shape), label="option")
        return make_f(option), (x,)

    return draw


def axes_of(shape):
    ndim = len(shape)
    single = st.integers(-ndim, ndim - 1) if ndim else st.nothing()
    several = st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim).map(tuple)
    return st.tuples(st.one_of(st.none(), single, several) if ndim else st.none(), st.booleans())


def broadcast_target(shape):
    # A new leading axis, and every axis of length 1 stretched.
    return st.just((2, *(3 if n == 1 else n for n in shape)))


def reshape_target(shape):
    size = math.prod(shape)
    return st.sampled_from([(size,), (size, 1), (1, -1), tuple(reversed(shape))])


def permutation(shape):
    return st.permutations(range(len(shape))).map(tuple)


POWERS = [-2.0, -1.0, 0.5, 1.5, 2.0, 3.0]


def draw_pow(data):
    p = data.draw(st.sampled_from(POWERS), label="p")
    x = data.draw(tensors(shapes(**SMALL), min_value=0.4), label="x")  # fractional powers need x > 0
    return (lambda x: x**p), (x,)


def plain(f, draw_inputs):
    return lambda data: (f, draw_inputs(data))


CASES = {
    "add": plain(mg.add, two_broadcastable()),
    "sub": plain(mg.sub, two_broadcastable()),
    "mul": plain(mg.mul, two_broadcastable()),
    "div": plain(mg.div, two_broadcastable(min_magnitude=0.5)),
    "matmul": plain(mg.matmul, matmul_pair),
    "neg": plain(mg.neg, one_input()),
    "pow": draw_pow,
    "exp": plain(mg.exp, one_input(max_value=2.0)),
    "log": plain(mg.log, one_input(min_value=0.4)),
    "sigmoid": plain(mg.sigmoid, one_input()),
    "relu": plain(mg.relu, one_input(min_magnitude=0.05)),  # away from the kink
    "tanh": plain(mg.tanh, one_input()),
    "transpose": plain(lambda x: x.T, one_input()),
    "transpose(axes)": with_option(
        lambda axes: lambda x: mg.transpose(x, axes), permutation, shapes(min_dims=1, max_dims=3, max_side=2)
    ),
    "matrix_transpose": plain(lambda x: x.mT, one_input_of(shapes(min_dims=2, max_dims=3, max_side=2))),
    "reshape": with_option(lambda s: lambda x: x.reshape(s), reshape_target, shapes(**SMALL)),
    "broadcast_to": with_option(
        lambda s: lambda x: mg.broadcast_to(x, shape=s), broadcast_target, shapes(max_dims=2, max_side=2)
    ),
    "sum": with_option(
        lambda ak: lambda x: x.sum(axis=ak[0], keepdims=ak[1]), axes_of, shapes(max_dims=3, max_side=2)
    ),
    "mean": with_option(
        lambda ak: lambda x: mg.mean(x, axis=ak[0], keepdims=ak[1]), axes_of, shapes(max_dims=3, max_side=2)
    ),
}

OUTER = {
    "alone": lambda op: op,
    # Cubed: the gradient flowing into the op's rule depends on x, so the rule is differentiated too.
    "cubed": lambda op: lambda *xs: op(*xs) ** 3,
}


def draw_case(data, name, outer):
    op, xs = CASES[name](data)
    f = OUTER[outer](op)
    with mg.no_grad():
        out_shape = f(*xs).shape
    w = draw_like(data, out_shape, "w")
    return f, xs, w


@SECOND_ORDER
@pytest.mark.parametrize("outer", OUTER)
@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_second_derivative_equals_finite_differences_of_the_first(name, outer, data):
    f, xs, w = draw_case(data, name, outer)
    for i in range(len(xs)):
        # Both inputs of a binary op are perturbed: the mixed partials are checked too.
        assert mg.gradcheck(lambda *xs, i=i: first_derivative(f, xs, w, i), *xs)


@THIRD_ORDER
@pytest.mark.parametrize("name", CASES)
@given(data=st.data())
def test_third_derivative_equals_finite_differences_of_the_second(name, data):
    f, xs, w = draw_case(data, name, "cubed")
    vs = [draw_like(data, x.shape, f"v{j}") for j, x in enumerate(xs)]
    for i in range(len(xs)):
        assert mg.gradcheck(lambda *xs, i=i: second_derivative(f, xs, w, vs, i), *xs)


# ----- against derivatives written out by hand ------------------------------------------------------


def elementwise_derivatives(f, x, order):
    """f', f'', ... up to `order`, elementwise: each the gradient of the sum of the one before."""
    found, current = [], f(x)
    for _ in range(order):
        current = mg.grad(current.sum(), x, create_graph=True)[0]
        found.append(current.data)
    return found


def sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


HAND = {
    # name: (f, domain, [f', f'', f'''] in NumPy)
    "sigmoid": (
        mg.sigmoid,
        {},
        [
            lambda x: sigmoid_np(x) * (1 - sigmoid_np(x)),
            lambda x: sigmoid_np(x) * (1 - sigmoid_np(x)) * (1 - 2 * sigmoid_np(x)),
            lambda x: sigmoid_np(x) * (1 - sigmoid_np(x)) * (1 - 6 * sigmoid_np(x) + 6 * sigmoid_np(x) ** 2),
        ],
    ),
    "tanh": (
        mg.tanh,
        {},
        [
            lambda x: 1 - np.tanh(x) ** 2,
            lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2),
            lambda x: -2 * (1 - np.tanh(x) ** 2) * (1 - 3 * np.tanh(x) ** 2),
        ],
    ),
    "log": (mg.log, {"min_value": 0.2}, [lambda x: 1 / x, lambda x: -1 / x**2, lambda x: 2 / x**3]),
    "exp": (mg.exp, {}, [np.exp, np.exp, np.exp]),
    "relu": (
        mg.relu,
        {"min_magnitude": 1e-3},
        [lambda x: (x > 0).astype(float), np.zeros_like, np.zeros_like],
    ),
}


@pytest.mark.parametrize("name", HAND)
@given(data=st.data())
def test_elementwise_derivatives_up_to_third_order_equal_the_hand_written_ones(name, data):
    f, domain, derivatives = HAND[name]
    x = data.draw(tensors(shapes(max_dims=2, max_side=4), **domain), label="x")
    for order, (got, want) in enumerate(zip(elementwise_derivatives(f, x, 3), derivatives), start=1):
        np.testing.assert_allclose(got, want(x.data), rtol=1e-9, atol=1e-12, err_msg=f"{name}, order {order}")


@given(p=st.sampled_from([*POWERS, 0.0, 1.0, -0.5, 2.5]), x=tensors(shapes(max_dims=2), min_value=0.3))
def test_power_rule_to_third_order(p, x):
    d1, d2, d3 = elementwise_derivatives(lambda x: x**p, x, 3)
    np.testing.assert_allclose(d1, p * x.data ** (p - 1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d2, p * (p - 1) * x.data ** (p - 2), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d3, p * (p - 1) * (p - 2) * x.data ** (p - 3), rtol=1e-9, atol=1e-12)


LINEAR = {
    "neg": mg.neg,
    "add a constant": lambda x: x + 2.0,
    "sub from a constant": lambda x: 1.0 - x,
    "transpose": lambda x: x.T,
    "reshape": lambda x: x.reshape(-1),
    "broadcast_to": lambda x: mg.broadcast_to(x, shape=(2, *x.shape)),
    "sum": lambda x: x.sum(axis=0, keepdims=True),
    "mean": lambda x: x.mean(),
}


@pytest.mark.parametrize("name", LINEAR)
@given(x=tensors(shapes(min_dims=1, max_dims=2)), data=st.data())
def test_a_linear_operation_has_a_zero_second_derivative(name, x, data):
    f = LINEAR[name]
    w, v = draw_like(data, f(x).shape, "w"), draw_like(data, x.shape, "v")
    first = first_derivative(f, (x,), w, 0)
    assert not first.requires_grad  # Jᵀw, a constant: it depends on no input
    np.testing.assert_array_equal(mg.grad((first * v).sum(), x)[0].data, np.zeros(x.shape))


@given(data=st.data())
def test_mixed_partials_of_a_product_a_quotient_and_a_matrix_product(data):
    shape = data.draw(shapes(min_dims=2, max_dims=2, max_side=3), label="shape")
    a = data.draw(tensors(shape), label="a")
    b = data.draw(tensors(shape, min_magnitude=0.5), label="b")
    w, u = draw_like(data, shape, "w"), draw_like(data, shape, "u")

    def hessian_rows(f, wrt):
        """d/da and d/db of sum(u * d/d(wrt) sum(w * f(a, b)))."""
        first = mg.grad((f(a, b) * w).sum(), wrt, create_graph=True)[0]
        return [g.data for g in mg.grad((first * u).sum(), [a, b])]

    # mul: d/da sum(w a b) = w b, so d/da = 0 and d/db = u w.
    d_a, d_b = hessian_rows(mg.mul, a)
    np.testing.assert_allclose(d_a, 0)
    np.testing.assert_allclose(d_b, u * w, rtol=1e-10, atol=1e-12)
    # div: d/da = w / b, d/db = -w a / b²
    d_a, d_b = hessian_rows(mg.div, a)
    np.testing.assert_allclose(d_a, 0)
    np.testing.assert_allclose(d_b, -u * w / b.data**2, rtol=1e-10, atol=1e-12)
    d_a, d_b = hessian_rows(mg.div, b)
    np.testing.assert_allclose(d_a, -u * w / b.data**2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d_b, 2 * u * w * a.data / b.data**3, rtol=1e-10, atol=1e-12)
    # matmul, A (n, k) @ B (k, m): d/dA sum(W * AB) = W Bᵀ, and d/dB sum(U * W Bᵀ) = Uᵀ W.
    A, B = a, Tensor(data.draw(arrays((shape[1], 2)), label="B"), requires_grad=True)
    W = draw_like(data, (shape[0], 2), "W")
    first = mg.grad(((A @ B) * W).sum(), A, create_graph=True)[0]
    np.testing.assert_allclose(first.data, W @ B.data.T, rtol=1e-10, atol=1e-12)
    d_A, d_B = mg.grad((first * u).sum(), [A, B])
    np.testing.assert_allclose(d_A.data, 0)
    np.testing.assert_allclose(d_B.data, u.T @ W, rtol=1e-10, atol=1e-12)


# ----- second derivatives in practice ---------------------------------------------------------------


def two_layer_cost(X, Y, W1, b1, W2, b2):
    """The lab's network: sigmoid hidden layer, sigmoid output, mean cross-entropy J."""
    A1 = (W1 @ X + b1).sigmoid()
    A2 = (W2 @ A1 + b2).sigmoid()
    m = Y.shape[1]
    return -(Y * A2.log() + (1 - Y) * (1 - A2).log()).sum() / m


def dJ_dW1_closed_form(X, Y, W1, b1, W2, b2):
    """The lab's back-propagation in NumPy, divided by m: the true derivative of J."""
    A1 = sigmoid_np(W1 @ X + b1)
    A2 = sigmoid_np(W2 @ A1 + b2)
    dZ2 = (A2 - Y) / Y.shape[1]
    dZ1 = (W2.T @ dZ2) * A1 * (1 - A1)
    return dZ1 @ X.T


@settings(max_examples=20)
@given(n_x=st.integers(1, 4), n_h=st.integers(1, 4), m=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_hessian_vector_product_of_the_cost_equals_differences_of_the_gradient_along_v(n_x, n_h, m, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = rng.integers(0, 2, (1, m)).astype(float)
    W1 = rng.standard_normal((n_h, n_x))
    b1, W2, b2 = rng.standard_normal((n_h, 1)), rng.standard_normal((1, n_h)), rng.standard_normal((1, 1))
    v = rng.standard_normal(W1.shape)

    W1_t = Tensor(W1, requires_grad=True, name="W1")
    dW1 = mg.grad(two_layer_cost(X, Y, W1_t, b1, W2, b2), W1_t, create_graph=True)[0]
    np.testing.assert_allclose(dW1.data, dJ_dW1_closed_form(X, Y, W1, b1, W2, b2), rtol=1e-9, atol=1e-12)
    Hv = mg.grad((dW1 * v).sum(), W1_t)[0]

    eps = 1e-5
    plus = dJ_dW1_closed_form(X, Y, W1 + eps * v, b1, W2, b2)
    minus = dJ_dW1_closed_form(X, Y, W1 - eps * v, b1, W2, b2)
    np.testing.assert_allclose(Hv.data, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-8)


@given(x=tensors(shapes(max_dims=2, max_side=4)))
def test_backward_on_a_gradient_with_create_graph_leaves_the_second_derivative_in_grad(x):
    first = mg.grad(x.sigmoid().sum(), x, create_graph=True)[0]
    assert first.requires_grad
    assert x.grad is None  # mg.grad itself leaves .grad alone
    first.backward(np.ones(x.shape))
    s = sigmoid_np(x.data)
    np.testing.assert_allclose(x.grad, s * (1 - s) * (1 - 2 * s), rtol=1e-9, atol=1e-15)


def test_third_derivative_by_backward_on_a_second_derivative():
    x = Tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    first = mg.grad(x.log().sum(), x, create_graph=True)[0]
    second = mg.grad(first.sum(), x, create_graph=True)[0]
    np.testing.assert_allclose(second.data, -1 / x.data**2, rtol=1e-12)
    second.sum().backward()
    np.testing.assert_allclose(x.grad, 2 / x.data**3, rtol=1e-12)
