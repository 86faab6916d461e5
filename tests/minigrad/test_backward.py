"""The backward pass: what it adds to `.grad`, when it refuses, and what it leaves behind."""

import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor, no_grad
from minigrad.testing import assert_grads_match

rng = np.random.default_rng(2024)


def lab_layer():
    """The lab's output layer on a small batch: Z2 = W2 A1 + b2, A2 = sigmoid(Z2), cross-entropy cost."""
    W2 = Tensor(rng.standard_normal((1, 3)), requires_grad=True, name="W2")
    b2 = Tensor(np.zeros((1, 1)), requires_grad=True, name="b2")
    A1 = Tensor(rng.random((3, 4)), name="A1")
    Y = rng.integers(0, 2, (1, 4)).astype(float)
    Z2 = W2 @ A1 + b2
    A2 = Z2.sigmoid()
    m = Y.shape[1]
    cost = -((Y * A2.log() + (1 - Y) * (1 - A2).log()).sum()) / m
    return W2, b2, A1, Y, Z2, A2, cost


# ----- what backward() adds ---------------------------------------------------------------------


def test_intermediate_gradient_is_the_labs_dZ2_over_m():
    W2, b2, A1, Y, Z2, A2, cost = lab_layer()
    cost.backward()
    m = Y.shape[1]
    # The lab's dZ2 = A2 - Y is the gradient of the summed cost; the engine's cost is the mean.
    np.testing.assert_allclose(Z2.grad, (A2.data - Y) / m, rtol=1e-10)
    np.testing.assert_allclose(W2.grad, (A2.data - Y) @ A1.data.T / m, rtol=1e-10)
    np.testing.assert_allclose(b2.grad, (A2.data - Y).sum(axis=1, keepdims=True) / m, rtol=1e-10)
    assert A1.grad is None


def test_a_broadcast_bias_gets_its_gradient_summed_over_the_examples():
    n_h, m = 4, 6
    W1 = Tensor(rng.standard_normal((n_h, 3)), requires_grad=True)
    X = Tensor(rng.standard_normal((3, m)))
    b1 = Tensor(np.zeros((n_h, 1)), requires_grad=True, name="b1")
    Z1 = W1 @ X + b1
    dZ1 = rng.standard_normal((n_h, m))
    Z1.backward(dZ1)
    assert b1.grad.shape == (n_h, 1)
    np.testing.assert_allclose(b1.grad, dZ1.sum(axis=1, keepdims=True), rtol=1e-12)


def test_gradients_accumulate_across_backward_calls():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()  # adds 2x
    (x * 5.0).sum().backward()  # adds 5
    np.testing.assert_allclose(x.grad, 2 * x.data + 5)


def test_a_second_pass_over_the_same_graph_adds_exactly_the_same_again():
    W2, b2, _, _, Z2, A2, cost = lab_layer()
    cost.backward()
    first = {name: t.grad.copy() for name, t in [("W2", W2), ("b2", b2), ("Z2", Z2), ("A2", A2)]}
    cost.backward()
    for name, t in [("W2", W2), ("b2", b2), ("Z2", Z2), ("A2", A2)]:
        np.testing.assert_allclose(t.grad, 2 * first[name], rtol=1e-12, err_msg=name)
    cost.backward()
    np.testing.assert_allclose(W2.grad, 3 * first["W2"], rtol=1e-12)


def test_zero_grad_resets_to_none_and_the_next_pass_starts_from_zero():
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = (x * 3.0).sum()
    y.backward()
    x.zero_grad()
    assert x.grad is None
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_a_tensor_used_several_times_gets_the_sum_of_its_paths():
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    # y = h*h + h + x with h = tanh(x): dy/dx = (2h + 1)(1 - h^2) + 1
    assert_grads_match(
        lambda x: (lambda h: h * h + h + x)(x.tanh()),
        [x],
        lambda g, x: [g * ((2 * np.tanh(x) + 1) * (1 - np.tanh(x) ** 2) + 1)],
    )
    assert_grads_match(lambda x: x + x + x, [x], lambda g, x: [3 * g])
    assert_grads_match(
        lambda x: x @ x.T,
        [Tensor(rng.standard_normal((2, 3)), requires_grad=True)],
        lambda g, x: [(g + g.T) @ x],
    )


