"""What the engine keeps between calls: grad mode per thread, in-place updates, a graph that grows."""

import threading
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor
from minigrad.optim import SGD

rng = np.random.default_rng(7)


def lab_cost(W1, X, Y):
    A = (W1 @ X).sigmoid().mean(axis=0, keepdims=True)
    return ((A - Y) * (A - Y)).mean()


# ----- in-place updates, as in PyTorch --------------------------------------------------------


def test_an_in_place_update_under_no_grad_changes_the_tensor_itself_and_keeps_it_a_leaf():
    W = Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    (W * 3.0).sum().backward()
    data = W.data
    with mg.no_grad():
        W -= 0.5 * W.grad
    assert W.data is data  # the same array, changed in place
    np.testing.assert_array_equal(W.data, np.full((2, 2), 1 - 0.5 * 3))
    assert W.requires_grad and W.op == "" and W.parents == ()


@pytest.mark.parametrize("update", [lambda W: W.__iadd__(1.0), lambda W: W.__imul__(2.0)])
def test_an_in_place_change_of_a_tensor_that_requires_a_gradient_is_refused_outside_no_grad(update):
    W = Tensor(np.ones(3), requires_grad=True, name="W1")
    with pytest.raises(RuntimeError, match=r"'W1'.*no_grad"):
        update(W)
    np.testing.assert_array_equal(W.data, np.ones(3))


# ----- the hand-written loop whose graph keeps growing ----------------------------------------


