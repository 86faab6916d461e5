"""Order statistics, NaN-aware functions, covariance, cross products, convolutions, meshgrid, and the
np.linalg helpers written with the core ones (matrix_power, multi_dot, lstsq, cond): values as NumPy's,
gradients by hand and by finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_both_orders, leaf

import minigrad as mg
from minigrad.testing import arrays, assert_grads_match, shapes

A = np.array([[0.5, -1.2, 2.0, 0.1], [1.5, 0.7, -0.4, 2.2], [0.3, -0.8, 1.1, -2.0]])
V, W = np.array([0.4, -1.0, 2.0]), np.array([1.0, 0.5, -0.3, 2.0, -1.1])

CASES = [
    ("median", (A,), {}),
    ("median", (A,), {"axis": 1}),
    ("median", (A,), {"axis": 0, "keepdims": True}),
    ("quantile", (A,), {"q": [0.1, 0.75], "axis": 1}),
    ("quantile", (A,), {"q": 0.3, "keepdims": True}),
    ("percentile", (A,), {"q": 40, "axis": 0}),
    ("nanmax", (A,), {"axis": 0}),
    ("nanmin", (A,), {}),
    ("cov", (A,), {}),
    ("cov", (A,), {"rowvar": False, "ddof": 0}),
    ("corrcoef", (A,), {}),
    ("cbrt", (A,), {}),
    ("cross", (A[:, :3], A[:, 1:]), {}),
    ("cross", (A[:, :3], A[:, 1:].T), {"axisa": 0, "axisb": 1, "axisc": 0}),
    ("gradient", (A,), {"axis": 1}),
    ("linspace", (V, W[:3]), {"num": 4}),
    ("convolve", (W, V), {}),
    ("convolve", (V, W), {"mode": "same"}),
    ("convolve", (W, V), {"mode": "valid"}),
    ("correlate", (W, V), {}),
    ("correlate", (V, W), {"mode": "full"}),
    ("fmax", (A, A[::-1] + 0.1), {}),  # no ties: at a tie the second derivative jumps
    ("fmin", (A, A[::-1] + 0.1), {}),
    ("nan_to_num", (A,), {}),
]


@pytest.mark.parametrize(("name", "args", "options"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_is_numpys_function_with_gradients_of_both_orders(name, args, options):
    got = getattr(np, name)(*map(leaf, args), **options)  # through NumPy's own function
    want = getattr(np, name)(*args, **options)
    assert isinstance(got, mg.Tensor) and got.shape == np.shape(want)
    np.testing.assert_allclose(got.data, want)
    check_both_orders(lambda *xs: getattr(mg, name)(*xs, **options), *map(leaf, args))


@settings(max_examples=20)
@given(arrays(shapes(min_dims=1, max_dims=1, max_side=6)))
def test_the_median_gradient_goes_to_the_middle_elements(a):
    order = np.argsort(a, kind="stable")
    n = a.size

    def by_hand(g, a):
        grad = np.zeros_like(a)
        if n % 2:
            grad[order[n // 2]] = g
        else:
            grad[order[n // 2 - 1]] = grad[order[n // 2]] = g / 2
        return [grad]

    assert_grads_match(mg.median, [leaf(a)], by_hand)


def test_nan_aware_functions_give_nan_no_gradient():
    x = leaf([1.0, np.nan, 3.0])
    np.nanmax(x).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])
    y = leaf([np.nan, 2.0])
    np.fmax(y, np.array([1.0, 1.0])).sum().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 1.0])


def test_meshgrid_is_numpys_for_both_indexings():
    for indexing in ("xy", "ij"):
        grids = np.meshgrid(leaf(V), leaf(W), leaf(A[0]), indexing=indexing)
        for got, want in zip(grids, np.meshgrid(V, W, A[0], indexing=indexing)):
            np.testing.assert_array_equal(got.data, want)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power_is_repeated_products(n):
    a = np.array([[1.0, 0.3], [-0.2, 0.9]])
    np.testing.assert_allclose(np.linalg.matrix_power(leaf(a), n).data, np.linalg.matrix_power(a, n))
    mg.gradcheck(lambda x: mg.linalg.matrix_power(x, n), leaf(a))


def test_multi_dot_lstsq_and_cond_are_numpys_with_gradients():
    b = W[:4]
    np.testing.assert_allclose(
        np.linalg.multi_dot([leaf(A), leaf(A.T), V]).data, np.linalg.multi_dot([A, A.T, V])
    )
    x, residuals, rank, s = np.linalg.lstsq(leaf(A.T), leaf(b))
    want = np.linalg.lstsq(A.T, b)
    np.testing.assert_allclose(x.data, want[0])
    np.testing.assert_allclose(residuals.data, want[1])
    assert rank == want[2]
    np.testing.assert_allclose(s.data, want[3])
    mg.gradcheck(lambda a, b: mg.linalg.lstsq(a, b)[0], leaf(A.T), leaf(b))
    square = A[:, :3] + 2 * np.eye(3)
    for p in (None, -2, 1, "fro", np.inf):
        np.testing.assert_allclose(np.linalg.cond(leaf(square), p).data, np.linalg.cond(square, p))
        mg.gradcheck(lambda x, p=p: mg.linalg.cond(x, p), leaf(square))


def test_quantile_refuses_q_outside_zero_one():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mg.quantile(leaf(A), 1.5)


def test_cross_refuses_vectors_that_are_not_of_three():
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        mg.cross(leaf(A), leaf(A))


@settings(max_examples=10)
@given(st.integers(1, 5), st.integers(1, 5), st.sampled_from(["full", "same", "valid"]))
def test_convolve_of_any_lengths_is_numpys(n, k, mode):
    rng = np.random.default_rng(n * 10 + k)
    a, v = rng.standard_normal(n), rng.standard_normal(k)
    np.testing.assert_allclose(mg.convolve(leaf(a), leaf(v), mode).data, np.convolve(a, v, mode), atol=1e-12)
    np.testing.assert_allclose(
        mg.correlate(leaf(a), leaf(v), mode).data, np.correlate(a, v, mode), atol=1e-12
    )


def test_gradient_of_every_axis_is_numpys_list():
    slopes = np.gradient(leaf(A), 0.5)
    for got, want in zip(slopes, np.gradient(A, 0.5)):
        np.testing.assert_allclose(got.data, want)


def test_imag_and_angle_of_real_numbers_have_gradient_zero():
    x = leaf([-1.0, 2.0])
    assert np.imag(x).data.tolist() == [0.0, 0.0] and np.angle(x).data.tolist() == [np.pi, 0.0]
    (np.imag(x) + np.angle(x, deg=True)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_vstack_takes_numpys_dtype_only_as_none():
    assert np.vstack([leaf(V), leaf(V)], dtype=None).shape == (2, 3)
    with pytest.raises(TypeError, match="dtype"):
        np.vstack([leaf(V)], dtype=np.float32)
