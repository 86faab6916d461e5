"""The compiled step as generated code (codegen.py, issue 23): the generated step and the interpreter it
replaces (`backward.run_rules`) give the same bits, the generated step lets go of each value after its last
reader, and what it cannot write (integer options, rules giving what is not an array) keeps the interpreter.
"""

import re
import traceback
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from programs import program_loss, programs
from test_compile import BINARY, UNARY, lab_loss, lab_problem

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays


def traced(loss, *args):
    """A compiled step called once with `args` (the call that writes its code), and its trace."""
    step = mg.compile(loss)
    step(*args)
    return step, step.trace_for(*args)


def assert_same_bits(got, want):
    (J, grads), (J0, grads0) = got, want
    assert J.dtype == J0.dtype and J.shape == J0.shape and np.array_equal(J, J0, equal_nan=True)
    assert len(grads) == len(grads0)
    for g, g0 in zip(grads, grads0):
        assert g.dtype == g0.dtype and g.shape == g0.shape
        assert np.array_equal(g, g0, equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(programs(UNARY, BINARY), st.data())
def test_the_generated_step_and_the_interpreter_give_the_same_bits(program, data):
    leaves, requires, steps = program
    loss = program_loss(steps, UNARY, BINARY)
    _, trace = traced(loss, *[Tensor(np.array(v), requires_grad=r) for v, r in zip(leaves, requires)])
    assert trace.generated is not None, trace.source
    for _ in range(2):
        others = [data.draw(arrays(np.shape(v), min_value=-1.5, max_value=1.5)) for v in leaves]
        assert_same_bits(trace.run(others), trace.interpret(others))


def test_the_generated_lab_step_stores_the_closed_over_parameters_grads_as_the_interpreter():
    params, X, Y = lab_problem()
    twins = [Tensor(p.data.copy(), requires_grad=True) for p in params]
    generated, interpreted = (mg.compile(lambda X, Y, ps=ps: lab_loss(*ps, X, Y)) for ps in (params, twins))
    generated(X, Y)  # the first call, on the interpreter, writes the code
    interpreted(X, Y)
    for _ in range(4):
        for p, q in zip(params, twins):
            p.zero_grad(), q.zero_grad()
        J, _ = generated(X, Y)
        J0, _ = interpreted.trace_for(X, Y).interpret([X.data, Y.data])
        assert np.array_equal(J, J0)
        for p, q in zip(params, twins):
            assert np.array_equal(p.grad, q.grad)
            with mg.no_grad():
                p -= 0.5 * p.grad
                q -= 0.5 * q.grad
    assert generated.trace_for(X, Y).generated is not None


def test_the_source_is_readable_python_naming_each_operation():
    params, X, Y = lab_problem()
    step = mg.compile(lab_loss)
    assert "call it first" in step.source(*params, X, Y)
    step(*params, X, Y)
    source = step.source(*params, X, Y)
    assert source.startswith("def lab_loss(args):")
    for text in ("matmul(", "sigmoid(", "log(", "sum(", "with rules_running(False):", "# ones((), float64)"):
        assert text in source
    assert re.search(r"# v\d+ = div\(v\d+, c\d+\)\n", source)  # each rule under a comment naming its op
    assert "run_rules" not in source


def test_a_value_no_rule_reads_is_let_go_after_its_last_forward_use():
    made = []

    @mg.op
    def noted(x):
        out = np.exp(x)
        made.append(weakref.ref(out))
        return out

    noted.defvjp(lambda g, out, x: g)  # reads neither out nor x: nothing keeps the output

    seen = []

    @mg.op
    def probe(x):
        seen.append(made[-1]() is not None)  # is noted's output still alive here?
        return x * 1.0

    probe.defvjp(lambda g, out, x: g)
    x = Tensor(np.ones(5), requires_grad=True)
    _, trace = traced(lambda x: probe(noted(x) + 1.0).sum(), x)
    seen.clear()
    trace.run([x.data])
    trace.interpret([x.data])
    assert seen == [False, True]  # the interpreter keeps every value until the step ends; the code does not


def test_the_generated_step_peaks_below_the_sum_of_its_intermediates():
    def loss(x):
        for _ in range(20):
            x = (x + 0.5) * 0.9  # rules that read no value of x: each intermediate dies at its next use
        return x.sum()

    x = np.random.default_rng(0).standard_normal((100, 100))
    _, trace = traced(loss, Tensor(x, requires_grad=True))
    intermediates = 40 * x.nbytes
    peaks = []
    for run in (trace.run, trace.interpret):
        run([x])
        tracemalloc.start()
        run([x])
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    generated, interpreted = peaks
    assert interpreted > 0.9 * intermediates  # what the measure sees when nothing is let go
    assert generated < 0.2 * intermediates


def test_a_gradient_is_let_go_once_handed_on():
    received, checked = [], []

    @mg.op
    def first(x):
        return x * 2.0

    @first.defvjp
    def first_rule(g, out, x):
        received.append(weakref.ref(g))
        return g * 2.0

    @mg.op
    def last(x):
        return x + 0.0

    @last.defvjp
    def last_rule(g, out, x):
        checked.append(received[-1]() is None)  # first's gradient, handed on before this rule runs
        return g.copy()

    x = Tensor(np.ones(4), requires_grad=True)
    _, trace = traced(lambda x: (first(last(x)) * 3.0).sum(), x)
    checked.clear()
    trace.run([x.data])
    assert checked == [True]


def test_an_integer_argument_as_an_option_is_each_calls_own_in_the_generated_step():
    def loss(logits, labels):
        return -mg.log_softmax(logits, axis=0)[labels, np.arange(6)].sum()

    rng = np.random.default_rng(0)
    logits = Tensor(rng.standard_normal((4, 6)), requires_grad=True)
    step, trace = traced(loss, logits, np.array([0, 1, 2, 3, 0, 1]))
    assert trace.generated is not None and "options_for(" in trace.source
    for labels in (np.array([3, 3, 3, 0, 0, 0]), np.array([1, 2, 0, 1, 2, 3])):
        logits.zero_grad()
        J, (g,) = step(logits, labels)
        eager = loss(logits, labels)
        eager.backward()
        assert np.array_equal(J, eager.data) and np.array_equal(g, logits.grad)
        assert_same_bits(trace.run([logits.data, labels]), trace.interpret([logits.data, labels]))


def test_a_rule_giving_a_tuple_for_one_input_keeps_the_interpreter():
    @mg.op
    def twice(x):
        return 2 * x

    twice.defvjp(lambda g, out, x: (2 * g,))  # allowed: one gradient in a tuple
    x = Tensor([1.0, 2.0], requires_grad=True)
    step, trace = traced(lambda x: twice(x).sum(), x)
    assert trace.generated is None and "twice's rule" in trace.source
    assert np.array_equal(step(x)[1][0], [2.0, 2.0])


def test_a_rule_giving_the_wrong_number_of_gradients_at_a_later_call_is_named():
    calls = []

    @mg.op
    def pair(a, b):
        return a * b

    @pair.defvjp
    def pair_rule(g, out, a, b):
        calls.append(1)
        return (g * b, g * a) if len(calls) == 1 else (g * b,)  # one gradient for two inputs at call 2

    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    step, trace = traced(lambda a, b: pair(a, b).sum(), a, b)
    assert trace.generated is not None
    with pytest.raises(ValueError, match="pair's rule returned 1 gradients for 2 inputs"):
        step(a, b)


def test_a_rule_that_raises_raises_through_the_generated_step_whose_lines_show_in_the_traceback():
    calls = []

    @mg.op
    def fragile(x):
        return x + 1.0

    @fragile.defvjp
    def fragile_rule(g, out, x):
        calls.append(1)
        if len(calls) > 1:
            raise FloatingPointError("fragile's rule: no")
        return g

    x = Tensor([1.0], requires_grad=True)
    step, trace = traced(lambda x: fragile(x).sum(), x)
    assert trace.generated is not None
    with pytest.raises(FloatingPointError, match="fragile's rule: no") as error:
        step(x)
    lines = [
        frame.line for frame in traceback.extract_tb(error.tb) if frame.filename.startswith("<mg.compile")
    ]
    assert len(lines) == 1 and "= fragile_d0(g2, v2, v1)" in lines[0]


def test_a_closed_over_tensor_that_changed_shape_is_an_error_in_the_generated_step_too():
    W = Tensor(np.ones((2, 2)), requires_grad=True)
    step = mg.compile(lambda x: (W * x).sum())
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    step(x)
    step(x)
    W.data = np.ones((3, 3))
    with pytest.raises(ValueError, match=r"now \(3, 3\) float64; it was traced as \(2, 2\) float64"):
        step(x)


def scaling(name, factor):
    """An operation `x * factor` called `name`."""

    @mg.op(name=name)
    def scaled(x):
        return x * factor

    scaled.defvjp(lambda g, out, x: g * factor)
    return scaled


def test_operations_named_as_the_codes_own_names_are_called_all_the_same():
    names = ("v1", "g2", "type", "every", "args", "c3", "one", "fit_gradient", "lambda", "step")
    ops = [scaling(name, k + 2.0) for k, name in enumerate(names)]

    def loss(x):
        for scaled in ops:
            x = scaled(x)
        return x.sum()

    x = Tensor(np.linspace(-1, 1, 4), requires_grad=True)
    step, trace = traced(lambda x: loss(x), x)  # a lambda's code is called `step`, as one operation here
    assert trace.generated is not None
    eager = loss(x)
    eager.backward()
    J, (g,) = step(x)
    assert np.array_equal(J, eager.data) and np.array_equal(g, x.grad)


@mg.op
def joined(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


@joined.defvjp
def joined_rule(g, out, *xs, axis=0):  # one rule for every input: the code calls it through `vjp`
    return tuple(np.split(g, np.cumsum([x.shape[axis] for x in xs])[:-1], axis=axis))


W = Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
EDGES = {
    "an argument the loss does not use": (lambda a, b: (a * 2.0).sum(), [(3,), (2,)], [True, True]),
    "the loss is an argument": (lambda a, b: a, [(1,), (2,)], [True, True]),
    "no argument needs a gradient": (lambda a: (a * a).sum(), [(3,)], [False]),
    "one value used twice": (lambda a: (a * a + a).sum(), [(2, 3)], [True]),
    "a Python number argument": (lambda a, s: (a * s).sum(), [(3,), 2.5], [True, None]),
    "float32": (lambda a: (a.sigmoid() * 3.0).mean(), [np.float32], [True]),
    "a variadic operation with options": (
        lambda a, b: (joined(a, b * 2.0, a, axis=0) ** 2).sum(),
        [(2,), (3,)],
        [True, False],
    ),
    "a closed-over parameter": (lambda a: (W * a).sum() + W.sum(), [(2, 3)], [True]),
    "a broadcast gradient summed back and added into": (
        lambda a, b: ((a + b) * (b - a)).sum(),
        [(2, 3), (3,)],
        [True, True],
    ),
}


def edge_arguments(shapes, requires, rng):
    args = []
    for shape, r in zip(shapes, requires):
        if r is None:
            args.append(shape)
        elif shape is np.float32:
            args.append(Tensor(rng.standard_normal(4).astype(np.float32), requires_grad=r))
        else:
            args.append(Tensor(rng.standard_normal(shape), requires_grad=r))
    return args


@pytest.mark.parametrize("case", sorted(EDGES))
def test_each_kind_of_step_is_generated_and_equals_the_eager_engine(case):
    loss, shapes, requires = EDGES[case]
    rng = np.random.default_rng(0)
    step = mg.compile(loss)
    for _ in range(3):  # the first call on the interpreter, then the generated code, twice
        args = edge_arguments(shapes, requires, rng)
        W.zero_grad()
        J, grads = step(*args)
        step_W = None if W.grad is None else W.grad.copy()
        W.zero_grad()
        eager = loss(*args)
        if eager.requires_grad:
            eager.backward()
        assert J.dtype == eager.dtype and np.array_equal(J, eager.data)
        tensors = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        assert len(grads) == len(tensors)
        for g, t in zip(grads, tensors):
            want = np.zeros_like(t.data) if t.grad is None else t.grad
            assert g.dtype == want.dtype and np.array_equal(g, want)
            assert not np.shares_memory(g, t.data)
        assert (step_W is None) == (W.grad is None) and (step_W is None or np.array_equal(step_W, W.grad))
    trace = step.trace_for(*args)
    assert trace.generated is not None, trace.source
