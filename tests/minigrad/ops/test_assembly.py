"""Stacking, splitting, repeating, flipping, triangles, diagonals, padding and moving axes: values as
NumPy's, and gradients as NumPy's own function says where each element went.

Each of these moves, copies or drops elements. NumPy's function applied to the elements' positions
(1, 2, ..., n, with 0 for nothing) says where each element lands, so the gradient by hand is the sum of
the output's gradient over the places each position landed (np.bincount): an independent derivative.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_both_orders, leaf

import minigrad as mg

CASES = {
    # name: (shape of the input, the call on NumPy's module or on minigrad's)
    "vstack": ((2, 3), lambda m, x: m.vstack([x, x[:1]])),
    "hstack": ((2, 3), lambda m, x: m.hstack([x, x[:, :1]])),
    "hstack 1-D": ((3,), lambda m, x: m.hstack([x, x])),
    "dstack": ((2, 3), lambda m, x: m.dstack([x, x])),
    "column_stack": ((3,), lambda m, x: m.column_stack([x, x])),
    "split": ((4, 3), lambda m, x: m.split(x, 2)[1]),
    "split at": ((4, 3), lambda m, x: m.split(x, [1, 3], axis=0)[1]),
    "array_split": ((2, 5), lambda m, x: m.array_split(x, 3, axis=1)[0]),
    "hsplit": ((2, 4), lambda m, x: m.hsplit(x, 2)[1]),
    "vsplit": ((4, 2), lambda m, x: m.vsplit(x, 2)[0]),
    "repeat": ((2, 3), lambda m, x: m.repeat(x, 2, axis=1)),
    "repeat flat": ((2, 3), lambda m, x: m.repeat(x, 2)),
    "repeat each": ((3,), lambda m, x: m.repeat(x, [1, 0, 3])),
    "tile": ((2, 3), lambda m, x: m.tile(x, (2, 1, 2))),
    "roll": ((2, 3), lambda m, x: m.roll(x, 2)),
    "roll axes": ((2, 3), lambda m, x: m.roll(x, (1, -1), axis=(0, 1))),
    "flip": ((2, 3), lambda m, x: m.flip(x, 1)),
    "flip all": ((2, 3), lambda m, x: m.flip(x)),
    "fliplr": ((2, 3), lambda m, x: m.fliplr(x)),
    "tril": ((2, 3, 3), lambda m, x: m.tril(x)),
    "triu": ((3, 4), lambda m, x: m.triu(x, 1)),
    "tril k": ((3, 4), lambda m, x: m.tril(x, -1)),
    "diag of matrix": ((3, 4), lambda m, x: m.diag(x, 1)),
    "diag of vector": ((3,), lambda m, x: m.diag(x, -1)),
    "diagonal": ((2, 3, 4), lambda m, x: m.diagonal(x, 1, 2, 1)),
    "pad": ((2, 3), lambda m, x: m.pad(x, ((1, 0), (2, 1)))),
    "swapaxes": ((2, 3, 4), lambda m, x: m.swapaxes(x, 0, 2)),
    "moveaxis": ((2, 3, 4), lambda m, x: m.moveaxis(x, (0, 1), (2, 0))),
    "ravel": ((2, 3), lambda m, x: m.ravel(x)),
    "atleast_2d": ((3,), lambda m, x: m.atleast_2d(x)),
    "atleast_3d": ((2, 3), lambda m, x: m.atleast_3d(x)),
    "take": ((2, 3), lambda m, x: m.take(x, [2, 0, 2], axis=1)),
    "take_along_axis": ((2, 3), lambda m, x: m.take_along_axis(x, np.array([[2, 0], [1, 1]]), axis=1)),
    "append": ((2, 3), lambda m, x: m.append(x, x[:1], axis=0)),
    "broadcast_arrays": ((3, 1), lambda m, x: m.broadcast_arrays(x, np.ones((2, 1, 4)))[0]),
    "rot90": ((2, 3, 4), lambda m, x: m.rot90(x)),
    "rot90 k axes": ((2, 3, 4), lambda m, x: m.rot90(x, 3, (2, 0))),
    "rot90 twice": ((2, 3), lambda m, x: m.rot90(x, -2)),
    "rollaxis": ((2, 3, 4), lambda m, x: m.rollaxis(x, 2, 1)),
    "select": ((2, 3), lambda m, x: m.select([np.eye(2, 3) > 0, np.ones((2, 3)) > 0], [x, x[:, ::-1]], 0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_assembly_is_numpys_and_sends_the_gradient_where_numpy_sent_the_element(name):
    shape, call = CASES[name]
    data = np.random.default_rng(5).standard_normal(shape)
    out = call(mg, leaf(data))
    np.testing.assert_array_equal(out.data, call(np, data))
    through_numpy = call(np, leaf(data))  # NumPy's function on a Tensor is the same operation
    assert isinstance(through_numpy, mg.Tensor)
    np.testing.assert_array_equal(through_numpy.data, out.data)

    positions = np.arange(1, data.size + 1).reshape(shape)
    landed = np.asarray(call(np, positions))
    g = np.random.default_rng(6).standard_normal(out.shape)
    expected = np.bincount(landed.ravel(), weights=g.ravel(), minlength=data.size + 1)[1:].reshape(shape)
    x = leaf(data)
    call(mg, x).backward(g)
    np.testing.assert_allclose(x.grad, expected)


@pytest.mark.parametrize("name", ["tile", "roll axes", "diag of vector", "pad", "repeat each", "tril"])
def test_assemblies_have_second_derivatives(name):
    shape, call = CASES[name]
    check_both_orders(lambda x: call(mg, x) ** 2, leaf(np.random.default_rng(7).standard_normal(shape)))


@settings(max_examples=15)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    data=st.data(),
)
def test_split_pieces_join_back_and_each_gets_its_own_gradient(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    sections = data.draw(st.integers(1, 4))
    a = np.random.default_rng(8).standard_normal(shape)
    x = leaf(a)
    pieces = mg.array_split(x, sections, axis=axis)
    for got, want in zip(pieces, np.array_split(a, sections, axis=axis)):
        np.testing.assert_array_equal(got.data, want)
    weights = [np.full(p.shape, float(k + 1)) for k, p in enumerate(pieces)]
    sum((p * w).sum() for p, w in zip(pieces, weights)).backward()
    np.testing.assert_array_equal(x.grad, np.concatenate(weights, axis=axis))


def test_split_refuses_sections_that_do_not_divide_the_axis():
    with pytest.raises(ValueError, match=r"\(5,\) does not divide into 2"):
        mg.split(leaf(np.ones(5)), 2)


def test_pad_refuses_a_mode_without_gradient():
    with pytest.raises(ValueError, match="reflect"):
        mg.pad(leaf(np.ones(3)), 1, mode="reflect")


def test_sort_sends_each_gradient_with_its_element():
    a = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    x = leaf(a)
    y = np.sort(x, axis=1)
    np.testing.assert_array_equal(y.data, np.sort(a, axis=1))
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y.backward(g)
    np.testing.assert_array_equal(x.grad, [[3.0, 1.0, 2.0], [5.0, 4.0, 6.0]])


def test_diff_is_differences_of_neighbours():
    a = np.array([1.0, 4.0, 9.0, 16.0])
    x = leaf(a)
    np.testing.assert_array_equal(np.diff(x, 2).data, np.diff(a, 2))
    mg.diff(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 0.0, 1.0])  # telescoping: last - first


def test_astype_is_in_the_graph_for_floats_and_values_for_integers():
    x = leaf([1.5, 2.5])
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    y.sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    ints = x.astype(int)
    assert isinstance(ints, np.ndarray) and ints.dtype.kind == "i"


def test_methods_of_one_tensor():
    a = np.arange(6.0).reshape(2, 3) + 1
    x = leaf(a)
    np.testing.assert_array_equal(x.flatten().data, a.flatten())
    np.testing.assert_array_equal(x.ravel().data, a.ravel())
    np.testing.assert_array_equal(x.copy().data, a)
    np.testing.assert_allclose(x.prod().data, a.prod())
    np.testing.assert_allclose(x.cumsum(axis=1).data, a.cumsum(axis=1))
    np.testing.assert_allclose(x.std(ddof=1).data, a.std(ddof=1))
    np.testing.assert_allclose(x.var(axis=0).data, a.var(axis=0))
    np.testing.assert_array_equal(x.clip(2, 4).data, a.clip(2, 4))
    assert x.argmax() == a.argmax() and x.argmin(axis=1).tolist() == a.argmin(axis=1).tolist()
    assert x.tolist() == a.tolist()
    np.testing.assert_array_equal(x.swapaxes(0, 1).data, a.swapaxes(0, 1))
