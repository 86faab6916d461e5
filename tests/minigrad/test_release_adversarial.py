"""An adversarial pass over letting go of unread values (release.py, rule_reads.py): the ways a released
value could leak out as numbers, the bytecode of newer Pythons, rules that reach their variables by name,
and the patterns that held (pinned here so that they keep holding)."""

from __future__ import annotations

import copy
import dis
import functools
import importlib
import sys
import threading
from collections.abc import Callable

import numpy as np
import pytest

import minigrad as mg
from minigrad.release import is_released
from minigrad.rule_reads import EVERYTHING, names_loaded, reads_of

op_module = importlib.import_module("minigrad.op")  # the module, not `mg.op`
RNG = np.random.default_rng(23)
A = RNG.normal(size=(100, 100))  # 80 kB: past the default threshold


def _released_intermediate() -> tuple[mg.Tensor, mg.Tensor, mg.Tensor]:
    """(root, y, gone): `gone`, the `(x + 1) * 2` before `+ 0.5`, released once y was used."""
    x = mg.Tensor(A, requires_grad=True)
    y = mg.sigmoid(((x + 1.0) * 2.0 + 0.5) * 3.0)
    root = mg.sigmoid(y * 1.0)
    gone = y.parents[0].parents[0]
    assert is_released(gone)
    return root, y, gone


# ----- a released value never leaves as numbers ------------------------------------------------------


def test_detaching_or_copying_a_released_tensor_refuses_instead_of_giving_zeros() -> None:
    _, _, gone = _released_intermediate()
    # Each of these read the shared placeholder through np.asarray / np.array and gave zeros.
    for read in (
        lambda: gone.detach(),
        lambda: mg.Tensor(gone),
        lambda: mg.copy(gone),  # a forward function calling np.array on its input
        lambda: mg.real(gone),
    ):
        with pytest.raises(RuntimeError, match="released during the forward pass"):
            read()


def test_numpy_asking_a_released_tensor_that_needs_no_gradient_for_its_values_is_refused() -> None:
    _, _, gone = _released_intermediate()
    gone.requires_grad = False  # now NumPy may ask for its values (`Tensor.__array__`)
    with pytest.raises(RuntimeError, match="released during the forward pass"):
        np.asarray(gone)  # gave the shared placeholder's element: zeros


def test_a_forward_function_that_reads_by_asarray_refuses_on_a_released_input() -> None:
    @mg.op
    def twice(x):
        return 2.0 * np.asarray(x)  # np.asarray does not ask the array subclass

    twice.defvjp(lambda g, out, x: 2.0 * g)
    _, _, gone = _released_intermediate()
    with pytest.raises(RuntimeError, match="released during the forward pass"):
        twice(gone)


def test_what_numpy_reads_of_released_values_without_asking_is_nan_and_nothing_writes_to_it() -> None:
    _, _, gone = _released_intermediate()
    values = gone._data
    assert np.isnan(np.asarray(values)).all()  # were 0.0: a plausible value
    assert np.isnan(np.array(values, dtype=np.float32)).all()
    assert not values.flags.writeable
    with pytest.raises(RuntimeError, match="released"):
        values[...] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(values)[0, 0] = 1.0  # the element all released arrays share


def test_a_requires_grad_set_after_the_graph_was_built_gets_an_error_that_says_so() -> None:
    X = mg.Tensor(A)
    W = mg.Tensor(A, requires_grad=True)
    out = mg.sigmoid(mg.matmul(X, W * 2.0) * 1.0)  # X's rule would read W * 2; X needed none: let go
    loss = out.sum()
    X.requires_grad = True
    with pytest.raises(RuntimeError, match="a requires_grad set to True after the tensor was used"):
        loss.backward()


def test_a_rule_registered_again_after_the_graph_was_built_gets_an_error_that_says_so() -> None:
    @mg.op
    def double(x):
        return 2.0 * x

    double.defvjp(lambda g, out, x: 2.0 * g)
    x = mg.Tensor(A, requires_grad=True)
    y = mg.sigmoid(double(x * 1.0) * 1.0)
    z = (y * 1.0).sum()
    double.defvjp(lambda g, out, x: 2.0 * g + 0.0 * x)  # now reads x, let go under the old rule
    with pytest.raises(RuntimeError, match="registered again with defvjp"):
        z.backward()


