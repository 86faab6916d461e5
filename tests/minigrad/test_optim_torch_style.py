"""The optimisers in PyTorch's terms: the keyword `lr`, `weight_decay`, `AdamW`; each step is the update
formula written out by hand in NumPy here (and PyTorch's own optimiser, where torch is installed)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD, Adam, AdamW, clip_grad_norm

STEPS = 6


def gradients(seed, shape=(3, 2)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), [rng.normal(size=shape) for _ in range(STEPS)]


def run(optimiser, start, grads):
    """The parameter after each step, with the gradient of that step put in `.grad` by hand."""
    W = optimiser.parameters[0]
    W.data = start.copy()
    trail = []
    for g in grads:
        W.grad = g.copy()
        optimiser.step()
        trail.append(W.data.copy())
    return trail


def leaf():
    return mg.Tensor(np.zeros((3, 2)), requires_grad=True)


@given(
    lr=st.floats(1e-3, 0.5),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    weight_decay=st.sampled_from([0.0, 1e-2, 0.3]),
    seed=st.integers(0, 2**16),
)
def test_sgd_is_pytorchs_formula_with_momentum_and_weight_decay(lr, momentum, weight_decay, seed):
    start, grads = gradients(seed)
    W, v, expected = start.copy(), None, []
    for g in grads:
        d = g + weight_decay * W
        v = d if v is None else momentum * v + d
        W = W - lr * (v if momentum else d)
        expected.append(W)
    trail = run(SGD([leaf()], lr=lr, momentum=momentum, weight_decay=weight_decay), start, grads)
    np.testing.assert_allclose(trail, expected, rtol=1e-12, atol=1e-15)


def adam_by_hand(start, grads, lr, betas, eps, weight_decay, decoupled):
    W, m, v, expected = start.copy(), 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            W = W * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * W
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g**2
        m_hat, v_hat = m / (1 - betas[0] ** t), v / (1 - betas[1] ** t)
        W = W - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(W)
    return expected


@given(
    lr=st.floats(1e-4, 0.1),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9)]),
    weight_decay=st.sampled_from([0.0, 1e-2, 0.5]),
    decoupled=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_adam_and_adamw_are_their_formulas(lr, betas, weight_decay, decoupled, seed):
    start, grads = gradients(seed)
    kind = AdamW if decoupled else Adam
    optimiser = kind([leaf()], lr=lr, betas=betas, eps=1e-8, weight_decay=weight_decay)
    expected = adam_by_hand(start, grads, lr, betas, 1e-8, weight_decay, decoupled)
    np.testing.assert_allclose(run(optimiser, start, grads), expected, rtol=1e-12, atol=1e-15)


def test_adamw_decays_by_default_as_pytorchs_and_differs_from_adam_with_l2():
    assert AdamW([leaf()]).weight_decay == 0.01 and Adam([leaf()]).weight_decay == 0.0
    start, grads = gradients(0)
    coupled = run(Adam([leaf()], lr=0.1, weight_decay=0.5), start, grads)
    decoupled = run(AdamW([leaf()], lr=0.1, weight_decay=0.5), start, grads)
    assert not np.allclose(coupled[-1], decoupled[-1])


@pytest.mark.parametrize(
    "ours, theirs, options",
    [
        (SGD, "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
        (Adam, "Adam", {"lr": 0.01, "weight_decay": 0.1}),
        (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ],
)
def test_each_step_equals_pytorchs_optimiser(ours, theirs, options):
    torch = pytest.importorskip("torch")
    start, grads = gradients(5)
    W = torch.tensor(start.copy(), requires_grad=True)
    optimiser = getattr(torch.optim, theirs)([W], **options)
    expected = []
    for g in grads:
        W.grad = torch.tensor(g)
        optimiser.step()
        expected.append(W.detach().numpy().copy())
    np.testing.assert_allclose(run(ours([leaf()], **options), start, grads), expected, rtol=1e-10, atol=1e-14)


def test_lr_and_learning_rate_are_one_setting():
    start, grads = gradients(1)
    np.testing.assert_array_equal(
        run(SGD([leaf()], lr=0.1), start, grads), run(SGD([leaf()], learning_rate=0.1), start, grads)
    )
    optimiser = Adam([leaf()], lr=0.02)
    assert optimiser.lr == optimiser.learning_rate == 0.02
    optimiser.lr = 0.01
    assert optimiser.learning_rate == 0.01
    assert Adam([leaf()]).lr == 1e-3  # PyTorch's default
    with pytest.raises(TypeError, match="give lr or learning_rate, not both"):
        SGD([leaf()], lr=0.1, learning_rate=0.1)
    with pytest.raises(TypeError, match=r"SGD needs a learning rate: SGD\(parameters, lr=0.1\)"):
        SGD([leaf()])
    with pytest.raises(ValueError, match="weight_decay must be a finite number, 0 or more; got -1"):
        Adam([leaf()], weight_decay=-1)


def test_a_parameter_listed_twice_is_refused_and_a_bare_tensor_too():
    W = leaf()
    with pytest.raises(ValueError, match="parameter 1 is parameter 0 again"):
        SGD([W, W], lr=0.1)
    with pytest.raises(TypeError, match=r"an iterable of Tensors.*got one Tensor.*wrap it in a list"):
        Adam(W, lr=0.1)
    with pytest.raises(TypeError, match="got one Tensor"):
        Adam(nn.Parameter(np.ones(3)))


def test_model_parameters_go_straight_to_an_optimiser():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    model[2].weight = model[2].weight  # reassigned, still one parameter
    optimiser = AdamW(model.parameters(), lr=0.1)
    assert optimiser.parameters == list(model.parameters()) and len(optimiser.parameters) == 4


def test_clip_grad_norm_counts_a_tensor_listed_twice_once():
    W = leaf()
    W.grad = np.full((3, 2), 2.0)  # norm sqrt(6 * 4)
    norm = clip_grad_norm([W, W], max_norm=1.0)
    np.testing.assert_allclose(norm, np.sqrt(24))
    np.testing.assert_allclose(np.sqrt(np.sum(W.grad**2)), 1.0)  # scaled once, not twice
