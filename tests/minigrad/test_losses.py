"""The fused losses: each one operation, whose value, gradient and second derivative are the formulas written
out in NumPy here, on either axis, with class indices or probabilities, and at logits of ±1e4."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

seeds = st.integers(0, 2**16)


def numpy_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def hessian_vector(loss, x, v):
    """d/dx of <dJ/dx, v>: the Hessian of J times v, from the rules under create_graph."""
    (g,) = mg.grad(loss, x, create_graph=True)
    return mg.grad((g * v).sum(), x)[0].data


# ----- binary cross-entropy from logits -------------------------------------------------------------------


@given(shape=st.sampled_from([(1,), (5,), (4, 1), (3, 2)]), seed=seeds)
def test_bce_with_logits_is_the_formula_its_gradient_and_its_second_derivative(shape, seed):
    rng = np.random.default_rng(seed)
    z_values, y = rng.normal(scale=3, size=shape), rng.random(shape)
    z = mg.Tensor(z_values, requires_grad=True)
    J = F.binary_cross_entropy_with_logits(z, y)
    s, n = numpy_sigmoid(z_values), z_values.size
    assert J.op == "binary_cross_entropy_with_logits" and J.shape == ()
    np.testing.assert_allclose(J.item(), -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s)), rtol=1e-10)
    J.backward()
    np.testing.assert_allclose(z.grad, (s - y) / n, rtol=1e-10, atol=1e-15)  # the lab's dZ2 = A2 - Y, / n
    v = rng.normal(size=shape)
    np.testing.assert_allclose(
        hessian_vector(F.binary_cross_entropy_with_logits(z, y), z, v), s * (1 - s) * v / n, rtol=1e-9
    )
    target = mg.Tensor(y, requires_grad=True)
    assert mg.gradcheck(lambda z, y: F.binary_cross_entropy_with_logits(z, y), z, target)


def test_bce_with_logits_is_stable_at_logits_of_1e4():
    z = mg.Tensor(np.array([1e4, -1e4, 1e4, -1e4]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = F.binary_cross_entropy_with_logits(z, y)
        J.backward()
        h = hessian_vector(F.binary_cross_entropy_with_logits(z, y), z, np.ones(4))
    np.testing.assert_allclose(J.item(), (0 + 0 + 1e4 + 1e4) / 4)  # right answers cost 0, wrong ones |z|
    np.testing.assert_allclose(z.grad, np.array([0.0, 0.0, 1.0, -1.0]) / 4)
    np.testing.assert_allclose(h, np.zeros(4), atol=1e-300)


def test_bce_with_logits_refuses_different_shapes_and_keeps_float32():
    with pytest.raises(
        ValueError,
        match=r"binary_cross_entropy_with_logits: logits of shape \(4, 1\) and target of shape \(4,\)",
    ):
        F.binary_cross_entropy_with_logits(mg.Tensor(np.zeros((4, 1))), np.zeros(4))
    J = F.binary_cross_entropy_with_logits(mg.Tensor(np.zeros(3, dtype=np.float32)), np.array([0, 1, 1]))
    assert J.dtype == np.float32
    np.testing.assert_allclose(J.item(), np.log(2), rtol=1e-6)


# ----- cross-entropy ----------------------------------------------------------------------------------------


def classes_on(axis, m, K):
    return (m, K) if axis in (-1, 1) else (K, m)


@given(
    m=st.integers(1, 5),
    K=st.integers(2, 5),
    axis=st.sampled_from([-1, 0]),
    dtype=st.sampled_from([np.int64, np.int32, np.uint8]),
    seed=seeds,
)
def test_cross_entropy_with_class_indices_is_the_formula_on_either_axis(m, K, axis, dtype, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=3, size=classes_on(axis, m, K))
    labels = rng.integers(0, K, m).astype(dtype)
    z = mg.Tensor(values, requires_grad=True)
    J = F.cross_entropy(z, labels, axis=axis)
    assert J.op == "cross_entropy"
    P = numpy_softmax(values, axis)
    one_hot = np.eye(K)[labels] if axis == -1 else np.eye(K)[labels].T
    picked = P[np.arange(m), labels] if axis == -1 else P[labels, np.arange(m)]
    np.testing.assert_allclose(J.item(), -np.mean(np.log(picked)), rtol=1e-10)
    J.backward()
    np.testing.assert_allclose(z.grad, (P - one_hot) / m, rtol=1e-9, atol=1e-15)  # softmax - one_hot, / m
    v = rng.normal(size=values.shape)
    # the Hessian of each example's cross-entropy is diag(p) - p pᵀ, whatever its label
    Hv = P * v - P * np.sum(P * v, axis=axis, keepdims=True)
    np.testing.assert_allclose(
        hessian_vector(F.cross_entropy(z, labels, axis=axis), z, v), Hv / m, rtol=1e-8, atol=1e-14
    )
    np.testing.assert_array_equal(F.cross_entropy(z, labels.astype(float), axis=axis).data, J.data)


@given(m=st.integers(1, 4), K=st.integers(2, 4), axis=st.sampled_from([-1, 0]), seed=seeds)
def test_cross_entropy_with_probabilities_is_the_formula_and_differentiates_the_target_too(m, K, axis, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=2, size=classes_on(axis, m, K))
    target_values = numpy_softmax(rng.normal(size=values.shape), axis)
    z, target = mg.Tensor(values, requires_grad=True), mg.Tensor(target_values, requires_grad=True)
    J = F.cross_entropy(z, target, axis=axis)
    P = numpy_softmax(values, axis)
    log_P = np.log(P)
    np.testing.assert_allclose(J.item(), -np.sum(target_values * log_P) / m, rtol=1e-10)
    J.backward()
    np.testing.assert_allclose(z.grad, (P - target_values) / m, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(target.grad, -log_P / m, rtol=1e-9)
    assert mg.gradcheck(lambda z, t: F.cross_entropy(z, t, axis=axis), z, target)


def test_cross_entropy_is_stable_at_logits_of_1e4():
    z = mg.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]]), requires_grad=True)
    labels = np.array([0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = F.cross_entropy(z, labels)
        J.backward()
        h = hessian_vector(F.cross_entropy(z, labels), z, np.ones((2, 3)))
    # example 1 is right (cost 0); example 2 puts its mass on classes 1 and 2: cost 2e4 + log 2
    np.testing.assert_allclose(J.item(), (0 + 2e4 + np.log(2)) / 2)
    np.testing.assert_allclose(z.grad, np.array([[0, 0, 0], [-1, 0.5, 0.5]]) / 2, atol=1e-300)
    assert np.all(np.isfinite(h))


@pytest.mark.parametrize(
    "target, message",
    [
        (np.array([0, 3]), r"class indices must be whole numbers 0 to 2; got 3$"),
        (np.array([0.5, 1.0]), r"whole numbers 0 to 2; got 0.5$"),
        (np.array([-1, 0]), r"got -1$"),
        (np.zeros(3), r"target of shape \(3,\) fits neither logits of shape \(2, 3\)"),
        (np.zeros((3, 2)), r"target of shape \(3, 2\) fits neither"),
    ],
)
def test_cross_entropy_refuses_targets_that_are_neither_indices_nor_probabilities(target, message):
    with pytest.raises(ValueError, match="^cross_entropy: .*" + message):
        F.cross_entropy(mg.Tensor(np.zeros((2, 3))), target)


def test_cross_entropy_refuses_an_axis_the_logits_do_not_have():
    with pytest.raises(ValueError, match=r"axis 2 is not an axis of logits of shape \(2, 3\)"):
        F.cross_entropy(mg.Tensor(np.zeros((2, 3))), np.zeros(2, dtype=int), axis=2)


def test_cross_entropy_equals_pytorchs_value_and_gradient():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    values, labels = rng.normal(size=(7, 4)), rng.integers(0, 4, 7)
    z = mg.Tensor(values, requires_grad=True)
    F.cross_entropy(z, labels).backward()
    tz = torch.tensor(values, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tz, torch.tensor(labels))
    loss.backward()
    np.testing.assert_allclose(F.cross_entropy(z, labels).item(), loss.item(), rtol=1e-13)
    np.testing.assert_allclose(z.grad, tz.grad.numpy(), rtol=1e-12, atol=1e-16)


# ----- mean squared error ----------------------------------------------------------------------------------


@given(shape=st.sampled_from([(1,), (4,), (3, 2)]), seed=seeds)
def test_mse_loss_is_the_formula_for_both_inputs_and_second_order(shape, seed):
    rng = np.random.default_rng(seed)
    a_values, b_values = rng.normal(size=shape), rng.normal(size=shape)
    a, b = mg.Tensor(a_values, requires_grad=True), mg.Tensor(b_values, requires_grad=True)
    J = F.mse_loss(a, b)
    n = a_values.size
    assert J.op == "mse_loss"
    np.testing.assert_allclose(J.item(), np.mean((a_values - b_values) ** 2), rtol=1e-12)
    J.backward()
    np.testing.assert_allclose(a.grad, 2 * (a_values - b_values) / n, rtol=1e-12)
    np.testing.assert_allclose(b.grad, 2 * (b_values - a_values) / n, rtol=1e-12)
    v = rng.normal(size=shape)
    np.testing.assert_allclose(hessian_vector(F.mse_loss(a, b), a, v), 2 * v / n, rtol=1e-12)


def test_mse_loss_refuses_shapes_that_would_broadcast_to_a_table():
    with pytest.raises(
        ValueError, match=r"mse_loss: input of shape \(4, 1\) and target of shape \(4,\) differ"
    ):
        F.mse_loss(mg.Tensor(np.zeros((4, 1))), np.zeros(4))


# ----- module forms -----------------------------------------------------------------------------------------


def test_the_loss_modules_are_their_functions():
    rng = np.random.default_rng(2)
    z, labels, y = rng.normal(size=(5, 3)), rng.integers(0, 3, 5), rng.random((5, 3))
    assert nn.CrossEntropyLoss()(z, labels).item() == F.cross_entropy(z, labels).item()
    assert nn.CrossEntropyLoss(axis=0)(z.T, labels).item() == F.cross_entropy(z.T, labels, axis=0).item()
    assert nn.BCEWithLogitsLoss()(z, y).item() == F.binary_cross_entropy_with_logits(z, y).item()
    assert nn.MSELoss()(z, y).item() == F.mse_loss(z, y).item()
    assert repr(nn.CrossEntropyLoss(axis=0)) == "CrossEntropyLoss(axis=0)"
