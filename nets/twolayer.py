"""The lab's two-layer network, built from minigrad operations.

Layout as in the lab: one example per column. `X` is `(n_x, m)`, `Y` is `(n_y, m)` with values in {0, 1}.

    Z1 = W1 X + b1        A1 = sigmoid(Z1)   (or relu(Z1): the lab's step 4 remedy)
    Z2 = W2 A1 + b2       A2 = sigmoid(Z2)
    J  = -(1/m) sum [ Y log A2 + (1 - Y) log(1 - A2) ]

The lab's gradients are written out in NumPy (`backward_propagation`) and read off minigrad's backward pass
of J as written (`compute_cost`, `autograd_gradients`), so that the two can be held against each other.
`compute_cost_from_logits` is the same J computed from Z2, exact where A2 saturates; `train` runs gradient
descent on it. `python -m nets.twolayer` is the main job (see `nets/cli.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import Tensor
from nets import initialisation

ACTIVATIONS = ("sigmoid", "relu")
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")
GRADIENT_NAMES = ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1")

ArrayOrTensor = np.ndarray | Tensor


# ----- step 1: initialisation ----------------------------------------------------------------------


def initialize_parameters(
    n_x: int, n_h: int, n_y: int = 1, seed: int | None = None, init: str = "lab", std: float | None = None
) -> dict[str, np.ndarray]:
    """Parameters `W1 (n_h, n_x)`, `b1 (n_h, 1)`, `W2 (n_y, n_h)`, `b2 (n_y, 1)`; biases start at 0.

    `init` is one of `nets.initialisation.INITIALISATIONS`, with `n_in = n[c-1]`, `n_out = n[c]` for `W[c]`:

    - `"lab"` (default): `U(-sqrt(1 / n_in), +sqrt(1 / n_in))`, the rule the lab recommends (it calls it
      Xavier);
    - `"glorot"`: `U(±sqrt(6 / (n_in + n_out)))`, Glorot and Bengio's own "Xavier" uniform rule;
    - `"he"`: `N(0, 2 / n_in)`, He et al.'s normal, made for ReLU;
    - `"normal"`: `N(0, std²)` with the `std` given.

    The same `seed` gives the same parameters: those of
    `nets.initialisation.initialize_parameters([n_x, n_h, n_y], init, std, seed)`, the one implementation.
    """
    for label, n in (("n_x", n_x), ("n_h", n_h), ("n_y", n_y)):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"initialize_parameters: {label} must be a positive whole number, got {n!r}")
    return initialisation.initialize_parameters([n_x, n_h, n_y], init, std=std, seed=seed)


# ----- the lab's NumPy helpers (steps 2 and 4) ----------------------------------------------------


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-Z)), in NumPy, without overflow for large negative Z."""
    Z = np.asarray(Z, dtype=np.float64)
    # exp(-|Z|) never overflows; the two equal forms are picked by the sign of Z.
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))


def relu(Z: np.ndarray) -> np.ndarray:
    """max(0, Z), elementwise."""
    return np.maximum(np.asarray(Z, dtype=np.float64), 0.0)


def relu_derivative(Z: np.ndarray) -> np.ndarray:
    """1 where Z > 0 and 0 elsewhere (0 at Z = 0 too, as minigrad's relu and PyTorch)."""
    return (np.asarray(Z) > 0).astype(np.float64)


# ----- step 2: forward propagation ------------------------------------------------------------------


def _check_activation(hidden_activation: str) -> None:
    if hidden_activation not in ACTIVATIONS:
        raise ValueError(f"hidden_activation must be 'sigmoid' or 'relu', got {hidden_activation!r}")


def _name(t: Tensor, name: str) -> Tensor:
    """`t`, now carrying the lab's name for it."""
    t.name = name
    return t


def _named(x: ArrayOrTensor, name: str) -> Tensor:
    """`x` as a Tensor carrying the lab's name (a caller's Tensor keeps a name it already has)."""
    if isinstance(x, Tensor):
        if x.name is None:
            x.name = name
        return x
    return Tensor(x, name=name)


def _parameter(parameters: Mapping[str, Any], name: str) -> Any:
    try:
        return parameters[name]
    except KeyError:
        raise KeyError(f"parameters has no {name!r}; it needs {', '.join(PARAMETER_NAMES)}") from None


