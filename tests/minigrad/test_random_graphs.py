"""Random computation graphs with reused nodes: every leaf's gradient is right, however they are wired.

A graph is drawn as a small program: leaves of shapes that broadcast to (n, m), then steps, each
applying an operation to earlier nodes picked at random, so leaves and intermediates are reused by
several later steps (a diamond, a node squared, a node fed to a matmul twice). The same program is
run twice: with minigrad, and with NumPy alone. Each leaf's gradient from `backward()` must match

1. `mg.gradcheck` (finite differences through minigrad's forward pass, the whole Jacobian), and
2. central differences of the NumPy-only program: a reference that shares no code with the engine.
"""

import numpy as np
from hypothesis import given, settings, stateful
from hypothesis import strategies as st

import minigrad as mg
from minigrad import Tensor
from minigrad.testing import arrays

# Each operation written twice: on minigrad Tensors (first) and on NumPy arrays (second). `full`
# broadcasts a node to (n, m), so that matmul and reshape always have a two-dimensional operand.
UNARY = {
    "tanh": (lambda x, full: x.tanh(), lambda x, full: np.tanh(x)),
    "sigmoid": (lambda x, full: x.sigmoid(), lambda x, full: 1 / (1 + np.exp(-x))),
    "neg": (lambda x, full: -x, lambda x, full: -x),
    "exp of tanh": (lambda x, full: x.tanh().exp(), lambda x, full: np.exp(np.tanh(x))),
    "square": (lambda x, full: x**2, lambda x, full: x**2),
    "log of 1 + x^2": (lambda x, full: (x * x + 1.0).log(), lambda x, full: np.log(x * x + 1)),
    "sum over the last axis": (
        lambda x, full: x.sum(axis=-1, keepdims=True) if x.ndim else x.sum(),
        lambda x, full: x.sum(axis=-1, keepdims=True) if x.ndim else x.sum(),
    ),
    "mean of all": (lambda x, full: x.mean(), lambda x, full: x.mean()),
    "mean over the first axis": (
        lambda x, full: full(x).mean(axis=0, keepdims=True),
        lambda x, full: full(x).mean(axis=0, keepdims=True),
    ),
    "reshape then transpose": (
        lambda x, full: full(x).reshape(full(x).shape[::-1]).T,
        lambda x, full: full(x).reshape(full(x).shape[::-1]).T,
    ),
}
BINARY = {
    "add": (lambda a, b, full: a + b, lambda a, b, full: a + b),
    "sub": (lambda a, b, full: a - b, lambda a, b, full: a - b),
    "mul": (lambda a, b, full: a * b, lambda a, b, full: a * b),
    "div by 1 + b^2": (lambda a, b, full: a / (b * b + 1.0), lambda a, b, full: a / (b * b + 1)),
    "matmul": (
        lambda a, b, full: (full(a) @ full(b).T) @ full(a) / 3.0,
        lambda a, b, full: (full(a) @ full(b).T) @ full(a) / 3.0,
    ),
}


@st.composite
def programs(draw, max_steps=8):
    """(n, m), the leaves' values, and steps (operation, operand indices) over earlier nodes."""
    n, m = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    leaf_shapes = st.sampled_from([(n, m), (1, m), (n, 1), (m,), ()])
    leaves = draw(st.lists(arrays(leaf_shapes, min_value=-1.5, max_value=1.5), min_size=1, max_size=4))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        count = len(leaves) + len(steps)
        # Recent nodes are picked more often, so graphs grow deep as well as wide.
        pick = st.integers(0, count - 1) | st.just(count - 1)
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))), (draw(pick),)))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))), (draw(pick), draw(pick))))
    return (n, m), leaves, steps


def run(program, leaves, engine: bool):
    """The program's last node, computed with minigrad (engine=True) or with NumPy only."""
    (n, m), _, steps = program
    zeros = np.zeros((n, m))
    side = 0 if engine else 1

    def full(x):
        return x + zeros

    nodes = list(leaves)
    for name, operands in steps:
        rule = (UNARY if len(operands) == 1 else BINARY)[name][side]
        nodes.append(rule(*(nodes[i] for i in operands), full))
    return nodes[-1]


def numpy_gradients(program, upstream):
    """d(sum(upstream * out))/d(leaf) by central differences of the NumPy-only program."""
    leaves = [np.array(x, dtype=np.float64) for x in program[1]]
    eps = 1e-6
    grads = []
    for leaf in leaves:
        grad = np.zeros_like(leaf)
        for index in np.ndindex(leaf.shape):
            original = leaf[index]
            leaf[index] = original + eps
            plus = np.sum(upstream * run(program, leaves, engine=False))
            leaf[index] = original - eps
            minus = np.sum(upstream * run(program, leaves, engine=False))
            leaf[index] = original
            grad[index] = (plus - minus) / (2 * eps)
        grads.append(grad)
    return grads


def leaf_tensors(program):
    return [Tensor(np.array(x), requires_grad=True, name=f"x{i}") for i, x in enumerate(program[1])]


@settings(max_examples=100)
@given(programs())
def test_every_leaf_gradient_matches_finite_differences_through_minigrad(program):
    assert mg.gradcheck(lambda *xs: run(program, xs, engine=True), *leaf_tensors(program))


