"""NumPy and Python habits on Tensors (issue 19): no silent object arrays, `==` elementwise, format specs,
round, value-only NumPy functions answered on the values, and the guide's list read from the tables."""

import functools

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.numpy_api import supported


def needs_grad(value=3.0):
    return Tensor(value, requires_grad=True)


@pytest.mark.parametrize(
    "mistake",
    [
        lambda x: np.array([x, 2 * x]),
        lambda x: np.asarray(x),
        lambda x: np.array(x),
        lambda x: np.r_[x, x],
        lambda x: np.c_[x, x],
        lambda x: np.append([[x]], [[x]]),
        lambda x: np.mean([x, x + 2]),
        lambda x: np.sum([x, x]),
        lambda x: Tensor([x, 2 * x]),
    ],
    ids=[
        "np.array list",
        "np.asarray",
        "np.array",
        "np.r_",
        "np.c_",
        "np.append",
        "np.mean list",
        "np.sum list",
        "Tensor list",
    ],
)
def test_numpy_building_an_array_from_a_tensor_that_needs_a_gradient_raises_naming_the_way_out(mistake):
    with pytest.raises(TypeError) as caught:
        mistake(needs_grad())
    message = str(caught.value)
    assert "mg.stack" in message and "t.data" in message and "t.numpy()" in message


def test_the_mean_of_a_list_was_a_silent_wrong_gradient_and_mg_stack_is_right():
    # Before issue 19 np.mean([x, x + 2]) returned a float, and d/dx (3x + mean) came out 3, not 4.
    x = needs_grad()
    with pytest.raises(TypeError):
        3 * x + np.mean([x, x + 2])
    y = 3 * x + np.mean(mg.stack([x, x + 2]))
    y.backward()
    assert y.item() == 3 * 3.0 + 4.0 and x.grad == 4.0


def test_a_tensor_without_gradient_converts_to_its_values_as_pytorchs_does():
    losses = [Tensor(0.5), Tensor(0.25), Tensor(0.125)]
    array = np.asarray(losses)
    assert array.dtype == np.float64 and array.tolist() == [0.5, 0.25, 0.125]
    t = Tensor([[1.0, 2.0]])
    assert np.asarray(t).tolist() == [[1.0, 2.0]]
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert np.array(t, copy=True) is not t.data
    np.testing.assert_array_equal(np.r_[t[0], t[0]], [1.0, 2.0, 1.0, 2.0])


def test_matplotlib_plots_and_histograms_tensors_without_gradient():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure()
    try:
        plt.plot([Tensor(0.5), Tensor(0.25)])
        counts, _, _ = plt.hist(Tensor(np.arange(10.0)), bins=2)
        assert counts.tolist() == [5.0, 5.0]
    finally:
        plt.close(figure)


