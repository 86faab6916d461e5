"""einsum, tensordot, dot, inner, outer, vdot, trace, kron: values as NumPy's; gradients as the same
contraction written with transpose, broadcasting * and sum, and as finite differences, both orders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_both_orders, leaf

import minigrad as mg

SIZES = dict(zip("abcde", (2, 3, 1, 2, 3)))


@st.composite
def contractions(draw):
    """Random subscripts over a..e (no letter twice in one operand) and the operand values."""
    n = draw(st.integers(1, 3))
    terms = [draw(st.permutations("abcde").map(lambda p: "".join(p))) for _ in range(n)]
    terms = [t[: draw(st.integers(0, 3))] for t in terms]
    used = sorted(set("".join(terms)))
    output = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))]) if used else ""
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    operands = [rng.standard_normal([SIZES[c] for c in t]) for t in terms]
    return ",".join(terms) + "->" + output, operands


def by_broadcasting(subscripts, *operands):
    """The contraction written with transpose, reshape, * and sum: every operand laid over all letters."""
    inputs, output = subscripts.split("->")
    letters = sorted(set(inputs.replace(",", "")))
    product = 1.0
    for term, x in zip(inputs.split(","), operands):
        order = sorted(term, key=letters.index)
        x = mg.transpose(x, tuple(term.index(c) for c in order)) if term else x
        product = product * mg.reshape(x, tuple(SIZES[c] if c in term else 1 for c in letters))
    if not letters:
        return product * 1.0
    summed = mg.sum(product, axis=tuple(i for i, c in enumerate(letters) if c not in output))
    kept = [c for c in letters if c in output]
    return mg.transpose(summed, tuple(kept.index(c) for c in output)) if output else summed


@settings(max_examples=30)
@given(contractions())
def test_einsum_is_the_contraction_written_with_transpose_and_sum_with_the_same_gradients(case):
    subscripts, operands = case
    xs = [leaf(x) for x in operands]
    got, want = mg.einsum(subscripts, *xs), by_broadcasting(subscripts, *xs)
    np.testing.assert_allclose(got.data, np.einsum(subscripts, *operands), atol=1e-12)
    np.testing.assert_allclose(got.data, want.data, atol=1e-12)
    w = np.random.default_rng(0).standard_normal(got.shape)
    for g, h in zip(mg.grad((got * w).sum(), xs), mg.grad((want * w).sum(), xs)):
        np.testing.assert_allclose(g.data, h.data, atol=1e-12)


@pytest.mark.parametrize(
    ("subscripts", "shapes"),
    [
        ("ij,jk", [(2, 3), (3, 2)]),  # implicit output: ik
        ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)]),  # ellipsis, broadcast batch
        ("i...,i...", [(3, 2), (3, 1)]),  # implicit output with an ellipsis: the broadcast axes
        ("ii->i", [(3, 3)]),  # a diagonal
        ("ii", [(3, 3)]),  # a trace
        ("iij->j", [(2, 2, 3)]),
        ("ij,ij->", [(2, 3), (2, 3)]),
        ("i,j->ij", [(2,), (3,)]),
        ("ijk->", [(2, 1, 2)]),
    ],
)
def test_einsum_takes_what_numpy_takes_and_differentiates_it_to_second_order(subscripts, shapes):
    rng = np.random.default_rng(1)
    operands = [rng.standard_normal(s) for s in shapes]
    np.testing.assert_allclose(
        mg.einsum(subscripts, *map(mg.Tensor, operands)).data, np.einsum(subscripts, *operands)
    )
    np.testing.assert_allclose(
        np.einsum(subscripts, *map(leaf, operands)).data, np.einsum(subscripts, *operands)
    )
    check_both_orders(lambda *xs: mg.einsum(subscripts, *xs), *map(leaf, operands))


def test_einsum_sublist_form():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(mg.einsum(mg.Tensor(a), [0, 1], mg.Tensor(b), [1, 2], [0, 2]).data, a @ b)


def test_einsum_refuses_subscripts_that_do_not_fit_the_operands():
    with pytest.raises(ValueError, match="3 dimensions"):
        mg.einsum("ij->i", leaf(np.ones((2, 2, 2))))


@st.composite
def tensordot_cases(draw):
    na, nb = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    k = draw(st.integers(0, min(na, nb)))
    sizes = draw(st.lists(st.integers(1, 3), min_size=na + nb, max_size=na + nb))
    axes_a = draw(st.permutations(range(na)))[:k] if na else []
    axes_b = draw(st.permutations(range(nb)))[:k] if nb else []
    shape_a, shape_b = sizes[:na], sizes[na:]
    for i, j in zip(axes_a, axes_b):
        shape_b[j] = shape_a[i]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.standard_normal(shape_a), rng.standard_normal(shape_b), (list(axes_a), list(axes_b))


def tensordot_by_matmul(a, b, axes):
    """tensordot with transpose, reshape and matmul: the summed axes moved together, one product."""
    axes_a, axes_b = axes
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    m = int(np.prod([a.shape[i] for i in free_a]))
    k = int(np.prod([a.shape[i] for i in axes_a]))
    n = int(np.prod([b.shape[i] for i in free_b]))
    left = mg.reshape(mg.transpose(a, (*free_a, *axes_a)), (m, k))
    right = mg.reshape(mg.transpose(b, (*axes_b, *free_b)), (k, n))
    return mg.reshape(left @ right, tuple(a.shape[i] for i in free_a) + tuple(b.shape[i] for i in free_b))


@settings(max_examples=30)
@given(tensordot_cases())
def test_tensordot_over_random_axes_is_transpose_reshape_and_matmul(case):
    a, b, axes = case
    x, y = leaf(a), leaf(b)
    got, want = mg.tensordot(x, y, axes), tensordot_by_matmul(x, y, axes)
    np.testing.assert_allclose(got.data, np.tensordot(a, b, axes), atol=1e-12)
    w = np.random.default_rng(0).standard_normal(got.shape)
    for g, h in zip(mg.grad((got * w).sum(), [x, y]), mg.grad((want * w).sum(), [x, y])):
        np.testing.assert_allclose(g.data, h.data, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("dot", [(3,), (3,)]),
        ("dot", [(2, 3), (3,)]),
        ("dot", [(2, 1, 3), (2, 3, 2)]),  # every rank: the last axis against the second to last
        ("dot", [(), (2, 3)]),
        ("inner", [(2, 3), (4, 3)]),
        ("outer", [(2, 2), (3,)]),
        ("vdot", [(2, 3), (3, 2)]),
        ("kron", [(2, 3), (2, 2)]),
        ("kron", [(3,), (2, 2)]),
        ("tensordot", [(1, 3, 2), (3, 2, 2)]),
    ],
)
def test_each_contraction_is_numpys_with_gradients_of_both_orders(name, shapes):
    rng = np.random.default_rng(2)
    operands = [rng.standard_normal(s) for s in shapes]
    got = getattr(np, name)(*map(leaf, operands))  # through NumPy's own function
    assert isinstance(got, mg.Tensor)
    np.testing.assert_allclose(got.data, getattr(np, name)(*operands))
    check_both_orders(getattr(mg, name), *map(leaf, operands))


@pytest.mark.parametrize(("offset", "axis1", "axis2"), [(0, 0, 1), (1, 0, 1), (-1, 1, 2), (0, 2, 0)])
def test_trace_is_the_sum_of_the_diagonal_whose_elements_get_the_gradient(offset, axis1, axis2):
    a = np.random.default_rng(3).standard_normal((3, 3, 3))
    x = leaf(a)
    np.testing.assert_allclose(mg.trace(x, offset, axis1, axis2).data, np.trace(a, offset, axis1, axis2))
    g = np.random.default_rng(4).standard_normal(np.trace(a, offset, axis1, axis2).shape)
    mg.trace(x, offset, axis1, axis2).backward(g)
    # By hand: the gradient is g on the diagonal, 0 elsewhere.
    expected = np.zeros_like(a)
    moved = np.moveaxis(expected, (axis1, axis2), (-2, -1))
    rows = np.arange(3)[max(-offset, 0) :][: 3 - abs(offset)]
    moved[..., rows, rows + offset] = g[..., None]  # moved is a view of expected
    np.testing.assert_allclose(x.grad, expected)
    check_both_orders(lambda x: mg.trace(x, offset, axis1, axis2), leaf(a[:2, :2, :2]))


def test_dot_of_matrices_stays_matmul():
    assert np.dot(leaf(np.ones((2, 3))), np.ones((3, 4))).op == "matmul"
