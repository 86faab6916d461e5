"""The optimisers against their update formulas, written out here in NumPy, and clip_grad_norm's promises."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import Tensor
from minigrad.optim import SGD, Adam, clip_grad_norm, zero_grad


def parameters_and_gradients(seed: int, steps: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Two parameters of different shapes and, for each step, a gradient for each of them."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 2), (3, 1)]
    start = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(steps)]
    return start, grads


def run(optimiser_class, start, grads, **options) -> list[np.ndarray]:
    """The optimiser fed the given gradients step by step; the parameters' values at the end."""
    params = [Tensor(w.copy(), requires_grad=True) for w in start]
    opt = optimiser_class(params, **options)
    for step_grads in grads:
        opt.zero_grad()
        for p, g in zip(params, step_grads):
            p.grad = g.copy()
        opt.step()
    return [p.data for p in params]


# ----- gradient descent -------------------------------------------------------------------------------


def test_sgd_is_the_labs_update():
    start, grads = parameters_and_gradients(seed=0, steps=1)
    after = run(SGD, start, grads, learning_rate=0.3)
    for w, g, new in zip(start, grads[0], after):
        np.testing.assert_allclose(new, w - 0.3 * g, rtol=1e-15)


@pytest.mark.parametrize("momentum", [0.0, 0.5, 0.9])
def test_sgd_momentum_follows_its_formula_over_several_steps(momentum):
    # v = momentum v + grad (v starts at 0);  W = W - learning_rate v
    start, grads = parameters_and_gradients(seed=1, steps=5)
    lr = 0.05
    expected = [w.copy() for w in start]
    velocity = [np.zeros_like(w) for w in start]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            velocity[i] = momentum * velocity[i] + g
            expected[i] = expected[i] - lr * velocity[i]
    after = run(SGD, start, grads, learning_rate=lr, momentum=momentum)
    for e, a in zip(expected, after):
        np.testing.assert_allclose(a, e, rtol=1e-12)


def test_momentum_by_hand_on_a_constant_gradient():
    # w0 = 1, grad = 1 every step, lr = 0.1, momentum = 0.9:
    # v = 1, 1.9, 2.71  ->  w = 0.9, 0.71, 0.439
    w = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([w], learning_rate=0.1, momentum=0.9)
    seen = []
    for _ in range(3):
        w.grad = np.array([1.0])
        opt.step()
        seen.append(w.data[0])
    np.testing.assert_allclose(seen, [0.9, 0.71, 0.439], rtol=1e-12)


