"""mg.data.batches: every row once, in batches of the size asked (the last one smaller), the same order
for the same seed."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.data import batches


@given(m=st.integers(1, 40), batch_size=st.integers(1, 50), shuffle=st.booleans(), seed=st.integers(0, 99))
def test_every_row_comes_once_and_every_batch_but_the_last_is_full(m, batch_size, shuffle, seed):
    X = np.arange(m * 2).reshape(m, 2)
    y = np.arange(m) * 10
    got = list(batches(X, y, batch_size=batch_size, shuffle=shuffle, seed=seed if shuffle else None))
    sizes = [len(xb) for xb, _ in got]
    assert sizes == [batch_size] * (m // batch_size) + ([m % batch_size] if m % batch_size else [])
    rows = np.concatenate([xb[:, 0] // 2 for xb, _ in got])
    assert sorted(rows) == list(range(m))
    for xb, yb in got:  # each label stays with its example
        np.testing.assert_array_equal(yb, xb[:, 0] // 2 * 10)
    if not shuffle:
        np.testing.assert_array_equal(rows, np.arange(m))


def test_the_same_seed_gives_the_same_order_and_a_generator_a_new_one_each_epoch():
    X = np.arange(100)[:, None]
    first = [xb[:, 0].tolist() for xb in batches(X, batch_size=30, shuffle=True, seed=7)]
    again = [xb[:, 0].tolist() for xb in batches(X, batch_size=30, shuffle=True, seed=7)]
    other = [xb[:, 0].tolist() for xb in batches(X, batch_size=30, shuffle=True, seed=8)]
    assert first == again and first != other
    rng = np.random.default_rng(7)
    epoch_1 = [xb[:, 0].tolist() for xb in batches(X, batch_size=30, shuffle=True, seed=rng)]
    epoch_2 = [xb[:, 0].tolist() for xb in batches(X, batch_size=30, shuffle=True, seed=rng)]
    assert epoch_1 == first and epoch_2 != epoch_1  # a Generator is drawn from again at each call


def test_tensors_are_batched_in_the_graph():
    X = mg.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    total = sum(xb.sum() for xb in batches(X, batch_size=2))
    total.backward()
    np.testing.assert_array_equal(X.grad, np.ones((3, 2)))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: batches(np.ones((4, 2)), np.ones(3), batch_size=2), "X has 4 rows and y has 3"),
        (lambda: batches(np.ones((4, 2)), batch_size=0), "batch_size must be a positive whole number; got 0"),
        (lambda: batches(np.ones((4, 2)), batch_size=2.5), "got 2.5"),
        (lambda: batches(np.ones((4, 2)), batch_size=2, seed=1), "a seed was given with shuffle=False"),
        (lambda: batches(np.float64(3.0), batch_size=2), "X must have at least one axis"),
    ],
)
def test_bad_arguments_are_refused_at_the_call(call, message):
    with pytest.raises(ValueError, match=message):
        call()  # before the first batch is asked for: the call itself refuses
