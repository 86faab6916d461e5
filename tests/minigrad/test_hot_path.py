"""The hot path's shortcuts give what the long way gives: methods as plain functions, the fingerprint's
fallback for a non-contiguous array, the walker's skipped look-up after the last write."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from minigrad.versions import fingerprint


def test_a_method_is_a_plain_function_of_its_operation() -> None:
    assert mg.Tensor.exp.__wrapped__ is ops.exp
    assert mg.Tensor.exp.__doc__ == ops.exp.__doc__
    assert mg.Tensor.__add__.__name__ == "add"


def test_a_method_passes_positional_and_keyword_options() -> None:
    x = np.arange(6.0).reshape(2, 3)
    t = mg.Tensor(x)
    np.testing.assert_array_equal(t.sum(0).data, x.sum(0))
    np.testing.assert_array_equal(t.sum(1, keepdims=True).data, x.sum(1, keepdims=True))
    np.testing.assert_array_equal(t.sum(axis=0).data, x.sum(axis=0))
    with pytest.raises(TypeError, match="given twice"):
        t.sum(0, axis=0)


@pytest.mark.parametrize("n", [4, 40])
def test_fingerprint_of_a_view_is_that_of_its_contiguous_copy_and_changes_with_a_value(n: int) -> None:
    a = np.arange(n * n, dtype=np.float64).reshape(n, n)
    for view in (a.T, a[:, ::2]):
        assert fingerprint(view) == fingerprint(np.ascontiguousarray(view))
    before = fingerprint(a)
    a[1, 2] += 1.0
    assert fingerprint(a) != before
    assert fingerprint(a) == fingerprint(a.copy())


def test_a_write_through_a_view_after_the_graph_is_still_seen() -> None:
    # The walker skips the write look-up only for a graph made after the last write: here the write
    # comes after, so the look-up runs and finds it.
    w = mg.Tensor(np.ones((2, 2)), requires_grad=True)
    loss = (w * w).sum()
    with mg.no_grad():
        view = w.T
        view -= 1.0
    with pytest.raises(RuntimeError, match="was changed"):
        loss.backward()


def test_a_graph_made_after_a_write_back_propagates() -> None:
    w = mg.Tensor(np.ones((2, 2)), requires_grad=True)
    w.data -= 0.5  # a write, then a new graph
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, 2 * np.full((2, 2), 0.5))
