"""Values no rule reads are let go during the forward pass (release.py), found in the rules' code
(rule_reads.py): what is read is found right, what is let go changes no gradient, and a let-go value is never
silently read."""

from __future__ import annotations

import functools
import gc
import importlib
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from minigrad.release import ReleasedValues
from minigrad.rule_reads import EVERYTHING, reads_of

ROOT = Path(__file__).resolve().parents[2]
op_module = importlib.import_module("minigrad.op")  # the module, not `mg.op`


# ----- what a rule reads ----------------------------------------------------------------------------


def test_a_rule_reads_the_parameters_its_code_loads() -> None:
    assert reads_of(lambda g, out, x: g * out) == (True, frozenset(), 1 << 30)
    product = reads_of(lambda g, out, x, y: g * y)
    assert not product.out and product.reads_input(1) and not product.reads_input(0)
    assert not reads_of(lambda g, out, x: g).reads_input(0)


def test_reading_only_the_shape_or_dtype_is_not_reading_the_value() -> None:
    rule = reads_of(lambda g, out, x: np.broadcast_to(g, x.shape).astype(x.dtype) * out.size)
    assert not rule.out and not rule.reads_input(0)
    assert reads_of(lambda g, out, x: g * x.sum()).reads_input(0)  # a method call reads it


def test_a_rule_whose_code_cannot_be_read_reads_everything() -> None:
    def by_name(g, out, x):
        return g * locals()["x"]

    def nested(g, out, x):
        return (lambda: g * x)()  # read from a nested function

    assert reads_of(by_name) == EVERYTHING
    assert reads_of(functools.partial(lambda g, out, x, k: g * k, k=2)) == EVERYTHING
    assert reads_of(np.multiply) == EVERYTHING
    assert reads_of(nested).reads_input(0)


def test_a_rule_with_star_inputs_reads_every_input_past_its_named_ones() -> None:
    rule = reads_of(lambda g, out, first, *rest: [g * r for r in rest])
    assert not rule.reads_input(0) and rule.reads_input(1) and rule.reads_input(5)
    assert not reads_of(lambda g, out, *xs: [g for _ in range(2)]).reads_input(0)


# ----- what is let go, and what is kept ---------------------------------------------------------------


def _chain(x: mg.Tensor) -> mg.Tensor:
    """The benchmark's chain, `x + (-0.5)`, `x * 4.0`, `sigmoid(x)`, twice."""
    for _ in range(2):
        x = mg.sigmoid((x + (-0.5)) * 4.0)
    return x


def test_values_no_rule_reads_are_let_go_and_those_a_rule_reads_are_kept() -> None:
    x = mg.Tensor(np.random.default_rng(0).normal(size=(100, 100)), requires_grad=True)
    y = _chain(x)
    product = y.parents[0]  # sigmoid reads its output, not its input
    total = product.parents[0]
    inner = total.parents[0]  # the first sigmoid's output: the second `+`'s rule does not read it, ...
    assert type(total._data) is ReleasedValues  # `*`'s rule reads the 4.0, not this
    assert type(inner._data) is np.ndarray  # ... but its own rule reads it
    assert total.shape == (100, 100) and total.dtype == np.float64 and total.op == "add"
    assert type(product._data) is np.ndarray  # y still holds it, and no later operation used y yet


def test_a_value_the_caller_holds_is_never_let_go() -> None:
    x = mg.Tensor(np.ones((100, 100)), requires_grad=True)
    total = x * 3.0 + 1.0
    product = total * 4.0
    out = mg.sigmoid(product)
    mg.sigmoid(out).sum().backward()
    np.testing.assert_array_equal(total.data, np.full((100, 100), 4.0))
    assert type(product._data) is np.ndarray


def test_small_arrays_are_kept_so_drawings_show_their_values() -> None:
    x = mg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = mg.sigmoid(mg.sigmoid((x + 1.0) * 2.0) * 3.0)
    assert "1.5" in mg.to_dot(y)  # x + 1.0, drawn with its values


def test_a_drawing_says_which_values_were_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(op_module, "RELEASE_FROM", 0)
    x = mg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = mg.sigmoid(mg.sigmoid((x + 1.0) * 2.0) * 3.0)  # not inside `assert`: pytest would hold the parts
    assert "(values released)" in mg.to_dot(y)


def test_reading_a_let_go_value_is_an_error_that_says_why() -> None:
    x = mg.Tensor(np.ones((100, 100)), requires_grad=True)
    gone = _chain(x).parents[0].parents[0]
    for read in (
        lambda: gone.data,
        lambda: gone.numpy(),
        lambda: gone.item(),
        lambda: gone + 1.0,
        lambda: gone.reshape(1600),
        lambda: gone._data.argmax(),
        lambda: gone._data[0],
        lambda: float(gone._data),
    ):
        with pytest.raises(RuntimeError, match="released during the forward pass"):
            read()
    assert "<released>" in repr(gone)