# ----- Adam ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.5, 0.9)])
def test_adam_follows_its_formula_over_several_steps(betas):
    # m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²;  m̂ = m / (1 - b1^t);  v̂ = v / (1 - b2^t)
    # W = W - lr m̂ / (sqrt(v̂) + eps)
    start, grads = parameters_and_gradients(seed=2, steps=6)
    lr, eps = 0.01, 1e-8
    b1, b2 = betas
    expected = [w.copy() for w in start]
    m = [np.zeros_like(w) for w in start]
    v = [np.zeros_like(w) for w in start]
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g**2
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            expected[i] = expected[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    after = run(Adam, start, grads, learning_rate=lr, betas=betas, eps=eps)
    for e, a in zip(expected, after):
        np.testing.assert_allclose(a, e, rtol=1e-12)


def test_adams_first_step_is_the_learning_rate_times_the_gradients_sign():
    # At t = 1, m̂ = g and v̂ = g², so the step is lr g / (|g| + eps): the gradient's size does not matter.
    g = np.array([[1e-6, -3.0], [250.0, -1e-3]])
    w = Tensor(np.zeros((2, 2)), requires_grad=True)
    w.grad = g.copy()
    Adam([w], learning_rate=0.01, eps=1e-12).step()
    np.testing.assert_allclose(w.data, -0.01 * np.sign(g), rtol=1e-5)


def test_adam_counts_steps_per_parameter():
    # A parameter that got no gradient is not stepped, and its bias correction does not advance.
    a = Tensor(np.array([0.0]), requires_grad=True)
    b = Tensor(np.array([0.0]), requires_grad=True)
    opt = Adam([a, b], learning_rate=0.1)
    a.grad = np.array([2.0])
    opt.step()  # b has no gradient yet
    assert b.data[0] == 0.0
    a.grad, b.grad = np.array([2.0]), np.array([5.0])
    opt.step()
    # b's first step: exactly lr * sign(g) up to eps, as for any first step.
    np.testing.assert_allclose(b.data, [-0.1], rtol=1e-6)


# ----- what both do ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda p: SGD(p, 0.1, momentum=0.9), lambda p: Adam(p, 0.1)])
def test_step_keeps_dtype_and_leaves_the_callers_array_alone(make):
    original = np.ones((2, 2), dtype=np.float32)
    w = Tensor(original, requires_grad=True)
    assert w.data is original  # Tensor does not copy: the optimiser must not write into it
    w.grad = np.full((2, 2), 0.5, dtype=np.float32)
    make([w]).step()
    assert w.dtype == np.float32
    assert np.all(original == 1.0)
    assert np.all(w.data < 1.0)


def test_a_parameter_without_gradient_is_left_as_it_is():
    a = Tensor(np.array([1.0]), requires_grad=True)
    b = Tensor(np.array([1.0]), requires_grad=True)
    a.grad = np.array([1.0])
    SGD([a, b], learning_rate=0.5).step()
    assert a.data[0] == 0.5 and b.data[0] == 1.0


def test_zero_grad_resets_every_parameter():
    params = [Tensor(np.ones(3), requires_grad=True) for _ in range(3)]
    (params[0] * params[1] + params[2]).sum().backward()
    assert all(p.grad is not None for p in params)
    SGD(params, 0.1).zero_grad()
    assert all(p.grad is None for p in params)
    (params[0] * 2).sum().backward()
    zero_grad(params)
    assert params[0].grad is None


def test_training_a_quadratic_reaches_its_minimum():
    # J = |W - T|²: gradient descent and Adam both end at T; the backward pass provides the gradient.
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    for opt_class, options, steps in [
        (SGD, {"learning_rate": 0.1, "momentum": 0.5}, 200),
        (Adam, {"learning_rate": 0.1}, 500),
    ]:
        W = Tensor(np.zeros((2, 2)), requires_grad=True)
        opt = opt_class([W], **options)
        for _ in range(steps):
            opt.zero_grad()
            ((W - target) ** 2).sum().backward()
            opt.step()
        np.testing.assert_allclose(W.data, target, atol=1e-3)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SGD([], 0.1), "no parameters"),
        (lambda: SGD([np.ones(2)], 0.1), "not a Tensor"),
        (lambda: SGD([Tensor(np.ones(2))], 0.1), "requires_grad=False"),
        (lambda: SGD([Tensor(np.ones(2), requires_grad=True)], 0.0), "learning_rate"),
        (lambda: SGD([Tensor(np.ones(2), requires_grad=True)], math.nan), "learning_rate"),
        (lambda: SGD([Tensor(np.ones(2), requires_grad=True)], 0.1, momentum=1.0), "momentum"),
        (lambda: Adam([Tensor(np.ones(2), requires_grad=True)], 0.1, betas=(0.9, 1.5)), "betas"),
        (lambda: Adam([Tensor(np.ones(2), requires_grad=True)], 0.1, eps=-1.0), "eps"),
    ],
)
def test_bad_settings_are_named(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()


# ----- clip_grad_norm ---------------------------------------------------------------------------------

gradient_lists = st.lists(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, max_side=4),
        elements=st.floats(-1e3, 1e3, allow_nan=False),
    ),
    min_size=1,
    max_size=4,
)


def with_gradients(grads: list[np.ndarray]) -> list[Tensor]:
    tensors = []
    for g in grads:
        t = Tensor(np.zeros_like(g), requires_grad=True)
        t.grad = g.copy()
        tensors.append(t)
    return tensors