# ----- what a rule reads, in newer Pythons' bytecode and by name -------------------------------------


def _fused(rule, first: str) -> list[dis.Instruction]:
    """The rule's 3.11 instructions with `LOAD_FAST first` and the load after it made one 3.13
    `LOAD_FAST_LOAD_FAST`, as Python 3.13 compiles `f(g, x.shape)`."""
    instructions = list(dis.get_instructions(rule.__code__))
    i = next(i for i, ins in enumerate(instructions) if ins.opname == "LOAD_FAST" and ins.argval == first)
    fused = instructions[i]._replace(opname="LOAD_FAST_LOAD_FAST", argval=(first, instructions[i + 1].argval))
    return [*instructions[:i], fused, *instructions[i + 2 :]]


def test_two_names_loaded_at_once_are_read_as_the_two_loads_would_be() -> None:
    # Python 3.13 compiles `sum`'s rule `_spread(g, x.shape, ...)` to LOAD_FAST_LOAD_FAST (g, x), LOAD_ATTR
    # shape: x was taken as read, and no sum's input was ever let go on 3.13.
    assert names_loaded(_fused(lambda g, out, x: np.broadcast_to(g, x.shape), "g")) == {"g"}
    assert names_loaded(_fused(lambda g, out, x: g * x, "g")) == {"g", "x"}
    assert names_loaded(_fused(lambda g, out, x: g * x.shape[0] * out, "g")) == {"g", "out"}


def test_a_store_then_a_load_reads_only_the_loaded_name() -> None:
    instructions = list(dis.get_instructions((lambda g, out, x: g).__code__))
    i = next(i for i, ins in enumerate(instructions) if ins.opname == "LOAD_FAST")
    fused = instructions[i]._replace(opname="STORE_FAST_LOAD_FAST", argval=("x", "g"))  # as 3.13 writes
    assert names_loaded([*instructions[:i], fused, *instructions[i + 1 :]]) == {"g"}


def test_this_pythons_bytecode_reads_the_reductions_shape_only() -> None:
    assert not mg.ops.sum.reads[0].reads_input(0)
    assert not mg.ops.mean.reads[0].reads_input(0)


def test_a_rule_that_reaches_its_variables_through_a_frame_reads_everything() -> None:
    def imported(g, out, x):
        from sys import _getframe

        return g * _getframe().f_locals["x"]

    def through_builtins(g, out, x):
        import builtins

        return g * builtins.locals()["x"]

    frame_of = sys._getframe

    def aliased(g, out, x):
        return g * frame_of().f_locals["x"]

    def debugged(g, out, x):
        breakpoint()  # the debugger shows x: its value is kept
        return g

    def debugged_by_pdb(g, out, x):
        import pdb

        pdb.set_trace()
        return g

    for rule in (imported, through_builtins, aliased, debugged, debugged_by_pdb):
        assert reads_of(rule) == EVERYTHING, rule.__name__


# ----- patterns that held ------------------------------------------------------------------------------


def test_rules_in_unusual_shapes_are_read_as_they_read() -> None:
    def deleted(g, out, x):
        del x  # a DELETE_FAST: taken as a read (safe)
        return g

    class Rule:
        def __call__(self, g, out, x):
            return g * x

    assert reads_of(deleted).reads_input(0)
    assert reads_of(Rule()) == EVERYTHING
    assert reads_of(Rule().__call__) == EVERYTHING  # a bound method
    assert reads_of(lambda g, out, x: (lambda: g * x)()).reads_input(0)  # a closure over x
    assert reads_of(lambda g, out, x: [g * x for _ in range(2)]).reads_input(0)
    assert not reads_of(lambda g, out, x: [g for _ in x.shape]).reads_input(0)

    def in_message(g, out, x):
        if g.ndim > 9:
            raise ValueError(f"{x}")  # the value, formatted: read
        return g

    assert reads_of(in_message).reads_input(0)