def forward_propagation(
    X: ArrayOrTensor, parameters: Mapping[str, ArrayOrTensor], hidden_activation: str = "sigmoid"
) -> tuple[Tensor, dict[str, Tensor]]:
    """The lab's forward pass from minigrad operations: `(A2, cache)`, cache holding Z1, A1, Z2, A2.

    Parameters may be ndarrays or Tensors (Tensors with `requires_grad=True` put the pass in the graph).
    Every tensor carries the lab's name, so graphs and errors speak the lab's language.
    """
    _check_activation(hidden_activation)
    X = _named(X, "X")
    W1, b1, W2, b2 = (_named(_parameter(parameters, p), p) for p in PARAMETER_NAMES)

    Z1 = _name(_name(W1 @ X, "W1 X") + b1, "Z1")
    A1 = _name(Z1.sigmoid() if hidden_activation == "sigmoid" else Z1.relu(), "A1")
    Z2 = _name(_name(W2 @ A1, "W2 A1") + b2, "Z2")
    A2 = _name(Z2.sigmoid(), "A2")
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


# ----- step 3: the cost and back-propagation --------------------------------------------------------


def compute_cost(A2: ArrayOrTensor, Y: ArrayOrTensor) -> Tensor:
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
    outside = ~((A2.data >= 0) & (A2.data <= 1))  # nan is outside too
    if outside.any():
        raise ValueError(
            f"compute_cost: A2 must hold probabilities in [0, 1], A2 = sigmoid(Z2), not Z2; "
            f"found {A2.data[outside].flat[0]:g}"
        )

    # The floats just inside (0, 1): the largest below 1, and the smallest normal one above 0 (not a
    # subnormal, so that log's derivative 1 / A2 is finite too). A constant shift moves A2 there where
    # it is beyond them and is 0 elsewhere, so wherever the formula as written has a finite value and
    # gradient, J and its gradient are exactly the formula's. (PyTorch's BCELoss clamps its logs at -100
    # for the same reason.) The shift enters the graph only when it moves something, so that the graph of
    # an ordinary pass is the lab's formula alone.
    lowest, highest = np.finfo(A2.dtype).tiny, np.nextafter(A2.dtype.type(1), A2.dtype.type(0))
    if np.any((A2.data < lowest) | (A2.data > highest)):
        shift = Tensor(np.clip(A2.data, lowest, highest) - A2.data, name="shift into (0, 1)")
        A2 = _name(A2 + shift, "A2 in (0, 1)")

    log_A2 = _name(A2.log(), "log A2")
    one = Tensor(A2.dtype.type(1), name="1")
    log_1_minus_A2 = _name(_name(one - A2, "1 - A2").log(), "log(1 - A2)")
    terms = _name(
        _name(Y * log_A2, "Y log A2") + _name(_name(1 - Y, "1 - Y") * log_1_minus_A2, "(1 - Y) log(1 - A2)"),
        "Y log A2 + (1 - Y) log(1 - A2)",
    )
    return _name(Tensor(-1 / m, name="-1/m") * _name(terms.sum(), "sum"), "J")


def compute_cost_from_logits(Z: Tensor, Y: ArrayOrTensor) -> Tensor:
    """The same J computed from the output layer's `Z` (Z2 here, Z[L] in `nets.deep`), before its sigmoid:
    finite for any Z, with the lab's gradient dJ/dZ = (A - Y) / m also where A = sigmoid(Z) saturates.

    With `softplus(z) = log(1 + e^z)`,
    `-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = softplus(z) - y z`, and
    `softplus(z) = max(z, 0) + log(1 + e^(-|z|))` never overflows. The masks that pick `max(z, 0)` and `|z|`
    are constants, so the backward pass is exact everywhere, `z = 0` included.

    Why it matters: `sigmoid(z)` rounds to exactly 1.0 once `z > 37`, and an exploding network's output is
    far beyond that. There the formula as written (`compute_cost`) can only clamp its logs, and the
    gradient back through the saturated sigmoid, `A (1 - A) = 0`, is lost: the size of an exploding
    gradient would not show, and a diverging run would look like one that merely stopped learning.
    """
    Y, m = _labels(Y, Z, "compute_cost_from_logits", "Z")
    positive = (Z.data >= 0).astype(Z.dtype)
    sign = 2 * positive - 1
    softplus = Z * positive + (1 + (-(Z * sign)).exp()).log()
    return (softplus - Y * Z).sum() / m


