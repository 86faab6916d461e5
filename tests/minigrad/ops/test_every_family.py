"""Statements about the operations of every family at once: function, method and operator agree, second
derivatives through each rule, float32 kept, and the errors of a bad axis or argument.
"""

import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import shapes, tensors

ALIKE_WITH_OPERATORS = [
    ("add", lambda x, y: mg.add(x, y), lambda x, y: x.add(y), lambda x, y: x + y),
    ("sub", lambda x, y: mg.sub(x, y), lambda x, y: x.sub(y), lambda x, y: x - y),
    ("mul", lambda x, y: mg.mul(x, y), lambda x, y: x.mul(y), lambda x, y: x * y),
    ("div", lambda x, y: mg.div(x, y), lambda x, y: x.div(y), lambda x, y: x / y),
    ("matmul", lambda x, y: mg.matmul(x, y.T), lambda x, y: x.matmul(y.T), lambda x, y: x @ y.T),
    ("neg", lambda x, y: mg.neg(x), lambda x, y: x.neg(), lambda x, y: -x),
    ("pow", lambda x, y: mg.pow(x, 2), lambda x, y: x.pow(2), lambda x, y: x**2),
    ("transpose", lambda x, y: mg.transpose(x), lambda x, y: x.transpose(), lambda x, y: x.T),
    (
        "reshape",
        lambda x, y: mg.reshape(x, (3, 2)),
        lambda x, y: x.reshape(3, 2),
        lambda x, y: x.reshape((3, 2)),
    ),
    ("exp", lambda x, y: mg.exp(x), lambda x, y: x.exp(), None),
    ("log", lambda x, y: mg.log(x), lambda x, y: x.log(), None),
    ("sigmoid", lambda x, y: mg.sigmoid(x), lambda x, y: x.sigmoid(), None),
    ("relu", lambda x, y: mg.relu(x), lambda x, y: x.relu(), None),
    ("tanh", lambda x, y: mg.tanh(x), lambda x, y: x.tanh(), None),
    ("sum", lambda x, y: mg.sum(x, axis=1, keepdims=True), lambda x, y: x.sum(axis=1, keepdims=True), None),
    ("mean", lambda x, y: mg.mean(x, 0), lambda x, y: x.mean(0), None),
]


@pytest.mark.parametrize(
    ("name", "function", "method", "operator"), ALIKE_WITH_OPERATORS, ids=[a[0] for a in ALIKE_WITH_OPERATORS]
)
def test_module_function_method_and_operator_agree(name, function, method, operator):
    ways = [w for w in (function, method, operator) if w is not None]
    results = []
    for way in ways:
        x = Tensor([[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]], requires_grad=True)
        y = Tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 4.0]], requires_grad=True)
        out = way(x, y)
        out.backward(np.arange(out.size, dtype=float).reshape(out.shape))
        results.append((out.data, out.op, x.grad, y.grad))
    for data, op, x_grad, y_grad in results[1:]:
        np.testing.assert_array_equal(data, results[0][0])
        assert op == results[0][1] == name
        np.testing.assert_array_equal(x_grad, results[0][2])
        np.testing.assert_array_equal(
            np.zeros(1) if y_grad is None else y_grad, np.zeros(1) if results[0][3] is None else results[0][3]
        )


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


ALIKE_AS_METHODS = [
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


@pytest.mark.parametrize(
    ("name", "function", "method"), ALIKE_AS_METHODS, ids=[a[0] for a in ALIKE_AS_METHODS]
)
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