# (100, 100): large enough that the earlier steps, which nobody holds, keep no gradient (release.py)
@pytest.mark.parametrize("n", [2, 100])
def test_replacing_a_parameter_by_an_operation_on_itself_warns_once_naming_it(n):
    X, Y = rng.standard_normal((n, 20)), rng.random((1, 20))
    W1 = Tensor(rng.standard_normal((n if n > 2 else 3, n)), requires_grad=True, name="W1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(8):
            lab_cost(W1, X, Y).backward()
            W1 = W1 - 0.1 * W1.grad  # the mistake: a graph that holds every earlier step
    growing = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(growing) == 1
    message = str(growing[0].message)
    assert "'W1'" in message and "no_grad" in message and "zero_grad" in message
    assert growing[0].filename == __file__  # it points at the user's backward() call


def written_the_right_way(X, Y, W1):
    for _ in range(8):
        lab_cost(W1, X, Y).backward()
        with mg.no_grad():
            W1 -= 0.1 * W1.grad
        W1.zero_grad()


def two_losses_from_one_graph(X, Y, W1):
    for _ in range(8):
        A = (W1 @ X).tanh()
        A.sum().backward()
        (A * A).mean().backward()
        W1.data -= 0.01 * W1.grad
        W1.zero_grad()


def the_same_graph_again_and_again(X, Y, W1):
    J = lab_cost(W1, X, Y)
    for _ in range(8):
        J.backward()


@pytest.mark.parametrize(
    "loop", [written_the_right_way, two_losses_from_one_graph, the_same_graph_again_and_again]
)
def test_ordinary_loops_do_not_warn(loop):
    X, Y = rng.standard_normal((2, 20)), rng.random((1, 20))
    W1 = Tensor(rng.standard_normal((3, 2)), requires_grad=True, name="W1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loop(X, Y, W1)


# ----- grad mode is per thread ----------------------------------------------------------------


def test_no_grad_in_one_thread_leaves_another_threads_graph_alone():
    inside, release = threading.Event(), threading.Event()

    def hold_no_grad():
        with mg.no_grad():
            inside.set()
            release.wait(5)

    other = threading.Thread(target=hold_no_grad)
    other.start()
    try:
        assert inside.wait(5)
        x = Tensor([1.0, 2.0], requires_grad=True)
        assert mg.is_grad_enabled() and (x * 2.0).requires_grad
    finally:
        release.set()
        other.join()


def test_no_grad_on_a_generator_function_keeps_the_graph_off_while_it_runs():
    W = Tensor(np.ones(2), requires_grad=True)

    @mg.no_grad()
    def predictions(batches):
        for X in batches:
            yield W * X

    outputs = list(predictions([np.ones(2), np.full(2, 2.0)]))
    assert [o.requires_grad for o in outputs] == [False, False]
    np.testing.assert_array_equal(outputs[1].data, [2.0, 2.0])
    assert mg.is_grad_enabled() and (W * 1.0).requires_grad


# ----- values and names -----------------------------------------------------------------------


def test_float16_reductions_accumulate_in_a_wider_type():
    x = Tensor(np.full(100, 1000, dtype=np.float16), requires_grad=True)
    m = x.mean()
    assert m.dtype == np.float16 and float(m.data) == 1000.0
    m.backward()
    np.testing.assert_array_equal(x.grad, np.full(100, 0.01, dtype=np.float16))


def test_named_gives_a_name_and_returns_the_same_tensor():
    W, X = Tensor(np.ones((2, 3)), requires_grad=True), np.ones((3, 4))
    Z = (W @ X).named("Z")
    assert Z.name == "Z" and Z.op == "matmul"
    assert "Z" in mg.to_dot(Z.sum())


@pytest.mark.parametrize("bad", [3, b"W", ["W"]])
def test_a_name_must_be_a_string(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Tensor(1.0, name=bad)


@pytest.mark.parametrize(
    ("value", "error", "words"), [([1.0, 2.0], TypeError, "list"), (np.ones(3), ValueError, r"\(3,\)")]
)
def test_grad_set_by_hand_must_be_an_array_of_the_tensors_shape(value, error, words):
    t = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(error, match=words):
        t.grad = value


def test_a_grad_set_by_hand_is_added_to_out_of_place():
    W = Tensor(np.ones(2), requires_grad=True)
    mine = np.array([10.0, 20.0])
    W.grad = mine
    (W * 2.0).sum().backward()
    np.testing.assert_array_equal(W.grad, [12.0, 22.0])
    np.testing.assert_array_equal(mine, [10.0, 20.0])  # the user's array is not changed


@pytest.mark.parametrize("eps", [0.0, -1e-6, float("nan")])
def test_gradcheck_refuses_a_step_that_is_not_positive(eps):
    with pytest.raises(ValueError, match="eps"):
        mg.gradcheck(lambda x: x * x, Tensor([1.0], requires_grad=True), eps=eps)


# ----- copies, pickles and threads ------------------------------------------------------------


def test_a_copy_has_a_grad_of_its_own():
    import copy

    W = Tensor(np.ones(3), requires_grad=True)
    (W * 2.0).sum().backward()
    for clone in (copy.copy(W), copy.deepcopy(W)):
        clone.grad += 1.0
        np.testing.assert_array_equal(W.grad, [2.0, 2.0, 2.0])
        (clone * 3.0).sum().backward()
        np.testing.assert_array_equal(clone.grad, [6.0, 6.0, 6.0])
        np.testing.assert_array_equal(W.grad, [2.0, 2.0, 2.0])


def test_a_deep_copied_graph_reads_the_copied_tensors_not_the_originals():
    import copy

    W = Tensor(np.array([[1.0, 2.0]]), requires_grad=True, name="W")
    X = Tensor(np.array([[3.0], [4.0]]), requires_grad=True, name="X")
    J = (W @ X).sum()
    J2 = copy.deepcopy(J)
    W.data = W.data * 10  # the original changes; the copy's graph holds its own W
    J2.backward()
    X2 = next(t for t in J2.parents[0].parents if t.name == "X")
    W2 = next(t for t in J2.parents[0].parents if t.name == "W")
    np.testing.assert_array_equal(X2.grad, [[1.0], [2.0]])  # dJ/dX = Wᵀ of the copy
    np.testing.assert_array_equal(W2.grad, [[3.0, 4.0]])
    assert W.grad is None and X.grad is None
    assert J2.parents[0].op == "matmul"


def test_a_graph_pickles_and_back_propagates_after_unpickling():
    import pickle

    W = Tensor(np.array([0.5, -1.0]), requires_grad=True, name="W")
    J = (W.sigmoid() * W).sum()
    J2 = pickle.loads(pickle.dumps(J))
    J2.backward()
    s = 1 / (1 + np.exp(-W.data))
    leaf = J2.parents[0].parents[1]
    np.testing.assert_allclose(leaf.grad, s * (1 - s) * W.data + s)


def test_backward_passes_in_several_threads_into_one_leaf_lose_no_update():
    # Arrays large enough that NumPy lets go of the interpreter lock while it adds.
    W = Tensor(np.zeros((400, 400)), requires_grad=True)
    X = np.ones((400, 400))
    passes_per_thread, threads = 40, 4

    def work():
        for _ in range(passes_per_thread):
            (W * X).sum().backward()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    np.testing.assert_array_equal(W.grad, np.full((400, 400), float(passes_per_thread * threads)))


# ----- messages that name the problem ---------------------------------------------------------


@pytest.mark.parametrize("axis", [1.0, "0", True, (0, 1.5)])
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "logsumexp"])
def test_an_axis_that_is_not_a_whole_number_is_a_type_error_naming_it(reduction, axis):
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(TypeError, match=rf"{reduction}: axis must be an int.*{type(axis).__name__}"):
        getattr(mg, reduction)(t, axis=axis)


def test_reshape_takes_a_shape_as_an_integer_array_and_refuses_fractions():
    t = Tensor(np.arange(6.0), requires_grad=True)
    assert t.reshape(np.array([3, 2])).shape == (3, 2)
    with pytest.raises(TypeError, match=r"reshape: the new shape must be whole numbers"):
        t.reshape(np.array([3.0, 2.0]))


# ----- gradients are never silently stale -----------------------------------------------------


def sgd_step(W):
    SGD([W], learning_rate=0.5).step()


def scaled_in_place(W):
    W.data *= 10


def given_a_new_array(W):
    W.data = np.ones((3, 3))


def updated_under_no_grad(W):
    with mg.no_grad():
        W -= 1.0


@pytest.mark.parametrize("change", [sgd_step, scaled_in_place, given_a_new_array, updated_under_no_grad])
def test_backward_over_a_graph_built_before_its_data_changed_is_an_error_naming_it(change):
    W = Tensor(np.array([[1.0, 2.0]]), requires_grad=True, name="W")
    X = Tensor(np.array([[3.0], [4.0]]), requires_grad=True, name="X")
    J = (W @ X).sum()
    J.backward()
    change(W)
    with pytest.raises(RuntimeError, match=r"'W' was changed.*matmul.*forward pass again"):
        J.backward()
    with pytest.raises(RuntimeError, match=r"'W' was changed"):
        mg.grad(J, X)


def test_a_changed_intermediate_whose_rule_reads_it_is_refused_too():
    Z = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    A = Z.sigmoid()
    A.data = np.zeros(2)  # sigmoid's rule reads its output
    with pytest.raises(RuntimeError, match="sigmoid"):
        A.sum().backward()


def test_the_labs_loop_that_builds_the_graph_again_each_step_is_unaffected():
    X, Y = rng.standard_normal((2, 20)), rng.random((1, 20))
    W1 = Tensor(rng.standard_normal((3, 2)), requires_grad=True, name="W1")
    optimiser = SGD([W1], learning_rate=0.1)
    costs = []
    for _ in range(5):
        optimiser.zero_grad()
        J = lab_cost(W1, X, Y)
        J.backward()
        optimiser.step()
        costs.append(J.item())
    assert costs[-1] < costs[0]
