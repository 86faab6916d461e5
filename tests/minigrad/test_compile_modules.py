"""`mg.compile` of a loss that closes over a model's parameters, and what a trace would silently freeze.

Issue 18, SPEC section 4: a closed-over Tensor that requires a gradient is read afresh at each call and
gets its gradient in `.grad` as `backward()` gives it, so an optimiser steps on it, bit for bit as the
eager loop does. Random draws, large closed-over data, integer labels and Python numbers are each
either followed by the replay or refused at trace time, never frozen silently.
"""

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.optim import SGD, Adam


class TinyNet:
    """Two layers of plain Tensors that require a gradient: a module as the loss closes over it."""

    def __init__(self, seed: int, n_in: int = 3, n_hidden: int = 5, dtype: type = np.float64) -> None:
        rng = np.random.default_rng(seed)
        self.W1 = Tensor(rng.uniform(-1, 1, (n_hidden, n_in)).astype(dtype), requires_grad=True)
        self.b1 = Tensor(np.zeros((n_hidden, 1), dtype), requires_grad=True)
        self.W2 = Tensor(rng.uniform(-1, 1, (1, n_hidden)).astype(dtype), requires_grad=True)
        self.b2 = Tensor(np.zeros((1, 1), dtype), requires_grad=True)

    def parameters(self) -> list[Tensor]:
        return [self.W1, self.b1, self.W2, self.b2]

    def __call__(self, X):
        return self.W2 @ (self.W1 @ X + self.b1).tanh() + self.b2


def mse(net, X, Y):
    return ((net(X) - Y) ** 2).mean()


def problem(seed, m=16):
    rng = np.random.default_rng(seed + 1)
    return rng.standard_normal((3, m)), rng.standard_normal((1, m))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), optimiser=st.sampled_from(["sgd", "momentum", "adam"]))
def test_a_compiled_loop_over_a_module_equals_the_eager_loop_bit_for_bit(seed, optimiser):
    make = {
        "sgd": lambda ps: SGD(ps, 0.1),
        "momentum": lambda ps: SGD(ps, 0.05, momentum=0.9),
        "adam": lambda ps: Adam(ps, 0.01),
    }[optimiser]
    X, Y = problem(seed)
    eager_net, compiled_net = TinyNet(seed), TinyNet(seed)
    eager_opt, compiled_opt = make(eager_net.parameters()), make(compiled_net.parameters())
    step = mg.compile(lambda X, Y: mse(compiled_net, X, Y))
    for _ in range(12):
        eager_opt.zero_grad()
        J0 = mse(eager_net, Tensor(X), Tensor(Y))
        J0.backward()
        eager_opt.step()
        compiled_opt.zero_grad()
        J, grads = step(X, Y)
        compiled_opt.step()
        assert grads == ()  # the parameters' gradients are in .grad, not in the tuple
        assert np.array_equal(J, J0.data)
        for p, q in zip(compiled_net.parameters(), eager_net.parameters()):
            assert np.array_equal(p.grad, q.grad)
            assert np.array_equal(p.data, q.data)
    assert step.traces == 1


def test_a_parameter_closed_over_accumulates_its_grad_as_backward_does():
    net = TinyNet(0)
    X, Y = problem(0)
    step = mg.compile(lambda X, Y: mse(net, X, Y))
    step(X, Y)
    once = [p.grad.copy() for p in net.parameters()]
    step(X, Y)  # not zeroed: added, as a second backward() adds
    for p, g in zip(net.parameters(), once):
        assert np.array_equal(p.grad, g + g)
    # The eager engine's own accumulation of the same two passes, for the bits.
    twin = TinyNet(0)
    for _ in range(2):
        mse(twin, Tensor(X), Tensor(Y)).backward()
    for p, q in zip(net.parameters(), twin.parameters()):
        assert np.array_equal(p.grad, q.grad)


def test_a_parameter_argument_and_a_closed_over_one_together():
    W = Tensor([[1.0, -2.0]], requires_grad=True)
    v = Tensor([[0.5], [3.0]], requires_grad=True)
    step = mg.compile(lambda W: (W @ v).sum() * 2.0)
    J, (gW,) = step(W)
    assert J == 2.0 * (0.5 - 6.0)
    assert np.array_equal(gW, [[1.0, 6.0]]) and W.grad is None
    assert np.array_equal(v.grad, [[2.0], [-4.0]])


