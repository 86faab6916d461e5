"""The deep network: initialisation, forward pass and gradients against independent sources, and the
lab's step 4 phenomena with bounds that come from the arithmetic, not from what the code printed.

The arithmetic (width n in every hidden layer, one example per column): back through a layer,
`dZ[c-1] = g'(Z[c-1]) * (W[c]ᵀ dZ[c])`. A random `W[c]ᵀ` multiplies the expected squared norm by
`n var(W)`, and `g'` by the mean of its square. So per layer, in squared norm:

- sigmoid with the lab's bound, var(W) = 1/(3n): at most (1/4)² * 1/3 = 1/48;
- ReLU (g' is 1 on about half the units) with the lab's bound: 1/2 * 1/3 = 1/6;
- ReLU with He's var(W) = 2/n: 1/2 * 2 = 1, level;
- ReLU with a normal of std 1 and n = 32: 1/2 * 32 = 16, growing.
"""

import math

import numpy as np
import pytest

from minigrad import Tensor, gradcheck, no_grad
from nets import deep

DEPTH, WIDTH, M = 10, 32, 200
SEEDS = range(8)  # the phenomena are statistical: each claim is about the average over these


# ----- initialisation -------------------------------------------------------------------------------


def test_shapes_names_and_zero_biases():
    P = deep.initialize_layers([3, 5, 4, 1], seed=0)
    assert sorted(P) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    assert P["W1"].shape == (5, 3) and P["W2"].shape == (4, 5) and P["W3"].shape == (1, 4)
    assert P["b1"].shape == (5, 1) and P["b3"].shape == (1, 1)
    assert all(np.all(P[f"b{c}"] == 0) for c in (1, 2, 3))


def test_the_same_seed_gives_the_same_parameters():
    for init, std in [("lab", None), ("glorot", None), ("he", None), ("normal", 0.3)]:
        a = deep.initialize_layers([4, 6, 1], init, std=std, seed=7)
        b = deep.initialize_layers([4, 6, 1], init, std=std, seed=7)
        c = deep.initialize_layers([4, 6, 1], init, std=std, seed=8)
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert not np.array_equal(a["W1"], c["W1"])


# One large layer (n_in = 400, n_out = 200): 80,000 draws, so the sample variance is within about 1 %
# of the true one (its relative standard error is sqrt(2 / 80000) = 0.5 % for a normal, less for a uniform).
N_IN, N_OUT = 400, 200


@pytest.mark.parametrize(
    "init, std, bound, variance",
    [
        ("lab", None, math.sqrt(1 / N_IN), 1 / (3 * N_IN)),
        ("glorot", None, math.sqrt(6 / (N_IN + N_OUT)), 2 / (N_IN + N_OUT)),
        ("he", None, None, 2 / N_IN),
        ("normal", 0.7, None, 0.49),
    ],
)
def test_each_initialisation_has_its_bound_and_variance(init, std, bound, variance):
    W = deep.initialize_layers([N_IN, N_OUT], init, std=std, seed=0)["W1"]
    assert W.var() == pytest.approx(variance, rel=0.03)
    assert abs(W.mean()) < 5 * math.sqrt(variance / W.size)
    if bound is not None:  # uniform: inside the bound, and reaching close to it
        assert np.abs(W).max() <= bound
        assert np.abs(W).max() > 0.99 * bound
    else:  # normal: about 4.6 % of the draws lie beyond 2 standard deviations
        assert np.mean(np.abs(W) > 2 * math.sqrt(variance)) == pytest.approx(0.0455, abs=0.005)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: deep.initialize_layers([3, 2], "xavier"), "unknown initialisation 'xavier'"),
        (lambda: deep.initialize_layers([3, 2], "normal"), "needs a positive, finite std"),
        (lambda: deep.initialize_layers([3, 2], "normal", std=-1.0), "std=-1.0"),
        (lambda: deep.initialize_layers([3, 2], "he", std=1.0), 'only used by the "normal"'),
        (lambda: deep.initialize_layers([3]), "at least"),
        (lambda: deep.initialize_layers([3, 0, 1]), r"layer_sizes\[1\]"),
        (lambda: deep.initialize_layers([3, 2.5, 1]), r"layer_sizes\[1\]"),
    ],
)
def test_bad_initialisation_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----- forward pass ---------------------------------------------------------------------------------


def numpy_forward(X, P, activations):
    """The forward pass written out in NumPy, the lab's way."""
    functions = {
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0),
    }
    A, Zs, As = X, [], []
    L = len(activations) + 1
    for c in range(1, L + 1):
        Z = P[f"W{c}"] @ A + P[f"b{c}"]
        A = functions["sigmoid"](Z) if c == L else functions[activations[c - 1]](Z)
        Zs.append(Z)
        As.append(A)
    return Zs, As


