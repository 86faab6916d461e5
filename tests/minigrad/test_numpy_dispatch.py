"""NumPy's functions on Tensors: each that has a minigrad operation gives that operation's Tensor, in the
graph; any other is a TypeError that says what to do; reflected operators keep giving Tensors."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor

A = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -3.0]])
B = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 4.0]])

# (NumPy's call, the minigrad call it must equal), both on a Tensor x (values A) and an array B.
SAME = {
    "np.add": (lambda x: np.add(B, x), lambda x: mg.add(B, x)),
    "np.subtract": (lambda x: np.subtract(x, B), lambda x: mg.sub(x, B)),
    "np.multiply": (lambda x: np.multiply(B, x), lambda x: mg.mul(B, x)),
    "np.divide": (lambda x: np.divide(x, B), lambda x: mg.div(x, B)),
    "np.negative": (lambda x: np.negative(x), lambda x: mg.neg(x)),
    "np.power": (lambda x: np.power(x, 2), lambda x: mg.pow(x, 2)),
    "np.matmul": (lambda x: np.matmul(B.T, x), lambda x: mg.matmul(B.T, x)),
    "np.dot": (lambda x: np.dot(x, B.T), lambda x: mg.matmul(x, B.T)),
    "np.exp": (lambda x: np.exp(x), lambda x: mg.exp(x)),
    "np.log": (lambda x: np.log(x * x), lambda x: mg.log(x * x)),
    "np.tanh": (lambda x: np.tanh(x), lambda x: mg.tanh(x)),
    "np.abs": (lambda x: np.abs(x), lambda x: mg.abs(x)),
    "np.sqrt": (lambda x: np.sqrt(x * x), lambda x: mg.sqrt(x * x)),
    "np.maximum": (lambda x: np.maximum(x, 0), lambda x: mg.maximum(x, 0)),
    "np.minimum": (lambda x: np.minimum(B, x), lambda x: mg.minimum(B, x)),
    "np.sum": (lambda x: np.sum(x, axis=0), lambda x: mg.sum(x, axis=0)),
    "np.mean": (lambda x: np.mean(x), lambda x: mg.mean(x)),
    "np.max": (lambda x: np.max(x, axis=1, keepdims=True), lambda x: mg.max(x, axis=1, keepdims=True)),
    "np.amax": (lambda x: np.amax(x, 0), lambda x: mg.max(x, 0)),
    "np.min": (lambda x: np.min(x), lambda x: mg.min(x)),
    "np.amin": (lambda x: np.amin(x, axis=1), lambda x: mg.min(x, axis=1)),
    "np.where": (lambda x: np.where(x > 0, x, 0), lambda x: mg.where(x > 0, x, 0)),
    "np.clip": (lambda x: np.clip(x, -1, 1), lambda x: mg.clip(x, -1, 1)),
    "np.concatenate": (lambda x: np.concatenate([x, B], axis=1), lambda x: mg.concatenate([x, B], axis=1)),
    "np.stack": (lambda x: np.stack([B, x]), lambda x: mg.stack([B, x])),
    "np.reshape": (lambda x: np.reshape(x, (3, 2)), lambda x: mg.reshape(x, (3, 2))),
    "np.transpose": (lambda x: np.transpose(x), lambda x: mg.transpose(x)),
    "np.expand_dims": (lambda x: np.expand_dims(x, 0), lambda x: mg.expand_dims(x, 0)),
    "np.squeeze": (lambda x: np.squeeze(x[None]), lambda x: mg.squeeze(x[None])),
    "np.broadcast_to": (lambda x: np.broadcast_to(x, (2, 2, 3)), lambda x: mg.broadcast_to(x, (2, 2, 3))),
}


@pytest.mark.parametrize("name", sorted(SAME))
def test_a_numpy_function_with_a_minigrad_operation_gives_its_tensor_in_the_graph(name):
    numpy_call, minigrad_call = SAME[name]
    results = []
    for call in (numpy_call, minigrad_call):
        x = Tensor(A, requires_grad=True)
        out = call(x)
        assert isinstance(out, Tensor), f"{name} returned {type(out).__name__}"
        out.backward(np.arange(1, out.size + 1, dtype=float).reshape(out.shape))
        results.append((out.data, out.op, x.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
    assert results[0][2] is not None
    np.testing.assert_array_equal(results[0][2], results[1][2])


def test_a_students_numpy_cost_back_propagates():
    W = Tensor(np.array([[0.3, -0.2]]), requires_grad=True)
    X = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]])
    Y = np.array([[1.0, 0.0, 1.0]])
    A2 = 1 / (1 + np.exp(-np.dot(W, X)))
    J = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    assert isinstance(J, Tensor)
    J.backward()
    np.testing.assert_allclose(W.grad, (A2.data - Y) @ X.T / 3, rtol=1e-12)


@pytest.mark.parametrize(
    ("symbol", "operator"),
    [
        ("+", lambda a, t: a + t),
        ("-", lambda a, t: a - t),
        ("*", lambda a, t: a * t),
        ("/", lambda a, t: a / t),
        ("@", lambda a, t: a.T @ t),
        ("**", lambda a, t: 2.0**t),
        ("np.float64 *", lambda a, t: np.float64(2.0) * t),
    ],
)
def test_an_array_on_the_left_of_an_operator_still_gives_a_tensor(symbol, operator):
    t = Tensor(A, requires_grad=True)
    out = operator(B, t)
    assert isinstance(out, Tensor) and out.requires_grad
    out.backward(np.ones(out.shape))
    assert t.grad is not None


def test_comparisons_with_an_array_on_the_left_give_bool_arrays_equality_too():
    t = Tensor(A, requires_grad=True)
    # The array on the left on purpose: NumPy's operator must hand the comparison to the Tensor.
    pairs = [(B > t, B > A), (B < t, B < A), (B >= t, B >= A), (B <= t, B <= A)]  # noqa: SIM300
    for got, expected in pairs:
        assert type(got) is np.ndarray and got.dtype == bool
        np.testing.assert_array_equal(got, expected)
    # `==` and `!=` are elementwise (issue 19), as NumPy's and PyTorch's; hashing stays identity.
    np.testing.assert_array_equal(A == t, np.ones(A.shape, dtype=bool))  # noqa: SIM300
    np.testing.assert_array_equal(B != t, B != A)  # noqa: SIM300
    assert t in [t] and {t: 1}[t] == 1 and t in {t}


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("np.fft.fft", lambda t: np.fft.fft(t)),
        ("np.linalg.eigvals", lambda t: np.linalg.eigvals(t)),
        ("np.linalg.eig", lambda t: np.linalg.eig(t)),
        ("np.interp", lambda t: np.interp(t, t, t)),
        ("np.add.reduce", lambda t: np.add.reduce(t)),
    ],
)
def test_a_numpy_function_without_a_minigrad_operation_is_a_type_error_naming_it(name, call):
    with pytest.raises(TypeError) as caught:
        call(Tensor(A, requires_grad=True))
    message = str(caught.value)
    assert name in message and ".data" in message


def test_the_error_says_which_operation_to_use_where_there_is_one():
    t = Tensor(A, requires_grad=True)
    with pytest.raises(TypeError, match=r"np\.linalg\.eigh for a symmetric matrix"):
        np.linalg.eig(t)
    with pytest.raises(TypeError, match=r"mg\.sum"):
        np.add.reduce(t)
    with pytest.raises(TypeError, match=r"np.sum\(\.\.\., dtype=\.\.\.\).*keepdims"):
        np.sum(t, dtype=np.float32)
    with pytest.raises(TypeError, match="out="):
        np.exp(t, out=np.empty_like(A))
    b = B.copy()
    with pytest.raises(TypeError, match="cannot be written into an array"):
        b += t


def test_shape_questions_need_no_gradient_and_are_answered():
    t = Tensor(A)
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6