def test_a_let_go_array_is_freed_during_the_forward_pass() -> None:
    x = mg.Tensor(np.ones((100, 100)), requires_grad=True)
    first = (x + 1.0) * 2.0  # held: kept
    watched = weakref.ref(first.parents[0]._data)
    assert watched() is not None
    y = mg.sigmoid(first)
    del first
    mg.sigmoid(y * 1.0)  # uses y: the `*` it came through lets go of the `+`'s value
    gc.collect()
    assert watched() is None


def test_gradients_of_large_intermediates_nobody_holds_are_dropped_and_held_ones_kept() -> None:
    x = mg.Tensor(np.ones((100, 100)), requires_grad=True)
    held = x * 2.0
    y = mg.sigmoid((held + 1.0) * 3.0)
    mg.sigmoid(y * 1.0).sum().backward()
    product = y.parents[0]
    assert held.grad is not None and y.grad is not None  # the caller holds them: `.grad` as before
    assert product.grad is None and product.parents[0].grad is None  # reachable through `parents` only
    s = 1 / (1 + np.exp(-9.0))  # y = sigmoid(3 (2x + 1)) at x = 1, written out
    u = 1 / (1 + np.exp(-s))
    np.testing.assert_allclose(x.grad, np.full((100, 100), u * (1 - u) * s * (1 - s) * 6.0), rtol=1e-12)


def test_small_intermediates_keep_their_gradients_for_drawings() -> None:
    x = mg.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = mg.sigmoid(mg.sigmoid((x + 1.0) * 2.0) * 3.0)
    y.sum().backward()
    inner = y.parents[0].parents[0]
    assert inner.grad is not None and "‖grad‖" in mg.to_dot(y)


def test_gradients_are_those_of_the_engine_that_keeps_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    values = [rng.normal(size=(30, 40)), rng.normal(size=(40, 20)), rng.normal(size=(30, 1))]

    def loss(a, b, c):
        h = mg.tanh(a @ b + 0.5) * 3.0
        z = mg.exp(-((h - c) ** 2)).mean(axis=1, keepdims=True) + mg.sigmoid(h).sum() / 7.0
        return (z * z).sum() + mg.logsumexp(h, axis=0).max()

    def gradients(release_from: int) -> list[np.ndarray]:
        monkeypatch.setattr(op_module, "RELEASE_FROM", release_from)
        leaves = [mg.Tensor(v, requires_grad=True) for v in values]
        loss(*leaves).backward()
        return [t.grad for t in leaves]

    for kept, released in zip(gradients(1 << 62), gradients(0)):
        np.testing.assert_array_equal(released, kept)


def test_second_order_gradients_go_through_let_go_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(op_module, "RELEASE_FROM", 0)
    x = mg.Tensor(np.linspace(-1, 1, 7), requires_grad=True)
    y = mg.sigmoid((x + 0.25) * 3.0)  # the `+` is let go when y is used
    (dy,) = mg.grad(mg.sigmoid(y * 1.0).sum(), x, create_graph=True)
    dy.sum().backward()
    s = 1 / (1 + np.exp(-(3 * (x.data + 0.25))))  # written out: y = s, u = sigmoid(y)
    u = 1 / (1 + np.exp(-s))
    du_dy, ds_dx = u * (1 - u), 3 * s * (1 - s)
    d2 = du_dy * (1 - 2 * u) * ds_dx**2 + du_dy * 3 * ds_dx * (1 - 2 * s)
    np.testing.assert_allclose(x.grad, d2, rtol=1e-12)


def test_every_operation_is_right_with_every_unread_value_let_go() -> None:
    """The operations' own tests again, with MINIGRAD_RELEASE_FROM=0: every built-in rule runs with the
    values it does not read let go, and a wrongly let-go value would raise, not give a wrong gradient."""
    env = {**os.environ, "MINIGRAD_RELEASE_FROM": "0", "HYPOTHESIS_PROFILE": "reads"}  # see conftest.py
    tests = ["tests/minigrad/ops", "tests/minigrad/test_losses.py"]  # users' rules: test_release_adversarial
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout


def test_the_setting_refuses_what_is_not_a_number_of_bytes() -> None:
    for value, said in (("lots", "not a whole number"), ("-1", "cannot be negative")):
        done = subprocess.run(
            [sys.executable, "-c", "import minigrad"],
            env={**os.environ, "MINIGRAD_RELEASE_FROM": value},
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0 and said in done.stderr


def test_built_in_rules_read_no_input_of_a_sum_a_mean_or_an_addition() -> None:
    assert not ops.sum.reads_out and not ops.sum.reads_input(0, [0])
    assert not ops.mean.reads_out
    assert ops.sigmoid.reads_out