@given(gradient_lists, st.floats(1e-3, 1e3))
def test_clip_grad_norm_scales_to_max_norm_and_keeps_the_direction(grads, max_norm):
    tensors = with_gradients(grads)
    arrays = [t.grad for t in tensors]
    norm_before = math.sqrt(sum(float(np.sum(g**2)) for g in grads))

    returned = clip_grad_norm(tensors, max_norm)

    assert returned == pytest.approx(norm_before, rel=1e-12, abs=1e-300)
    assert all(t.grad is a for t, a in zip(tensors, arrays))  # in place
    norm_after = math.sqrt(sum(float(np.sum(t.grad**2)) for t in tensors))
    if norm_before <= max_norm:
        for t, g in zip(tensors, grads):
            np.testing.assert_array_equal(t.grad, g)
    else:
        assert norm_after == pytest.approx(max_norm, rel=1e-9)
        # One factor for all: the step is shorter, its direction the same.
        scale = max_norm / norm_before
        for t, g in zip(tensors, grads):
            np.testing.assert_allclose(t.grad, scale * g, rtol=1e-9, atol=1e-300)


def test_clip_grad_norm_by_hand():
    # Gradients (3, 4) and (12,): global norm sqrt(9 + 16 + 144) = 13; clipped to 6.5 they halve.
    a, b = with_gradients([np.array([3.0, 4.0]), np.array([12.0])])
    assert clip_grad_norm([a, b], 6.5) == 13.0
    np.testing.assert_allclose(a.grad, [1.5, 2.0])
    np.testing.assert_allclose(b.grad, [6.0])


def test_clip_grad_norm_skips_tensors_without_gradient_and_keeps_float32():
    a, b = with_gradients([np.array([3.0, 4.0], dtype=np.float32), np.array([1.0])])
    c = Tensor(np.ones(2), requires_grad=True)
    b.grad = None
    assert clip_grad_norm([a, b, c], 1.0) == pytest.approx(5.0)
    assert a.grad.dtype == np.float32 and b.grad is None and c.grad is None
    np.testing.assert_allclose(a.grad, [0.6, 0.8], rtol=1e-6)


def test_clip_grad_norm_does_not_overflow_float32():
    # Each square overflows float32 (max ~3.4e38), the norm itself (~2.8e20) does not.
    (a,) = with_gradients([np.array([2e20, 2e20], dtype=np.float32)])
    assert clip_grad_norm([a], 1.0) == pytest.approx(2e20 * math.sqrt(2), rel=1e-6)
    np.testing.assert_allclose(a.grad, [1 / math.sqrt(2)] * 2, rtol=1e-6)


def test_clip_grad_norm_refuses_nan_and_bad_max_norm():
    (a,) = with_gradients([np.array([1.0, math.nan])])
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        clip_grad_norm([a], 1.0)
    (b,) = with_gradients([np.array([1.0])])
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="max_norm"):
            clip_grad_norm([b], bad)


def test_global_norm_is_the_norm_of_every_gradient_together_and_skips_tensors_without_one():
    from minigrad.optim import global_norm

    a, b, c = (Tensor(np.zeros(s), requires_grad=True) for s in ((2, 2), (3,), (1,)))
    a.grad, b.grad = np.full((2, 2), 1.5, dtype=np.float32), np.array([2.0, 0.0, -1.0])
    assert global_norm([a, b, c]) == pytest.approx(math.sqrt(4 * 1.5**2 + 4 + 1))
    a.grad = np.full((2, 2), 3e38, dtype=np.float32)  # float32 squares would overflow; float64 does not
    assert math.isfinite(global_norm([a]))


def test_clipping_an_intermediates_gradient_leaves_its_neighbours_alone():
    W1 = Tensor(np.ones((2, 2)), requires_grad=True)
    b1 = Tensor(np.zeros((2, 1)), requires_grad=True)
    product = W1 @ np.ones((2, 3))
    Z1 = product + b1  # add hands dZ1 on unchanged: Z1.grad may be product.grad's very array
    (Z1 * 10.0).sum().backward()
    before = product.grad.copy()
    clip_grad_norm([Z1], max_norm=1.0)
    np.testing.assert_allclose(np.linalg.norm(Z1.grad), 1.0)
    np.testing.assert_array_equal(product.grad, before)
