"""Issue 22's smaller engine items, each as a statement that failed before its fix."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from nets.twolayer import compute_cost

NAN = float("nan")


def test_relu_passes_the_gradient_at_nan_as_pytorch_does():
    # torch.relu's backward is `0 where x <= 0, else g`: NaN <= 0 is false, so g passes.
    x = Tensor([NAN, 1.0, -1.0, 0.0], requires_grad=True)
    x.relu().backward(np.array([2.0, 2.0, 2.0, 2.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 0.0, 0.0])


@pytest.mark.parametrize("fn", [mg.maximum, mg.minimum])
def test_maximum_and_minimum_give_both_inputs_the_gradient_where_one_is_nan(fn):
    # torch.maximum / torch.minimum: where either input is NaN, each gets the whole gradient.
    a = Tensor([NAN, 1.0, 0.0, 3.0], requires_grad=True)
    b = Tensor([0.0, NAN, 0.0, 2.0], requires_grad=True)
    fn(a, b).backward(np.ones(4))
    winner = [1.0, 1.0, 0.5, 1.0] if fn is mg.maximum else [1.0, 1.0, 0.5, 0.0]
    np.testing.assert_array_equal(a.grad, winner)
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 0.5, 1.0 - winner[3]])


def test_maximum_with_zero_at_nan_passes_the_gradient():
    x = Tensor([NAN, -1.0, 2.0], requires_grad=True)
    mg.maximum(x, 0).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])


def test_concatenate_with_axis_none_flattens_and_gives_each_input_its_stretch_back():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = Tensor([10.0, 11.0], requires_grad=True)
    out = mg.concatenate([x, y], axis=None)
    assert out.shape == (8,)
    weights = np.arange(8.0) + 1
    (out * Tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad, weights[:6].reshape(2, 3))
    np.testing.assert_array_equal(y.grad, weights[6:])
    assert mg.gradcheck(lambda a, b: mg.concatenate([a, b], axis=None) ** 2, x, y)


def test_clip_bounds_wider_than_x_are_refused_at_the_call_naming_the_shapes():
    x = Tensor([0.5, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"clip: .*\(3, 2\).*x of shape \(2,\) to \(3, 2\)"):
        x.clip(np.zeros((3, 2)), 1.0)
    with pytest.raises(ValueError, match="no common shape"):
        x.clip(np.zeros(3), 1.0)


def test_clip_bounds_of_x_shape_or_narrower_still_work():
    x = Tensor([[0.5, 2.0], [-1.0, 0.2]], requires_grad=True)
    low = np.array([0.0, 1.0])  # broadcast along x's rows
    x.clip(low, 1.5).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 0.0], [0.0, 0.0]])


def test_a_tensor_named_with_the_empty_string_is_drawn_as_unnamed():
    x = Tensor([1.0, 2.0], requires_grad=True, name="")
    dot = mg.to_dot((x * 2).sum())
    assert "<B></B>" not in dot


@pytest.mark.parametrize("option", [{"atol": -1.0}, {"rtol": -0.5}, {"atol": NAN}, {"rtol": "1e-3"}])
def test_gradcheck_refuses_a_tolerance_that_is_not_a_number_of_at_least_zero(option):
    x = Tensor([1.0, 2.0], requires_grad=True)
    (name,) = option
    with pytest.raises(ValueError, match=f"gradcheck: {name} must be a number of at least 0"):
        mg.gradcheck(lambda t: t * 2, x, **option)


def test_gradcheck_runs_when_the_function_reads_its_input_after_perturbing_graphs():
    # The analytic passes come first: a pass after the finite differences wrote into the inputs would
    # be refused as stale (the write count never goes back, as PyTorch's version counter).
    x = Tensor(np.array([[0.3, -0.2], [0.1, 0.4]]), requires_grad=True)
    assert mg.gradcheck(lambda t: (t @ t).tanh(), x)


def test_compute_cost_keeps_float32():
    A2 = np.array([[0.9, 0.2, 0.6]], dtype=np.float32)
    Y = np.array([[1, 0, 1]])  # integer labels too
    J = compute_cost(A2, Y)
    assert J.dtype == np.float32
    a, y = A2.astype(np.float64), Y.astype(np.float64)
    expected = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
    np.testing.assert_allclose(J.item(), expected, rtol=1e-6)
