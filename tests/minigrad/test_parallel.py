"""Blocks and threads change no bit: minigrad.parallel against whole-array NumPy written out separately."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import parallel
from minigrad.backward import rules_running

# The formulas as they were written before blocks and threads, applied to whole arrays.
FORWARD = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "exp": np.exp,
    "relu": lambda x: np.maximum(x, 0),
}
RULE = {  # d(op)/dx times g, from the output (or the input, for relu)
    "sigmoid": lambda g, out, x: g * (out * (1 - out)),
    "tanh": lambda g, out, x: g * (1 - out * out),
    "exp": lambda g, out, x: g * out,
    "relu": lambda g, out, x: g * (x > 0),
}
OPS = sorted(FORWARD)


@contextlib.contextmanager
def blocks_of_64(threads: int = 2) -> Iterator[None]:
    """Blocks of 64 elements from 256 elements on: every path taken on small arrays."""
    old = parallel.configure(threads=threads, min_size=256, block=64)
    try:
        yield
    finally:
        parallel.configure(**old)


@pytest.fixture
def small_blocks() -> Iterator[None]:
    with blocks_of_64():
        yield


def _whole(fn, *args):
    old = parallel.configure(threads=1, min_size=2**62)
    try:
        return fn(*args)
    finally:
        parallel.configure(**old)


def _forward_and_rule(name: str, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    op = getattr(mg.ops.elementwise, name)
    out = op.forward(x)
    with rules_running(create_graph=False):  # as a backward pass runs a rule: on arrays
        return out, op.input_rules[0](g, out, x)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


sizes_around_threshold = st.one_of(
    st.integers(1, 1000),
    st.integers(parallel.MIN_SIZE - 200, parallel.MIN_SIZE + 3 * parallel.BLOCK + 200),
)


@settings(max_examples=25)
@given(name=st.sampled_from(OPS), size=sizes_around_threshold, seed=st.integers(0, 2**32 - 1))
def test_threaded_blocks_equal_whole_arrays_bit_for_bit_at_the_real_threshold(name, size, seed):
    rng = np.random.default_rng(seed)
    x, g = rng.normal(0, 5, size), rng.standard_normal(size)
    x[:: max(1, size // 7)] = 0.0  # relu's kink and sigmoid's centre
    old = parallel.configure(threads=2)
    try:
        out, grad = _forward_and_rule(name, x, g)
    finally:
        parallel.configure(**old)
    with np.errstate(over="ignore"):
        assert _same_bits(out, FORWARD[name](x))
    assert _same_bits(grad, RULE[name](g, FORWARD[name](x), x))


@given(
    name=st.sampled_from(OPS),
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=3),
    dtype=st.sampled_from([np.float64, np.float32]),
    threads=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_number_of_threads_gives_the_bits_of_one_whole_call(name, shape, dtype, threads, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 30, shape).astype(dtype)  # large enough that exp overflows and sigmoid saturates
    g = rng.standard_normal(shape).astype(dtype)
    with blocks_of_64(threads), np.errstate(over="ignore"):
        out, grad = _forward_and_rule(name, x, g)
    with np.errstate(over="ignore"):
        want_out, want_grad = _whole(_forward_and_rule, name, x, g)
    assert _same_bits(out, want_out)
    assert _same_bits(grad, want_grad)


@pytest.mark.parametrize("name", OPS)
def test_a_rule_writes_neither_into_g_nor_into_out(small_blocks, name):
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((30, 30)), rng.standard_normal((30, 30))
    op = getattr(mg.ops.elementwise, name)
    out = op.forward(x)
    kept = (x.copy(), g.copy(), out.copy())
    grad = op.input_rules[0](g, out, x)
    for before, now in zip(kept, (x, g, out)):
        assert _same_bits(before, now)
    assert not np.shares_memory(grad, g) and not np.shares_memory(grad, out)


def test_non_contiguous_and_fortran_arrays_give_the_whole_call_bits(small_blocks):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((60, 60))
    for x in (base[:, ::2], base.T, np.asfortranarray(base)):
        for name in OPS:
            g = rng.standard_normal(x.shape)
            got = _forward_and_rule(name, x, g)
            want = _whole(_forward_and_rule, name, x, g)
            assert all(_same_bits(a, b) for a, b in zip(got, want)), name


def test_np_errstate_of_the_caller_holds_in_the_threads(small_blocks):
    x = np.full(10_000, 1000.0)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        mg.ops.elementwise.exp.forward(x)
    with np.errstate(over="ignore"):
        assert np.all(np.isinf(mg.ops.elementwise.exp.forward(x)))


def test_sigmoid_stays_quiet_at_large_negative_inputs_in_the_threads(small_blocks):
    x = mg.Tensor(np.full(10_000, -1000.0), requires_grad=True)
    with np.errstate(over="raise"):  # sigmoid silences its own overflow, in every block
        y = x.sigmoid()
    assert np.all(y.data == 0.0)


def test_backward_and_compile_through_threaded_ops_agree_with_the_closed_form(small_blocks):
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((40, 50))

    def loss(x):
        return (x.sigmoid() * x.tanh() + x.exp().relu()).sum()

    x = mg.Tensor(x0, requires_grad=True)
    loss(x).backward()
    s, t, e = 1 / (1 + np.exp(-x0)), np.tanh(x0), np.exp(x0)
    closed_form = s * (1 - s) * t + s * (1 - t * t) + e  # relu(e) = e, e > 0
    np.testing.assert_allclose(x.grad, closed_form, rtol=1e-12)
    _, (compiled,) = mg.compile(loss)(mg.Tensor(x0, requires_grad=True))
    assert _same_bits(np.asarray(compiled), x.grad)


def test_configure_refuses_nonsense():
    with pytest.raises(ValueError, match="threads"):
        parallel.configure(threads=0)
    with pytest.raises(ValueError, match="multiple of 64"):
        parallel.configure(block=100)


def _threads_in_a_new_process(value: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    env["MINIGRAD_NUM_THREADS"] = value
    code = "from minigrad import parallel; print(parallel.num_threads())"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=False
    )


def test_minigrad_num_threads_sets_the_threads_and_a_bad_value_is_named():
    assert _threads_in_a_new_process("1").stdout.strip() == "1"
    bad = _threads_in_a_new_process("two")
    assert bad.returncode != 0 and "MINIGRAD_NUM_THREADS='two'" in bad.stderr


def test_large_work_is_shared_among_threads_in_blocks_and_small_work_stays_on_the_caller():
    import threading

    seen: list[tuple[str, int]] = []

    def kernel(o, x):
        seen.append((threading.current_thread().name, x.size))
        np.negative(x, out=o)

    with blocks_of_64(threads=2):
        x = np.arange(1000.0)
        out = parallel.elementwise(kernel, np.empty_like(x), x)
        assert np.array_equal(out, -x)
        assert sorted(size for _, size in seen) == sorted([64] * 15 + [40])
        assert {name for name, _ in seen} == {threading.current_thread().name, *{n for n, _ in seen}}
        assert any(name.startswith("minigrad") for name, _ in seen)
        seen.clear()
        parallel.elementwise(kernel, np.empty(255), np.ones(255))
        assert seen == [(threading.current_thread().name, 255)]
