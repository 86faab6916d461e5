"""The operations beyond the lab's: each gradient checked against finite differences and a derivative
written out by hand in NumPy, for any shapes, axes and broadcasts hypothesis draws; then the contract's
ties and kinks (as PyTorch takes them), stability at ±1000, every form of indexing, and second
derivatives through each rule.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_ops import SMALL, broadcast_pair, check, reduction, spread, sum_to, upstream_for

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import assert_grads_match, broadcastable_shapes, shapes, tensors


def no_near_ties(*values, gap=1e-3) -> bool:
    """Whether finite differences of step 1e-6 stay clear of every kink between these values."""
    flat = np.sort(np.concatenate([np.ravel(v) for v in values]))
    return flat.size < 2 or bool(np.min(np.diff(flat)) > gap)


# ----- more elementwise ---------------------------------------------------------------------------


@given(tensors(shapes(**SMALL), min_magnitude=0.01), st.data())
def test_abs_gradient_is_the_sign(x, data):
    g = upstream_for(data, x.shape)
    check(mg.abs, [x], lambda g, x: [g * np.sign(x)], g)


@given(tensors(shapes(**SMALL), min_value=0.2, max_value=5.0), st.data())
def test_sqrt_gradient_is_one_over_two_sqrt(x, data):
    g = upstream_for(data, x.shape)
    check(mg.sqrt, [x], lambda g, x: [g / (2 * np.sqrt(x))], g)


def larger_gets_g(g, a, b):
    """d max(a, b): g to the larger, half of g to each where they tie."""
    return np.where(a > b, g, np.where(a == b, g / 2, 0.0))


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(ab=broadcast_pair(), data=st.data())
def test_maximum_and_minimum_give_g_to_the_winner_and_split_ties(name, ab, data):
    a, b = ab
    g = upstream_for(data, np.broadcast_shapes(a.shape, b.shape))
    sign = 1 if name == "maximum" else -1

    def analytic(g, a, b):
        A, B = np.broadcast_arrays(sign * a, sign * b)
        return [sum_to(larger_gets_g(g, A, B), a.shape), sum_to(larger_gets_g(g, B, A), b.shape)]

    fn = getattr(mg, name)
    assert_grads_match(fn, ab, analytic, g)
    A, B = np.broadcast_arrays(a.data, b.data)
    if np.all(np.abs(A - B) > 1e-3):
        assert mg.gradcheck(fn, *ab)


@st.composite
def where_inputs(draw):
    shape_c, shape_a, shape_b = draw(broadcastable_shapes(3, **SMALL))
    condition = draw(hnp.arrays(bool, shape_c))
    return condition, draw(tensors(shape_a, name="a")), draw(tensors(shape_b, name="b"))


@given(where_inputs(), st.data())
def test_where_gives_g_to_the_chosen_side(cab, data):
    condition, a, b = cab
    g = upstream_for(data, np.broadcast_shapes(condition.shape, a.shape, b.shape))
    fn = lambda a, b: mg.where(condition, a, b)  # noqa: E731
    check(
        fn,
        [a, b],
        lambda g, a, b: [
            sum_to(np.where(condition, g, 0.0), a.shape),
            sum_to(np.where(condition, 0.0, g), b.shape),
        ],
        g,
    )


@given(
    tensors(shapes(**SMALL)), st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None), (0.0, 0.0)]), st.data()
)
def test_clip_passes_g_inside_the_bounds(x, bounds, data):
    low, high = bounds
    g = upstream_for(data, x.shape)
    inside = np.ones(x.shape, bool)
    if low is not None:
        inside &= x.data >= low
    if high is not None:
        inside &= x.data <= high
    fn = lambda x: mg.clip(x, low, high)  # noqa: E731
    np.testing.assert_array_equal(fn(x).data, np.clip(x.data, low, high))
    assert_grads_match(fn, [x], lambda g, x: [np.where(inside, g, 0.0)], g)
    if no_near_ties(x.data, [b for b in bounds if b is not None]):
        assert mg.gradcheck(fn, x)


# ----- more reductions ----------------------------------------------------------------------------


def shared_among_ties(g, x, axis, keepdims, pick):
    """The reduced value's gradient, shared equally by the elements equal to it."""
    m = pick(x, axis=axis, keepdims=True)
    ties = x == m
    return spread(g, x.shape, axis, keepdims) * ties / ties.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["max", "min"])