def _labels(Y: ArrayOrTensor, output: Tensor, function: str, name: str) -> tuple[Tensor, int]:
    """`(Y, m)`: the labels as a Tensor named Y, checked against the output's shape; m examples."""
    Y = _named(Y, "Y")
    if Y.shape != output.shape:
        raise ValueError(
            f"{function}: {name} has shape {output.shape} but Y has shape {Y.shape}; they must match"
        )
    return Y, (Y.shape[1] if Y.ndim == 2 else Y.size)


def backward_propagation(
    parameters: Mapping[str, ArrayOrTensor],
    cache: Mapping[str, ArrayOrTensor],
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    hidden_activation: str = "sigmoid",
) -> dict[str, np.ndarray]:
    """The lab's closed-form gradients, in NumPy: `dZ2, dW2, db2, dZ1, dW1, db1`.

    As in the lab, `dZ2 = A2 - Y` and `dZ1` are `m` times the derivatives of J with respect to Z2 and
    Z1; `dW` and `db` are the derivatives of J themselves (the `1/m` is applied there).
    """
    _check_activation(hidden_activation)

    def array(x: ArrayOrTensor) -> np.ndarray:
        return x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)

    X, Y = array(X), array(Y)
    W2 = array(_parameter(parameters, "W2"))
    Z1, A1, A2 = array(cache["Z1"]), array(cache["A1"]), array(cache["A2"])
    m = X.shape[1]

    dZ2 = A2 - Y
    dW2 = (1 / m) * dZ2 @ A1.T
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 * (1 - A1) if hidden_activation == "sigmoid" else relu_derivative(Z1))
    dW1 = (1 / m) * dZ1 @ X.T
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
    return {"dZ2": dZ2, "dW2": dW2, "db2": db2, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def _no_float_warnings() -> np.errstate:
    """Overflow is caught by checking the cost, so NumPy's warnings would only repeat it, untidily."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore")


def _autograd_pass(
    parameters: Mapping[str, ArrayOrTensor],
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    hidden_activation: str,
    from_logits: bool = False,
) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor]]:
    """One forward and backward pass: `(J, cache, leaves)`, every gradient left in the tensors' `.grad`.

    J is the lab's formula (`compute_cost`), or with `from_logits` the same J from Z2.
    """
    leaves = {p: Tensor(_parameter(parameters, p), requires_grad=True, name=p) for p in PARAMETER_NAMES}
    with _no_float_warnings():
        A2, cache = forward_propagation(X, leaves, hidden_activation)
        J = compute_cost_from_logits(cache["Z2"], Y) if from_logits else compute_cost(A2, Y)
        J.backward()
    return J, cache, leaves


def autograd_gradients(
    parameters: Mapping[str, ArrayOrTensor],
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    hidden_activation: str = "sigmoid",
    *,
    from_logits: bool = True,
) -> dict[str, np.ndarray]:
    """The same dict as `backward_propagation`, every entry read off minigrad's backward pass of J.

    The backward pass gives derivatives of J: `Z2.grad` is dJ/dZ2 = (A2 - Y) / m, because J averages
    over the m examples. The lab's `dZ2 = A2 - Y` leaves that 1/m for `dW2` and `db2`, so here
    `dZ2 = m * Z2.grad` and `dZ1 = m * Z1.grad`, while `dW1, db1, dW2, db2` are the `.grad` of the
    parameters as they are (the lab's `dW` and `db` are derivatives of J).

    By default J is computed from Z2 (`compute_cost_from_logits`), the same value as `compute_cost`:
    through the formula as written, the chain rule meets sigmoid'(Z2) = A2 (1 - A2), which rounds to 0
    once A2 rounds to 0 or 1 (|Z2| > 37), and an example the network gets badly wrong would report
    dZ2 = 0 instead of A2 - Y = +-1. `from_logits=False` differentiates `compute_cost`, the lab's
    formula as written, through its log and sigmoid rules: exact while A2 stays inside (0, 1).
    """
    _, cache, leaves = _autograd_pass(parameters, X, Y, hidden_activation, from_logits=from_logits)
    m = cache["Z2"].shape[1]
    return {
        "dZ2": m * cache["Z2"].grad,
        "dW2": leaves["W2"].grad,
        "db2": leaves["b2"].grad,
        "dZ1": m * cache["Z1"].grad,
        "dW1": leaves["W1"].grad,
        "db1": leaves["b1"].grad,
    }


# ----- gradient descent -----------------------------------------------------------------------------


def update_parameters(
    parameters: Mapping[str, ArrayOrTensor], grads: Mapping[str, np.ndarray], learning_rate: float
) -> dict[str, np.ndarray]:
    """One gradient-descent step, `W := W - learning_rate * dW` for each parameter; returns new arrays."""
    if not (isinstance(learning_rate, int | float) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate!r}")
    new = {}
    for p in PARAMETER_NAMES:
        value = _parameter(parameters, p)
        value = value.data if isinstance(value, Tensor) else np.asarray(value)
        new[p] = value - learning_rate * grads["d" + p]
    return new


class TrainingDiverged(ArithmeticError):
    """The cost became nan or infinite, or rose far above its start: the steps were too large."""

    def __init__(self, iteration: int, cost: float, learning_rate: float, start: float) -> None:
        self.iteration, self.cost, self.learning_rate, self.start = iteration, cost, learning_rate, start
        super().__init__(
            f"the cost became {cost:.6g} at iteration {iteration} (from {start:.6g} at the start): "
            f"the gradients exploded; try a learning rate smaller than {learning_rate:g}"
        )


# A cost this many times its start has diverged: gradient descent with a step that suits the problem goes
# down; a spike of a few times can recover, ten times the cost of a guess does not.
DIVERGED_ABOVE = 10.0


def train(
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    n_h: int,
    *,
    hidden_activation: str = "sigmoid",
    learning_rate: float = 1.0,
    iterations: int = 1000,
    seed: int | None = None,
    init: str = "lab",
    parameters: Mapping[str, np.ndarray] | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Gradient descent on J with the gradients of minigrad's backward pass: `(parameters, costs)`.

    J is computed from Z2 (`compute_cost_from_logits`): the lab's J, whose gradient is the lab's
    dZ2 / m = (A2 - Y) / m also where a too large step has saturated A2 to exactly 0 or 1. The formula as
    written would pass no gradient back there, and a diverging run would look like one that stopped.
    Starts from `parameters`, or from `initialize_parameters(n_x, n_h, n_y, seed, init)` when None.
    `costs[i]` is J after `i` steps, for `i` from 0 to `iterations`; `callback(i, J)` is called with each.
    Raises `TrainingDiverged` (naming the iteration) as soon as the cost is nan or infinite or above
    `DIVERGED_ABOVE` times its start, so no exploded parameters ever come back.
    """
    _check_activation(hidden_activation)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive whole number, got {iterations!r}")
    X = X.data if isinstance(X, Tensor) else np.asarray(X, dtype=np.float64)
    Y = Y.data if isinstance(Y, Tensor) else np.asarray(Y, dtype=np.float64)
    if parameters is None:
        parameters = initialize_parameters(X.shape[0], n_h, Y.shape[0], seed=seed, init=init)
    costs: list[float] = []
    for i in range(iterations + 1):
        J, _, leaves = _autograd_pass(parameters, X, Y, hidden_activation, from_logits=True)
        cost = J.item()
        if not math.isfinite(cost) or (costs and cost > DIVERGED_ABOVE * costs[0]):
            raise TrainingDiverged(i, cost, learning_rate, costs[0] if costs else cost)
        costs.append(cost)
        if callback is not None:
            callback(i, cost)
        if i == iterations:
            break
        with _no_float_warnings():
            parameters = update_parameters(
                parameters, {"d" + p: leaves[p].grad for p in PARAMETER_NAMES}, learning_rate
            )
    return dict(parameters), costs


def predict(
    parameters: Mapping[str, ArrayOrTensor], X: ArrayOrTensor, hidden_activation: str = "sigmoid"
) -> np.ndarray:
    """0/1 predictions of shape `(n_y, m)`: 1 where A2 > 0.5."""
    with mg.no_grad():
        A2, _ = forward_propagation(X, parameters, hidden_activation)
    return (A2.data > 0.5).astype(np.int64)


def accuracy(parameters: Mapping[str, ArrayOrTensor], X: ArrayOrTensor, Y: ArrayOrTensor, **kw: Any) -> float:
    """The fraction of examples (columns) whose every output is predicted right."""
    Y = Y.data if isinstance(Y, Tensor) else np.asarray(Y)
    return float(np.mean(np.all(predict(parameters, X, **kw) == Y, axis=0)))


def main(argv: list[str] | None = None) -> int:
    """The main job, `python -m nets.twolayer`: see `nets/cli.py` and `--help`."""
    from nets.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
