"""Trigonometric, hyperbolic, exponential and rounding operations: values as NumPy's, gradients as the
derivative written out by hand and as finite differences, first and second order, for any shape."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_both_orders, leaf

import minigrad as mg
from minigrad.testing import arrays, assert_grads_match, broadcastable_shapes, shapes

# name: (numpy function, derivative written out by hand, lowest and highest value drawn)
UNARY = {
    "sin": (np.sin, np.cos, -3, 3),
    "cos": (np.cos, lambda x: -np.sin(x), -3, 3),
    "tan": (np.tan, lambda x: 1 / np.cos(x) ** 2, -1.2, 1.2),
    "arcsin": (np.arcsin, lambda x: 1 / np.sqrt(1 - x**2), -0.9, 0.9),
    "arccos": (np.arccos, lambda x: -1 / np.sqrt(1 - x**2), -0.9, 0.9),
    "arctan": (np.arctan, lambda x: 1 / (1 + x**2), -3, 3),
    "sinh": (np.sinh, np.cosh, -3, 3),
    "cosh": (np.cosh, np.sinh, -3, 3),
    "arcsinh": (np.arcsinh, lambda x: 1 / np.sqrt(x**2 + 1), -3, 3),
    "arccosh": (np.arccosh, lambda x: 1 / np.sqrt(x**2 - 1), 1.2, 4),
    "arctanh": (np.arctanh, lambda x: 1 / (1 - x**2), -0.9, 0.9),
    "sinc": (np.sinc, lambda x: (np.cos(np.pi * x) - np.sinc(x)) / x, 0.1, 3),
    "deg2rad": (np.deg2rad, lambda x: np.full_like(x, np.pi / 180), -3, 3),
    "rad2deg": (np.rad2deg, lambda x: np.full_like(x, 180 / np.pi), -3, 3),
    "log1p": (np.log1p, lambda x: 1 / (1 + x), -0.5, 3),
    "expm1": (np.expm1, np.exp, -3, 3),
    "log2": (np.log2, lambda x: 1 / (x * np.log(2)), 0.2, 3),
    "log10": (np.log10, lambda x: 1 / (x * np.log(10)), 0.2, 3),
    "exp2": (np.exp2, lambda x: np.exp2(x) * np.log(2), -3, 3),
    "square": (np.square, lambda x: 2 * x, -3, 3),
    "reciprocal": (np.reciprocal, lambda x: -1 / x**2, 0.3, 3),
    "real": (np.real, np.ones_like, -3, 3),
    "conj": (np.conj, np.ones_like, -3, 3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=8)
@given(data=arrays(shapes(max_dims=2, max_side=3), min_value=0, max_value=1))
def test_each_unary_operation_is_numpys_function_with_its_derivative_by_hand(name, data):
    forward, derivative, low, high = UNARY[name]
    x = low + (high - low) * data  # drawn in [0, 1], moved into the function's domain
    operation = getattr(mg, name)
    np.testing.assert_allclose(operation(mg.Tensor(x)).data, forward(x))
    assert_grads_match(operation, [leaf(x)], lambda g, x: [g * derivative(x)])
    # np.sin(t) is mg.sin(t): NumPy hands the call to the Tensor.
    assert getattr(np, name)(leaf(x)).op == operation(leaf(x)).op


@pytest.mark.parametrize("name", sorted(UNARY))
def test_each_unary_operation_has_second_derivatives(name):
    _, _, low, high = UNARY[name]
    x = leaf(np.linspace(low + 0.05, high - 0.05, 5))
    check_both_orders(getattr(mg, name), x)


BINARY = {
    # name: (numpy function, d/da, d/db)
    "arctan2": (np.arctan2, lambda a, b: b / (a**2 + b**2), lambda a, b: -a / (a**2 + b**2)),
    "hypot": (np.hypot, lambda a, b: a / np.hypot(a, b), lambda a, b: b / np.hypot(a, b)),
    "logaddexp": (
        np.logaddexp,
        lambda a, b: np.exp(a) / (np.exp(a) + np.exp(b)),
        lambda a, b: np.exp(b) / (np.exp(a) + np.exp(b)),
    ),
    "logaddexp2": (
        np.logaddexp2,
        lambda a, b: 2**a / (2**a + 2**b),
        lambda a, b: 2**b / (2**a + 2**b),
    ),
    "power": (np.power, lambda a, b: b * a ** (b - 1), lambda a, b: a**b * np.log(a)),
    "remainder": (np.remainder, lambda a, b: np.ones_like(a * b), lambda a, b: -np.floor(a / b)),
    "fmod": (np.fmod, lambda a, b: np.ones_like(a * b), lambda a, b: -np.trunc(a / b)),
}


def _summed_to(grad, shape):
    """A broadcast gradient summed back to an input's shape, written separately from the engine's."""
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape)))) if grad.ndim > len(shape) else grad
    return grad.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True).reshape(shape)


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=8)
@given(shapes=broadcastable_shapes(2, max_dims=2, max_side=3), data=st.data())
def test_each_binary_operation_broadcasts_with_its_partial_derivatives_by_hand(name, shapes, data):
    forward, d_a, d_b = BINARY[name]
    a, b = (data.draw(arrays(s, min_value=0.3, max_value=2)) for s in shapes)
    if name in ("remainder", "fmod"):
        b = b + 0.25  # away from a / b a whole number, where the derivative jumps
    np.testing.assert_allclose(getattr(mg, name)(mg.Tensor(a), mg.Tensor(b)).data, forward(a, b))
    assert_grads_match(
        getattr(mg, name),
        [leaf(a), leaf(b)],
        lambda g, a, b: [_summed_to(g * d_a(a, b), a.shape), _summed_to(g * d_b(a, b), b.shape)],
    )


@pytest.mark.parametrize("name", sorted(BINARY))
def test_each_binary_operation_has_second_derivatives(name):
    a, b = leaf([[0.7, 1.3, 2.2]]), leaf([[0.4], [1.7]])
    check_both_orders(getattr(mg, name), a, b)


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "trunc", "rint", "round"])
def test_steps_have_gradient_zero_as_autograd_and_pytorch(name):
    x = np.array([-1.7, -0.5, 0.0, 0.4, 2.5])
    np.testing.assert_array_equal(getattr(mg, name)(mg.Tensor(x)).data, getattr(np, name)(x))
    assert_grads_match(getattr(mg, name), [leaf(x)], lambda g, x: [np.zeros_like(x)])


def test_round_keeps_numpys_decimals_and_halves_to_even():
    x = np.array([0.125, 2.5, -1.35])
    np.testing.assert_array_equal(mg.round(mg.Tensor(x), 2).data, np.round(x, 2))
    np.testing.assert_array_equal(np.round(mg.Tensor(x), 1).data, np.round(x, 1))


def test_sinc_at_zero_is_one_with_slope_zero():
    x = leaf([0.0, 0.5])
    y = mg.sinc(x)
    y.backward(np.ones(2))
    np.testing.assert_allclose(y.data, [1.0, np.sinc(0.5)])
    np.testing.assert_allclose(x.grad, [0.0, (np.cos(np.pi / 2) - np.sinc(0.5)) / 0.5])


def test_power_at_a_zero_base_and_zero_exponent_is_finite_as_autograd():
    x, y = leaf([0.0, 2.0]), leaf([2.0, 0.0])
    (x**y).backward(np.ones(2))
    np.testing.assert_allclose(x.grad, [0.0, 0.0])  # 2 * 0^1 and, for y = 0, 0
    np.testing.assert_allclose(y.grad, [0.0, np.log(2.0)])  # log(0) read as 0 where it is multiplied by 0^2


def test_operators_percent_and_floor_division():
    a, b = leaf([5.5, -3.0]), leaf([2.0, 2.0])
    np.testing.assert_array_equal((a % b).data, np.remainder([5.5, -3.0], 2.0))
    np.testing.assert_array_equal((a // b).data, [2.0, -2.0])
    np.testing.assert_array_equal((7 % b).data, [1.0, 1.0])
    (a % b).backward(np.ones(2))
    np.testing.assert_array_equal(b.grad, -np.floor(np.array([5.5, -3.0]) / 2))