@given(programs(), st.data())
def test_every_leaf_gradient_matches_a_numpy_only_reference(program, data):
    leaves = leaf_tensors(program)
    out = run(program, leaves, engine=True)
    np.testing.assert_allclose(out.data, run(program, program[1], engine=False), rtol=1e-12, atol=1e-12)
    upstream = data.draw(arrays(out.shape, min_value=-1.0, max_value=1.0), label="upstream")
    out.backward(upstream)
    for i, (leaf, expected) in enumerate(zip(leaves, numpy_gradients(program, upstream))):
        got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
        assert got.shape == leaf.shape, f"leaf x{i}: gradient shape {got.shape}, leaf shape {leaf.shape}"
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6, err_msg=f"leaf x{i}")


@given(programs(), st.data())
def test_a_second_pass_over_any_graph_adds_exactly_the_same_again(program, data):
    leaves = leaf_tensors(program)
    out = run(program, leaves, engine=True)
    upstream = data.draw(arrays(out.shape, min_value=-1.0, max_value=1.0), label="upstream")
    out.backward(upstream)
    first = [None if x.grad is None else x.grad.copy() for x in leaves]
    out.backward(upstream)
    for i, (leaf, once) in enumerate(zip(leaves, first)):
        if once is not None:
            np.testing.assert_allclose(leaf.grad, 2 * once, rtol=1e-12, atol=1e-300, err_msg=f"leaf x{i}")


MACHINE_UNARY = ["tanh", "sigmoid", "square", "exp of tanh", "sum over the last axis", "mean of all"]
MACHINE_UNARY += ["reshape then transpose"]
MACHINE_BINARY = ["add", "sub", "mul", "div by 1 + b^2"]


class GraphMachine(stateful.RuleBasedStateMachine):
    """A user building a graph step by step, reusing what they built, and calling backward() at will.

    After every backward() call, every tensor's `.grad`, leaves and intermediates alike, must equal
    the sum over all calls so far of NumPy-only finite differences (the root's value as a function of
    that tensor's value, everything else held): accumulation across passes from different roots over
    a graph that keeps growing, with rules that hand on `g` itself or views of it.
    """

    nodes = stateful.Bundle("nodes")

    def __init__(self):
        super().__init__()
        self.tensors: list[Tensor] = []
        self.recipes: list[tuple] = []  # how each tensor is computed from earlier ones, by index
        self.expected: list[np.ndarray] = []
        self.index: dict[int, int] = {}

    def _add(self, t, recipe):
        self.index[id(t)] = len(self.tensors)
        self.tensors.append(t)
        self.recipes.append(recipe)
        self.expected.append(np.zeros(t.shape))
        return t

    @stateful.initialize(target=nodes, values=arrays((2, 3), min_value=-1.5, max_value=1.5))
    def first_leaf(self, values):
        return self._add(Tensor(values, requires_grad=True), ("leaf",))

    @stateful.rule(target=nodes, values=arrays(st.sampled_from([(2, 3), (1, 3), (2, 1), ()]), max_value=1.5))
    def leaf(self, values):
        return self._add(Tensor(values, requires_grad=True), ("leaf",))

    @staticmethod
    def _full(x):
        return x + np.zeros((2, 3))

    @stateful.rule(target=nodes, name=st.sampled_from(MACHINE_UNARY), x=nodes)
    def unary(self, name, x):
        out = UNARY[name][0](x, self._full)
        return self._add(out, ("unary", name, self.index[id(x)]))

    @stateful.rule(target=nodes, name=st.sampled_from(MACHINE_BINARY), a=nodes, b=nodes)
    def binary(self, name, a, b):
        out = BINARY[name][0](a, b, self._full)
        return self._add(out, ("binary", name, self.index[id(a)], self.index[id(b)]))

    def _numpy(self, root, values, override):
        """Tensor `root`'s value computed with NumPy from the leaves' values, one tensor's value replaced."""
        computed = []
        for k, recipe in enumerate(self.recipes[: root + 1]):
            if k in override:
                computed.append(override[k])
            elif recipe[0] == "leaf":
                computed.append(values[k])
            elif recipe[0] == "unary":
                computed.append(UNARY[recipe[1]][1](computed[recipe[2]], self._full))
            else:
                computed.append(BINARY[recipe[1]][1](computed[recipe[2]], computed[recipe[3]], self._full))
        return computed[root]

    @stateful.rule(node=nodes)
    def backward(self, node):
        root = self.index[id(node)]
        upstream = np.linspace(-1, 1, node.size).reshape(node.shape)
        node.backward(upstream)
        values = [t.data.copy() for t in self.tensors]
        eps = 1e-6
        for k in range(root + 1):
            point = values[k].copy()
            for index in np.ndindex(point.shape):
                original = point[index]
                point[index] = original + eps
                plus = np.sum(upstream * self._numpy(root, values, {k: point}))
                point[index] = original - eps
                minus = np.sum(upstream * self._numpy(root, values, {k: point}))
                point[index] = original
                self.expected[k][index] += (plus - minus) / (2 * eps)

    @stateful.invariant()
    def every_gradient_is_the_sum_over_all_passes(self):
        for k, (t, expected) in enumerate(zip(self.tensors, self.expected)):
            got = np.zeros(t.shape) if t.grad is None else t.grad
            np.testing.assert_allclose(
                got, expected, rtol=1e-4, atol=1e-5, err_msg=f"tensor {k} {self.recipes[k]}"
            )


GraphMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=15)
test_gradients_accumulate_over_a_growing_graph = GraphMachine.TestCase
