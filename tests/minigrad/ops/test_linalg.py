"""The linear algebra family (`minigrad/ops/linalg.py`): `matmul` and `@`, then `np.linalg` on Tensors.

Each gradient is checked two ways for any shapes and values hypothesis draws: against central finite
differences of the whole Jacobian (`mg.gradcheck`), and against the derivative written out here by hand, with
a random upstream gradient `g` (`minigrad.testing.assert_grads_match`). The hand-written derivatives never
call minigrad; broadcasting is undone by `opcheck.sum_to`, a different route from the engine's.

np.linalg on Tensors: values as NumPy's, gradients against the textbook formulas (d inv = -inv dA inv,
d log|det| = inv(A)ᵀ, ...) and finite differences, both orders, batched over leading axes.
eigh and svd are checked with distinct eigen and singular values, on functions that do not depend on
the sign NumPy picks for each vector (its square, or u vᵀ).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check, check_both_orders, leaf, sum_to, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import assert_grads_match, broadcastable_shapes, tensors


@st.composite
def matmul_pair(draw):
    """A of (..., n, k) and B of (..., k, m), the leading (batch) dimensions broadcastable."""
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch_a, batch_b = draw(broadcastable_shapes(max_dims=2, max_side=2))
    A = draw(tensors((*batch_a, n, k), name="A"))
    B = draw(tensors((*batch_b, k, m), name="B"))
    return A, B


@given(matmul_pair(), st.data())
def test_matmul_gradient_is_g_Bt_and_At_g(AB, data):
    A, B = AB
    g = upstream_for(data, np.matmul(A.data, B.data).shape)

    def analytic(g, A, B):
        # d(AB)/dA_ik = sum_j g_ij B_kj ; d(AB)/dB_kj = sum_i A_ik g_ij  (per batch, then summed over it)
        dA = np.einsum("...ij,...kj->...ik", g, np.broadcast_to(B, g.shape[:-2] + B.shape[-2:]))
        dB = np.einsum("...ik,...ij->...kj", np.broadcast_to(A, g.shape[:-2] + A.shape[-2:]), g)
        return [sum_to(dA, A.shape), sum_to(dB, B.shape)]

    check(mg.matmul, AB, analytic, g)


@pytest.mark.parametrize(
    ("shape_a", "shape_b"), [((3,), (3, 2)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((3,), (3,))]
)
def test_matmul_with_a_vector_follows_numpy(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = Tensor(rng.standard_normal(shape_b), requires_grad=True)
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    assert out.shape == (a.data @ b.data).shape
    assert mg.gradcheck(mg.matmul, a, b)


def test_matmul_operator_with_an_ndarray_on_either_side():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((2, 3))
    N = rng.standard_normal((4, 2))
    W = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    right, left = M @ W, W @ N
    assert isinstance(right, Tensor) and isinstance(left, Tensor)
    np.testing.assert_allclose(right.data, M @ W.data)
    np.testing.assert_allclose(left.data, W.data @ N)
    assert_grads_match(lambda W: M @ W, [W], lambda g, W: [M.T @ g])
    assert_grads_match(lambda W: W @ N, [W], lambda g, W: [g @ N.T])


def test_matmul_shape_error_names_both_shapes_like_the_contract():
    with pytest.raises(ValueError, match=r"\(3, 4\) @ \(5, 2\)"):
        Tensor(np.ones((3, 4)), requires_grad=True) @ Tensor(np.ones((5, 2)))


def test_matmul_of_a_scalar_is_a_value_error():
    with pytest.raises(ValueError, match="matmul"):
        mg.matmul(Tensor(2.0), Tensor(np.ones((2, 2))))


# ----- np.linalg --------------------------------------------------------------------------------


def well_conditioned(seed, shape):
    """Matrices near 3 I: invertible, with distinct eigenvalues spread apart."""
    rng = np.random.default_rng(seed)
    n = shape[-1]
    return rng.standard_normal(shape) * 0.5 + np.diag(np.arange(1.0, n + 1) * 1.5)


def symmetric(seed, shape):
    a = well_conditioned(seed, shape)
    return (a + np.swapaxes(a, -1, -2)) / 2


batches = st.sampled_from([(3, 3), (2, 3, 3), (1, 2, 2, 2)])


@settings(max_examples=10)
@given(st.integers(0, 1000), batches)
def test_inv_gradient_is_minus_inv_transposed_g_inv_transposed(seed, shape):
    a = well_conditioned(seed, shape)
    x = leaf(a)
    out = np.linalg.inv(x)  # NumPy's own function, handed to the Tensor
    np.testing.assert_allclose(out.data, np.linalg.inv(a))
    g = np.random.default_rng(seed + 1).standard_normal(shape)
    out.backward(g)
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    np.testing.assert_allclose(x.grad, -inverse_t @ g @ inverse_t)  # d inv = -inv dA inv


@settings(max_examples=10)
@given(st.integers(0, 1000), batches)
def test_logdet_gradient_is_inv_transposed_and_det_gradient_det_times_it(seed, shape):
    a = well_conditioned(seed, shape)
    sign, logdet = np.linalg.slogdet(leaf(a))
    want_sign, want_logdet = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign, want_sign)
    np.testing.assert_allclose(logdet.data, want_logdet)
    x = leaf(a)
    mg.linalg.slogdet(x)[1].sum().backward()
    inverse_t = np.swapaxes(np.linalg.inv(a), -1, -2)
    np.testing.assert_allclose(x.grad, inverse_t)
    y = leaf(a)
    mg.linalg.det(y).sum().backward()
    np.testing.assert_allclose(y.grad, np.linalg.det(a)[..., None, None] * inverse_t)


@pytest.mark.parametrize("b_shape", [(3,), (3, 2), (2, 3, 2)])
def test_solve_gradients_are_the_transposed_solve(b_shape):
    a = well_conditioned(3, (3, 3))
    b = np.random.default_rng(4).standard_normal(b_shape)
    x, y = leaf(a), leaf(b)
    out = np.linalg.solve(x, y)
    np.testing.assert_allclose(out.data, np.linalg.solve(a, b))
    g = np.random.default_rng(5).standard_normal(out.shape)
    out.backward(g)
    if len(b_shape) == 1:
        db = np.linalg.solve(a.T, g)
        np.testing.assert_allclose(y.grad, db)
        np.testing.assert_allclose(x.grad, -np.outer(db, np.linalg.solve(a, b)))
    else:
        db = np.linalg.solve(a.T, g)
        np.testing.assert_allclose(y.grad, db)  # dB = inv(A)ᵀ g, dA = -dB Xᵀ summed over the batch
        want = -(db @ np.swapaxes(np.linalg.solve(a, b), -1, -2))
        np.testing.assert_allclose(x.grad, want.reshape(-1, 3, 3).sum(axis=0))
    if len(b_shape) < 3:
        check_both_orders(mg.linalg.solve, leaf(a), leaf(b))


def test_cholesky_of_a_symmetric_parametrisation_matches_finite_differences():
    def f(a):
        s = (a + a.mT) / 2 + 4 * np.eye(3)
        return np.linalg.cholesky(s)

    a = well_conditioned(6, (3, 3)) * 0.3
    np.testing.assert_allclose(f(leaf(a)).data, f(a))
    check_both_orders(f, leaf(a))


@settings(max_examples=8)
@given(st.integers(0, 1000), batches)
def test_eigh_on_sign_invariant_functions_matches_finite_differences(seed, shape):
    a = symmetric(seed, shape)
    w, v = np.linalg.eigh(leaf(a))
    want_w, want_v = np.linalg.eigh(a)
    np.testing.assert_allclose(w.data, want_w)
    np.testing.assert_allclose(np.abs(v.data), np.abs(want_v))
    # dλ_i = v_iᵀ dA v_i, for the triangle NumPy reads: off the diagonal both mirror images count.
    x = leaf(a)
    c = np.random.default_rng(seed).standard_normal(want_w.shape)
    (mg.linalg.eigh(x)[0] * c).sum().backward()
    full = (want_v * c[..., None, :]) @ np.swapaxes(want_v, -1, -2)
    lower = np.tril(np.ones(shape[-2:]), -1)
    np.testing.assert_allclose(x.grad, full * np.eye(shape[-1]) + (full + np.swapaxes(full, -1, -2)) * lower)
    mg.gradcheck(lambda x: np.linalg.eigh(x)[1] ** 2, leaf(a))


def test_eigh_second_order_and_upper_triangle():
    a = symmetric(7, (3, 3))
    check_both_orders(lambda x: mg.linalg.eigh(x, "U")[1] ** 2 + mg.linalg.eigh(x, "U")[0], leaf(a))


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
def test_svd_on_sign_invariant_functions_matches_finite_differences(shape):
    a = np.random.default_rng(8).standard_normal(shape)
    u, s, vh = np.linalg.svd(leaf(a), full_matrices=False)
    np.testing.assert_allclose((u.data * s.data[..., None, :]) @ vh.data, a, atol=1e-12)
    np.testing.assert_allclose(s.data, np.linalg.svd(a, compute_uv=False))
    x = leaf(a)
    np.linalg.svd(x, compute_uv=False).sum().backward()
    u0, _, vh0 = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(x.grad, u0 @ vh0)  # d Σσ = tr(Uᵀ dA V): the gradient is U Vᵀ
    for part in range(3):
        mg.gradcheck(lambda x, part=part: mg.linalg.svd(x, full_matrices=False)[part] ** 2, leaf(a))
    check_both_orders(lambda x: np.linalg.svd(x, full_matrices=False)[0][..., :1] ** 2, leaf(a))


def test_svd_full_matrices_drops_the_undetermined_columns_as_pytorch():
    a = np.random.default_rng(9).standard_normal((4, 2))
    u, _, _ = mg.linalg.svd(leaf(a))  # full_matrices=True, NumPy's default
    assert u.shape == (4, 4)
    np.testing.assert_allclose(np.abs(u.data), np.abs(np.linalg.svd(a)[0]))
    mg.gradcheck(lambda x: mg.linalg.svd(x)[0][:, :2] ** 2, leaf(a))


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_pinv_matches_finite_differences_and_is_inv_for_a_square_matrix(shape):
    a = well_conditioned(10, (4, 4))[: shape[0], : shape[1]]
    np.testing.assert_allclose(np.linalg.pinv(leaf(a)).data, np.linalg.pinv(a))
    check_both_orders(np.linalg.pinv, leaf(a))
    if shape[0] == shape[1]:
        x, y = leaf(a), leaf(a)
        g = np.ones(shape)
        mg.linalg.pinv(x).backward(g)
        mg.linalg.inv(y).backward(g)
        np.testing.assert_allclose(x.grad, y.grad)


VECTOR_ORDS = [None, 1, 2, 3, 0.5, np.inf, -np.inf, 0]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms_against_numpy_and_finite_differences(ord):
    a = np.array([[0.5, -1.5, 2.0], [1.0, 0.3, -0.7]])
    for axis in (0, 1, -1):
        for keepdims in (False, True):
            got = np.linalg.norm(leaf(a), ord, axis, keepdims)
            np.testing.assert_allclose(got.data, np.linalg.norm(a, ord, axis, keepdims))
    mg.gradcheck(lambda x: mg.linalg.norm(x, ord, axis=1), leaf(a))


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms_against_numpy_and_finite_differences(ord):
    a = np.random.default_rng(11).standard_normal((2, 3, 4))
    for axis in ((1, 2), (2, 0)):
        got = np.linalg.norm(leaf(a), ord, axis, True)
        np.testing.assert_allclose(got.data, np.linalg.norm(a, ord, axis, True))
    mg.gradcheck(lambda x: mg.linalg.norm(x, ord, axis=(1, 2)), leaf(a))


def test_frobenius_norm_by_hand_and_zero_vector_gradient_zero():
    a = np.array([[3.0, 4.0], [0.0, 0.0]])
    x = leaf(a)
    mg.linalg.norm(x).backward()
    np.testing.assert_allclose(x.grad, a / 5.0)  # d‖A‖ = A / ‖A‖
    z = leaf(np.zeros(3))
    mg.linalg.norm(z).backward()
    np.testing.assert_array_equal(z.grad, np.zeros(3))  # the subgradient 0, as PyTorch
    check_both_orders(lambda x: mg.linalg.norm(x, axis=1), leaf(a + 0.5))


def test_linalg_refuses_non_square_matrices_naming_the_shape():
    with pytest.raises(ValueError, match=r"inv: needs square matrices.*\(2, 3\)"):
        mg.linalg.inv(leaf(np.ones((2, 3))))
    with pytest.raises(ValueError, match="axis"):
        mg.linalg.norm(leaf(np.ones((2, 2, 2))), "fro")


def test_second_order_of_inv_det_and_logdet():
    a = well_conditioned(12, (2, 2, 2))
    check_both_orders(np.linalg.inv, leaf(a))
    check_both_orders(np.linalg.det, leaf(a))
    check_both_orders(lambda x: np.linalg.slogdet(x)[1], leaf(a))


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 3, 2)])
def test_qr_is_numpys_and_its_factors_match_finite_differences(shape):
    a = np.random.default_rng(13).standard_normal(shape)
    q, r = np.linalg.qr(leaf(a))
    want_q, want_r = np.linalg.qr(a)
    np.testing.assert_allclose(q.data, want_q)
    np.testing.assert_allclose(r.data, want_r)
    check_both_orders(lambda x: mg.linalg.qr(x)[0], leaf(a))
    check_both_orders(lambda x: mg.linalg.qr(x)[1], leaf(a))


def test_qr_refuses_wide_matrices_whose_r_is_not_square():
    with pytest.raises(ValueError, match=r"at least as many rows.*\(2, 3\)"):
        mg.linalg.qr(leaf(np.ones((2, 3))))