def test_a_closed_over_parameter_whose_shape_changed_is_an_error():
    v = Tensor(np.ones(3), requires_grad=True)
    step = mg.compile(lambda x: (x * v).sum())
    step(Tensor(np.ones(3), requires_grad=True))
    v.data = np.ones(4)
    with pytest.raises(ValueError, match=r"closes over.*\(4,\).*traced as \(3,\)"):
        step(Tensor(np.ones(3), requires_grad=True))


@pytest.mark.parametrize(
    "draw",
    [
        lambda x: np.random.uniform(size=x.shape),
        lambda x: np.random.rand(*x.shape),
        lambda x: GENERATOR.random(x.shape),
    ],
)
def test_random_numbers_drawn_while_tracing_are_an_error(draw):
    def loss(x):
        return (x * draw(x)).sum()  # a dropout mask drawn inside: the replay would reuse it

    with pytest.raises(mg.TraceError, match=r"random numbers.*pass them in as an argument"):
        mg.compile(loss)(Tensor(np.ones(4), requires_grad=True))


GENERATOR = np.random.default_rng(7)


def test_random_numbers_drawn_outside_and_passed_in_are_followed():
    rng = np.random.default_rng(0)
    step = mg.compile(lambda x, mask: (x * mask).sum())
    x = Tensor(np.ones(50), requires_grad=True)
    for _ in range(3):
        mask = (rng.random(50) < 0.5) * 2.0
        J, (g,) = step(x, mask)
        assert mask.sum() == J and np.array_equal(g, mask)


DATA = np.random.default_rng(3).standard_normal((20, 30))


