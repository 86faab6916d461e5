"""Every operation, exported alone and run in onnxruntime: minigrad's values, for any shapes and axes.

Each case draws its inputs (shapes that broadcast, axes, indices) with hypothesis, exports a function
of that one operation, checks the model, and compares onnxruntime's outputs with minigrad's eager ones,
at the traced values and at new values of the same shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx_check import check

import minigrad as mg
from minigrad.testing import arrays, broadcastable_shapes, shapes
from nets.costs import compute_cost_from_logits

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "maximum": mg.maximum,
    "minimum": mg.minimum,
}
UNARY = {
    "neg": lambda x: -x,
    "exp": mg.exp,
    "sigmoid": mg.sigmoid,
    "relu": mg.relu,
    "tanh": mg.tanh,
    "abs": mg.abs,
}
POSITIVE = {"log": mg.log, "sqrt": mg.sqrt}
REDUCTIONS = {"sum": mg.sum, "mean": mg.mean, "max": mg.max, "min": mg.min, "logsumexp": mg.logsumexp}
DTYPES = st.sampled_from([np.float64, np.float32])


def two_draws(data, strategy):
    """The traced values and new ones of the same shapes."""
    return data.draw(strategy), data.draw(strategy)


def same_shape(values, dtype, low=-3.0, high=3.0):
    return st.tuples(*(arrays(np.shape(v), min_value=low, max_value=high, dtype=dtype) for v in values))


@settings(max_examples=15)
@pytest.mark.parametrize("name", [*BINARY, "div"])
@given(data=st.data(), shapes=broadcastable_shapes(2), dtype=DTYPES)
def test_binary_operations_broadcast_as_minigrad(name, data, shapes, dtype):
    low = 0.5 if name == "div" else -3.0
    a, b = (data.draw(arrays(s, dtype=dtype)) for s in shapes)
    b = np.abs(b) + low if name == "div" else b
    fn = BINARY.get(name, lambda a, b: a / b)
    a2, b2 = data.draw(same_shape((a, b), dtype, low=0.5))
    check(fn, a, b, others=(a2, b2))


@settings(max_examples=15)
@pytest.mark.parametrize("name", [*UNARY, *POSITIVE])
@given(data=st.data(), shape=shapes(), dtype=DTYPES)
def test_elementwise_operations(name, data, shape, dtype):
    low = 0.01 if name in POSITIVE else -3.0
    x, x2 = two_draws(data, arrays(shape, min_value=low, dtype=dtype))
    check({**UNARY, **POSITIVE}[name], x, others=(x2,), relative=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", [*UNARY, *POSITIVE])
def test_elementwise_operations_far_out_to_the_last_digits(name, dtype):
    # Where sigmoid's value is 1e-18 it must be 1e-18 to 12 digits (onnxruntime's own Sigmoid is not).
    x = np.array([-1000.0, -700.0, -40.0, -20.0, -1e-300, 0.0, 1e-300, 20.0, 40.0, 700.0], dtype=dtype)
    x = np.abs(x) if name in POSITIVE else x
    with np.errstate(over="ignore", divide="ignore"):  # exp(1000) = inf and log(0) = -inf, as NumPy's
        check({**UNARY, **POSITIVE}[name], x, relative=True)


@settings(max_examples=20)
@given(
    data=st.data(), shape=shapes(), dtype=DTYPES, exponent=st.sampled_from([0, 1, 2, 3, -1, 0.5, 1.5, -2.5])
)
def test_pow_for_any_exponent(data, shape, dtype, exponent):
    x, x2 = two_draws(data, arrays(shape, min_value=0.1, dtype=dtype))
    check(lambda x: x**exponent, x, others=(x2,), relative=True)


@settings(max_examples=20)
@given(data=st.data(), dtype=DTYPES)
def test_matmul_of_matrices_batches_and_vectors(data, dtype):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    left = data.draw(st.sampled_from([(n, k), (2, n, k), (k,)]))
    right = data.draw(st.sampled_from([(k, m), (2, k, m), (k,)] if len(left) > 1 else [(k, m), (k,)]))
    a, a2 = two_draws(data, arrays(left, dtype=dtype))
    b, b2 = two_draws(data, arrays(right, dtype=dtype))
    check(lambda a, b: a @ b, a, b, others=(a2, b2))


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_transposes_reshapes_and_broadcasts(data, shape, dtype):
    x, x2 = two_draws(data, arrays(shape, dtype=dtype))
    axes = tuple(data.draw(st.permutations(range(len(shape)))))
    check(lambda x: x.T, x, others=(x2,))
    check(lambda x: mg.transpose(x, axes), x, others=(x2,))
    check(lambda x: x.reshape(-1), x)
    check(lambda x: x.reshape(tuple(reversed(shape))), x)
    check(lambda x: mg.broadcast_to(x, (2, *shape)), x, others=(x2,))
    if len(shape) >= 2:
        check(mg.matrix_transpose, x, others=(x2,))


@st.composite
def axes_of(draw, ndim):
    """None, one axis (maybe negative), or a tuple of distinct axes."""
    if ndim == 0:
        return None
    one = st.integers(-ndim, ndim - 1)
    many = st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim).map(tuple)
    return draw(st.none() | one | many)


@settings(max_examples=15)
@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data(), shape=shapes(), dtype=DTYPES, keepdims=st.booleans())
def test_reductions_over_any_axes(name, data, shape, dtype, keepdims):
    x, x2 = two_draws(data, arrays(shape, dtype=dtype))
    axis = data.draw(axes_of(len(shape)))
    check(lambda x: REDUCTIONS[name](x, axis=axis, keepdims=keepdims), x, others=(x2,))


def test_logsumexp_softmax_and_log_softmax_stay_finite_at_large_logits():
    x = np.array([[1000.0, -1000.0, 0.0, 30.0], [-1000.0, -999.0, 1000.0, -30.0]])
    check(lambda x: mg.logsumexp(x, axis=1), x, relative=True)
    check(lambda x: mg.softmax(x, axis=0), x, relative=True)  # e^-60 to 12 digits, not merely below 1e-12
    check(lambda x: mg.log_softmax(x, axis=(0, 1)), x, relative=True)


@settings(max_examples=15)
@pytest.mark.parametrize("fn", [mg.softmax, mg.log_softmax], ids=["softmax", "log_softmax"])
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_softmax_and_log_softmax_over_one_or_several_axes(fn, data, shape, dtype):
    x, x2 = two_draws(data, arrays(shape, dtype=dtype))
    axis = data.draw(axes_of(len(shape)).filter(lambda a: a is not None))
    check(lambda x: fn(x, axis=axis), x, others=(x2,), relative=True)


@settings(max_examples=20)
@given(data=st.data(), shapes=broadcastable_shapes(3), dtype=DTYPES)
def test_where_with_a_broadcast_condition(data, shapes, dtype):
    condition = data.draw(arrays(shapes[0])) > 0
    a, b = (data.draw(arrays(s, dtype=dtype)) for s in shapes[1:])
    a2, b2 = data.draw(same_shape((a, b), dtype))
    check(lambda a, b: mg.where(condition, a, b), a, b, others=(a2, b2))


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(), dtype=DTYPES)
def test_clip_with_number_array_and_missing_bounds(data, shape, dtype):
    x, x2 = two_draws(data, arrays(shape, dtype=dtype))
    low = data.draw(st.none() | st.floats(-2, 0) | arrays(shape[-1:], min_value=-2, max_value=0))
    high = data.draw(st.floats(0, 2) if low is None else st.none() | st.floats(0, 2))
    check(lambda x: mg.clip(x, low, high), x, others=(x2,))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_after_relu_runs_in_onnxruntime_in_either_dtype(dtype):
    # onnxruntime's Relu-Clip fusion refused a float64 Clip after a Relu when the session was created
    x = np.array([[-1.5, 0.0, 0.5], [2.5, -0.0, 1.0]], dtype=dtype)
    check(lambda x: mg.clip(mg.relu(2 - x), -0.5, 1.0), x, others=(x[::-1].copy(),))


@st.composite
def basic_indices(draw, shape):
    """Integers (negative too), slices with any step, None, and `...` first or last, as NumPy takes them."""
    ellipsis = draw(st.sampled_from(["none", "first", "last"]))
    # After a leading `...` the parts index the last axes, all of them from `axis` on.
    axis = draw(st.integers(0, len(shape))) if ellipsis == "first" else 0
    parts = []
    while axis < len(shape) and (ellipsis == "first" or draw(st.integers(0, 3))):
        n = shape[axis]
        ends = st.none() | st.integers(-n - 1, n + 1)
        part = draw(
            st.integers(-n, n - 1)
            | st.builds(slice, ends, ends, st.none() | st.sampled_from([1, 2, -1, -2, 3]))
            | st.none()
        )
        parts.append(part)
        axis += part is not None
    parts = [Ellipsis, *parts] if ellipsis == "first" else [*parts, Ellipsis] if ellipsis == "last" else parts
    return tuple(parts) if len(parts) != 1 or draw(st.booleans()) else parts[0]


@settings(max_examples=40)
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_basic_indexing(data, shape, dtype):
    x, x2 = two_draws(data, arrays(shape, dtype=dtype))
    index = data.draw(basic_indices(shape))
    check(lambda x: x[index], x, others=(x2,))


@settings(max_examples=30)
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_integer_array_and_mask_indexing(data, shape, dtype):
    x, x2 = two_draws(data, arrays(shape, dtype=dtype))
    picks = st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6).map(np.array)
    mask = st.lists(st.booleans(), min_size=shape[0], max_size=shape[0]).map(np.array)
    full_mask = arrays(shape).map(lambda a: a > 0)
    index = data.draw(picks | mask | full_mask | picks.map(lambda p: (Ellipsis, p % shape[-1])))
    check(lambda x: x[index], x, others=(x2,))


@settings(max_examples=30)
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_scatter_add_the_gradient_of_indexing_with_repeats(data, shape, dtype):
    x = data.draw(arrays(shape, dtype=dtype))
    repeats = st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=8).map(np.array)
    index = data.draw(repeats | basic_indices(shape))
    w = data.draw(arrays(np.shape(x[index]), dtype=dtype))

    def gradient(x):  # the gradient of indexing is scatter_add, here of a gradient that depends on x
        (dx,) = mg.grad((x[index] * x[index] * w).sum(), x, create_graph=True)
        return dx

    check(gradient, x, others=(data.draw(arrays(shape, dtype=dtype)),), requires_grad=True)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), count=st.integers(1, 3), dtype=DTYPES)
def test_concatenate_and_stack_along_any_axis(data, shape, count, dtype):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = [data.draw(st.integers(1, 3)) for _ in range(count)]
    at = axis % len(shape)
    parts = [data.draw(arrays((*shape[:at], n, *shape[at + 1 :]), dtype=dtype)) for n in sizes]
    check(lambda *xs: mg.concatenate(xs, axis=axis), *parts)
    same = [data.draw(arrays(shape, dtype=dtype)) for _ in range(count)]
    new_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda *xs: mg.stack(xs, axis=new_axis), *same)


@settings(max_examples=20)
@given(data=st.data(), shape=shapes(max_side=2), dtype=DTYPES)
def test_expand_dims_and_squeeze(data, shape, dtype):
    x = data.draw(arrays(shape, dtype=dtype))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check(lambda x: mg.expand_dims(x, axis), x)
    ones = tuple(i for i, n in enumerate(shape) if n == 1)
    check(lambda x: mg.squeeze(x), x)
    if ones:
        one = data.draw(st.sampled_from(ones))
        check(lambda x: mg.squeeze(x, axis=one), x)


@settings(max_examples=20)
@given(data=st.data(), m=st.integers(1, 6), dtype=DTYPES)
def test_the_cost_from_logits_of_nets_costs(data, m, dtype):
    z, z2 = two_draws(data, arrays((1, m), min_value=-50, max_value=50, dtype=dtype))
    y = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=m, max_size=m).map(lambda v: np.array([v])))
    check(lambda z, y: compute_cost_from_logits(z, y), z, y.astype(dtype), others=(z2, y.astype(dtype)))


def test_float32_stays_float32_and_float64_float64():
    for dtype in (np.float32, np.float64):
        x = np.linspace(-1, 1, 6, dtype=dtype).reshape(2, 3)
        proto = check(lambda x: (x.tanh() @ x.T).sum(axis=0) * 0.5, x)
        assert {i.type.tensor_type.elem_type for i in proto.graph.output} == {
            1 if dtype == np.float32 else 11
        }


def test_mixed_dtypes_follow_numpy_promotion():
    x32 = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    x64 = np.arange(3, dtype=np.float64) / 3
    check(lambda a, b: a * b + a, x32, x64)