def test_gradients_with_respect_to_released_and_held_intermediates() -> None:
    root, y, gone = _released_intermediate()
    (g_gone, g_y) = mg.grad(root.sum(), [gone, y])
    u = 1 / (1 + np.exp(-y.data))  # root = sigmoid(y), y = sigmoid(3 (gone + 0.5)), written out
    np.testing.assert_allclose(g_y.data, u * (1 - u), rtol=1e-12)
    np.testing.assert_allclose(g_gone.data, u * (1 - u) * y.data * (1 - y.data) * 3.0, rtol=1e-12)


def test_a_backward_pass_twice_over_released_values_adds_the_same_gradients() -> None:
    x = mg.Tensor(A, requires_grad=True)
    loss = mg.sigmoid(mg.tanh((x * 2.0 + 1.0) * 0.5) * 1.0).sum()
    loss.backward()
    first = x.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * first)


def test_a_copied_graph_keeps_its_released_values_released_and_back_propagates() -> None:
    root, _, _ = _released_intermediate()
    twin = copy.deepcopy(root)
    assert is_released(twin.parents[0].parents[0].parents[0].parents[0])
    twin.sum().backward()  # the copy's leaf gets the same gradient as the original's would
    leaf = twin
    while leaf.parents:
        leaf = leaf.parents[0]
    root.sum().backward()
    original = root
    while original.parents:
        original = original.parents[0]
    np.testing.assert_array_equal(leaf.grad, original.grad)


def test_a_copied_graph_keeps_the_shared_placeholder_not_a_full_array_of_it() -> None:
    root, _, gone = _released_intermediate()
    twin = copy.deepcopy(root).parents[0].parents[0].parents[0].parents[0]
    assert is_released(twin)
    assert twin._data is gone._data  # was a new array of 100 x 100 elements
    assert copy.copy(gone._data) is gone._data
    rebuild, args = gone._data.__reduce_ex__(5)  # what pickle would store: the shape and dtype only
    assert rebuild(*args) is gone._data and args == ((100, 100), "<f8")


def test_graphs_built_and_back_propagated_in_threads_get_the_single_threads_gradients() -> None:
    def loss(x: mg.Tensor) -> mg.Tensor:
        return mg.logsumexp(mg.tanh((x * 2.0 + 1.0) * 0.5) * 3.0, axis=0).sum()

    x = mg.Tensor(A, requires_grad=True)
    loss(x).backward()
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                t = mg.Tensor(A, requires_grad=True)
                loss(t).backward()
                results.append(t.grad)
        except BaseException as error:  # handed to the main thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 15
    for g in results:
        np.testing.assert_array_equal(g, x.grad)


def test_a_compiled_step_is_the_eager_one_bit_for_bit_with_every_unread_value_let_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(op_module, "RELEASE_FROM", 0)
    b = RNG.normal(size=(100, 30))

    def loss(w, b):
        h = mg.tanh((w @ b + 0.5) * 2.0)
        return (mg.exp(-((h - 1.0) ** 2)).mean(axis=1) * 3.0).sum() + mg.logsumexp(h, axis=0).max()

    w_eager, b_eager = mg.Tensor(A, requires_grad=True), mg.Tensor(b, requires_grad=True)
    value = loss(w_eager, b_eager)
    value.backward()
    step = mg.compile(loss)
    for _ in range(2):  # the trace, then a replay
        J, (gw, gb) = step(mg.Tensor(A, requires_grad=True), mg.Tensor(b, requires_grad=True))
        np.testing.assert_array_equal(J, value.data)
        np.testing.assert_array_equal(gw, w_eager.grad)
        np.testing.assert_array_equal(gb, b_eager.grad)


# Random graphs: each step one of these on earlier nodes (reused at random, some held by the caller).
_ONE = (
    lambda a: a + 0.5,
    lambda a: mg.sigmoid(a),
    lambda a: mg.tanh(a) * 1.5,
    lambda a: mg.exp(a * 0.1),
    lambda a: a.sum(axis=0, keepdims=True) * 1.0 + a,
    lambda a: a.mean(axis=1, keepdims=True) + a,
    lambda a: a.reshape(-1).reshape(a.shape),
    lambda a: mg.softmax(a, axis=0),
    lambda a: mg.log_softmax(a, axis=1),
    lambda a: mg.relu(a) ** 2,
    lambda a: a.max(axis=0, keepdims=True) * a,
    lambda a: mg.logsumexp(a, axis=0, keepdims=True) - a,
    lambda a: a[::-1] * 1.0,
    lambda a: 1.0 / (1.0 + a * a),
)
_TWO = (
    lambda a, b: a + b,
    lambda a, b: a * b,
    lambda a, b: mg.maximum(a, b),
    lambda a, b: (a @ b.T) @ b * 0.01,
    lambda a, b: mg.concatenate([a, b], axis=0)[: a.shape[0]] * 1.0,
    lambda a, b: a / (1.0 + b * b),
)


