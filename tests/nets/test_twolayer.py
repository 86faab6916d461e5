"""The lab's network: autograd equals the lab's closed form, which equals finite differences of the cost."""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from nets import datasets
from nets import twolayer as tl
from nets.twolayer.command import DEFAULTS

activations = st.sampled_from(tl.ACTIVATIONS)
seeds = st.integers(0, 2**32 - 1)


def random_problem(n_x, n_h, n_y, m, seed):
    """Data and parameters drawn from `seed`; biases not zero, so that every formula's term matters."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 2, (n_x, m))
    Y = rng.integers(0, 2, (n_y, m)).astype(float)
    parameters = {
        "W1": rng.normal(0, 1, (n_h, n_x)),
        "b1": rng.normal(0, 1, (n_h, 1)),
        "W2": rng.normal(0, 1, (n_y, n_h)),
        "b2": rng.normal(0, 1, (n_y, 1)),
    }
    return X, Y, parameters


def numpy_forward(X, p, hidden_activation):
    """The lab's forward pass written out again in NumPy, independently of minigrad."""
    Z1 = p["W1"] @ X + p["b1"]
    A1 = 1 / (1 + np.exp(-Z1)) if hidden_activation == "sigmoid" else np.maximum(Z1, 0)
    Z2 = p["W2"] @ A1 + p["b2"]
    return Z1, A1, Z2, 1 / (1 + np.exp(-Z2))


def labs_cost(A2, Y):
    """The lab's J exactly as written, for A2 safely inside (0, 1)."""
    return -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / Y.shape[1]


# ----- step 1: initialisation ---------------------------------------------------------------------


@given(n_x=st.integers(1, 20), n_h=st.integers(1, 20), n_y=st.integers(1, 3), seed=seeds)
def test_initialisation_has_the_labs_shapes_zero_biases_and_stays_in_the_labs_bound(n_x, n_h, n_y, seed):
    p = tl.initialize_parameters(n_x, n_h, n_y, seed=seed)
    assert {k: v.shape for k, v in p.items()} == {
        "W1": (n_h, n_x),
        "b1": (n_h, 1),
        "W2": (n_y, n_h),
        "b2": (n_y, 1),
    }
    assert np.all(p["b1"] == 0) and np.all(p["b2"] == 0)
    assert np.all(np.abs(p["W1"]) <= math.sqrt(1 / n_x))
    assert np.all(np.abs(p["W2"]) <= math.sqrt(1 / n_h))


@pytest.mark.parametrize(
    ("init", "bound"),
    [
        ("lab", lambda n_in, n_out: math.sqrt(1 / n_in)),
        ("glorot", lambda n_in, n_out: math.sqrt(6 / (n_in + n_out))),
    ],
)
def test_each_uniform_initialisation_fills_its_own_interval_uniformly(init, bound):
    n_x, n_h = 400, 300
    W1 = tl.initialize_parameters(n_x, n_h, seed=7, init=init)["W1"]
    b = bound(n_x, n_h)
    assert np.abs(W1).max() <= b
    # 120,000 draws: the largest comes within 0.1% of the bound, and the variance is b^2 / 3 (uniform).
    assert np.abs(W1).max() > 0.999 * b
    assert W1.var() == pytest.approx(b**2 / 3, rel=0.02)
    assert abs(W1.mean()) < 0.01 * b


@pytest.mark.parametrize(("init", "std"), [("he", None), ("normal", 0.3)])
def test_hes_initialisation_is_the_normal_of_variance_2_over_n_in_and_normal_takes_its_std(init, std):
    n_x, n_h = 400, 300
    W1 = tl.initialize_parameters(n_x, n_h, seed=7, init=init, std=std)["W1"]
    sigma = math.sqrt(2 / n_x) if init == "he" else std
    # 120,000 draws: the sample variance is within 2% (its relative standard error is sqrt(2 / 120000),
    # 0.4%), and 4.55% of a normal's draws lie beyond 2 standard deviations (a uniform has none beyond 1.8).
    assert W1.var() == pytest.approx(sigma**2, rel=0.02)
    assert abs(W1.mean()) < 0.01 * sigma
    assert np.mean(np.abs(W1) > 2 * sigma) == pytest.approx(0.0455, abs=0.004)


