"""The operations `transpose`, `reshape`, indexing, `concatenate`, `stack`, `expand_dims`, `squeeze`
(`minigrad/ops/shape.py`).

Each gradient is checked two ways for any shapes and values hypothesis draws: against central finite
differences of the whole Jacobian (`mg.gradcheck`), and against the derivative written out here by hand, with
a random upstream gradient `g` (`minigrad.testing.assert_grads_match`). The hand-written derivatives never
call minigrad; broadcasting is undone by `opcheck.sum_to`, a different route from the engine's.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from opcheck import SMALL, check, grad_of, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import shapes, tensors


def moved(g: np.ndarray, shape: tuple[int, ...], move) -> np.ndarray:
    """The gradient of an input of `shape` whose elements `move` rearranges: each gets `g` where it went."""
    source = move(np.arange(math.prod(shape)).reshape(shape))
    grad = np.zeros(math.prod(shape))
    grad[source.ravel()] = g.ravel()
    return grad.reshape(shape)


@st.composite
def permuted(draw):
    """A tensor and a permutation of its axes, some written as negative axes."""
    x = draw(tensors(shapes(min_dims=1, **SMALL)))
    perm = draw(st.permutations(range(x.ndim)))
    negative = draw(st.lists(st.booleans(), min_size=x.ndim, max_size=x.ndim))
    return x, tuple(p - x.ndim if neg else p for p, neg in zip(perm, negative))


@given(permuted(), st.data())
def test_transpose_gradient_puts_g_back_where_each_element_came_from(x_axes, data):
    x, axes = x_axes
    g = upstream_for(data, np.transpose(x.data, axes).shape)
    check(
        lambda x: mg.transpose(x, axes),
        [x],
        lambda g, x: [moved(g, x.shape, lambda i: np.transpose(i, axes))],
        g,
    )


@given(tensors(shapes(**SMALL)), st.data())
def test_transpose_without_axes_reverses_them(x, data):
    g = upstream_for(data, x.shape[::-1])
    assert x.T.shape == x.shape[::-1]
    check(lambda x: x.T, [x], lambda g, x: [moved(g, x.shape, np.transpose)], g)


@st.composite
def reshaped(draw):
    """A tensor and a shape of the same size: its size's prime factors dealt out among new axes."""
    x = draw(tensors(shapes(max_dims=3, max_side=4)))
    factors, n, d = [], x.size, 2
    while n > 1:
        while n % d == 0:
            factors.append(d)
            n //= d
        d += 1
    ndim = draw(st.integers(0 if x.size == 1 else 1, 4))
    new = [1] * ndim
    for f in factors:
        new[draw(st.integers(0, ndim - 1))] *= f
    if ndim and draw(st.booleans()):
        new[draw(st.integers(0, ndim - 1))] = -1
    return x, tuple(new)


@given(reshaped(), st.data())
def test_reshape_gradient_is_g_in_the_input_shape(x_shape, data):
    x, shape = x_shape
    g = upstream_for(data, x.data.reshape(shape).shape)
    check(
        lambda x: mg.reshape(x, shape), [x], lambda g, x: [moved(g, x.shape, lambda i: i.reshape(shape))], g
    )


def test_reshape_to_a_different_size_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 2\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


def test_a_transpose_with_wrong_axes_names_them_and_the_shape():
    with pytest.raises(ValueError, match=r"transpose: axes \(0, 2\) .*shape \(2, 3\)"):
        Tensor(np.ones((2, 3))).transpose(0, 2)


def gathered(g, shape, index):
    """Each input element collects g from every place the index put it (several for a repeated index)."""
    source = np.arange(math.prod(shape)).reshape(shape)[index]
    return np.bincount(np.ravel(source), weights=np.ravel(g), minlength=math.prod(shape)).reshape(shape)