@given(x_axis_keep=reduction(), data=st.data())
def test_max_and_min_gradient_goes_to_the_extreme_elements(name, x_axis_keep, data):
    x, axis, keepdims = x_axis_keep
    pick = np.max if name == "max" else np.min
    out = getattr(mg, name)(x, axis=axis, keepdims=keepdims)
    np.testing.assert_array_equal(out.data, pick(x.data, axis=axis, keepdims=keepdims))
    g = upstream_for(data, out.shape)
    fn = lambda x: getattr(mg, name)(x, axis=axis, keepdims=keepdims)  # noqa: E731
    assert_grads_match(fn, [x], lambda g, x: [shared_among_ties(g, x, axis, keepdims, pick)], g)
    if no_near_ties(x.data):
        assert mg.gradcheck(fn, x)


@given(reduction(), st.data())
def test_logsumexp_gradient_is_the_softmax(x_axis_keep, data):
    x, axis, keepdims = x_axis_keep
    fn = lambda x: mg.logsumexp(x, axis=axis, keepdims=keepdims)  # noqa: E731
    np.testing.assert_allclose(
        fn(x).data, np.log(np.sum(np.exp(x.data), axis=axis, keepdims=keepdims)), rtol=1e-12, atol=1e-12
    )
    g = upstream_for(data, fn(x).shape)

    def analytic(g, x):
        softmax = np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)
        return [spread(g, x.shape, axis, keepdims) * softmax]

    check(fn, [x], analytic, g)


# ----- normalisation ------------------------------------------------------------------------------