def test_equality_is_elementwise_and_tensors_still_key_dicts_and_sets_by_identity():
    pred, y = Tensor([1.0, 0.0, 1.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    assert np.mean(pred == y) == 0.75  # was a silent 0.0: identity said "not equal"
    assert (pred != y).tolist() == [False, False, True, False]
    assert (Tensor([1.0, 2.0, 1.0]) == 1.0).sum() == 2
    a, b = Tensor([1.0]), Tensor([1.0])
    assert (a == b).dtype == bool and bool(a == b)
    assert len({a, b}) == 2 and {a: "a", b: "b"}[b] == "b"
    assert (np.equal(y, pred)).tolist() == (y == pred.data).tolist()


def test_format_specs_and_round_on_a_one_element_tensor_as_on_a_numpy_scalar():
    loss = Tensor(0.123456, requires_grad=True)
    assert f"{loss:.4f}" == "0.1235" and f"{Tensor([[2.5]]):>6.1f}" == "   2.5"
    assert f"{loss:e}" == format(0.123456, "e")
    assert f"{loss}" == str(loss)  # no spec: the repr, as before
    assert round(loss, 3) == 0.123 and round(Tensor(2.5)) == 2 and isinstance(round(Tensor(2.6)), int)
    with pytest.raises(TypeError, match=r"format spec '\.2f'.*shape \(2,\)"):
        f"{Tensor([1.0, 2.0]):.2f}"
    with pytest.raises(TypeError, match=r"mg\.round"):
        round(Tensor([1.0, 2.0]), 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda t: np.isnan(t),
        lambda t: np.isfinite(t),
        lambda t: np.allclose(t, t.data),
        lambda t: np.array_equal(t, t.data),
        lambda t: np.argmax(t),
        lambda t: np.argsort(t, axis=0),
        lambda t: np.nonzero(t),
        lambda t: np.zeros_like(t),
        lambda t: np.full_like(t, 2.0),
        lambda t: np.shape(t),
        lambda t: np.logical_and(t > 0, t < 1),
        lambda t: np.greater.reduce(t > 0, axis=0),
    ],
)
def test_value_only_functions_are_answered_on_the_values_and_build_no_graph(call):
    data = np.array([[0.5, -1.0], [2.0, 0.0]])
    got = call(Tensor(data, requires_grad=True))
    want = call(Tensor(data))  # on a Tensor without gradient: the same answer
    assert not isinstance(got, Tensor)
    for g, w in zip(
        np.atleast_1d(np.asarray(got, dtype=object)), np.atleast_1d(np.asarray(want, dtype=object))
    ):
        np.testing.assert_array_equal(g, w)


def test_comparisons_refuse_while_compile_traces():
    @mg.compile
    def loss(x):
        return mg.where(x == 0, x, 2 * x).sum()

    with pytest.raises(mg.TraceError, match="=="):
        loss(needs_grad(1.0))


def test_new_operations_replay_under_compile():
    @mg.compile
    def loss(x, A):
        return mg.sin(mg.einsum("ij,j->i", A, x)).sum() + mg.linalg.norm(x)

    x, A = needs_grad(np.array([0.3, -0.2])), np.array([[1.0, 2.0], [3.0, 4.0]])
    for scale in (1.0, 2.0):  # the second call replays the trace on new values
        J, (dx,) = loss(x * 1.0 if scale == 1 else Tensor(x.data * scale, requires_grad=True), A)
        v = x.data * scale
        np.testing.assert_allclose(J, np.sin(A @ v).sum() + np.linalg.norm(v))
        np.testing.assert_allclose(dx, A.T @ np.cos(A @ v) + v / np.linalg.norm(v))


def numpys(name):
    """NumPy's function of a name as the lists write it: "np.linalg.inv" is np.linalg.inv."""
    return functools.reduce(getattr, name.split(".")[1:], np)


def test_the_supported_lists_are_the_dispatch_tables_and_each_name_is_numpys():
    lists = supported()
    for kind in ("gradient", "values"):
        for name in lists[kind]:
            assert callable(numpys(name)), name
    assert {"np.sin", "np.einsum", "np.linalg.svd", "np.tensordot"} <= set(lists["gradient"])
    assert {"np.isnan", "np.argmax", "np.allclose"} <= set(lists["values"])
    assert not set(lists["refused"]) & set(lists["gradient"])
    for name, hint in lists["refused"].items():
        function = numpys(name)
        t = needs_grad(np.eye(2))
        with pytest.raises(TypeError) as caught:
            function(t)
        for n in (2, 3):  # a function of several arrays: NumPy wants them all before it dispatches
            if "Tensor" not in str(caught.value):
                with pytest.raises(TypeError) as caught:
                    function(*[t] * n)
        assert "does not work on a Tensor" in str(caught.value) and hint in str(caught.value), name


@pytest.mark.parametrize(
    "name",
    [
        "sin",
        "cos",
        "tan",
        "sinh",
        "cosh",
        "arcsinh",
        "arctan",
        "sinc",
        "exp2",
        "expm1",
        "square",
        "cbrt",
        "sign",
        "floor",
        "ceil",
        "trunc",
        "rint",
        "round",
        "prod",
        "cumsum",
        "cumprod",
        "var",
        "std",
        "ptp",
        "nansum",
        "nanmean",
        "nanmax",
        "nanmin",
        "median",
        "ravel",
        "flatten",
        "copy",
        "trace",
        "diagonal",
        "flip",
        "tril",
        "triu",
        "conj",
        "diff",
    ],
)
def test_each_one_tensor_function_is_a_method_too(name):
    a = np.array([[0.5, -1.2, 2.0], [1.5, 0.7, -0.4], [0.3, 0.8, 1.1]])
    t = Tensor(a, requires_grad=True)
    got, want = getattr(t, name)(), getattr(mg, name)(t)
    assert got.op == want.op
    np.testing.assert_array_equal(got.data, want.data)