def small_problem(seed=0, sizes=(3, 4, 5, 1), m=6):
    rng = np.random.default_rng(seed)
    P = deep.initialize_layers(list(sizes), "glorot", seed=seed)
    for c in range(1, len(sizes)):  # non-zero biases, so that their gradients are checked too
        P[f"b{c}"] = rng.normal(0, 0.5, size=P[f"b{c}"].shape)
    X = rng.normal(size=(sizes[0], m))
    Y = (rng.uniform(size=(sizes[-1], m)) > 0.5).astype(float)
    return P, X, Y


@pytest.mark.parametrize("activations", [["sigmoid"] * 2, ["tanh"] * 2, ["relu"] * 2, ["relu", "tanh"]])
def test_forward_matches_numpy(activations):
    P, X, _ = small_problem()
    AL, cache = deep.forward_propagation(X, P, activations)
    Zs, As = numpy_forward(X, P, activations)
    assert sorted(cache) == ["A1", "A2", "A3", "Z1", "Z2", "Z3"]
    for c in range(1, 4):
        np.testing.assert_allclose(cache[f"Z{c}"].data, Zs[c - 1], rtol=1e-12)
        np.testing.assert_allclose(cache[f"A{c}"].data, As[c - 1], rtol=1e-12)
    assert AL is cache["A3"]


def test_predict_thresholds_the_output_at_one_half():
    P, X, _ = small_problem()
    _, As = numpy_forward(X, P, ["relu", "relu"])
    predictions = deep.predict(P, X, "relu")
    assert predictions.shape == (1, 6)
    np.testing.assert_array_equal(predictions, (As[-1] > 0.5).astype(int))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda P, X: deep.forward_propagation(X, P, ["relu"]), "lists 1 names but the network has 2 hidden"),
        (lambda P, X: deep.forward_propagation(X, P, "softmax"), "unknown hidden activation 'softmax'"),
        (lambda P, X: deep.forward_propagation(X.T, P), r"X must have shape \(n_x, m\) = \(3, m\)"),
        (lambda P, X: deep.forward_propagation(X, {"b1": P["b1"]}), "no W1"),
        (
            lambda P, X: deep.compute_cost(deep.forward_propagation(X, P)[0], np.ones((2, 6))),
            r"Y has shape \(2, 6\)",
        ),
    ],
)
def test_bad_forward_arguments_are_named(call, message):
    P, X, _ = small_problem()
    with pytest.raises(ValueError, match=message):
        call(P, X)


# ----- the cost and the gradients --------------------------------------------------------------------


def labs_cost(AL, Y):
    m = Y.shape[1]
    return -np.sum(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)) / m


def test_cost_is_the_labs_cross_entropy():
    P, X, Y = small_problem()
    AL, cache = deep.forward_propagation(X, P, "tanh")
    expected = labs_cost(AL.data, Y)
    assert deep.compute_cost(AL, Y).item() == pytest.approx(expected, rel=1e-12)
    assert deep.compute_cost_from_logits(cache["Z3"], Y).item() == pytest.approx(expected, rel=1e-12)
    # The cost is the formula as written, whether or not AL came from minigrad's sigmoid.
    assert deep.compute_cost(Tensor(AL.data), Y).item() == pytest.approx(expected, rel=1e-12)


def test_cost_from_logits_is_exact_where_floats_saturate():
    # z = ±1000: sigmoid is exactly 0 or 1 in float64. J per example is softplus(z) - y z:
    # 0 for a right answer, |z| for a wrong one. Its derivative is (sigmoid(z) - y) / m, also at z = 0.
    Z = Tensor(np.array([[1000.0, -1000.0, 1000.0, -1000.0, 0.0]]), requires_grad=True)
    Y = np.array([[1.0, 0.0, 0.0, 1.0, 1.0]])
    J = deep.compute_cost_from_logits(Z, Y)
    assert J.item() == pytest.approx((0 + 0 + 1000 + 1000 + math.log(2)) / 5, rel=1e-12)
    J.backward()
    sigmoid = np.array([[1.0, 0.0, 1.0, 0.0, 0.5]])
    np.testing.assert_allclose(Z.grad, (sigmoid - Y) / 5, rtol=1e-12)


