"""A user's own operations (`@mg.op` with a rule from `.defvjp`) work as the built-in ones do.

Two operations stand for what users write: softplus exactly as the SPEC shows it, a unary op whose
rule is written with minigrad's functions, and `scaled_diff(a, b, *, scale)`, a binary op that
broadcasts and takes a keyword option. Their gradients are checked against finite differences and
against derivatives written out by hand, in graphs with reused nodes, under `no_grad`, to second
order, in the graph drawing; and a broken rule is an error that names the operation.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, shapes, tensors

rng = np.random.default_rng(11)


def sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


# ----- the operations ----------------------------------------------------------------------------------


@mg.op
def softplus(x):  # the forward computation: NumPy arrays in, one array out
    return np.logaddexp(0, x)


@softplus.defvjp
def softplus_vjp(g, out, x):  # the output's gradient g, the output, the inputs
    return (g * mg.sigmoid(x),)  # one gradient per input


seen_by_rule = []  # the options each call of scaled_diff's rule was given


@mg.op
def scaled_diff(a, b, *, scale=1.0):
    return scale * (a - b) ** 2


@scaled_diff.defvjp
def scaled_diff_vjp(g, out, a, b, *, scale=1.0):
    seen_by_rule.append(scale)
    d = 2 * scale * (a - b) * g  # of the broadcast shape: the pass sums it back to each input
    return d, -d


@pytest.fixture(autouse=True)
def fresh_record():
    seen_by_rule.clear()


def softplus_np(x):
    return np.logaddexp(0, x)


def sum_to(g, shape):
    """`g` summed over the axes along which an input of `shape` was broadcast."""
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)


# ----- values and first derivatives ---------------------------------------------------------------------


@given(x=tensors(shapes(max_dims=2, max_side=4)))
def test_softplus_forward_and_gradient_are_log1p_exp_and_sigmoid(x):
    y = softplus(x)
    np.testing.assert_allclose(y.data, np.log1p(np.exp(x.data)), rtol=1e-12, atol=1e-12)
    (dx,) = mg.grad(y.sum(), x)
    np.testing.assert_allclose(dx.data, sigmoid_np(x.data), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(softplus, x)


@given(a=tensors((3, 4)), b=tensors((4,)), scale=st.sampled_from([1.0, 2.5, -0.5]), data=st.data())
def test_scaled_diff_broadcasts_and_its_gradients_are_summed_back(a, b, scale, data):
    g = data.draw(arrays((3, 4)), label="g")
    out = scaled_diff(a, b, scale=scale)
    np.testing.assert_allclose(out.data, scale * (a.data - b.data) ** 2, rtol=1e-12, atol=1e-12)
    da, db = mg.grad(out, [a, b], grad_output=g)
    d = 2 * scale * (a.data - b.data) * g
    np.testing.assert_allclose(da.data, d, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db.data, -d.sum(axis=0), rtol=1e-10, atol=1e-12)
    assert db.shape == (4,)
    assert mg.gradcheck(lambda a, b: scaled_diff(a, b, scale=scale), a, b)


def test_scaled_diff_without_the_option_uses_its_default():
    a, b = Tensor([3.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    out = scaled_diff(a, b)
    assert out.item() == 4.0
    out.backward()
    assert seen_by_rule == [1.0]
    assert a.grad.tolist() == [4.0] and b.grad.tolist() == [-4.0]


def test_keyword_arguments_reach_both_the_forward_function_and_the_rule():
    forward_saw, rule_saw = [], []

    @mg.op
    def shifted_power(x, *, p, shift=0.0):
        forward_saw.append((p, shift))
        return (x + shift) ** p

    @shifted_power.defvjp
    def _(g, out, x, *, p, shift=0.0):
        rule_saw.append((p, shift))
        return (g * p * (x + shift) ** (p - 1),)

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = shifted_power(x, p=3.0, shift=0.5)
    np.testing.assert_allclose(y.data, (x.data + 0.5) ** 3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * (x.data + 0.5) ** 2)
    assert forward_saw == [(3.0, 0.5)] and rule_saw == [(3.0, 0.5)]


def test_a_node_used_twice_gets_the_sum_of_both_paths():
    x = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    # x through softplus and on its own: d/dx [softplus(x) x] = sigmoid(x) x + softplus(x)
    (dx,) = mg.grad((softplus(x) * x).sum(), x)
    np.testing.assert_allclose(
        dx.data, sigmoid_np(x.data) * x.data + softplus_np(x.data), rtol=1e-12, atol=1e-12
    )
    # x on both sides of a binary op: (x - x)² has a zero derivative, each side's share cancelling
    (dx,) = mg.grad(scaled_diff(x, x, scale=2.5).sum(), x)
    np.testing.assert_array_equal(dx.data, np.zeros((3, 4)))
    # the same softplus node reused: d/dx softplus(x)² = 2 softplus(x) sigmoid(x)
    s = softplus(x)
    (dx,) = mg.grad((s * s).sum(), x)
    np.testing.assert_allclose(dx.data, 2 * softplus_np(x.data) * sigmoid_np(x.data), rtol=1e-12, atol=1e-12)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    assert mg.gradcheck(lambda x, b: scaled_diff(softplus(x), x * b, scale=2.5) + softplus(x), x, b)


def test_backward_through_a_custom_op_fills_grad_as_for_a_built_in_one():
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(3), requires_grad=True)
    Z = scaled_diff(x, b, scale=2.5)
    Z.sum().backward()
    np.testing.assert_allclose(x.grad, 5 * (x.data - b.data), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, -5 * (x.data - b.data).sum(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(Z.grad, np.ones((2, 3)))


# ----- the graph --------------------------------------------------------------------------------------


def test_op_is_the_name_and_parents_are_the_inputs():
    x = Tensor(rng.standard_normal(3), requires_grad=True)
    b = Tensor(rng.standard_normal(3))
    y = softplus(x)
    assert y.op == "softplus" and y.parents == (x,) and y.parents[0] is x
    z = scaled_diff(y, b, scale=2.5)
    assert z.op == "scaled_diff"
    assert len(z.parents) == 2 and z.parents[0] is y and z.parents[1] is b


def test_a_number_input_is_lifted_to_a_parent_tensor():
    x = Tensor(rng.standard_normal(3), requires_grad=True)
    z = scaled_diff(x, 1.0)
    assert z.parents[0] is x and isinstance(z.parents[1], Tensor) and z.parents[1].data == 1.0
    np.testing.assert_allclose(mg.grad(z.sum(), x)[0].data, 2 * (x.data - 1.0))


def test_under_no_grad_a_custom_op_builds_no_graph():
    x = Tensor(rng.standard_normal(3), requires_grad=True)
    with mg.no_grad():
        y = scaled_diff(softplus(x), x, scale=2.5)
    assert not y.requires_grad and y.op == "" and y.parents == ()
    np.testing.assert_allclose(y.data, 2.5 * (softplus_np(x.data) - x.data) ** 2)
    assert seen_by_rule == []
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_draw_graph_and_to_dot_show_the_custom_ops_by_name():
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True, name="x")
    b = Tensor(rng.standard_normal(3), requires_grad=True, name="b")
    y = scaled_diff(softplus(x), b, scale=2.5).sum()
    dot = mg.to_dot(y)
    assert "softplus" in dot and "scaled_diff" in dot
    assert "softplus" in mg.draw_graph(y).source and "scaled_diff" in mg.draw_graph(y).source
    y.backward()  # and once gradients are there
    assert "scaled_diff" in mg.to_dot(y)


# ----- second derivatives through the op's own rule -----------------------------------------------------


@given(x=tensors(shapes(max_dims=2, max_side=3)))
def test_softplus_second_derivative_through_its_own_rule_is_s_times_one_minus_s(x):
    (first,) = mg.grad(softplus(x).sum(), x, create_graph=True)
    assert first.requires_grad
    np.testing.assert_allclose(first.data, sigmoid_np(x.data), rtol=1e-12, atol=1e-12)
    (second,) = mg.grad(first.sum(), x)
    s = sigmoid_np(x.data)
    np.testing.assert_allclose(second.data, s * (1 - s), rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda x: mg.grad(softplus(x).sum(), x, create_graph=True)[0], x)


@mg.op
def softplus_by_input(x):
    return np.logaddexp(0, x)


# The per-input form for one input: the rule returns that input's gradient itself.
softplus_by_input.defvjp(lambda g, out, x: g * mg.sigmoid(x))


@given(x=tensors(shapes(max_dims=2, max_side=3)))
def test_softplus_with_a_per_input_rule_differentiates_to_second_and_third_order(x):
    (first,) = mg.grad(softplus_by_input(x).sum(), x, create_graph=True)
    (second,) = mg.grad(first.sum(), x, create_graph=True)
    (third,) = mg.grad(second.sum(), x)
    s = sigmoid_np(x.data)
    np.testing.assert_allclose(first.data, s, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(second.data, s * (1 - s), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(third.data, s * (1 - s) * (1 - 2 * s), rtol=1e-9, atol=1e-15)


@settings(max_examples=25)
@given(a=tensors((3, 4)), b=tensors((4,)), data=st.data())
def test_scaled_diff_second_derivatives_through_its_own_rule(a, b, data):
    w = data.draw(arrays((3, 4)), label="w")
    for i in range(2):
        assert mg.gradcheck(
            lambda a, b, i=i: mg.grad((scaled_diff(a, b, scale=2.5) * w).sum(), [a, b][i], create_graph=True)[
                0
            ],
            a,
            b,
        )
    # By hand: d²/da² sum(w s (a - b)²) = 2 s w, and d²/da db = -2 s w summed over the broadcast axis.
    (da,) = mg.grad((scaled_diff(a, b, scale=2.5) * w).sum(), a, create_graph=True)
    dda, ddb = mg.grad(da.sum(), [a, b])
    np.testing.assert_allclose(dda.data, 5 * w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ddb.data, -5 * w.sum(axis=0), rtol=1e-12, atol=1e-12)
    assert set(seen_by_rule) == {2.5}


# ----- which rules run ----------------------------------------------------------------------------------


def test_per_input_rules_run_only_for_inputs_that_need_a_gradient():
    calls = []

    @mg.op
    def weighted(W, X):
        return W @ X

    weighted.defvjp(
        lambda g, out, W, X: calls.append("dW") or g @ X.T,
        lambda g, out, W, X: calls.append("dX") or W.T @ g,
    )
    W = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    X = Tensor(rng.standard_normal((3, 4)))  # data: no gradient
    out = weighted(W, X)
    out.sum().backward()
    assert calls == ["dW"]
    np.testing.assert_allclose(W.grad, np.ones((2, 4)) @ X.data.T)

    # Both require one, but mg.grad asks for W's only.
    X.requires_grad = True
    calls.clear()
    (dW,) = mg.grad(weighted(W, X).sum(), W)
    assert calls == ["dW"]
    np.testing.assert_allclose(dW.data, np.ones((2, 4)) @ X.data.T)
    calls.clear()
    _, dX = mg.grad(weighted(W, X).sum(), [W, X])
    assert sorted(calls) == ["dW", "dX"]
    np.testing.assert_allclose(dX.data, W.data.T @ np.ones((2, 4)))
    assert mg.gradcheck(weighted, W, X)


# ----- broken rules are errors that name the operation ------------------------------------------------------


def binary_op_with_rule(rule, name):
    def forward(a, b):
        return a * b

    forward.__name__ = name
    operation = mg.op(forward)
    operation.defvjp(rule)
    return operation


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_rule_returning_too_few_gradients_is_an_error_naming_the_operation(create_graph):
    halved = binary_op_with_rule(lambda g, out, a, b: (g * b,), "halved_product")
    a, b = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"halved_product.*1 gradients for 2 inputs"):
        mg.grad(halved(a, b).sum(), [a, b], create_graph=create_graph)
    with pytest.raises(ValueError, match="halved_product"):
        halved(a, b).sum().backward()


def test_a_unary_rule_returning_two_gradients_is_an_error_naming_the_operation():
    @mg.op
    def doubled(x):
        return 2 * x

    doubled.defvjp(lambda g, out, x: (2 * g, 2 * g))
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="doubled"):
        doubled(x).sum().backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_gradient_that_cannot_be_summed_back_to_the_input_is_an_error_naming_the_operation(create_graph):
    @mg.op
    def misshapen(x):
        return 2 * x

    misshapen.defvjp(lambda g, out, x: np.ones((5,)))
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    with pytest.raises(ValueError, match=r"misshapen.*\(5,\).*\(3, 4\)"):
        mg.grad(misshapen(x).sum(), x, create_graph=create_graph)
    with pytest.raises(ValueError, match="misshapen"):
        misshapen(x).sum().backward()
    assert x.grad is None


def test_an_op_without_a_rule_is_an_error_naming_it_but_runs_under_no_grad():
    @mg.op
    def ruleless(x):
        return x + 1

    x = Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(NotImplementedError, match=r"ruleless.*defvjp"):
        ruleless(x)
    with mg.no_grad():
        np.testing.assert_array_equal(ruleless(x).data, np.ones(2))
    # with no input that requires a gradient, no rule is needed either
    assert not ruleless(Tensor(np.zeros(2))).requires_grad