def test_nodes_are_told_apart_by_object_not_by_value():
    a = Tensor(1.0, requires_grad=True)
    b = Tensor(1.0, requires_grad=True)
    (a * 2.0 + b * 3.0).backward()
    assert a.grad == 2.0 and b.grad == 3.0


def test_upstream_gradient_weights_the_pass():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    g = np.array([[1.0, 10.0], [100.0, 1000.0]])
    (x * 2.0).backward(g)
    np.testing.assert_array_equal(x.grad, 2 * g)


def test_backward_accepts_a_tensor_as_upstream_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).backward(Tensor([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, -2.0])


def test_a_single_element_of_any_shape_needs_no_upstream_gradient():
    x = Tensor([[3.0]], requires_grad=True)
    (x * 2.0).backward()
    np.testing.assert_array_equal(x.grad, [[2.0]])


def test_gradients_are_ndarrays_of_the_data_shape_and_dtype_even_for_scalars():
    x = Tensor(2.0, requires_grad=True)
    W = Tensor(np.ones((2, 3)), requires_grad=True)
    loss = x * 3.0 + (W * W).sum()
    loss.backward()
    for t in (x, W, loss):
        assert isinstance(t.data, np.ndarray), f"{t.op or 'leaf'} data is {type(t.data).__name__}"
        assert isinstance(t.grad, np.ndarray), f"{t.op or 'leaf'} grad is {type(t.grad).__name__}"
        assert t.grad.shape == t.shape and t.grad.dtype == t.dtype


def test_float32_gradients_stay_float32_through_every_operation():
    def f32(shape):
        return Tensor(rng.uniform(0.5, 2.0, shape).astype(np.float32), requires_grad=True)

    W, X, b = f32((2, 3)), f32((3, 4)), f32((2, 1))
    Z = W @ X + b
    cost = ((Z.sigmoid() * Z.tanh() - Z.relu() / Z.exp() + Z.log() ** 2).T.reshape(8) * 2.0).mean()
    cost = cost + (Z - 1.0).sum(axis=0).mean() + (-b).sum()
    assert cost.dtype == np.float32
    cost.backward()
    for name, t in [("W", W), ("X", X), ("b", b), ("Z", Z)]:
        assert t.grad.dtype == np.float32, name


# ----- rules spend nothing on gradients nobody needs --------------------------------------------


def test_a_rule_given_per_input_is_called_only_for_the_inputs_that_need_a_gradient():
    calls = []

    @mg.op
    def scaled_product(a, b):
        return a @ b

    scaled_product.defvjp(
        lambda g, out, a, b: calls.append("dA") or g @ b.T,
        lambda g, out, a, b: calls.append("dB") or a.T @ g,
    )
    W1 = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    X = Tensor(rng.standard_normal((2, 4)))
    scaled_product(W1, X).sum().backward()
    assert calls == ["dA"]  # never dX for the data
    np.testing.assert_allclose(W1.grad, np.ones((3, 4)) @ X.data.T)
    assert X.grad is None


@pytest.mark.parametrize("op", [mg.matmul, mg.mul, mg.div, mg.sub])
def test_an_input_that_needs_no_gradient_gets_none(op):
    W1 = Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    X = Tensor(rng.uniform(1, 2, (3, 3)))
    op(W1, X).sum().backward()
    op(X, W1).sum().backward()
    assert X.grad is None and W1.grad is not None


# ----- when backward() refuses ------------------------------------------------------------------


def test_backward_without_grad_on_many_elements_is_a_value_error_naming_the_shape():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_with_a_grad_of_the_wrong_shape_names_both_shapes():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(2, 3\)"):
        y.backward(np.ones((3, 2)))


def test_backward_on_a_tensor_that_requires_no_gradient_is_a_runtime_error():
    y = Tensor([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match="does not require"):
        y.sum().backward()


# ----- no graph ---------------------------------------------------------------------------------


def test_tensors_that_require_no_gradient_build_no_graph():
    a, b = Tensor([1.0, 2.0]), Tensor([3.0, 4.0])
    c = (a * b + a).sigmoid().sum()
    assert c.parents == () and c.op == "" and not c.requires_grad


def test_no_grad_as_a_context_manager_builds_no_graph_and_restores_on_exit():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2.0).exp()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.parents == ()
    assert (x * 2.0).requires_grad


def test_no_grad_restores_grad_mode_after_an_exception():
    with pytest.raises(ZeroDivisionError), no_grad():
        1 / 0  # noqa: B018
    assert mg.is_grad_enabled()


def test_no_grad_nested_keeps_grad_off_until_the_outermost_exit():
    with no_grad():
        with no_grad():
            pass
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_no_grad_as_a_decorator():
    @no_grad()
    def predict(W, X):
        return (W @ X).sigmoid()

    A = predict(Tensor(np.ones((2, 2)), requires_grad=True), Tensor(np.ones((2, 1))))
    assert not A.requires_grad and A.parents == ()
    assert mg.is_grad_enabled()


def test_no_grad_decorator_on_a_recursive_function_restores_grad_mode():
    @no_grad()
    def depth(n):
        assert not mg.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(2) == 2
    assert mg.is_grad_enabled(), "grad mode left off after a recursive @no_grad() function returned"


# ----- deep graphs and memory -------------------------------------------------------------------


def test_a_chain_of_100000_operations_backpropagates_and_is_freed_without_recursion():
    x = Tensor(np.ones(2), requires_grad=True)
    c = 1.00001
    y = x
    for _ in range(100_000):
        y = y * c
    y.backward(np.ones(2))
    np.testing.assert_allclose(x.grad, [c**100_000] * 2, rtol=1e-9)
    ref = weakref.ref(y)
    del y  # frees 100,000 nested tensors: must not overflow the C stack either
    assert ref() is None


def test_dropping_output_and_inputs_frees_every_intermediate_without_the_cycle_collector():
    gc.collect()
    gc.disable()
    try:
        W1 = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
        X = Tensor(rng.standard_normal((2, 5)))
        b1 = Tensor(np.zeros((3, 1)), requires_grad=True)
        Z1 = W1 @ X + b1
        A1 = Z1.tanh()
        A2 = (A1 * A1).sigmoid() / 2.0
        cost = (A2.log() - A1.relu() ** 2).T.reshape(15).mean()
        cost.backward()
        refs = [weakref.ref(t) for t in (W1, X, b1, Z1, A1, A2, cost)]
        del W1, X, b1, Z1, A1, A2, cost
        alive = [i for i, r in enumerate(refs) if r() is not None]
        assert alive == [], f"still alive without gc (index into W1, X, b1, Z1, A1, A2, cost): {alive}"
    finally:
        gc.enable()


def test_a_training_loop_keeps_its_parameters_and_frees_each_steps_graph():
    # Parameters live across steps; everything a step computed from them must go with its cost.
    W1 = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    X = Tensor(rng.standard_normal((2, 5)))
    gc.collect()
    gc.disable()
    try:
        refs = []
        for _ in range(3):
            Z1 = W1 @ X
            A1 = Z1.sigmoid()
            cost = (A1 * A1).mean()
            cost.backward()
            refs += [weakref.ref(t) for t in (Z1, A1, cost)]
            del Z1, A1, cost
        assert all(r() is None for r in refs)
        assert W1.grad is not None
    finally:
        gc.enable()


def test_inputs_and_the_upstream_gradient_are_not_mutated_by_backward():
    W = Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    X = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal((2, 1)), requires_grad=True)
    before = [t.data.copy() for t in (W, X, b)]
    Z = W @ X + b
    out = (Z.sigmoid() + Z).reshape(4, 2).T
    g = rng.standard_normal(out.shape)
    g_before = g.copy()
    out.backward(g)
    out.backward(g)
    for t, data in zip((W, X, b), before):
        np.testing.assert_array_equal(t.data, data)
    np.testing.assert_array_equal(g, g_before)