def test_the_same_seed_gives_the_same_parameters_and_another_seed_others():
    a, b, c = (tl.initialize_parameters(3, 5, seed=s) for s in (11, 11, 12))
    for name in tl.PARAMETER_NAMES:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["W1"], c["W1"])


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0, 3), {}, "n_x must be a positive whole number, got 0"),
        ((2, -1), {}, "n_h must be a positive whole number, got -1"),
        ((2, 3, 1.5), {}, "n_y must be a positive whole number, got 1.5"),
        (
            (2, 3),
            {"init": "xavier"},
            "unknown initialisation 'xavier'; choose one of lab, glorot, he, normal",
        ),
    ],
)
def test_initialisation_rejects_bad_sizes_and_unknown_methods(args, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        tl.initialize_parameters(*args, **kwargs)


# ----- the lab's NumPy helpers ----------------------------------------------------------------------


def test_the_labs_helpers():
    Z = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    np.testing.assert_allclose(tl.sigmoid(Z), [[1 / (1 + math.exp(-z)) for z in Z[0]]], rtol=1e-15)
    np.testing.assert_array_equal(tl.relu(Z), [[0, 0, 0, 0.5, 3.0]])
    np.testing.assert_array_equal(tl.relu_derivative(Z), [[0, 0, 0, 1, 1]])  # 0 at exactly 0


def test_numpy_sigmoid_is_stable_at_plus_and_minus_1000():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = tl.sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(s, [0.0, 1.0])


# ----- step 2: forward propagation --------------------------------------------------------------------


@given(n_x=st.integers(1, 4), n_h=st.integers(1, 5), m=st.integers(1, 8), seed=seeds, act=activations)
def test_forward_propagation_is_the_labs_forward_pass_from_named_minigrad_tensors(n_x, n_h, m, seed, act):
    X, _, p = random_problem(n_x, n_h, 1, m, seed)
    A2, cache = tl.forward_propagation(X, p, hidden_activation=act)
    assert A2 is cache["A2"]
    for name, expected in zip(("Z1", "A1", "Z2", "A2"), numpy_forward(X, p, act)):
        assert isinstance(cache[name], Tensor)
        assert cache[name].name == name
        np.testing.assert_allclose(cache[name].data, expected, rtol=1e-12, atol=1e-15)


def test_forward_propagation_accepts_tensors_and_builds_a_graph_back_to_them():
    X, _, p = random_problem(2, 3, 1, 5, seed=1)
    params = {k: Tensor(v, requires_grad=True) for k, v in p.items()}
    A2, cache = tl.forward_propagation(X, params, hidden_activation="relu")
    assert [cache[k].op for k in ("Z1", "A1", "Z2", "A2")] == ["add", "relu", "add", "sigmoid"]
    A2.sum().backward()
    assert all(params[k].grad is not None and params[k].name == k for k in tl.PARAMETER_NAMES)


def test_forward_propagation_says_what_is_wrong():
    X, _, p = random_problem(2, 3, 1, 5, seed=1)
    with pytest.raises(ValueError, match="hidden_activation must be 'sigmoid' or 'relu', got 'tanh'"):
        tl.forward_propagation(X, p, hidden_activation="tanh")
    with pytest.raises(KeyError, match="parameters has no 'b2'"):
        tl.forward_propagation(X, {k: v for k, v in p.items() if k != "b2"})
    with pytest.raises(ValueError, match=r"\(3, 2\) @ \(4, 5\)"):
        tl.forward_propagation(np.ones((4, 5)), p)


# ----- step 3: the cost -------------------------------------------------------------------------------------


@given(n_x=st.integers(1, 4), n_h=st.integers(1, 5), m=st.integers(1, 10), seed=seeds, act=activations)
def test_the_cost_is_the_labs_cross_entropy(n_x, n_h, m, seed, act):
    X, Y, p = random_problem(n_x, n_h, 1, m, seed)
    A2, _ = tl.forward_propagation(X, p, hidden_activation=act)
    assume(np.all((A2.data > 1e-12) & (A2.data < 1 - 1e-12)))  # where the formula as written is exact
    J = tl.compute_cost(A2, Y)
    assert J.size == 1 and J.name == "J"
    assert J.item() == pytest.approx(labs_cost(A2.data, Y), rel=1e-10, abs=1e-14)


def test_the_cost_of_probabilities_given_as_an_array_is_the_labs():
    A2 = np.array([[0.9, 0.2, 0.6, 1e-9]])
    Y = np.array([[1.0, 0.0, 0.0, 0.0]])
    assert tl.compute_cost(A2, Y).item() == pytest.approx(labs_cost(A2, Y), rel=1e-12)


def test_saturated_outputs_give_a_finite_cost_and_gradient_and_from_logits_the_exact_ones():
    # A2 = sigmoid(Z2) is exactly 1.0 for Z2 >= 37 and exactly 0.0 below -745: the formula as written
    # gives 0 * log(0) = nan for the right answers and inf for the wrong ones.
    Z2 = Tensor([[1000.0, -1000.0, 40.0, -800.0, 0.5]], requires_grad=True)
    Y = np.array([[1.0, 0.0, 0.0, 1.0, 0.0]])
    A2 = Z2.sigmoid()
    np.testing.assert_array_equal(A2.data[0, :4], [1.0, 0.0, 1.0, 0.0])
    J = tl.compute_cost(A2, Y)
    # Clamped to the floats next to 1 and 0, 1 - 2^-53 and 2^-1022 (the smallest normal double): the right
    # answers cost -log(1 - 2^-53) ~ 1e-16 and -log(1 - 2^-1022) = 0, the wrong ones -log(2^-53) and
    # -log(2^-1022); the unsaturated one costs -log(1 - sigmoid(0.5)) = log(1 + e^0.5).
    assert J.item() == pytest.approx(((53 + 1022) * math.log(2) + math.log1p(math.exp(0.5))) / 5, rel=1e-12)
    J.backward()
    # The saturated sigmoid passes no gradient back (A2 (1 - A2) = 0), finitely; the others get the lab's.
    np.testing.assert_array_equal(Z2.grad[0, :4], 0.0)
    assert Z2.grad[0, 4] == pytest.approx((A2.data[0, 4] - Y[0, 4]) / 5, rel=1e-12)

    # From Z2, the same J is exact: -log(1 - sigmoid(40)) = 40 + log(1 + e^-40), -log(sigmoid(-800)) = 800,
    # the right answers ~0; and its gradient is the lab's (A2 - Y) / m everywhere.
    Z2.zero_grad()
    J = tl.compute_cost_from_logits(Z2, Y)
    exact = 40 + math.log1p(math.exp(-40)) + 800 + math.log1p(math.exp(0.5))
    assert J.item() == pytest.approx(exact / 5, rel=1e-15)
    J.backward()
    np.testing.assert_allclose(5 * Z2.grad, A2.data - Y, atol=1e-15)


def test_the_cost_from_logits_compiled_follows_each_new_Z():
    # Its softplus is an operation on Z: a mask read off Z.data would be a constant of the trace, and the
    # replay would keep the signs of the first Z.
    step = mg.compile(tl.compute_cost_from_logits)
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    for values in ([3.0, -2.0, 0.0, 40.0], [-3.0, 2.0, -800.0, 0.0], [0.5, 0.5, -0.5, -0.5]):
        Z = Tensor(np.array([values]), requires_grad=True)
        J, (dZ,) = step(Z, Y)
        eager = tl.compute_cost_from_logits(Z, Y)
        eager.backward()
        assert np.array_equal(J, eager.data) and np.array_equal(dZ, Z.grad)
    assert step.traces == 1


def test_probabilities_of_exactly_0_and_1_give_a_finite_cost():
    J = tl.compute_cost(np.array([[0.0, 1.0, 1.0]]), np.array([[0.0, 1.0, 0.0]]))
    assert math.isfinite(J.item()) and J.item() > 10  # the wrong answer costs much, but not inf


def test_the_cost_gradient_is_A2_minus_Y_at_Z2_equal_0_too():
    # Z2 = 0 exactly happens: a ReLU network whose hidden units are all off for an example gives Z2 = b2 = 0.
    Z2 = Tensor(np.zeros((1, 4)), requires_grad=True)
    Y = np.array([[0.0, 1.0, 1.0, 0.0]])
    tl.compute_cost(Z2.sigmoid(), Y).backward()
    np.testing.assert_allclose(4 * Z2.grad, 0.5 - Y, rtol=1e-15)


def test_the_cost_rejects_mismatched_shapes_and_values_that_are_not_probabilities():
    with pytest.raises(ValueError, match=r"A2 has shape \(1, 3\) but Y has shape \(1, 4\)"):
        tl.compute_cost(np.full((1, 3), 0.5), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"Z has shape \(1, 3\) but Y has shape \(1, 4\)"):
        tl.compute_cost_from_logits(Tensor(np.zeros((1, 3))), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"A2 must hold probabilities in \[0, 1\].*not Z2; found 2\.5"):
        tl.compute_cost(np.array([[0.5, 2.5, -1.0]]), np.zeros((1, 3)))


def test_the_costs_graph_is_the_labs_formula_under_the_labs_names():
    X, Y, p = random_problem(2, 3, 1, 5, seed=2)
    A2, _ = tl.forward_propagation(X, {k: Tensor(v, requires_grad=True) for k, v in p.items()})
    J = tl.compute_cost(A2, Y)
    made_by, parents, seen, stack = {}, {}, set(), [J]
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            made_by[t.name] = t.op
            parents[t.name] = {parent.name for parent in t.parents}
            stack.extend(t.parents)
    # J = -1/m * sum[Y log A2 + (1 - Y) log(1 - A2)], each step a node named as the lab writes it.
    assert parents["J"] == {"-1/m", "sum"} and made_by["J"] == "mul"
    assert parents["sum"] == {"Y log A2 + (1 - Y) log(1 - A2)"}
    assert parents["Y log A2 + (1 - Y) log(1 - A2)"] == {"Y log A2", "(1 - Y) log(1 - A2)"}
    assert parents["Y log A2"] == {"Y", "log A2"} and parents["log A2"] == {"A2"}
    assert parents["(1 - Y) log(1 - A2)"] == {"1 - Y", "log(1 - A2)"}
    assert parents["log(1 - A2)"] == {"1 - A2"} and made_by["log(1 - A2)"] == "log"
    assert parents["1 - A2"] == {"1", "A2"} and made_by["1 - A2"] == "sub"
    assert made_by["A2"] == "sigmoid" and parents["Z2"] == {"W2 A1", "b2"}
    assert {"X", "W1", "b1", "W1 X", "Z1", "A1", "W2"} <= set(made_by)
    # Nothing else: no shift into (0, 1) where A2 is inside it, no softplus (exp, relu).
    assert set(made_by.values()) == {"", "matmul", "add", "sigmoid", "sub", "log", "mul", "sum"}
    assert float(next(t for t in J.parents if t.name == "-1/m").data) == -1 / 5


# ----- step 3: back-propagation ---------------------------------------------------------------------------


@given(
    n_x=st.integers(1, 5),
    n_h=st.integers(1, 6),
    n_y=st.integers(1, 2),
    m=st.integers(1, 20),
    seed=seeds,
    act=activations,
    from_init=st.booleans(),
)
def test_autograd_equals_the_labs_closed_form_for_any_shapes_and_seeds(
    n_x, n_h, n_y, m, seed, act, from_init
):
    X, Y, p = random_problem(n_x, n_h, n_y, m, seed)
    if from_init:  # zero biases: with ReLU, dead units and Z = 0 exactly are common here
        p = tl.initialize_parameters(n_x, n_h, n_y, seed=seed)
    _, cache = tl.forward_propagation(X, p, hidden_activation=act)
    closed = tl.backward_propagation(p, cache, X, Y, hidden_activation=act)
    auto = tl.autograd_gradients(p, X, Y, hidden_activation=act)
    assert set(auto) == set(closed) == set(tl.GRADIENT_NAMES)
    for name in tl.GRADIENT_NAMES:
        assert auto[name].shape == closed[name].shape, name
        np.testing.assert_allclose(auto[name], closed[name], rtol=1e-12, atol=1e-14, err_msg=name)


def central_difference(f, x, eps=1e-6):
    """d f / d x for every element of the array x, by central differences (x is restored)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        x[i] = original + eps
        plus = f()
        x[i] = original - eps
        minus = f()
        x[i] = original
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@given(n_x=st.integers(1, 3), n_h=st.integers(1, 4), m=st.integers(1, 6), seed=seeds, act=activations)
def test_the_closed_form_equals_finite_differences_of_the_cost(n_x, n_h, m, seed, act):
    X, Y, p = random_problem(n_x, n_h, 1, m, seed)
    _, cache = tl.forward_propagation(X, p, hidden_activation=act)
    if act == "relu":  # a kink within eps would make the finite difference meaningless
        assume(np.min(np.abs(cache["Z1"].data)) > 1e-3)
    closed = tl.backward_propagation(p, cache, X, Y, hidden_activation=act)

    def check(cost):
        """The closed form against central differences of `cost(A2, Z2)`, a function of the parameters."""

        def J():
            A2, c = tl.forward_propagation(X, p, hidden_activation=act)
            return cost(A2, c["Z2"]).item()

        for name in tl.PARAMETER_NAMES:
            np.testing.assert_allclose(
                closed["d" + name], central_difference(J, p[name]), rtol=1e-5, atol=1e-8, err_msg=name
            )

        # The lab's dZ2 and dZ1 are m times the derivatives of J with respect to Z2 and Z1.
        Z1, Z2 = cache["Z1"].data.copy(), cache["Z2"].data.copy()

        def J_of_Z2():
            return cost(Tensor(Z2).sigmoid(), Tensor(Z2)).item()

        def J_of_Z1():
            A1 = Tensor(Z1).sigmoid() if act == "sigmoid" else Tensor(Z1).relu()
            Z2_ = p["W2"] @ A1 + p["b2"]
            return cost(Z2_.sigmoid(), Z2_).item()

        np.testing.assert_allclose(closed["dZ2"], m * central_difference(J_of_Z2, Z2), rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(closed["dZ1"], m * central_difference(J_of_Z1, Z1), rtol=1e-5, atol=1e-8)

    # J from Z2 is precise for any Z2.
    check(lambda A2, Z2: tl.compute_cost_from_logits(Z2, Y))
    # The formula as written computes 1 - A2 from the rounded A2, off by up to 6e-17, so its log(1 - A2) is
    # off by 6e-17 / (1 - A2), and a central difference of step 1e-6 by up to 6e-11 / (1 - A2): below the
    # tolerance's atol of 1e-8 while 1 - A2 > 1e-2. Beyond, the finite difference measures rounding.
    if np.all(cache["A2"].data < 0.99):
        check(lambda A2, Z2: tl.compute_cost(A2, Y))


def test_autograd_reads_the_labs_dZ_as_m_times_the_engines():
    X, Y, p = random_problem(2, 3, 1, 7, seed=3)
    leaves = {k: Tensor(v, requires_grad=True) for k, v in p.items()}
    A2, cache = tl.forward_propagation(X, leaves)
    tl.compute_cost(A2, Y).backward()
    auto = tl.autograd_gradients(p, X, Y)
    np.testing.assert_allclose(auto["dZ2"], 7 * cache["Z2"].grad, rtol=1e-15)
    np.testing.assert_allclose(auto["dZ2"], A2.data - Y, rtol=1e-12)
    np.testing.assert_allclose(auto["dW1"], leaves["W1"].grad, rtol=1e-15)


# ----- gradient descent -------------------------------------------------------------------------------


def test_update_parameters_takes_one_step_against_the_gradient_and_leaves_the_input_alone():
    p = tl.initialize_parameters(2, 3, seed=0)
    before = {k: v.copy() for k, v in p.items()}
    grads = {"d" + k: np.full_like(v, 2.0) for k, v in p.items()}
    new = tl.update_parameters(p, grads, learning_rate=0.5)
    for k in tl.PARAMETER_NAMES:
        np.testing.assert_array_equal(new[k], before[k] - 1.0)
        np.testing.assert_array_equal(p[k], before[k])


@pytest.mark.parametrize("learning_rate", [0, -0.1, math.nan, math.inf])
def test_update_parameters_rejects_a_learning_rate_that_is_not_positive(learning_rate):
    p = tl.initialize_parameters(2, 3, seed=0)
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number"):
        tl.update_parameters(p, {"d" + k: v for k, v in p.items()}, learning_rate)


def test_predict_gives_0_or_1_where_A2_is_above_one_half():
    X, _, p = random_problem(3, 4, 2, 50, seed=5)
    predictions = tl.predict(p, X)
    assert predictions.shape == (2, 50)
    np.testing.assert_array_equal(predictions, numpy_forward(X, p, "sigmoid")[3] > 0.5)
    assert set(np.unique(predictions)) <= {0, 1}


XOR_X = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
XOR_Y = np.array([[0.0, 1.0, 1.0, 0.0]])


@pytest.mark.parametrize(("act", "n_h", "learning_rate"), [("sigmoid", 4, 2.0), ("relu", 8, 1.0)])
@pytest.mark.parametrize("seed", range(3))
def test_training_on_xor_reaches_100_percent(act, n_h, learning_rate, seed):
    p, costs = tl.train(
        XOR_X, XOR_Y, n_h, hidden_activation=act, learning_rate=learning_rate, iterations=2000, seed=seed
    )
    np.testing.assert_array_equal(tl.predict(p, XOR_X, hidden_activation=act), XOR_Y)
    assert len(costs) == 2001 and costs[-1] < 0.1 < costs[0]


def test_training_reports_every_cost_to_the_callback_and_starts_from_the_seeded_initialisation():
    seen = []
    _, costs = tl.train(
        XOR_X, XOR_Y, 3, learning_rate=0.5, iterations=20, seed=4, callback=lambda *a: seen.append(a)
    )
    assert seen == list(enumerate(costs))
    start = tl.initialize_parameters(2, 3, seed=4)
    A2, _ = tl.forward_propagation(XOR_X, start)
    assert costs[0] == pytest.approx(labs_cost(A2.data, XOR_Y), rel=1e-12)
    assert all(b < a for a, b in itertools.pairwise(costs))  # small steps on a smooth cost: always downhill


def test_an_exploding_run_stops_and_names_the_iteration():
    X, Y = datasets.moons(seed=0)
    seen = []
    with pytest.raises(tl.TrainingDivergedError, match=r"at iteration \d+.*smaller than 10000") as info:
        tl.train(X, Y, 10, hidden_activation="relu", learning_rate=1e4, iterations=500, seed=0,
                 callback=lambda i, J: seen.append(J))  # fmt: skip
    stopped = info.value
    assert 0 < stopped.iteration <= 500 and stopped.start == seen[0]
    assert not math.isfinite(stopped.cost) or stopped.cost > tl.DIVERGED_ABOVE * seen[0]
    bound = tl.DIVERGED_ABOVE * seen[0]
    assert len(seen) == stopped.iteration and all(cost <= bound for cost in seen)


def test_a_sigmoid_run_whose_cost_grows_without_bound_stops_too():
    # The cost from logits stays finite however far the steps throw the weights: growth is the sign.
    X, Y = datasets.moons(seed=0)
    with pytest.raises(tl.TrainingDivergedError, match=r"at iteration \d+ \(from 0\.68\d+ at the start\)"):
        tl.train(X, Y, 10, learning_rate=1e4, iterations=1000, seed=0)


@pytest.mark.parametrize("act", tl.ACTIVATIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_training_gives_the_eager_parameters_and_costs_to_the_bit(act, seed):
    X, Y = datasets.moons(seed=seed)
    (p, costs), (p_eager, costs_eager) = (
        tl.train(X, Y, 10, hidden_activation=act, learning_rate=1.0, iterations=200, seed=seed, compiled=c)
        for c in (True, False)
    )
    for name in tl.PARAMETER_NAMES:
        assert np.array_equal(p[name], p_eager[name]), name
    assert np.array_equal(costs, costs_eager)


def test_compiled_training_traces_its_step_once_and_diverges_where_the_eager_one_does(monkeypatch):
    made, compile_ = [], mg.compile
    monkeypatch.setattr(mg, "compile", lambda loss: made.append(compile_(loss)) or made[-1])
    tl.train(XOR_X, XOR_Y, 3, iterations=50, seed=0)
    assert [step.traces for step in made] == [1]
    X, Y = datasets.moons(seed=0)
    stopped = []
    for compiled in (True, False):
        with pytest.raises(tl.TrainingDivergedError) as info:
            tl.train(X, Y, 10, hidden_activation="relu", learning_rate=1e4, iterations=500, seed=0,
                     compiled=compiled)  # fmt: skip
        stopped.append((info.value.iteration, info.value.cost, info.value.start))
    assert stopped[0] == stopped[1]


def default_run(seed):
    X, Y = datasets.load(DEFAULTS["data"], seed=seed)
    (X_train, Y_train), (X_test, Y_test) = datasets.split(X, Y, DEFAULTS["test_fraction"], seed=seed)
    mean, std = datasets.standardisation(X_train)
    X_train, X_test = datasets.standardise(X_train, mean, std), datasets.standardise(X_test, mean, std)
    act = DEFAULTS["activation"]
    p, _ = tl.train(
        X_train, Y_train, DEFAULTS["hidden"], hidden_activation=act, seed=seed,
        learning_rate=DEFAULTS["learning_rate"], iterations=DEFAULTS["iterations"],
    )  # fmt: skip
    return tl.accuracy(p, X_train, Y_train, hidden_activation=act), tl.accuracy(
        p, X_test, Y_test, hidden_activation=act
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_default_run_learns_the_moons_to_95_percent_held_out(seed):
    # The moons overlap (noise 0.2), so no boundary gets every point; 95% needs a curved one.
    train_accuracy, held_out = default_run(seed)
    assert train_accuracy >= 0.95
    assert held_out >= 0.95


def test_a_nan_probability_is_refused_like_one_outside_0_1():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*found nan"):
        tl.compute_cost(np.array([[0.5, np.nan]]), np.array([[1, 0]]))


@pytest.mark.parametrize("extra", [{"n_h": 3}, {"seed": 0}, {"init": "he"}])
def test_training_from_given_parameters_refuses_what_would_draw_new_ones(extra):
    start = tl.initialize_parameters(2, 3, seed=1)
    with pytest.raises(ValueError, match=f"train: {next(iter(extra))} would draw new parameters"):
        tl.train(XOR_X, XOR_Y, parameters=start, iterations=2, **extra)
    with pytest.raises(ValueError, match="needs n_h"):
        tl.train(XOR_X, XOR_Y, iterations=2)


def test_one_check_of_the_formulas_holds_the_pass_it_compared():
    X, Y = datasets.moons(m=40, seed=3)
    start = tl.initialize_parameters(2, 5, seed=3)
    check = tl.check_formulas(start, X, Y, "relu")
    _, cache = tl.forward_propagation(X, start, "relu")
    closed = tl.backward_propagation(start, cache, X, Y, "relu")
    for name in tl.GRADIENT_NAMES:
        np.testing.assert_array_equal(check.closed_form[name], closed[name])
        assert check.differences[name] < 1e-12
    # J is the lab's formula as written, after its backward pass: its graph carries the gradients compared
    assert check.J.name == "J" and check.J.item() == pytest.approx(tl.compute_cost(cache["A2"], Y).item())
    W1 = next(t for t in _graph_leaves(check.J) if t.name == "W1")
    np.testing.assert_array_equal(W1.grad, check.autograd["dW1"])


def _graph_leaves(t):
    seen, stack = {}, [t]
    while stack:
        x = stack.pop()
        if id(x) not in seen:
            seen[id(x)] = x
            stack.extend(x.parents)
    return [x for x in seen.values() if not x.parents]


# ----- issue 22: bad training sets named at the boundary, not as exploding gradients ------------------


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.array([[0.0, np.nan, 1.0, 2.0]]), r"train: X must hold finite numbers; found nan at \(0, 1\)"),
        (np.array([[0.0, 1.0, np.inf, 2.0]]), r"train: X must hold finite numbers; found inf at \(0, 2\)"),
        (
            np.zeros((1, 0)),
            r"train: X must be \(n_x, m\), one example per column, at least one; got \(1, 0\)",
        ),
    ],
)
def test_train_on_x_that_is_not_finite_or_empty_names_x_not_the_gradients(X, message):
    Y = (np.arange(X.shape[1]) % 2).reshape(1, -1).astype(float)
    with pytest.raises(ValueError, match=message) as info:
        tl.train(X, Y, 3, iterations=2)
    assert "exploded" not in str(info.value)


def test_train_with_labels_of_shape_m_names_y_and_its_shape():
    # Before: "Z has shape (40, 40)", from a Y of shape (40,) broadcast against A2 (1, 40).
    X, Y = datasets.moons(m=40, seed=0)
    with pytest.raises(
        ValueError, match=r"train: Y must be \(n_y, m\) .* m = 40; got \(40,\) \(use Y.reshape"
    ):
        tl.train(X, Y[0], 3, iterations=2)