def test_a_large_closed_over_array_is_warned_of_and_a_small_one_is_not():
    W = Tensor(np.ones((1, 20)), requires_grad=True)
    with pytest.warns(RuntimeWarning, match=r"froze into the trace.*pass it as an argument"):
        mg.compile(lambda W: (W @ DATA).sum())(W)
    big = Tensor(np.ones((20, 30)))
    with pytest.warns(RuntimeWarning, match=r"shape \(20, 30\)"):
        mg.compile(lambda W: (W @ big).sum())(W)
    small = np.array([0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J, _ = mg.compile(lambda x: (x * small).sum())(Tensor([1.0, 1.0], requires_grad=True))
        assert J == 2.5
        # A large constant made inside the traced function is the same at every call: no warning.
        J, _ = mg.compile(lambda x: (x * np.full(500, 2.0)).sum())(Tensor(np.ones(500), requires_grad=True))
        assert J == 1000.0


def cross_entropy_loss(logits, labels):
    m = logits.shape[1]
    log_p = mg.log_softmax(logits, axis=0)
    return -log_p[labels, np.arange(m)].sum() / m


def test_integer_labels_are_arguments_of_each_call_not_constants():
    rng = np.random.default_rng(1)
    step = mg.compile(cross_entropy_loss)
    for _ in range(4):
        logits = Tensor(rng.standard_normal((4, 6)), requires_grad=True)
        labels = rng.integers(0, 4, size=6)
        J, (g,) = step(logits, labels)
        J0 = cross_entropy_loss(logits, labels)
        J0.backward()
        assert np.array_equal(J, J0.data) and np.array_equal(g, logits.grad)
    assert step.traces == 1


def test_an_integer_argument_as_an_operand_is_read_at_each_call():
    step = mg.compile(lambda x, k: (x * k).sum())
    x = Tensor([1.0, 2.0], requires_grad=True)
    for k in (np.array([1, 2]), np.array([3, -1])):
        J, (g,) = step(x, k)
        assert float(np.dot([1.0, 2.0], k)) == J and np.array_equal(g, k.astype(float))
        assert g.dtype == np.float64
    assert step.traces == 1


def test_an_array_computed_from_an_integer_argument_inside_is_an_error():
    with pytest.raises(mg.TraceError, match="computed from integer argument 1"):
        mg.compile(lambda x, y: x[y + 1].sum())(Tensor(np.ones(5), requires_grad=True), np.array([0, 1]))
    with pytest.raises(mg.TraceError, match="computed from integer argument 1"):
        mg.compile(lambda x, y: (x * (y * 2)).sum())(Tensor(np.ones(2), requires_grad=True), np.array([0, 1]))


def test_a_python_number_argument_takes_the_dtype_of_the_floating_arguments():
    step = mg.compile(lambda x, scale: (x * scale).sum())
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    J, (g,) = step(x, 2)
    assert J.dtype == np.float32 and g.dtype == np.float32 and J == 6.0
    eager = (x * 2).sum()
    assert eager.dtype == J.dtype
    J, _ = step(Tensor(np.ones(3), requires_grad=True), 2.5)
    assert J.dtype == np.float64 and J == 7.5


def test_keyword_arguments_are_a_clear_error():
    step = mg.compile(lambda W, scale=1.0: (W * scale).sum())
    with pytest.raises(TypeError, match=r"positional arguments only.*scale.*functools.partial"):
        step(Tensor([1.0], requires_grad=True), scale=2)


class Noisy:
    """A module that draws its own noise from its own Generator."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.w = Tensor(np.ones(4), requires_grad=True)

    def __call__(self, x):
        return (x * self.w * self.rng.random(4)).sum()


def test_a_module_drawing_from_its_own_generator_is_an_error_too():
    noisy = Noisy()
    with pytest.raises(mg.TraceError, match="random numbers"):
        mg.compile(lambda x: noisy(x))(Tensor(np.ones(4), requires_grad=True))
    with pytest.raises(mg.TraceError, match="random numbers"):
        mg.compile(noisy)(Tensor(np.ones(4), requires_grad=True))


def test_the_compiled_step_learns_on_the_interpreter_then_runs_its_generated_code():
    # Issue 23: the first replay of a signature runs the one interpreter (`run_rules`), as the eager pass
    # does; later calls run the code generated from what it learned (bit for bit: test_codegen.py).
    callers = []

    @mg.op
    def doubled(x):
        return 2 * x

    @doubled.defvjp
    def doubled_vjp(g, out, x):
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            frames.append((frame.f_code.co_name, frame.f_code.co_filename))
            frame = frame.f_back
        callers.append(frames)
        return 2 * g

    def interpreted(frames):
        return any(name == "run_rules" and file.endswith("backward.py") for name, file in frames)

    x = Tensor([1.0, 2.0], requires_grad=True)
    doubled(x).sum().backward()
    step = mg.compile(lambda x: doubled(x).sum())
    _, (g,) = step(x)
    _, (g2,) = step(x)
    assert np.array_equal(g, x.grad) and np.array_equal(g2, x.grad)
    assert len(callers) == 3
    assert interpreted(callers[0]) and interpreted(callers[1])
    assert not interpreted(callers[2]) and callers[2][0][1].startswith("<mg.compile")


def test_a_compiled_loop_over_an_nn_module_equals_the_eager_loop_bit_for_bit():
    from minigrad import nn
    from minigrad.nn import functional as F

    def model_and_optimiser():
        model = nn.Sequential(nn.Linear(4, 8, seed=0), nn.Tanh(), nn.Linear(8, 3, seed=1))
        return model, mg.optim.Adam(model.parameters(), lr=0.01)

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    eager, eager_opt = model_and_optimiser()
    compiled, compiled_opt = model_and_optimiser()
    step = mg.compile(lambda xb, yb: F.cross_entropy(compiled(xb), yb))
    for _ in range(10):
        eager_opt.zero_grad()
        J_eager = F.cross_entropy(eager(X), y)
        J_eager.backward()
        eager_opt.step()
        compiled_opt.zero_grad()
        J, grads = step(X, y)
        compiled_opt.step()
        assert grads == ()  # the labels need no gradient; the Parameters' gradients are in .grad
        assert np.array_equal(J, J_eager.data)
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        assert np.array_equal(p.data, q.data), name
    assert step.traces == 1


def test_dropout_in_training_under_compile_is_refused_and_in_eval_is_the_identity():
    from minigrad import nn

    model = nn.Sequential(nn.Linear(4, 4, seed=0), nn.Dropout(0.5, seed=0))
    X = np.ones((3, 4))
    with pytest.raises(mg.TraceError, match="random"):
        mg.compile(lambda x: model(x).sum())(X)
    model.eval()
    J, _ = mg.compile(lambda x: model(x).sum())(X)
    assert pytest.approx(model(X).sum().item()) == J
