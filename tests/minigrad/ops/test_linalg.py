"""The operations `matmul` and `@` (`minigrad/ops/linalg.py`).

Each gradient is checked two ways for any shapes and values hypothesis draws: against central finite
differences of the whole Jacobian (`mg.gradcheck`), and against the derivative written out here by hand, with
a random upstream gradient `g` (`minigrad.testing.assert_grads_match`). The hand-written derivatives never
call minigrad; broadcasting is undone by `opcheck.sum_to`, a different route from the engine's.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from opcheck import check, sum_to, upstream_for

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
