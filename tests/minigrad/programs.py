"""Random programs over a table of operations, shared by the tests that hold two executions of one program
against each other (`mg.compile` against eager, onnxruntime against minigrad).

A program is leaves that broadcast to (2, 3), each requiring a gradient or not, and steps that apply a
unary or binary operation to earlier nodes (reused nodes, so that gradients meet from several paths).
"""

from collections.abc import Callable, Mapping

from hypothesis import strategies as st

from minigrad.testing import arrays

FULL = (2, 3)
Table = Mapping[str, Callable]


@st.composite
def programs(draw, unary: Table, binary: Table, max_steps: int = 10):
    """`(leaves, requires, steps)`: leaf arrays, whether each requires a gradient, `(name, operands)`."""
    leaf_shapes = st.sampled_from([FULL, (1, 3), (2, 1), (3,), ()])
    leaves = draw(st.lists(arrays(leaf_shapes, min_value=-1.5, max_value=1.5), min_size=1, max_size=4))
    requires = draw(st.lists(st.booleans(), min_size=len(leaves), max_size=len(leaves)))
    steps = []
    for _ in range(draw(st.integers(1, max_steps))):
        count = len(leaves) + len(steps)
        pick = st.integers(0, count - 1) | st.just(count - 1)
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(unary))), (draw(pick),)))
        else:
            steps.append((draw(st.sampled_from(sorted(binary))), (draw(pick), draw(pick))))
    return leaves, requires, steps


def program_loss(steps, unary: Table, binary: Table):
    """The program as a loss of its leaves: the last node's sum plus half the mean of a middle one."""

    def loss(*leaves):
        nodes = list(leaves)
        for name, operands in steps:
            nodes.append((unary if len(operands) == 1 else binary)[name](*(nodes[i] for i in operands)))
        # Several nodes reach the loss, so that gradients meet from several paths.
        return nodes[-1].sum() + nodes[len(nodes) // 2].mean() * 0.5

    return loss