@pytest.mark.parametrize("activations", [["sigmoid"] * 2, ["tanh"] * 2, ["relu"] * 2, ["tanh", "relu"]])
def test_gradients_match_finite_differences(activations):
    P, X, Y = small_problem()
    names = sorted(P)
    tensors = [Tensor(P[k], requires_grad=True, name=k) for k in names]

    def cost(*values):
        AL, _ = deep.forward_propagation(X, dict(zip(names, values)), activations)
        return deep.compute_cost(AL, Y)

    assert gradcheck(cost, *tensors)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_gradients_match_the_labs_formulas_generalised(activation):
    # The lab's step 3 for L layers: dZL = AL - Y; dW[c] = (1/m) dZ[c] A[c-1]ᵀ; db[c] = (1/m) sum dZ[c];
    # dZ[c-1] = W[c]ᵀ dZ[c] * g'(Z[c-1]). The lab's dZ is m times the engine's dJ/dZ.
    P, X, Y = small_problem(seed=3, sizes=(2, 6, 5, 4, 1), m=9)
    derivative = {
        "sigmoid": lambda Z: (1 / (1 + np.exp(-Z))) * (1 - 1 / (1 + np.exp(-Z))),
        "tanh": lambda Z: 1 - np.tanh(Z) ** 2,
        "relu": lambda Z: (Z > 0).astype(float),
    }[activation]
    L, m = 4, X.shape[1]
    Zs, As = numpy_forward(X, P, [activation] * (L - 1))
    A = [X, *As]
    dZ = As[-1] - Y
    expected = {}
    for c in range(L, 0, -1):
        expected[f"dZ{c}"] = dZ
        expected[f"dW{c}"] = dZ @ A[c - 1].T / m
        expected[f"db{c}"] = dZ.sum(axis=1, keepdims=True) / m
        if c > 1:
            dZ = (P[f"W{c}"].T @ dZ) * derivative(Zs[c - 2])

    T = {k: Tensor(v, requires_grad=True) for k, v in P.items()}
    AL, cache = deep.forward_propagation(X, T, activation)
    deep.compute_cost(AL, Y).backward()
    for c in range(1, L + 1):
        np.testing.assert_allclose(m * cache[f"Z{c}"].grad, expected[f"dZ{c}"], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(T[f"W{c}"].grad, expected[f"dW{c}"], rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(T[f"b{c}"].grad, expected[f"db{c}"], rtol=1e-9, atol=1e-14)


def test_no_graph_under_no_grad():
    P, X, _ = small_problem()
    T = {k: Tensor(v, requires_grad=True) for k, v in P.items()}
    with no_grad():
        AL, _ = deep.forward_propagation(X, T)
    assert not AL.requires_grad


# ----- the lab's step 4: vanishing and exploding gradients ----------------------------------------


def backward_pass(activation, init, std=None, seed=0):
    """`(|dW[c]|, |dZ[c]|, parameters)` for c = 1 ... L of a depth-10, width-32 network.

    The input has 2 features of variance 1 (as a standardised data set), the labels are the XOR of
    their signs; neither matters to the arithmetic, which only needs E|x|² = 2.
    """
    rng = np.random.default_rng(1000 + seed)
    X = rng.normal(size=(2, M))
    Y = ((X[0] > 0) != (X[1] > 0)).astype(float)[np.newaxis, :]
    sizes = [2] + [WIDTH] * (DEPTH - 1) + [1]
    P = {k: Tensor(v, requires_grad=True) for k, v in deep.initialize_layers(sizes, init, std, seed).items()}
    _, cache = deep.forward_propagation(X, P, activation)
    # As `python -m nets.gradients` does: the cost from Z[L], whose gradient an exploding network's
    # saturated output does not cut off (the lab's formula as written would pass 0 back there).
    deep.compute_cost_from_logits(cache[f"Z{DEPTH}"], Y).backward()
    dW = np.array([np.linalg.norm(P[f"W{c}"].grad) for c in range(1, DEPTH + 1)])
    dZ = np.array([np.linalg.norm(cache[f"Z{c}"].grad) for c in range(1, DEPTH + 1)])
    return dW, dZ, P


def geometric_mean(values):
    """The mean on a log scale, over the seeds (the first axis): the right average for ratios."""
    return np.exp(np.mean(np.log(np.asarray(values)), axis=0))


def test_sigmoid_with_the_labs_bound_shrinks_the_first_layers_gradient_by_orders_of_magnitude():
    # Per layer at most (1/4) sqrt(1/3) ≈ 0.14 in norm, so about 0.14^9 ≈ 3e-8 from layer 10 to layer 1.
    # dW[c] = dZ[c] A[c-1]ᵀ / m, and A[c-1] is in (0, 1) (or x, of the same order), so the weight
    # gradients carry the same factor. Asserted: below 1e-4, thousands of times above that expectation.
    ratios = []
    for seed in SEEDS:
        dW, dZ, P = backward_pass("sigmoid", "lab", seed=seed)
        ratios.append(dW[0] / dW[-1])
        # And a bound that holds for every draw, not only on average: sigmoid' <= 1/4 elementwise and
        # |Wᵀ v| <= ||W||₂ |v| give |dZ1| <= prod over c = 2..L of (||W[c]||₂ / 4) |dZL|.
        chain_bound = np.prod([np.linalg.norm(P[f"W{c}"].data, 2) / 4 for c in range(2, DEPTH + 1)])
        assert dZ[0] <= chain_bound * dZ[-1] * (1 + 1e-9)
        # ||W||₂ ≈ sqrt(var)(sqrt(n_in) + sqrt(n_out)) = 2/sqrt(3) for a 32 x 32 layer: (0.29)^8 ≈ 5e-5.
        assert chain_bound < 1e-3
    assert geometric_mean(ratios) < 1e-4
    assert max(ratios) < 1e-3


def test_relu_with_hes_initialisation_keeps_every_layer_within_a_small_factor():
    # He: n var(W) / 2 = 1 per layer, so the expected squared norm of dZ[c] is the same in every layer,
    # and so is that of the signal A[c] going forward. What is left is sampling noise: each layer
    # multiplies the norm by a random factor of relative spread about 1/sqrt(n) ≈ 0.18, so over 9 layers
    # the log-norm of one draw spreads by about 0.18 * 3 ≈ 0.5, and by 0.5 / sqrt(8) ≈ 0.2 on average
    # over 8 seeds. Asserted: within a factor 10 for every seed (over 4 of those spreads) and a factor 2
    # on average (over 3), against 1e-4 for the sigmoid above.
    #
    # The weight gradients dW[c] = (1/m) sum over examples of dZ[c][:, i] A[c-1][:, i]ᵀ follow dZ in the
    # hidden layers. In the first layer they are smaller for a reason that is not depth: there the input x
    # is centred, and the terms of the sum partly cancel, while the ReLU outputs A[c-1] >= 0 of the other
    # layers add up whenever the output's errors share a sign. So layer 1 gets the looser factor 10.
    all_dW, all_dZ = [], []
    for seed in SEEDS:
        dW, dZ, _ = backward_pass("relu", "he", seed=seed)
        assert np.all(dZ / dZ[-1] < 10) and np.all(dZ / dZ[-1] > 1 / 10)
        assert np.all(dW[1:] / dW[-1] < 10) and np.all(dW[1:] / dW[-1] > 1 / 10)
        all_dW.append(dW)
        all_dZ.append(dZ)
    dW, dZ = geometric_mean(all_dW), geometric_mean(all_dZ)
    assert np.all(dZ / dZ[-1] < 2) and np.all(dZ / dZ[-1] > 1 / 2)
    assert np.all(dW[1:] / dW[-1] < 2) and np.all(dW[1:] / dW[-1] > 1 / 2)
    assert 1 / 10 < dW[0] / dW[-1] < 10


def test_relu_with_the_labs_bound_shrinks_the_gradient_on_its_way_back():
    # The lab's bound falls short for ReLU: 1/2 * 1/3 = 1/6 per layer in squared norm, so dZ1/dZL is
    # about 6^-4.5 ≈ 3e-4. The forward signal A[c] shrinks by the same factor going forward, so the weight
    # gradients come out level across the layers but all small: scaling every W by sqrt(1/6) against He
    # (the lab's variance 1/(3n) against He's 2/n, the first layer's included) scales each dW by
    # sqrt(1/6)^(L-1) ≈ 3e-4. Asserted: below 1e-2, a margin of 30 over the expectation.
    shrink, against_he = [], []
    for seed in SEEDS:
        dW, dZ, _ = backward_pass("relu", "lab", seed=seed)
        dW_he, _, _ = backward_pass("relu", "he", seed=seed)
        shrink.append(dZ[0] / dZ[-1])
        against_he.append(dW / dW_he)
    assert geometric_mean(shrink) < 1e-2
    assert np.all(geometric_mean(against_he) < 1e-2)


def test_relu_with_a_large_normal_initialisation_explodes():
    # std = 1 with n = 32: 1/2 * 32 = 16 per layer in squared norm, a factor 4 in norm, 4^9 ≈ 2.6e5 from
    # layer 10 to layer 1. Against He (std sqrt(2/32) = 0.25 in the hidden layers, 1 in the first), every
    # weight is 4 times larger except W1's, so every dW is about 4^8 ≈ 6.6e4 times He's or more.
    # Asserted: above 1e3, a margin of 60 or more.
    growth, against_he = [], []
    for seed in SEEDS:
        dW, dZ, _ = backward_pass("relu", "normal", std=1.0, seed=seed)
        dW_he, _, _ = backward_pass("relu", "he", seed=seed)
        assert np.all(np.isfinite(dW))
        growth.append(dZ[0] / dZ[-1])
        against_he.append(dW / dW_he)
    assert geometric_mean(growth) > 1e3
    assert np.all(geometric_mean(against_he) > 1e3)
