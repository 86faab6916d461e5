"""nets.digits: a softmax network on more than two classes, and what it shares (costs, metrics, data)."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from nets import datasets, metrics
from nets import digits as dg
from nets import twolayer as tl
from nets.costs import compute_multiclass_cost
from nets.datasets import DataError


def random_problem(n_x, hidden, K, m, seed, init="he"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    labels = rng.integers(0, K, m)
    parameters = dg.initialize_parameters([n_x, *hidden, K], init=init, seed=seed)
    return X, labels, parameters


# ----- the lab's closed form, for K classes ---------------------------------------------------------


@given(
    n_x=st.integers(1, 8),
    hidden=st.lists(st.integers(1, 8), min_size=0, max_size=2),
    K=st.integers(2, 7),
    m=st.integers(1, 20),
    seed=st.integers(0, 2**32 - 1),
    activation=st.sampled_from(dg.HIDDEN_ACTIVATIONS),
    init=st.sampled_from(dg.INITIALISATIONS),
)
def test_autograd_dZ_times_m_equals_the_labs_A_minus_Y_for_any_sizes_and_seeds(
    n_x, hidden, K, m, seed, activation, init
):
    X, labels, parameters = random_problem(n_x, hidden, K, m, seed, init)
    Y = dg.one_hot(labels, K)
    closed_form, autograd = dg.output_gradients(parameters, X, Y, activation)
    AL, _ = dg.forward_propagation(X, parameters, activation)
    np.testing.assert_allclose(closed_form, AL.data - Y, atol=1e-12)
    np.testing.assert_allclose(autograd, closed_form, atol=1e-12)


def test_the_cost_is_the_cross_entropy_of_the_softmax_and_stays_finite_at_large_logits():
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((4, 6))
    Y = dg.one_hot(rng.integers(0, 4, 6), 4)
    A = np.exp(Z) / np.exp(Z).sum(axis=0)
    expected = -(Y * np.log(A)).sum() / 6
    assert float(compute_multiclass_cost(Tensor(Z), Y)) == pytest.approx(expected, rel=1e-12)
    big = Tensor(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]]), requires_grad=True)
    J = compute_multiclass_cost(big, np.array([[0.0, 0.0], [1.0, 1.0]]))
    J.backward()
    assert float(J) == pytest.approx(1000.0)  # one example right, one 2000 off: (0 + 2000) / 2
    assert np.all(np.isfinite(big.grad))


def test_one_hot_puts_one_1_per_column_in_the_labels_row():
    Y = dg.one_hot(np.array([2, 0, 1]), 3)
    np.testing.assert_array_equal(Y, [[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="0 to 2"):
        dg.one_hot(np.array([3]), 3)


# ----- training --------------------------------------------------------------------------------------


def train_on_three_clouds(optimiser):
    """`(trained, costs per epoch)` on 150 examples of 5 features in three clouds."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 150)
    X = rng.standard_normal((3, 5))[labels].T + 0.5 * rng.standard_normal((5, 150))
    costs = []
    trained = dg.train(
        X,
        labels,
        dg.initialize_parameters([5, 8, 3], seed=0),
        optimiser=optimiser,
        learning_rate=0.01,
        epochs=5,
        seed=1,
        callback=lambda epoch, p: costs.append(dg.evaluate(p, X, labels)[0]),
    )
    return trained, costs, X, labels


@pytest.mark.parametrize("optimiser", dg.OPTIMISERS)
def test_training_lowers_the_cost_and_the_same_seed_gives_the_same_parameters(optimiser):
    trained, costs, X, labels = train_on_three_clouds(optimiser)
    assert len(costs) == 6 and costs[-1] < costs[0] / 2, costs
    assert dg.accuracy(trained, X, labels) > 0.9
    assert set(dg.predict(trained, X)) <= {0, 1, 2}
    again, _, _, _ = train_on_three_clouds(optimiser)
    for name in trained:
        np.testing.assert_array_equal(trained[name], again[name])


