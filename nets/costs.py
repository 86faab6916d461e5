"""The costs the networks minimise, built from minigrad operations so that their graphs show the formula.

Two-class outputs, in the lab's layout (one example per column, `m` examples):

    J = -(1/m) sum [ Y log A + (1 - Y) log(1 - A) ]        A = sigmoid(Z), the output layer's probability

`compute_cost(A, Y)` is the lab's formula as written, one named node per term;
`compute_cost_from_logits(Z, Y)` is the same J from the output layer's `Z`, exact where the sigmoid
saturates. `nets.twolayer` and `nets.deep` both use them.

More than two classes (`nets.digits`): `K` classes on axis 0, `Y (K, m)` one-hot, `A = softmax(Z, axis=0)`:

    J = -(1/m) sum over examples and classes of Y log A = -(1/m) sum [ Y * log_softmax(Z, axis=0) ]

`compute_multiclass_cost(Z, Y)`; its gradient is the lab's again: dJ/dZ = (A - Y) / m.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import Tensor
from nets.checks import binary_labels
from nets.tensors import ArrayOrTensor, as_tensor, named


def compute_cost(A2: ArrayOrTensor, Y: ArrayOrTensor, *, labels_checked: bool = False) -> Tensor:
    """The lab's cross-entropy J = -(1/m) sum [Y log A2 + (1 - Y) log(1 - A2)], a one-element Tensor.

    Built from minigrad operations as the lab writes it, each step named as in the formula, so that the
    graph of J (`mg.draw_graph(J)`) shows the formula, and J's backward pass gives dJ/dZ2 = (A2 - Y) / m.

    Where A2 = sigmoid(Z2) has rounded to exactly 1.0 (Z2 > ~37) or 0.0 (Z2 < ~-745), the formula as
    written takes log(0) = -inf, and 0 * -inf = nan for an example the network gets right. There A2 is
    clamped into (0, 1) before the logs: the cost stays finite, but such an example passes no gradient
    back (sigmoid's derivative A2 (1 - A2) is 0 there too). Where outputs saturate (a step too large,
    an exploding network: the lab's step 4), use `compute_cost_from_logits`, the same J from Z2, exact.
    """
    A2 = A2 if isinstance(A2, Tensor) else Tensor(A2, name="A2")
    Y, m = _labels(Y, A2, "compute_cost", "A2")
    if not labels_checked:  # True where the caller has checked this Y at its own boundary
        binary_labels(Y, "compute_cost")
    outside = ~((A2.data >= 0) & (A2.data <= 1))  # nan is outside too
    if outside.any():
        raise ValueError(
            f"compute_cost: A2 must hold probabilities in [0, 1], A2 = sigmoid(Z2), not Z2; "
            f"found {A2.data[outside].flat[0]:g}"
        )

    A2 = _inside_0_1(A2)
    log_A2 = named(A2.log(), "log A2")
    one = Tensor(A2.dtype.type(1), name="1")
    log_1_minus_A2 = named(named(one - A2, "1 - A2").log(), "log(1 - A2)")
    terms = named(
        named(Y * log_A2, "Y log A2") + named(named(1 - Y, "1 - Y") * log_1_minus_A2, "(1 - Y) log(1 - A2)"),
        "Y log A2 + (1 - Y) log(1 - A2)",
    )
    return named(Tensor(A2.dtype.type(-1 / m), name="-1/m") * named(terms.sum(), "sum"), "J")


def _inside_0_1(A2: Tensor) -> Tensor:
    """A2, moved to the floats just inside (0, 1) where it is beyond them: the largest below 1, and the
    smallest normal one above 0 (not a subnormal, so that log's derivative 1 / A2 is finite too).

    A constant shift moves A2 there and is 0 elsewhere, so wherever the formula as written has a finite
    value and gradient, J and its gradient are exactly the formula's. (PyTorch's BCELoss clamps its logs
    at -100 for the same reason.) The shift enters the graph only when it moves something, so that the
    graph of an ordinary pass is the lab's formula alone."""
    lowest, highest = np.finfo(A2.dtype).tiny, np.nextafter(A2.dtype.type(1), A2.dtype.type(0))
    if not np.any((A2.data < lowest) | (A2.data > highest)):
        return A2
    shift = Tensor(np.clip(A2.data, lowest, highest) - A2.data, name="shift into (0, 1)")
    return named(A2 + shift, "A2 in (0, 1)")


def compute_cost_from_logits(Z: Tensor, Y: ArrayOrTensor) -> Tensor:
    """The same J computed from the output layer's `Z` (Z2 here, Z[L] in `nets.deep`), before its sigmoid:
    finite for any Z, with the lab's gradient dJ/dZ = (A - Y) / m also where A = sigmoid(Z) saturates.

    With `softplus(z) = log(1 + e^z)`,
    `-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = softplus(z) - y z`, and
    `softplus(z) = max(z, 0) + log(1 + e^(-|z|))` never overflows. `logistic_loss` computes it, minus `y z`,
    as one operation on Z, so that `mg.compile` replays it on each new Z: masks read off `Z.data` would be
    constants of the trace, the signs of the Z it was traced with. The masks are constants of the rule,
    so the backward pass is exact everywhere, `z = 0` included.

    Why it matters: `sigmoid(z)` rounds to exactly 1.0 once `z > 37`, and an exploding network's output is
    far beyond that. There the formula as written (`compute_cost`) can only clamp its logs, and the
    gradient back through the saturated sigmoid, `A (1 - A) = 0`, is lost: the size of an exploding
    gradient would not show, and a diverging run would look like one that merely stopped learning.
    """
    Y, m = _labels(Y, Z, "compute_cost_from_logits", "Z")
    return logistic_loss(Z, Y).sum() / m


@mg.op(name="logistic_loss")
def logistic_loss(z, y):
    """`softplus(z) - y z`, each example's `-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]`."""
    positive = (z >= 0).astype(z.dtype)
    sign = 2 * positive - 1
    return (z * positive + np.log(1 + np.exp(-(z * sign)))) - y * z


def _logistic_loss_dz(g, out, z, y):
    """`g (sigmoid(z) - y)`, as the chain rule through `z positive + log(1 + e^(-z sign)) - y z` gives it.

    Its three terms are summed in the order the backward pass summed them when the cost was built from
    those operations, so that gradients, and the runs that follow them, are the same to the last bit.
    The mask `positive` is an operation (no gradient): under create_graph it is part of the graph, so
    that an exported training step finds it again from each new Z.
    """
    positive = mg.ops.is_greater_equal(z, 0)
    sign = 2 * positive - 1
    e = mg.exp(-(z * sign))
    return (-((g / (1 + e)) * e) * sign + -g * y) + g * positive


logistic_loss.defvjp(_logistic_loss_dz, lambda g, out, z, y: -g * z)


def compute_multiclass_cost(Z: Tensor, Y: ArrayOrTensor) -> Tensor:
    """The cross-entropy of a softmax output, `J = -(1/m) sum [Y * log_softmax(Z, axis=0)]`, from the output
    layer's `Z (K, m)` and one-hot labels `Y (K, m)`: the classes on axis 0, one example per column.

    `log_softmax(Z) = Z - logsumexp(Z)` is one stable operation: finite for any Z, where `log(softmax(Z))`
    would take log(0) = -inf once a class's probability underflows. Its backward pass gives
    `dJ/dZ = (softmax(Z) - Y) / m`: the lab's `dZ = A - Y`, divided by m, for K classes as for two.
    """
    Y, m = _labels(Y, Z, "compute_multiclass_cost", "Z")
    log_A = named(Z.log_softmax(axis=0), "log_softmax(Z)")
    return named(named(named(Y * log_A, "Y log A").sum(), "sum") * (-1 / m), "J")


def _labels(Y: ArrayOrTensor, output: Tensor, function: str, name: str) -> tuple[Tensor, int]:
    """`(Y, m)`: the labels as a Tensor named Y, checked against the output's shape; m examples."""
    Y = as_tensor(Y, "Y")
    if Y.dtype != output.dtype:  # float32 stays float32: the labels 0 and 1 are exact in any float
        Y = Tensor(Y.data.astype(output.dtype), name="Y")
    if Y.shape != output.shape:
        raise ValueError(
            f"{function}: {name} has shape {output.shape} but Y has shape {Y.shape}; they must match"
        )
    return Y, (Y.shape[1] if Y.ndim == 2 else Y.size)