@st.composite
def along_an_axis(draw):
    x = draw(tensors(shapes(min_dims=1, **SMALL)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


def jacobian_along(s, axis, jacobian):
    """g pulled back through a map applied along `axis` whose Jacobian (n × n) is `jacobian(s)`."""
    return lambda g: np.moveaxis(
        np.einsum("...j,...ji->...i", np.moveaxis(g, axis, -1), jacobian(np.moveaxis(s, axis, -1))), -1, axis
    )


def naive_softmax(x, axis):
    return np.exp(x) / np.sum(np.exp(x), axis=axis, keepdims=True)


@given(along_an_axis(), st.data())
def test_softmax_gradient_is_its_jacobian_diag_s_minus_s_st(x_axis, data):
    x, axis = x_axis
    g = upstream_for(data, x.shape)
    np.testing.assert_allclose(mg.softmax(x, axis=axis).data, naive_softmax(x.data, axis), rtol=1e-12)

    def analytic(g, x):
        # d s_j / d x_i = s_j (δ_ji - s_i)
        J = lambda s: s[..., :, None] * np.eye(s.shape[-1]) - s[..., :, None] * s[..., None, :]  # noqa: E731
        return [jacobian_along(naive_softmax(x, axis), axis, J)(g)]

    check(lambda x: mg.softmax(x, axis=axis), [x], analytic, g)


@given(along_an_axis(), st.data())
def test_log_softmax_gradient_is_its_jacobian_identity_minus_s(x_axis, data):
    x, axis = x_axis
    g = upstream_for(data, x.shape)
    np.testing.assert_allclose(
        mg.log_softmax(x, axis=axis).data, np.log(naive_softmax(x.data, axis)), rtol=1e-10, atol=1e-12
    )

    def analytic(g, x):
        # d log s_j / d x_i = δ_ji - s_i
        J = lambda s: np.eye(s.shape[-1]) - s[..., None, :]  # noqa: E731
        return [jacobian_along(naive_softmax(x, axis), axis, J)(g)]

    check(lambda x: mg.log_softmax(x, axis=axis), [x], analytic, g)


# ----- shape --------------------------------------------------------------------------------------


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


# ----- ties and kinks, as PyTorch takes them --------------------------------------------------------


def grad_of(fn, values, upstream=None):
    x = Tensor(values, requires_grad=True)
    out = fn(x)
    out.backward(np.ones(out.shape) if upstream is None else upstream)
    return x.grad


def test_max_and_min_share_the_gradient_equally_among_ties():
    np.testing.assert_array_equal(grad_of(mg.max, [1.0, 3.0, 3.0]), [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(grad_of(mg.min, [2.0, 2.0, 2.0, 5.0]), [1 / 3, 1 / 3, 1 / 3, 0.0])
    rows = grad_of(lambda x: x.max(axis=1), [[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(rows, [[0.5, 0.5], [0.0, 1.0]])


def test_maximum_and_minimum_split_evenly_where_equal():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([3.0, 2.0, 1.0], requires_grad=True)
    mg.maximum(a, b).backward(np.ones(3))
    np.testing.assert_array_equal(a.grad, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(b.grad, [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(grad_of(lambda x: mg.minimum(x, 2.0), [1.0, 2.0, 3.0]), [1.0, 0.5, 0.0])


def test_abs_has_zero_slope_at_zero_and_clip_passes_at_its_bounds():
    np.testing.assert_array_equal(grad_of(mg.abs, [-2.0, 0.0, 3.0]), [-1.0, 0.0, 1.0])
    clipped = grad_of(lambda x: x.clip(-1, 1), [-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(clipped, [0.0, 1.0, 1.0, 1.0, 0.0])


# ----- stability at ±1000 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fn", "expected"),
    [
        ("softmax", lambda z: mg.softmax(z, axis=0), [[1.0, 0.0], [0.0, 0.5], [0.0, 0.5]]),
        (
            "log_softmax",
            lambda z: mg.log_softmax(z, axis=0),
            [[0.0, -2000.0 - np.log(2)], [-2000.0, -np.log(2)], [-2000.0, -np.log(2)]],
        ),
        ("logsumexp", lambda z: mg.logsumexp(z, axis=0), [1000.0, 1000.0 + np.log(2)]),
    ],
)
def test_normalisations_are_finite_with_finite_gradients_at_plus_minus_1000(name, fn, expected):
    z = Tensor([[1000.0, -1000.0], [-1000.0, 1000.0], [-1000.0, 1000.0]], requires_grad=True)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out = fn(z)
        out.backward(np.arange(1, out.size + 1, dtype=float).reshape(out.shape))
        (second,) = mg.grad((fn(z) * 1.5).sum(), z, create_graph=True)
        second.sum().backward()
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    assert np.all(np.isfinite(z.grad))


def test_logsumexp_of_minus_infinity_is_minus_infinity_as_in_numpy():
    out = mg.logsumexp(Tensor([-np.inf, -np.inf]))
    assert out.item() == -np.inf


# ----- indexing forms -----------------------------------------------------------------------------

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


# ----- second derivatives through every new rule ----------------------------------------------------

W = np.random.default_rng(7).standard_normal((2, 3))
SMOOTH_AWAY_FROM_KINKS = {
    "abs": (mg.abs, [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "sqrt": (mg.sqrt, [[0.5, 1.2, 2.0], [0.3, 0.8, 2.5]]),
    "maximum": (lambda x: mg.maximum(x * x, x + 0.5), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "minimum": (lambda x: mg.minimum(x * x, x + 0.5), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "where": (lambda x: mg.where(W > 0, x * x, mg.exp(x)), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "clip": (lambda x: mg.clip(x * x, 0.1, 2.0), [[0.5, -1.2, 2.0], [-0.2, 0.8, -2.5]]),
    "max": (lambda x: mg.max(x * x, axis=1, keepdims=True), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "min": (lambda x: mg.min(x * x, axis=0), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "logsumexp": (lambda x: mg.logsumexp(x, axis=0), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "softmax": (lambda x: mg.softmax(x, axis=0), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "log_softmax": (lambda x: mg.log_softmax(x, axis=1), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "getitem": (lambda x: (x * x)[np.array([1, 1, 0]), ::-1], [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "concatenate": (
        lambda x: mg.concatenate([x * x, x[:, :1] ** 3], axis=1),
        [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]],
    ),
    "stack": (lambda x: mg.stack([x * x, mg.exp(x)], axis=1), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "expand_dims": (lambda x: mg.expand_dims(x * x, 0), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
    "squeeze": (lambda x: mg.squeeze((x * x)[None]), [[0.5, -1.2, 2.0], [-0.3, 0.8, -2.5]]),
}


@pytest.mark.parametrize("name", sorted(SMOOTH_AWAY_FROM_KINKS))
def test_second_derivatives_through_the_rule_match_finite_differences(name):
    f, values = SMOOTH_AWAY_FROM_KINKS[name]
    x = Tensor(values, requires_grad=True)
    w = np.random.default_rng(3).standard_normal(f(x).shape)
    assert mg.gradcheck(lambda x: mg.grad((f(x) * w).sum(), x, create_graph=True)[0], x)


# ----- functions, methods, dtypes and errors ------------------------------------------------------

ALIKE = [
    ("abs", lambda x: mg.abs(x), lambda x: x.abs()),
    ("sqrt", lambda x: mg.sqrt(x), lambda x: x.sqrt()),
    ("maximum", lambda x: mg.maximum(x, 1.0), lambda x: x.maximum(1.0)),
    ("minimum", lambda x: mg.minimum(x, 1.0), lambda x: x.minimum(1.0)),
    ("clip", lambda x: mg.clip(x, 0.5, 2), lambda x: x.clip(0.5, 2)),
    ("max", lambda x: mg.max(x, axis=1, keepdims=True), lambda x: x.max(axis=1, keepdims=True)),
    ("min", lambda x: mg.min(x, 0), lambda x: x.min(0)),
    ("logsumexp", lambda x: mg.logsumexp(x, axis=1), lambda x: x.logsumexp(1)),
    ("softmax", lambda x: mg.softmax(x, axis=0), lambda x: x.softmax(axis=0)),
    ("log_softmax", lambda x: mg.log_softmax(x, 0), lambda x: x.log_softmax(0)),
    ("expand_dims", lambda x: mg.expand_dims(x, 1), lambda x: x.expand_dims(1)),
    ("squeeze", lambda x: mg.squeeze(x[None]), lambda x: x[None].squeeze(0)),
    ("broadcast_to", lambda x: mg.broadcast_to(x, (2, 2, 3)), lambda x: x.broadcast_to((2, 2, 3))),
    ("getitem", lambda x: mg.getitem(x, (0, slice(1, None))), lambda x: x[0, 1:]),
]


@pytest.mark.parametrize(("name", "function", "method"), ALIKE, ids=[a[0] for a in ALIKE])
def test_module_function_and_method_agree(name, function, method):
    results = []
    for way in (function, method):
        x = Tensor([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]], requires_grad=True)
        out = way(x)
        out.backward(np.arange(out.size, dtype=float).reshape(out.shape))
        results.append((out.data, out.op, x.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1] == name
    np.testing.assert_array_equal(results[0][2], results[1][2])


@settings(max_examples=10)
@given(tensors(shapes(min_dims=2, max_dims=2), dtype=np.float32, min_value=0.1, max_value=2.0))
def test_float32_stays_float32_through_the_new_operations(x):
    for fn in [
        mg.abs,
        mg.sqrt,
        lambda x: mg.maximum(x, 1),
        lambda x: x.clip(0.5, 1),
        mg.max,
        lambda x: x.logsumexp(0),
        lambda x: x.softmax(0),
        lambda x: x.log_softmax(1),
        lambda x: x[0],
        lambda x: mg.concatenate([x, x]),
        lambda x: mg.stack([x, x]),
        lambda x: mg.where(x.data > 1, x, 0),
    ]:
        x.zero_grad()
        out = fn(x)
        assert out.dtype == np.float32
        out.backward(np.ones(out.shape, dtype=np.float32))
        assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "call",
    [
        lambda x: mg.max(x, axis=2),
        lambda x: mg.min(x, axis=-3),
        lambda x: mg.logsumexp(x, axis=2),
        lambda x: mg.softmax(x, axis=2),
        lambda x: mg.log_softmax(x, axis=2),
        lambda x: mg.squeeze(x, axis=2),
        lambda x: mg.expand_dims(x, axis=4),
    ],
)
def test_a_bad_axis_names_the_operation_and_the_shape(call):
    with pytest.raises(ValueError, match=r"axis .*\(2, 3\)"):
        call(Tensor(np.ones((2, 3))))


def test_the_errors_of_the_new_operations_say_what_is_wrong():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match="softmax: the axis is required"):
        mg.softmax(x)
    with pytest.raises(ValueError, match=r"squeeze: axis 1 of shape \(2, 3\) is not of length 1"):
        x.squeeze(1)
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\), \(3, 2\)"):
        mg.concatenate([x, Tensor(np.ones((3, 2)))])
    with pytest.raises(ValueError, match=r"stack: shapes \(2, 3\), \(3, 2\)"):
        mg.stack([x, Tensor(np.ones((3, 2)))])
    with pytest.raises(TypeError, match="not a Tensor"):
        x[Tensor([0.0])]
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(ValueError, match="clip: give min, max or both"):
        x.clip()
