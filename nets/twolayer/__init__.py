"""The lab's two-layer network, built from minigrad operations.

Layout as in the lab: one example per column. `X` is `(n_x, m)`, `Y` is `(n_y, m)` with values in {0, 1}.

    Z1 = W1 X + b1        A1 = sigmoid(Z1)   (or relu(Z1): the lab's step 4 remedy)
    Z2 = W2 A1 + b2       A2 = sigmoid(Z2)
    J  = -(1/m) sum [ Y log A2 + (1 - Y) log(1 - A2) ]

The lab's gradients are written out in NumPy (`backward_propagation`) and read off minigrad's backward pass
of J as written (`compute_cost`, `autograd_gradients`), so that the two can be held against each other.
The costs live in `nets.costs` (shared with `nets.deep`) and are importable from here as the lab names them:
`compute_cost_from_logits` is the same J computed from Z2, exact where A2 saturates; `train` runs gradient
descent on it. `python -m nets.twolayer` is the main job, in `nets/twolayer/command.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import Tensor
from nets import initialisation, metrics
from nets.checks import binary_labels, check_examples, whole_number
from nets.costs import compute_cost, compute_cost_from_logits
from nets.tensors import ArrayOrTensor, array, as_tensor, named
from nets.training import DIVERGED_ABOVE, TrainingDivergedError, has_diverged

__all__ = [
    "ACTIVATIONS",
    "DIVERGED_ABOVE",
    "GRADIENT_NAMES",
    "PARAMETER_NAMES",
    "FormulaCheck",
    "TrainingDivergedError",
    "accuracy",
    "autograd_gradients",
    "backward_propagation",
    "check_formulas",
    "compute_cost",
    "compute_cost_from_logits",
    "forward_propagation",
    "initialize_parameters",
    "predict",
    "relu",
    "relu_derivative",
    "sigmoid",
    "train",
    "update_parameters",
]

ACTIVATIONS = ("sigmoid", "relu")
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")
GRADIENT_NAMES = ("dZ2", "dW2", "db2", "dZ1", "dW1", "db1")


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
    `nets.initialisation.initialize_layers([n_x, n_h, n_y], init, std, seed)`, the one implementation.
    """
    sizes = [
        whole_number(n, f"initialize_parameters: {label}")
        for label, n in zip(("n_x", "n_h", "n_y"), (n_x, n_h, n_y))
    ]
    return initialisation.initialize_layers(sizes, init, std=std, seed=seed)


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
    X = as_tensor(X, "X")
    W1, b1, W2, b2 = (as_tensor(_parameter(parameters, p), p) for p in PARAMETER_NAMES)

    Z1 = named(named(W1 @ X, "W1 X") + b1, "Z1")
    A1 = named(Z1.sigmoid() if hidden_activation == "sigmoid" else Z1.relu(), "A1")
    Z2 = named(named(W2 @ A1, "W2 A1") + b2, "Z2")
    A2 = named(Z2.sigmoid(), "A2")
    return A2, {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


# ----- step 3: the cost and back-propagation --------------------------------------------------------


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
    binary_labels(Y, "backward_propagation")
    return _closed_form(parameters, cache, X, Y, hidden_activation)


def _closed_form(
    parameters: Mapping[str, ArrayOrTensor],
    cache: Mapping[str, ArrayOrTensor],
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    hidden_activation: str,
) -> dict[str, np.ndarray]:
    """`backward_propagation` on labels already checked."""
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
        J = (
            compute_cost_from_logits(cache["Z2"], Y)
            if from_logits
            else compute_cost(A2, Y, labels_checked=True)
        )
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
    binary_labels(Y, "autograd_gradients")
    _, cache, leaves = _autograd_pass(parameters, X, Y, hidden_activation, from_logits=from_logits)
    return _lab_gradients(cache, leaves)


def _lab_gradients(cache: Mapping[str, Tensor], leaves: Mapping[str, Tensor]) -> dict[str, np.ndarray]:
    """The lab's six gradients read off a backward pass: `dZ = m * Z.grad`, the parameters' `.grad` as is."""
    m = cache["Z2"].shape[1]
    return {
        "dZ2": m * cache["Z2"].grad,
        "dW2": leaves["W2"].grad,
        "db2": leaves["b2"].grad,
        "dZ1": m * cache["Z1"].grad,
        "dW1": leaves["W1"].grad,
        "db1": leaves["b1"].grad,
    }


@dataclass(frozen=True)
class FormulaCheck:
    """One forward and backward pass of the lab's J as written, and its gradients held against the formulas.

    `J` is the cost whose backward pass has run, its graph intact: `mg.draw_graph(check.J)` draws the
    pass whose gradients were compared. `closed_form` and `autograd` are the two dicts of the lab's six
    gradients; `differences` the largest `|closed form - autograd|` of each.
    """

    J: Tensor
    closed_form: dict[str, np.ndarray]
    autograd: dict[str, np.ndarray]

    @property
    def differences(self) -> dict[str, float]:
        """The largest `|closed form - autograd|` of each of the six gradients, by name."""
        return {k: float(np.max(np.abs(self.closed_form[k] - self.autograd[k]))) for k in GRADIENT_NAMES}

    @property
    def largest_difference(self) -> float:
        """The largest of `differences`: rounding (about 1e-16) when the two agree."""
        return max(self.differences.values())


def check_formulas(
    parameters: Mapping[str, ArrayOrTensor],
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    hidden_activation: str = "sigmoid",
) -> FormulaCheck:
    """The lab's closed-form gradients (`backward_propagation`) against minigrad's, from one pass.

    Autograd differentiates `compute_cost`, the lab's J as written, through every rule on the way, log and
    sigmoid included (exact while A2 stays inside (0, 1), as at initialisation). The closed form reads
    Z1, A1 and A2 off the same forward pass.
    """
    _check_activation(hidden_activation)
    binary_labels(Y, "check_formulas")  # once, for both passes below
    J, cache, leaves = _autograd_pass(parameters, X, Y, hidden_activation, from_logits=False)
    closed = _closed_form(leaves, cache, X, Y, hidden_activation)
    return FormulaCheck(J, closed, _lab_gradients(cache, leaves))


# ----- gradient descent -----------------------------------------------------------------------------


def update_parameters(
    parameters: Mapping[str, ArrayOrTensor], grads: Mapping[str, np.ndarray], learning_rate: float
) -> dict[str, np.ndarray]:
    """One gradient-descent step, `W := W - learning_rate * dW` for each parameter; returns new arrays."""
    if not (isinstance(learning_rate, int | float) and math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate!r}")
    return {p: array(_parameter(parameters, p)) - learning_rate * grads["d" + p] for p in PARAMETER_NAMES}


def _starting_parameters(
    X: np.ndarray,
    Y: np.ndarray,
    n_h: int | None,
    seed: int | None,
    init: str | None,
    parameters: Mapping[str, ArrayOrTensor] | None,
) -> Mapping[str, ArrayOrTensor]:
    """`parameters` as given, or new ones drawn from `n_h`, `seed` and `init`: one or the other."""
    if parameters is None:
        if n_h is None:
            raise ValueError("train needs n_h (the hidden units), or parameters to start from")
        return initialize_parameters(X.shape[0], n_h, Y.shape[0], seed=seed, init=init or "lab")
    given = [name for name, value in (("n_h", n_h), ("seed", seed), ("init", init)) if value is not None]
    if given:
        raise ValueError(
            f"train: {', '.join(given)} would draw new parameters, but parameters were given to start "
            "from; pass one or the other"
        )
    return parameters


def train(
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    n_h: int | None = None,
    *,
    hidden_activation: str = "sigmoid",
    learning_rate: float = 1.0,
    iterations: int = 1000,
    seed: int | None = None,
    init: str | None = None,
    parameters: Mapping[str, ArrayOrTensor] | None = None,
    callback: Callable[[int, float], None] | None = None,
    compiled: bool = True,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """Gradient descent on J with the gradients of minigrad's backward pass: `(parameters, costs)`.

    J is computed from Z2 (`compute_cost_from_logits`): the lab's J, whose gradient is the lab's
    dZ2 / m = (A2 - Y) / m also where a too large step has saturated A2 to exactly 0 or 1. The formula as
    written would pass no gradient back there, and a diverging run would look like one that stopped.
    Starts from `initialize_parameters(n_x, n_h, n_y, seed, init)` (init "lab" by default), or from
    `parameters`; giving both is a ValueError, as `n_h`, `seed` and `init` would be ignored.
    `costs[i]` is J after `i` steps, for `i` from 0 to `iterations`; `callback(i, J)` is called with each.
    Raises `TrainingDivergedError` (naming the iteration) as soon as the cost is nan or infinite or above
    `DIVERGED_ABOVE` times its start, so no exploded parameters ever come back.
    With `compiled` (the default) each step is `mg.compile`'s replay of one traced pass, whose J and
    gradients are the eager engine's to the last bit; `compiled=False` runs the eager backward pass.
    """
    _check_activation(hidden_activation)
    whole_number(iterations, "iterations")
    X, Y = array(X), array(Y)
    check_examples(X, Y, "train")
    parameters = _starting_parameters(X, Y, n_h, seed, init, parameters)
    step = (_compiled_step if compiled else _eager_step)(hidden_activation)
    return _descend(step, parameters, X, Y, learning_rate, iterations, callback)


def _descend(
    step: Step,
    parameters: Mapping[str, ArrayOrTensor],
    X: np.ndarray,
    Y: np.ndarray,
    learning_rate: float,
    iterations: int,
    callback: Callable[[int, float], None] | None,
) -> tuple[dict[str, np.ndarray], list[float]]:
    """`train`'s loop: `iterations` steps of gradient descent from `parameters`, each cost checked."""
    costs: list[float] = []
    for i in range(iterations + 1):
        cost, grads = step(parameters, X, Y)
        if has_diverged(cost, costs[0] if costs else cost):
            raise TrainingDivergedError(i, cost, learning_rate, costs[0] if costs else cost)
        costs.append(cost)
        if callback is not None:
            callback(i, cost)
        if i == iterations:
            break
        with _no_float_warnings():
            parameters = update_parameters(parameters, grads, learning_rate)
    return dict(parameters), costs


Step = Callable[[Mapping[str, ArrayOrTensor], np.ndarray, np.ndarray], tuple[float, dict[str, np.ndarray]]]


def _eager_step(hidden_activation: str) -> Step:
    """`step(parameters, X, Y) -> (J, {"dW1": ..., ...})` by a forward and backward pass on Tensors."""

    def step(parameters: Mapping[str, ArrayOrTensor], X: np.ndarray, Y: np.ndarray) -> tuple:
        J, _, leaves = _autograd_pass(parameters, X, Y, hidden_activation, from_logits=True)
        return J.item(), {"d" + p: leaves[p].grad for p in PARAMETER_NAMES}

    return step


def _compiled_step(hidden_activation: str) -> Step:
    """The same step as `_eager_step`, traced by `mg.compile` at its first call and replayed after."""

    def cost(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, X: Tensor, Y: Tensor) -> Tensor:
        _, cache = forward_propagation(X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, hidden_activation)
        return compute_cost_from_logits(cache["Z2"], Y)

    replay = mg.compile(cost)

    def step(parameters: Mapping[str, ArrayOrTensor], X: np.ndarray, Y: np.ndarray) -> tuple:
        leaves = [Tensor(_parameter(parameters, p), requires_grad=True, name=p) for p in PARAMETER_NAMES]
        with _no_float_warnings():
            J, grads = replay(*leaves, X, Y)
        return J.item(), {"d" + p: g for p, g in zip(PARAMETER_NAMES, grads)}

    return step


def predict(
    parameters: Mapping[str, ArrayOrTensor], X: ArrayOrTensor, hidden_activation: str = "sigmoid"
) -> np.ndarray:
    """0/1 predictions of shape `(n_y, m)`: 1 where A2 > 0.5 (`nets.metrics.THRESHOLD`)."""
    with mg.no_grad():
        A2, _ = forward_propagation(X, parameters, hidden_activation)
    return metrics.predictions(A2.data)


def accuracy(
    parameters: Mapping[str, ArrayOrTensor],
    X: ArrayOrTensor,
    Y: ArrayOrTensor,
    hidden_activation: str = "sigmoid",
) -> float:
    """The fraction of examples (columns) whose every output is predicted right."""
    binary_labels(Y, "accuracy")
    return metrics.accuracy(predict(parameters, X, hidden_activation), array(Y))