@st.composite
def indexed(draw):
    """A tensor and an index: basic (ints, slices, None, ...), integer arrays, or a boolean mask."""
    x = draw(tensors(shapes(min_dims=1, **SMALL)))
    kind = draw(st.sampled_from(["basic", "integer arrays", "mask"]))
    if kind == "basic":
        index = draw(hnp.basic_indices(x.shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "integer arrays":
        index = draw(
            hnp.integer_array_indices(x.shape, result_shape=hnp.array_shapes(max_dims=2, max_side=4))
        )
    else:
        index = draw(hnp.arrays(bool, x.shape))
    return x, index


@given(indexed(), st.data())
def test_indexing_gradient_puts_g_back_and_adds_repeats(x_index, data):
    x, index = x_index
    np.testing.assert_array_equal(x[index].data, x.data[index])
    g = upstream_for(data, x.data[index].shape)
    check(lambda x: x[index], [x], lambda g, x: [gathered(g, x.shape, index)], g)


@st.composite
def joined(draw, new_axis: bool):
    """1 to 3 tensors that concatenate (lengths differ along the axis) or stack (one shape)."""
    shape = list(draw(shapes(min_dims=1, **SMALL)))
    axis = draw(st.integers(-len(shape) - new_axis, len(shape) - 1 + new_axis))
    xs = []
    for _ in range(draw(st.integers(1, 3))):
        if not new_axis:
            shape[axis] = draw(st.integers(1, 3))
        xs.append(draw(tensors(tuple(shape))))
    return xs, axis


@given(joined(new_axis=False), st.data())
def test_concatenate_gradient_is_each_inputs_stretch_of_g(xs_axis, data):
    xs, axis = xs_axis
    expected = np.concatenate([x.data for x in xs], axis=axis)
    fn = lambda *xs: mg.concatenate(xs, axis=axis)  # noqa: E731
    np.testing.assert_array_equal(fn(*xs).data, expected)
    g = upstream_for(data, expected.shape)
    ends = np.cumsum([x.shape[axis] for x in xs])[:-1]
    check(fn, xs, lambda g, *xs: np.split(g, ends, axis=axis), g)


@given(joined(new_axis=True), st.data())
def test_stack_gradient_is_each_inputs_slice_of_g(xs_axis, data):
    xs, axis = xs_axis
    expected = np.stack([x.data for x in xs], axis=axis)
    fn = lambda *xs: mg.stack(xs, axis=axis)  # noqa: E731
    np.testing.assert_array_equal(fn(*xs).data, expected)
    g = upstream_for(data, expected.shape)
    check(fn, xs, lambda g, *xs: [np.take(g, i, axis=axis) for i in range(len(xs))], g)


@given(tensors(shapes(max_dims=3, max_side=3)), st.data())
def test_expand_dims_and_squeeze_gradient_is_g_in_the_input_shape(x, data):
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
    out = mg.expand_dims(x, axis)
    assert out.shape == np.expand_dims(x.data, axis).shape
    g = upstream_for(data, out.shape)
    check(lambda x: mg.expand_dims(x, axis), [x], lambda g, x: [g.reshape(x.shape)], g)
    ones = [i for i, n in enumerate(out.shape) if n == 1]
    squeezed = data.draw(st.sampled_from([None, axis, *ones]), label="squeeze axis")
    g2 = upstream_for(data, np.squeeze(out.data, squeezed).shape)
    check(
        lambda y: mg.squeeze(y, squeezed),
        [Tensor(out.data, requires_grad=True)],
        lambda g, y: [g.reshape(y.shape)],
        g2,
    )
    assert mg.gradcheck(lambda x: mg.squeeze(mg.expand_dims(x, axis), squeezed), x)


X = np.arange(24, dtype=float).reshape(2, 3, 4)


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        (1, 2),
        slice(0, 1),
        (slice(None), slice(1, None, 2)),
        None,
        (Ellipsis, 0),
        (0, None, Ellipsis),
        np.array([1, 1, 0]),
        (np.array([0, 1]), slice(None), np.array([3, 3])),
        X > 10,
        (slice(None), np.array([True, False, True])),
        [0, 0],
    ],
    ids=repr,
)
def test_each_form_of_index_takes_what_numpy_takes_and_puts_gradients_back(index):
    x = Tensor(X, requires_grad=True)
    out = x[index]
    np.testing.assert_array_equal(out.data, X[index])
    g = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros_like(X)
    np.add.at(expected, index, g)
    np.testing.assert_array_equal(x.grad, expected)


def test_a_repeated_index_adds_its_gradients():
    np.testing.assert_array_equal(grad_of(lambda x: x[[0, 0, 2, 0]], [1.0, 2.0, 3.0]), [3.0, 0.0, 1.0])


def test_a_mask_from_a_comparison_indexes_a_tensor():
    x = Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    x[x > 0].sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 1.0])


def test_len_iteration_float_and_abs_work_as_in_numpy():
    x = Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    assert len(x) == 2
    rows = list(x)
    assert [r.shape for r in rows] == [(2,), (2,)]
    (rows[0] * 2 + rows[1]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 2.0], [1.0, 1.0]])
    assert float(Tensor(2.5)) == 2.5 and float(mg.sum(x)) == 6.0
    np.testing.assert_array_equal(abs(x).data, np.abs(x.data))
    assert abs(x).op == "abs"
    with pytest.raises(TypeError):
        len(Tensor(1.0))
    with pytest.raises(TypeError):
        iter(Tensor(1.0))