def _random_graph(seed: int, create_graph: bool) -> list[np.ndarray | None]:
    """The leaves' gradients, and the gradients and values of the intermediates the caller held."""
    rng = np.random.default_rng(seed)
    leaves = [mg.Tensor(rng.normal(size=(20, 20)), requires_grad=True) for _ in range(2)]
    constant = mg.Tensor(rng.normal(size=(20, 20)))
    pool, held = list(leaves), []
    for _ in range(10):
        if rng.random() < 0.6:
            t = _ONE[rng.integers(len(_ONE))](pool[rng.integers(len(pool))])
        else:
            b = constant if rng.random() < 0.2 else pool[rng.integers(len(pool))]
            t = _TWO[rng.integers(len(_TWO))](pool[rng.integers(len(pool))], b)
        pool.append(t)
        if rng.random() < 0.3:
            held.append(t)
    ends = [pool[-1]] + [pool[j] for j in rng.choice(len(pool), 2)]
    del pool, t  # the rest is held by the graph alone
    loss = sum(((end * 1.0) ** 2).mean() for end in ends)
    if create_graph:
        first = mg.grad(loss, leaves, create_graph=True)
        loss = (first[0] * first[1]).sum()
    loss.backward()
    return [t.grad for t in leaves + held] + [t.data for t in held]


@pytest.mark.parametrize("create_graph", [False, True])
def test_random_graphs_have_the_same_gradients_and_held_values_with_every_unread_value_let_go(
    monkeypatch: pytest.MonkeyPatch, create_graph: bool
) -> None:
    modules = [op_module, *map(importlib.import_module, ("minigrad.backward", "minigrad.release"))]
    for seed in range(25):
        results = []
        for release_from in (1 << 62, 0):  # keeps everything; lets go of everything no rule reads
            for module in modules:
                monkeypatch.setattr(module, "RELEASE_FROM", release_from)
            results.append(_random_graph(seed, create_graph))
        for kept, released in zip(*results):
            assert (kept is None) == (released is None), seed
            if kept is not None:
                np.testing.assert_array_equal(released, kept, err_msg=f"seed {seed}")


def test_values_held_in_a_list_a_dict_a_closure_or_a_cache_keep_their_values_and_gradients() -> None:
    x = mg.Tensor(A, requires_grad=True)
    in_list = [x * 2.0]
    in_dict = {"h": in_list[0] + 1.0}

    def make() -> tuple[Callable[[], mg.Tensor], mg.Tensor]:
        h = x * 3.0
        return (lambda: h), h + 0.0

    in_closure, total = make()

    @functools.lru_cache
    def cached() -> mg.Tensor:
        return x * 4.0

    y = mg.sigmoid((in_list[0] + in_dict["h"] + total + cached()) * 1.0)
    mg.sigmoid(y * 1.0).sum().backward()
    expected = ((in_list[0], 2 * A), (in_dict["h"], 2 * A + 1), (in_closure(), 3 * A), (cached(), 4 * A))
    for held, value in expected:
        assert not is_released(held) and held.grad is not None
        np.testing.assert_array_equal(held.data, value)


def test_a_forward_that_returns_a_view_of_its_released_input_keeps_its_own_values() -> None:
    @mg.op
    def top(x):
        return x[:50]  # a view: its memory is the input's

    top.defvjp(lambda g, out, x: np.concatenate([g, np.zeros((x.shape[0] - 50, *x.shape[1:]))]))
    x = mg.Tensor(A, requires_grad=True)
    view = top(x * 2.0)
    mg.sigmoid(mg.sigmoid(view * 1.0) * 1.0).sum().backward()
    assert is_released(view.parents[0])  # the input's Tensor let go of its array ...
    np.testing.assert_array_equal(view.data, 2 * A[:50])  # ... which the view still holds