def graph_of(root):
    """Every tensor that requires a gradient and that `root` was computed from, root included, named."""
    found, stack = {id(root): root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad and id(parent) not in found:
                found[id(parent)] = parent
                stack.append(parent)
    return {t.name or f"{t.op} #{i}": t for i, t in enumerate(found.values())}


@pytest.mark.parametrize(
    "build",
    [
        lambda x, y: x + y,
        lambda x, y: x - y,
        lambda x, y: x + x + y,
        lambda x, y: (x + y).reshape(6).T,
        lambda x, y: (x.T + y.T).T,
        lambda x, y: (x + y).sum(axis=0, keepdims=True),
        lambda x, y: (x * 1.0) + (y * 1.0),
        lambda x, y: (x @ y.T + x.sum(axis=1, keepdims=True)).mean(axis=0),
    ],
)
def test_no_gradient_can_be_changed_through_another_tensor_the_data_or_the_upstream(build):
    x = Tensor(np.ones((2, 3)), requires_grad=True, name="x")
    y = Tensor(np.ones((2, 3)), requires_grad=True, name="y")
    out = build(x, y)
    g = np.arange(out.size, dtype=float).reshape(out.shape)
    out.backward(g)
    tensors = graph_of(out)
    grads = {f"{name}.grad": t.grad for name, t in tensors.items()}
    others = {"x.data": x.data, "y.data": y.data, "g": g}
    # The leaves' gradients are the user's to change (an optimiser does): they share memory with
    # nothing. An intermediate's may be its neighbour's very array (add hands g on unchanged).
    for name, a in grads.items():
        for other, b in {**grads, **others}.items():
            if other != name and np.shares_memory(a, b):
                assert name not in ("x.grad", "y.grad") and other in grads, (
                    f"{name} shares memory with {other}"
                )
    # backward() changes no flag of any array: the user's, the leaves' or the intermediates'.
    for name, array in {**grads, **others}.items():
        assert array.flags.writeable, f"{name} was made read-only by backward()"
    # Were two of them one array, the second pass would add into it twice.
    first = {name: t.grad.copy() for name, t in tensors.items()}
    out.backward(g)
    for name, t in tensors.items():
        np.testing.assert_array_equal(t.grad, 2 * first[name], err_msg=name)


def test_a_tensor_unpickled_from_another_process_still_gets_its_gradient():
    # Creation numbers order the backward pass and belong to one process; one from another process
    # may be larger than any here. An unpickled (or copied) tensor takes a number of this process.
    import copy
    import pickle

    W = Tensor(np.ones((2, 2)), requires_grad=True)
    W._seq = 10**12  # an engine internal, set on purpose: as if made late in another process
    for clone in (pickle.loads(pickle.dumps(W)), copy.deepcopy(W), copy.copy(W)):
        (clone * 2).sum().backward()
        np.testing.assert_array_equal(clone.grad, np.full((2, 2), 2.0))


def test_a_gradient_shared_with_no_one_stays_writeable():
    b1 = Tensor(np.zeros((3, 1)), requires_grad=True)
    Z = np.ones((3, 4)) + b1  # add hands dZ on to b1, but summed into a new (3, 1) array
    Z.sum().backward()
    assert Z.grad.flags.writeable
    assert b1.grad.flags.writeable and not np.shares_memory(Z.grad, b1.grad)


def test_no_grad_also_decorates_without_brackets_as_in_pytorch():
    @mg.no_grad
    def double(x):
        return x * 2

    assert not double(Tensor([1.0], requires_grad=True)).requires_grad
    assert mg.is_grad_enabled()
