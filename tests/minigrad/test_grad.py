"""`mg.grad`: gradients as values, with every `.grad` left as it was.

The first-order gradients `mg.grad` returns are what `backward()` would add to `.grad`, for leaves and
intermediates alike; the gradients themselves are checked against the lab's closed forms and against
finite differences. What it refuses (a non-scalar output without `grad_output`, an input that cannot
have a gradient) and what it never touches (the caller's `grad_output`, data and `.grad`) are
checked too.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays, broadcastable_shapes, tensors

rng = np.random.default_rng(7)


def sigmoid_np(z):
    return 1 / (1 + np.exp(-z))


@st.composite
def lab_network(draw):
    """The lab's two-layer sigmoid network on a small batch, with its tensors by the lab's names."""
    n_x, n_h, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 5))
    W1 = draw(tensors((n_h, n_x), name="W1"))
    b1 = draw(tensors((n_h, 1), name="b1"))
    W2 = draw(tensors((1, n_h), name="W2"))
    b2 = draw(tensors((1, 1), name="b2"))
    X = draw(arrays((n_x, m)))
    Y = np.array([draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=m, max_size=m))])
    Z1 = W1 @ X + b1
    A1 = Z1.sigmoid()
    Z2 = W2 @ A1 + b2
    A2 = Z2.sigmoid()
    J = -(Y * A2.log() + (1 - Y) * (1 - A2).log()).sum() / m
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2, "J": J, "Y": Y}


GRAPH_TENSORS = ["W1", "b1", "W2", "b2", "Z1", "A1", "Z2", "A2"]


# ----- the values -------------------------------------------------------------------------------------


@given(lab_network())
def test_grad_equals_what_backward_leaves_in_grad_for_leaves_and_intermediates(net):
    tensors_ = [net[k] for k in GRAPH_TENSORS]
    by_grad = mg.grad(net["J"], tensors_)
    net["J"].backward()
    for name, t, g in zip(GRAPH_TENSORS, tensors_, by_grad):
        np.testing.assert_allclose(g.data, t.grad, rtol=1e-12, atol=1e-15, err_msg=name)
        assert g.shape == t.shape and g.dtype == t.dtype, name


@given(lab_network())
def test_gradient_at_the_intermediate_Z2_is_the_labs_dZ2_over_m(net):
    A2, Y = net["A2"].data, net["Y"]
    m = Y.shape[1]
    dZ2, dA1, dW2 = mg.grad(net["J"], [net["Z2"], net["A1"], net["W2"]])
    # The lab's dZ2 = A2 - Y is m times dJ/dZ2: its cost is a mean over the m examples.
    np.testing.assert_allclose(dZ2.data, (A2 - Y) / m, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dA1.data, net["W2"].data.T @ (A2 - Y) / m, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dW2.data, (A2 - Y) @ net["A1"].data.T / m, rtol=1e-9, atol=1e-12)


@given(shapes=broadcastable_shapes(max_side=3), data=st.data())
def test_grad_with_grad_output_agrees_with_finite_differences(shapes, data):
    a = data.draw(tensors(shapes[0]), label="a")
    b = data.draw(tensors(shapes[1]), label="b")
    f = lambda a, b: (a * b).tanh() + a  # noqa: E731
    g_out = data.draw(arrays(np.broadcast_shapes(a.shape, b.shape)), label="grad_output")
    ga, gb = mg.grad(f(a, b), [a, b], grad_output=g_out)
    # d/da sum(g * f) is a gradcheck of the scalar sum(g * f): an independent source.
    assert mg.gradcheck(lambda a, b: (f(a, b) * g_out).sum(), a, b)
    expected_a, expected_b = mg.grad((f(a, b) * g_out).sum(), [a, b])
    np.testing.assert_allclose(ga.data, expected_a.data, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(gb.data, expected_b.data, rtol=1e-12, atol=1e-15)
    # and by hand: d/da = g (b (1 - tanh²) + 1), summed back to a's shape
    t = np.tanh(a.data * b.data)
    by_hand = np.broadcast_to(g_out * (b.data * (1 - t**2) + 1), g_out.shape)
    extra = by_hand.ndim - a.ndim
    by_hand = by_hand.sum(axis=tuple(range(extra)))
    by_hand = by_hand.sum(axis=tuple(i for i, n in enumerate(a.shape) if n == 1), keepdims=True)
    np.testing.assert_allclose(ga.data, by_hand.reshape(a.shape), rtol=1e-9, atol=1e-12)


def test_an_input_the_output_does_not_use_gets_zeros_of_its_shape():
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    unused = Tensor(rng.standard_normal((4, 1)), requires_grad=True)
    dx, dunused = mg.grad((x * x).sum(), [x, unused])
    np.testing.assert_allclose(dx.data, 2 * x.data)
    assert dunused.shape == (4, 1)
    np.testing.assert_array_equal(dunused.data, np.zeros((4, 1)))


def test_an_output_that_depends_on_no_input_gives_zeros():
    x = Tensor(rng.standard_normal(3), requires_grad=True)
    constant = Tensor(np.ones(3)) * 2.0  # built from no tensor that requires a gradient
    (dx,) = mg.grad(constant.sum(), x)
    np.testing.assert_array_equal(dx.data, np.zeros(3))
    # A derivative that has become a constant: d/dx (3x) = 3, and its own derivative is 0.
    (three,) = mg.grad((3 * x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(three.data, np.full(3, 3.0))
    np.testing.assert_array_equal(mg.grad(three.sum(), x)[0].data, np.zeros(3))


def test_a_single_tensor_or_a_sequence_of_inputs_always_gives_a_tuple():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = (x * y).sum()
    single = mg.grad(out, x)
    assert isinstance(single, tuple) and len(single) == 1
    np.testing.assert_array_equal(single[0].data, y.data)
    for inputs in ([x, y], (x, y)):
        both = mg.grad(out, inputs)
        assert isinstance(both, tuple) and len(both) == 2
        np.testing.assert_array_equal(both[0].data, y.data)
        np.testing.assert_array_equal(both[1].data, x.data)
    assert isinstance(mg.grad(out, [x]), tuple) and len(mg.grad(out, [x])) == 1


def test_the_same_input_twice_gets_the_same_gradient_twice():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    dx1, dx2 = mg.grad((x**3).sum(), [x, x])
    np.testing.assert_allclose(dx1.data, 3 * x.data**2)
    np.testing.assert_allclose(dx2.data, 3 * x.data**2)


# ----- what it refuses --------------------------------------------------------------------------------


def test_a_non_scalar_output_without_grad_output_is_a_value_error():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        mg.grad(x * 2.0, x)


def test_a_grad_output_of_the_wrong_shape_is_a_value_error_naming_both_shapes():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        mg.grad(x * 2.0, x, grad_output=np.ones((3, 2)))


def test_an_input_without_requires_grad_is_a_value_error_naming_it():
    W1 = Tensor(np.ones((2, 2)), requires_grad=True, name="W1")
    X = Tensor(np.ones((2, 2)), name="X")
    with pytest.raises(ValueError, match=r"'X'.*requires_grad") as caught:
        mg.grad((W1 @ X).sum(), [W1, X])
    assert "inputs[1]" in str(caught.value)
    unnamed = Tensor(np.ones((5, 4)))
    with pytest.raises(ValueError, match=r"\(5, 4\)"):
        mg.grad((W1 * 2).sum(), [unnamed])


# ----- what it leaves alone ---------------------------------------------------------------------------


@given(lab_network())
def test_grad_leaves_every_grad_untouched_including_ones_set_before(net):
    before = {}
    for k in ["W1", "b1", "Z1", "A2"]:  # leaves and intermediates with a gradient already there
        net[k].grad = np.full(net[k].shape, 7.0)
        before[k] = net[k].grad
    mg.grad(net["J"], [net[k] for k in GRAPH_TENSORS])
    mg.grad(net["J"], net["W1"], create_graph=True)
    for k in GRAPH_TENSORS:
        if k in before:
            assert net[k].grad is before[k], k
            np.testing.assert_array_equal(net[k].grad, np.full(net[k].shape, 7.0), err_msg=k)
        else:
            assert net[k].grad is None, k


@pytest.mark.parametrize(
    "f",
    [
        lambda x: x,  # the output is the input itself
        lambda x: x + 0.0,  # add's rule hands g on unchanged
        lambda x: x.reshape(-1).reshape(x.shape),  # views of g
        lambda x: x.T.T,
        lambda x: mg.broadcast_to(x, shape=x.shape),
        lambda x: x * 1.0,
        lambda x: x.relu(),
    ],
    ids=["identity", "add", "reshape", "transpose", "broadcast_to", "mul", "relu"],
)
def test_results_without_create_graph_require_no_grad_and_share_no_memory_with_the_callers_arrays(f):
    data = rng.uniform(0.5, 1.5, (2, 3))
    x = Tensor(data, requires_grad=True)
    out = f(x)
    g_out = rng.standard_normal((2, 3))
    (dx,) = mg.grad(out, x, grad_output=g_out)
    assert not dx.requires_grad and dx.op == "" and dx.parents == ()
    np.testing.assert_allclose(dx.data, g_out)
    for theirs in (g_out, data, out.data):
        assert not np.shares_memory(dx.data, theirs)


def test_gradients_of_several_inputs_are_not_views_of_each_other():
    x = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    Z = x + 0.0  # add's rule hands its g on unchanged: Z's and x's gradients are equal
    A = Z.reshape(3, 2).T  # and views of g further down
    g_out = rng.standard_normal((2, 3))
    dA, dZ, dx = mg.grad(A, [A, Z, x], grad_output=g_out)
    np.testing.assert_allclose(dx.data, dZ.data)
    for one, other in [(dA, dZ), (dZ, dx), (dA, dx)]:
        assert not np.shares_memory(one.data, other.data)
    for g in (dA, dZ, dx):
        assert not np.shares_memory(g.data, g_out) and not np.shares_memory(g.data, x.data)


def test_grad_output_is_never_changed_in_values_or_flags():
    x = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    y = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    g_out = rng.standard_normal((3, 2))
    saved = g_out.copy()
    out = x * y + x  # x reached twice: gradients are summed, in place where the pass owns the array
    for create_graph in (False, True):
        dx, _, _ = mg.grad(out, [x, y, out], grad_output=g_out, create_graph=create_graph)
        np.testing.assert_array_equal(g_out, saved)
        assert g_out.flags.writeable and g_out.flags.owndata
        np.testing.assert_allclose(dx.data, g_out * (y.data + 1))
    # A read-only grad_output stays read-only, and a Tensor grad_output keeps its data.
    g_out.flags.writeable = False
    mg.grad(out, x, grad_output=g_out)
    assert not g_out.flags.writeable
    g_tensor = Tensor(saved.copy())
    (dx,) = mg.grad(out, x, grad_output=g_tensor)
    dx.data += 1  # the result is the caller's to change
    np.testing.assert_array_equal(g_tensor.data, saved)


def test_inputs_data_is_not_changed():
    x = Tensor(rng.standard_normal((2, 2)), requires_grad=True)
    saved = x.data.copy()
    mg.grad((x @ x).sum(), x)
    mg.grad((x @ x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(x.data, saved)


def test_create_graph_results_are_in_the_graph_and_create_graph_false_results_are_not():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    (plain,) = mg.grad((x**3).sum(), x)
    (in_graph,) = mg.grad((x**3).sum(), x, create_graph=True)
    assert not plain.requires_grad
    assert in_graph.requires_grad and in_graph.op != ""
    np.testing.assert_allclose(plain.data, in_graph.data)
    np.testing.assert_allclose(mg.grad(in_graph.sum(), x)[0].data, 6 * x.data)


def test_under_create_graph_a_grad_output_in_the_graph_is_differentiated_through():
    # d/dv of (dy/dx · v) for y = x**3: the vector-Jacobian product is linear in v, with slope 3x².
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    v = Tensor(np.array([1.0, 2.0, -1.0]), requires_grad=True)
    (vjp,) = mg.grad(x**3, x, grad_output=v, create_graph=True)
    np.testing.assert_allclose(vjp.data, 3 * x.data**2 * v.data)
    (dv,) = mg.grad(vjp.sum(), v)
    np.testing.assert_allclose(dv.data, 3 * x.data**2)