def train_on_a_few_digits(optimiser, activation, compiled):
    """`(trained, parameters after each epoch)`: 3 epochs on 200 digits, batches of 32 (the last of 8)."""
    pytest.importorskip("sklearn")
    X, labels = dg.load_digits()
    X, labels = datasets.standardise(X[:, :200], *datasets.standardisation(X[:, :200])), labels[:200]
    seen = []
    trained = dg.train(
        X,
        labels,
        dg.initialize_parameters([64, 16, 10], seed=0),
        hidden_activation=activation,
        optimiser=optimiser,
        epochs=3,
        seed=1,
        callback=lambda epoch, p: seen.append(p),
        compiled=compiled,
    )
    return trained, seen


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("optimiser", dg.OPTIMISERS)
def test_compiled_training_gives_the_eager_parameters_to_the_bit(optimiser, activation):
    (trained, seen), (eager, seen_eager) = (
        train_on_a_few_digits(optimiser, activation, compiled) for compiled in (True, False)
    )
    assert len(seen) == len(seen_eager) == 4
    for after, after_eager in zip([*seen, trained], [*seen_eager, eager]):
        for name in after:
            assert np.array_equal(after[name], after_eager[name]), name


def test_compiled_training_traces_once_per_batch_size(monkeypatch):
    made, compile_ = [], mg.compile
    monkeypatch.setattr(mg, "compile", lambda loss: made.append(compile_(loss)) or made[-1])
    train_on_a_few_digits("adam", "relu", compiled=True)
    assert [step.traces for step in made] == [2]  # batches of 32, and the last one of 200 - 6 * 32 = 8


def test_the_step_is_a_function_of_parameters_X_and_Y_to_the_cost():
    X, labels, parameters = random_problem(3, [4], 3, 5, seed=0)
    step = dg.make_step("relu")
    J = step(parameters, X, dg.one_hot(labels, 3))
    assert J.shape in ((), (1,)) and float(J) > 0


# ----- the data: CSV labels 0 ... K-1, a split stratified by class -------------------------------------


def test_a_stratified_split_holds_out_the_same_share_of_every_class():
    labels = np.repeat(np.arange(4), [40, 20, 8, 2])
    X = np.arange(labels.size, dtype=float).reshape(1, -1)
    (X_train, train), (X_test, test) = datasets.stratified_split(X, labels, 0.25, seed=0)
    assert np.bincount(test, minlength=4).tolist() == [10, 5, 2, 0]  # round(0.25 * 2) = 0
    assert np.bincount(train, minlength=4).min() >= 1  # every class keeps one example to train on
    assert sorted(np.concatenate([X_train[0], X_test[0]])) == list(X[0])  # each example once
    np.testing.assert_array_equal(labels[X_test[0].astype(int)], test)
    again = datasets.stratified_split(X, labels, 0.25, seed=0)
    np.testing.assert_array_equal(again[1][0], X_test)


