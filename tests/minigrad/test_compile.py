"""`mg.compile`: a traced step replays the eager engine's computation, to the last bit.

Random programs over the public operations (reused nodes, broadcasting leaves, options, Python numbers,
closed-over constants) are run twice: eagerly with `backward()`, and through a compiled step. The
values and every gradient must be equal (`np.array_equal`), not merely close.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from programs import FULL
from programs import program_loss as random_program_loss
from programs import programs as random_programs

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays

UNARY = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "neg": lambda x: -x,
    "exp of tanh": lambda x: x.tanh().exp(),
    "square": lambda x: x**2,
    "log of 1 + x^2": lambda x: (x * x + 1.0).log(),
    "relu": lambda x: mg.relu(x),
    "sum over the last axis": lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x.sum(),
    "mean of all": lambda x: x.mean(),
    "2 - x": lambda x: 2 - x,
    "times a closed-over constant": lambda x: x * CONSTANT,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div by 1 + b^2": lambda a, b: a / (b * b + 1.0),
    "matmul of the broadcast": lambda a, b: (_full(a) @ _full(b).T) @ _full(a) / 3.0,
}


def _full(x):
    return mg.broadcast_to(x, shape=FULL)


CONSTANT = Tensor(np.array([[0.5], [-1.5]]))  # (2, 1): broadcasts against every leaf shape below


def programs(max_steps=10):
    return random_programs(UNARY, BINARY, max_steps)


def program_loss(steps):
    return random_program_loss(steps, UNARY, BINARY)


def eager(loss, values, requires):
    leaves = [Tensor(np.array(v), requires_grad=r) for v, r in zip(values, requires)]
    J = loss(*leaves)
    if J.requires_grad:
        J.backward()
    grads = [np.zeros(x.shape) if x.grad is None else x.grad for x, r in zip(leaves, requires) if r]
    return J.data, grads


def compiled(step, values, requires):
    return step(*[Tensor(np.array(v), requires_grad=r) for v, r in zip(values, requires)])


def assert_bit_equal(got, want):
    J, grads = got
    J0, grads0 = want
    assert J.dtype == J0.dtype and np.array_equal(J, J0), (J, J0)
    assert len(grads) == len(grads0)
    for i, (g, g0) in enumerate(zip(grads, grads0)):
        assert g.shape == g0.shape and g.dtype == g0.dtype, i
        assert np.array_equal(g, g0), (i, g, g0)


@settings(max_examples=150, deadline=None)
@given(programs(), st.data())
def test_a_compiled_step_equals_the_eager_engine_to_the_last_bit(program, data):
    leaves, requires, steps = program
    loss = program_loss(steps)
    step = mg.compile(loss)
    assert_bit_equal(compiled(step, leaves, requires), eager(loss, leaves, requires))
    # Replayed on new values of the same shapes: still the eager engine's numbers, without tracing again.
    others = [data.draw(arrays(np.shape(v), min_value=-1.5, max_value=1.5)) for v in leaves]
    assert_bit_equal(compiled(step, others, requires), eager(loss, others, requires))
    assert step.traces == 1


def lab_loss(W1, b1, W2, b2, X, Y):
    m = X.shape[1]
    A1 = (W1 @ X + b1).sigmoid()
    A2 = (W2 @ A1 + b2).sigmoid()
    return -(Y * A2.log() + (1 - Y) * (1 - A2).log()).sum() / m


def lab_problem(n_x=3, n_h=5, m=40, seed=0):
    rng = np.random.default_rng(seed)
    params = [
        Tensor(rng.uniform(-0.5, 0.5, (n_h, n_x)), requires_grad=True),
        Tensor(np.zeros((n_h, 1)), requires_grad=True),
        Tensor(rng.uniform(-0.5, 0.5, (1, n_h)), requires_grad=True),
        Tensor(np.zeros((1, 1)), requires_grad=True),
    ]
    return params, Tensor(rng.standard_normal((n_x, m))), Tensor((rng.random((1, m)) < 0.5) * 1.0)


def test_training_the_lab_network_compiled_follows_the_eager_run_exactly():
    params, X, Y = lab_problem()
    twins = [Tensor(p.data.copy(), requires_grad=True) for p in params]
    step = mg.compile(lab_loss)
    for _ in range(20):
        J, grads = step(*params, X, Y)
        for p, g in zip(params, grads):
            p.data -= 0.5 * g
        for p in twins:
            p.zero_grad()
        J0 = lab_loss(*twins, X, Y)
        J0.backward()
        with mg.no_grad():
            for p in twins:
                p -= 0.5 * p.grad
        assert np.array_equal(J, J0.data)
    for p, q in zip(params, twins):
        assert np.array_equal(p.data, q.data)
    assert step.traces == 1


def test_the_step_writes_no_grad_and_returns_arrays_of_their_own():
    params, X, Y = lab_problem()
    J, grads = mg.compile(lab_loss)(*params, X, Y)
    assert all(p.grad is None for p in params)
    assert isinstance(J, np.ndarray) and J.shape == ()
    assert [g.shape for g in grads] == [p.shape for p in params]
    assert len({id(g) for g in grads}) == 4
    assert not any(np.shares_memory(g, p.data) for g, p in zip(grads, params))


def test_a_new_signature_traces_again_and_the_cache_keeps_the_last_few():
    step = mg.compile(lambda x: (x * x).sum(), cache_size=2)
    for n in (1, 2, 1, 3, 1):
        _, (g,) = step(Tensor(np.arange(n, dtype=float), requires_grad=True))
        assert np.array_equal(g, 2 * np.arange(n))
    assert step.traces == 3  # n = 1 stays cached: it was used last before each new shape
    step(Tensor(np.ones(3, dtype=np.float32), requires_grad=True))  # a new dtype
    step(Tensor(np.ones(3)))  # a new requires_grad
    assert step.traces == 5


def test_arguments_that_require_no_gradient_get_none():
    params, X, Y = lab_problem()
    params[1] = Tensor(params[1].data)  # b1 fixed
    J, grads = mg.compile(lab_loss)(*params, X, Y)
    assert len(grads) == 3
    eager_J = lab_loss(*params, X, Y)
    eager_J.backward()
    for g, p in zip(grads, [params[0], params[2], params[3]]):
        assert np.array_equal(g, p.grad)
    # Arrays and numbers are arguments that require no gradient.
    step = mg.compile(lambda a, b, c: (a * b + c).sum())
    J, grads = step(Tensor([1.0, 2.0], requires_grad=True), np.ones(2), 3)
    assert J == 9.0 and len(grads) == 1 and np.array_equal(grads[0], np.ones(2))


def test_an_argument_the_loss_does_not_use_gets_zeros():
    _, (ga, gb) = mg.compile(lambda a, b: (a * 2).sum())(
        Tensor([1.0, 2.0], requires_grad=True), Tensor([[3.0]], requires_grad=True)
    )
    assert np.array_equal(ga, [2.0, 2.0]) and np.array_equal(gb, [[0.0]])


def test_closed_over_tensors_that_need_no_gradient_are_constants_of_the_trace():
    scale = Tensor([2.0])
    step = mg.compile(lambda x: (x * scale).sum())
    x = Tensor([1.0, 1.0], requires_grad=True)
    assert step(x)[0] == 4.0
    scale.data[:] = 10.0  # changed after the trace: the step keeps the traced value
    J, grads = step(x)
    assert J == 4.0 and len(grads) == 1 and np.array_equal(grads[0], [2.0, 2.0])
    assert scale.grad is None


def test_closed_over_tensors_that_require_a_gradient_are_read_afresh_and_get_their_grad():
    # SPEC section 4 (issue 18): a closed-over parameter is an input of the trace, not a constant.
    scale = Tensor([2.0], requires_grad=True)
    step = mg.compile(lambda x: (x * scale).sum())
    x = Tensor([1.0, 1.0], requires_grad=True)
    J, (gx,) = step(x)
    assert J == 4.0 and np.array_equal(gx, [2.0, 2.0]) and np.array_equal(scale.grad, [2.0])
    scale.data[:] = 10.0
    J, (gx,) = step(x)
    assert J == 20.0 and np.array_equal(gx, [10.0, 10.0])
    assert np.array_equal(scale.grad, [4.0])  # accumulated, as backward() accumulates
    assert x.grad is None and step.traces == 1


@pytest.mark.parametrize(
    ("read", "said"),
    [
        (lambda x: float(x.sum()), "float(t)"),
        (lambda x: int(x.sum()), "int(t)"),
        (lambda x: x.sum().item(), "t.item()"),
        (lambda x: bool(x.sum()), "bool(t)"),
        (lambda x: 1.0 if x.sum() else 0.0, "bool(t)"),
        (lambda x: x < 0, "t < ..."),
        (lambda x: x >= 0, "t >= ..."),
        (lambda x: x.numpy(), "t.numpy()"),
    ],
)
def test_reading_a_value_while_tracing_is_an_error_that_says_what_to_do(read, said):
    def loss(x):
        read(x)
        return x.sum()

    with pytest.raises(mg.TraceError) as error:
        mg.compile(loss)(Tensor([1.0, -1.0], requires_grad=True))
    message = str(error.value)
    assert said in message and "mg.compile traces" in message and "mg.where" in message
    # Outside a trace the same reads work as before.
    x = Tensor([1.0, -1.0])
    assert float(x.sum()) == 0.0 and int(x.sum()) == 0 and not bool(x.sum())
    assert (x < 0).tolist() == [False, True]


def test_no_grad_on_an_argument_while_tracing_is_an_error():
    def loss(x):
        with mg.no_grad():
            centre = x.mean()
        return ((x - centre) ** 2).sum()

    with pytest.raises(mg.TraceError, match="no_grad"):
        mg.compile(loss)(Tensor([1.0, 3.0], requires_grad=True))


def test_the_loss_must_be_one_element():
    with pytest.raises(ValueError, match="one-element"):
        mg.compile(lambda x: x * 2)(Tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(TypeError, match="must return a Tensor"):
        mg.compile(lambda x: 1.0)(Tensor([1.0], requires_grad=True))


def test_any_op_is_compiled_with_its_options_array_options_and_variadic_inputs():
    @mg.op
    def take(x, *, index):
        return x[index]

    @take.defvjp
    def take_vjp(g, out, x, *, index):
        dx = np.zeros_like(x)
        np.add.at(dx, index, g)
        return dx

    @mg.op
    def concat(*xs, axis=0):
        return np.concatenate(xs, axis=axis)

    @concat.defvjp
    def concat_vjp(g, out, *xs, axis=0):
        cuts = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return tuple(np.split(g, cuts, axis=axis))

    def loss(a, b):
        both = concat(a, b * 2.0, a, axis=0)
        return (take(both, index=np.array([0, 2, 2, 5])) ** 2).sum()

    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    step = mg.compile(loss)
    J, grads = step(a, b)
    J0 = loss(a, b)
    J0.backward()
    assert np.array_equal(J, J0.data)
    assert np.array_equal(grads[0], a.grad) and np.array_equal(grads[1], b.grad)


def test_compile_is_a_decorator_too():
    @mg.compile
    def loss(x):
        return (x**2).sum()

    J, (g,) = loss(Tensor([3.0], requires_grad=True))
    assert J == 9.0 and np.array_equal(g, [6.0])


def test_a_one_input_rule_that_returns_two_gradients_is_an_error_when_replayed_too():
    @mg.op
    def doubled(x):
        return 2 * x

    doubled.defvjp(lambda g, out, x: (2 * g, 2 * g))
    step = mg.compile(lambda x: doubled(x).sum())
    with pytest.raises(ValueError, match="doubled's rule returned 2 gradients for 1 input"):
        step(mg.Tensor(np.ones(3), requires_grad=True))
