"""minigrad.testing: its strategies draw what they promise, and its assertion catches what it should."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, assert_grads_match, broadcastable_shapes, shapes, tensors

# ----- strategies ---------------------------------------------------------------------------------


@given(arrays((2, 3), min_value=-0.5, max_value=2.0))
def test_arrays_have_the_given_shape_and_bounds(a):
    assert a.shape == (2, 3) and a.dtype == np.float64
    assert np.all((a >= -0.5) & (a <= 2.0))


@given(arrays(min_magnitude=0.25))
def test_arrays_keep_away_from_zero_when_asked(a):
    assert np.all(np.abs(a) >= 0.25) and np.all(np.abs(a) <= 3.0)


@given(arrays(shapes(min_dims=1, max_dims=2, max_side=5), dtype=np.float32, min_value=0.1, max_value=0.3))
def test_arrays_of_float32_with_bounds_float32_cannot_hold_exactly(a):
    assert a.dtype == np.float32 and 1 <= a.ndim <= 2 and max(a.shape) <= 5
    assert np.all((a >= 0.1) & (a <= 0.3))


@given(broadcastable_shapes(3, max_dims=4, max_side=3))
def test_broadcastable_shapes_broadcast_together(shape_list):
    assert len(shape_list) == 3
    np.broadcast_shapes(*shape_list)  # raises ValueError if they do not


@given(tensors((3,), name="b1"))
def test_tensors_require_a_gradient_by_default(t):
    assert isinstance(t, Tensor) and t.requires_grad and t.name == "b1" and t.shape == (3,)


@given(tensors(requires_grad=False))
def test_tensors_that_need_no_gradient_on_request(t):
    assert not t.requires_grad


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_value": 2.0, "max_value": 1.0}, "greater"),
        ({"min_value": -0.5, "max_value": 0.5, "min_magnitude": 1.0}, "magnitude"),
    ],
)
def test_impossible_bounds_are_refused_with_a_reason(options, message):
    with pytest.raises(ValueError, match=message):
        arrays((2,), **options)


# ----- assert_grads_match -------------------------------------------------------------------------


def mul_analytic(g, a, b):
    return [g * b, g * a]


def test_a_right_analytic_gradient_passes():
    a = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    b = Tensor([[0.5], [-1.0]], requires_grad=True)

    def analytic(g, a, b):
        return [(g * b).sum(axis=0, keepdims=True), (g * a).sum(axis=1, keepdims=True)]

    assert_grads_match(lambda a, b: a * b, [a, b], analytic)


def test_a_wrong_analytic_gradient_fails_naming_input_element_values_and_shapes():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="a")
    b = Tensor([4.0, 5.0, 6.0], requires_grad=True, name="b")
    g = np.array([1.0, 1.0, 1.0])

    def wrong(g, a, b):
        return [g * b, g * a + np.array([0.0, 0.0, 0.5])]

    with pytest.raises(AssertionError) as caught:
        assert_grads_match(lambda a, b: a * b, [a, b], wrong, upstream=g)
    message = str(caught.value)
    assert "input 1" in message and "'b'" in message
    assert "element (2,)" in message
    assert "3" in message and "3.5" in message  # backward's value, the analytic value
    assert "(3,)" in message


def test_a_wrong_backward_rule_is_caught():
    @mg.op
    def cube(x):
        return x**3

    cube.defvjp(lambda g, out, x: g * x**2)  # a rule that forgot the 3

    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(AssertionError, match=r"input 0 of shape \(2,\), element \(0,\)"):
        assert_grads_match(cube, [x], lambda g, x: [3 * g * x**2], upstream=np.ones(2))


def test_an_analytic_gradient_of_the_wrong_shape_fails_naming_the_shapes():
    b = Tensor([[1.0], [2.0]], requires_grad=True, name="b1")
    with pytest.raises(AssertionError, match=r"'b1'.*\(2, 1\).*\(2, 3\)|'b1'.*\(2, 3\).*\(2, 1\)"):
        assert_grads_match(lambda b: b + np.zeros((2, 3)), [b], lambda g, b: [g])


def test_the_upstream_gradient_is_the_one_given_and_reaches_analytic():
    seen = []
    x = Tensor([1.0, 2.0], requires_grad=True)

    def analytic(g, x):
        seen.append(g)
        return [2 * g]

    assert_grads_match(lambda x: x * 2.0, [x], analytic, upstream=[3.0, -4.0])
    np.testing.assert_array_equal(seen[0], [3.0, -4.0])


def test_without_an_upstream_gradient_a_fixed_random_one_is_used():
    seen = []
    x = Tensor(np.ones((2, 3)), requires_grad=True)

    def analytic(g, x):
        seen.append(g)
        return [g]

    assert_grads_match(lambda x: x * 1.0, [x], analytic)
    assert_grads_match(lambda x: x * 1.0, [x], analytic)
    assert seen[0].shape == (2, 3) and len(np.unique(seen[0])) == 6
    np.testing.assert_array_equal(seen[0], seen[1])


def test_the_callers_gradients_are_left_alone():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    a.grad = np.array([10.0, 20.0])
    assert_grads_match(lambda a, b: a * b, [a, b], mul_analytic)
    np.testing.assert_array_equal(a.grad, [10.0, 20.0])
    assert b.grad is None


def test_inputs_that_need_no_gradient_are_constants():
    a = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    assert_grads_match(lambda a, c, k: a * c * k, [a, c, 2.0], lambda g, a, c, k: [g * c * k, None, None])


def test_an_input_the_output_does_not_use_has_zero_gradient():
    a = Tensor([1.0, 2.0], requires_grad=True)
    unused = Tensor([3.0], requires_grad=True)
    assert_grads_match(lambda a, u: a * 2.0, [a, unused], lambda g, a, u: [2 * g, np.zeros(1)])
    with pytest.raises(AssertionError, match="input 1"):
        assert_grads_match(lambda a, u: a * 2.0, [a, unused], lambda g, a, u: [2 * g, np.ones(1)])


def test_float32_inputs_are_compared_at_float32_precision():
    x = Tensor(np.linspace(-2, 2, 5, dtype=np.float32), requires_grad=True)
    assert_grads_match(lambda x: x.tanh(), [x], lambda g, x: [g / np.cosh(x.astype(np.float64)) ** 2])


@pytest.mark.parametrize(
    ("fn", "analytic", "upstream", "error", "message"),
    [
        (lambda x: x.data, lambda g, x: [g], None, TypeError, "Tensor"),
        (lambda x: x * 2.0, lambda g, x: [g, g], None, ValueError, "2 gradients for 1 inputs"),
        (lambda x: x * 2.0, lambda g, x: [g], np.ones(3), ValueError, r"\(3,\).*\(2,\)"),
        (lambda x: x * 2.0, lambda g, x: [None], None, ValueError, "None"),
    ],
    ids=["not a tensor", "wrong count", "upstream shape", "None for a needed gradient"],
)
def test_misuse_is_reported_as_such(fn, analytic, upstream, error, message):
    with pytest.raises(error, match=message):
        assert_grads_match(fn, [Tensor([1.0, 2.0], requires_grad=True)], analytic, upstream)


@given(st.integers(1, 4), st.integers(1, 4), st.data())
def test_it_composes_with_the_strategies_as_a_user_would(n, m, data):
    W1 = data.draw(tensors((n, m), name="W1"))
    X = data.draw(tensors((m, 2), requires_grad=False))
    b1 = data.draw(tensors((n, 1), name="b1"))

    def analytic(dA1, W1, X, b1):
        dZ1 = dA1 / np.cosh(W1 @ X + b1) ** 2
        return [dZ1 @ X.T, None, dZ1.sum(axis=1, keepdims=True)]

    assert_grads_match(lambda W1, X, b1: (W1 @ X + b1).tanh(), [W1, X, b1], analytic)


def test_importing_minigrad_does_not_import_hypothesis():
    code = "import sys, minigrad; print('hypothesis' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert result.stdout.strip() == "False"