def test_class_labels_from_a_csv_are_whole_numbers_and_a_wrong_one_is_named_with_its_line(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("a,b,label\n1,2,0\n3,4,2\n5,6,1\n")
    X, labels = datasets.load_classes_csv(good)
    assert X.shape == (2, 3) and labels.tolist() == [0, 2, 1]
    for label, found in (("1.5", "1.5"), ("-1", "-1")):
        bad = tmp_path / "bad.csv"
        bad.write_text(f"1,2,0\n3,4,{label}\n")
        with pytest.raises(
            DataError, match=rf"bad.csv, line 2: .*whole number from 0 to 1 .*; found {found}$"
        ):
            datasets.load_classes_csv(bad)
    one_class = tmp_path / "one.csv"
    one_class.write_text("1,2,0\n3,4,0\n")
    with pytest.raises(DataError, match="at least two classes"):
        datasets.load_classes_csv(one_class)


@pytest.mark.parametrize(("label", "found"), [("1e19", "1e\\+19"), ("99999", "99999"), ("61", "61")])
def test_a_label_beyond_the_number_of_examples_is_refused_in_one_line(tmp_path, label, found):
    # Issue 22: 1e19 wrapped to INT64_MIN and printed the whole label array in a traceback; 99999 among 61
    # rows trained a network of 100,000 classes. At most one class per example: labels 0 to m - 1.
    rows = [f"{i},{i % 3}" for i in range(60)] + [f"7,{label}"]
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        datasets.load_classes_csv(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert re.search(
        rf"line 61: .* from 0 to 60 \(at most one class per example: 61 examples\); found {found}$", message
    )


@given(st.lists(st.integers(1, 30), min_size=1, max_size=8), st.data())
def test_a_stratified_sample_has_exactly_n_examples_and_every_class(counts, data):
    # Issue 22: --limit 9 gave 10 examples, --limit 21 gave 20, and --limit 1 a traceback.
    labels = np.repeat(np.arange(len(counts)), counts)
    n = data.draw(st.integers(len(counts), labels.size))
    chosen = datasets.stratified_sample(labels, n, seed=data.draw(st.integers(0, 3)))
    assert chosen.size == n and np.unique(chosen).size == n
    taken = np.bincount(labels[chosen], minlength=len(counts))
    assert taken.min() >= 1 and np.all(taken <= counts)
    # in proportion: one of each class, the rest shared by what each class has beyond it, to within one
    fair = 1 + (n - len(counts)) * (np.array(counts) - 1) / max(labels.size - len(counts), 1)
    assert np.all(np.abs(taken - fair) < 1)


@pytest.mark.parametrize("n", [0, 2, 11])
def test_a_stratified_sample_of_fewer_than_the_classes_or_more_than_the_examples_is_refused(n):
    labels = np.repeat(np.arange(3), [4, 3, 3])
    with pytest.raises(
        DataError, match=r"cannot be drawn by class from 10 examples of 3 classes: give from 3 to 10"
    ):
        datasets.stratified_sample(labels, n)


# ----- metrics -----------------------------------------------------------------------------------------


def test_the_confusion_matrix_counts_true_rows_against_predicted_columns_and_names_the_pairs():
    true = np.array([0, 0, 1, 1, 1, 2, 2, 3])
    predicted = np.array([0, 1, 1, 2, 2, 1, 2, 3])
    matrix = metrics.confusion_matrix(true, predicted, 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 2, 0], [0, 1, 1, 0], [0, 0, 0, 1]]
    assert metrics.most_confused(matrix) == [(1, 2, 2, 1), (0, 1, 1, 0)]  # pairs never confused left out


# ----- the lab's two-class functions refuse other labels ----------------------------------------------


@pytest.mark.parametrize(
    "function", ["compute_cost", "train", "backward_propagation", "autograd_gradients", "accuracy"]
)
def test_the_labs_functions_refuse_labels_other_than_0_and_1_and_point_to_nets_digits(function):
    X, _ = datasets.moons(m=6, seed=0)
    Y = np.array([[0, 1, 1, 2, 0, 3]])
    parameters = tl.initialize_parameters(2, 3, seed=0)
    A2, cache = tl.forward_propagation(X, parameters)
    calls = {
        "compute_cost": lambda: tl.compute_cost(A2, Y),
        "train": lambda: tl.train(X, Y, 3, iterations=1),
        "backward_propagation": lambda: tl.backward_propagation(parameters, cache, X, Y),
        "autograd_gradients": lambda: tl.autograd_gradients(parameters, X, Y),
        "accuracy": lambda: tl.accuracy(parameters, X, Y),
    }
    with pytest.raises(
        ValueError, match=rf"^{function}: Y must hold only 0 and 1.*found 2 at \(0, 3\).*nets.digits"
    ):
        calls[function]()
