"""More than two classes: a softmax network built from minigrad operations (`python -m nets.digits`).

Layout as in the lab: one example per column, the classes on axis 0. `X` is `(n_x, m)`; `labels` `(m,)`
are whole numbers 0 ... K-1, and `Y = one_hot(labels, K)` is `(K, m)`, one 1 per column.

    Z[c] = W[c] A[c-1] + b[c]       A[c] = relu(Z[c]) (or sigmoid, tanh), c < L     A[0] = X
    Z[L] = W[L] A[L-1] + b[L]       A[L] = softmax(Z[L], axis=0): each class's probability
    J    = -(1/m) sum [ Y * log_softmax(Z[L], axis=0) ]

The lab's closed form holds again at the output: `dZ[L] = A[L] - Y`, `m` times the backward pass's
`Z[L].grad` (`output_gradients` computes both). The layers are `nets.deep`'s, with a softmax output; the
cost is `nets.costs.compute_multiclass_cost`; training is mini-batches with `minigrad.optim` (Adam, or SGD
with momentum). The data: scikit-learn's bundled handwritten digits (`load_digits`), or any CSV file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import Tensor
from minigrad.optim import SGD, Adam, Optimizer, zero_grad
from nets import deep
from nets.costs import compute_multiclass_cost
from nets.initialisation import initialize_layers
from nets.tensors import array
from nets.training import TrainingDivergedError, has_diverged

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "INITIALISATIONS",
    "OPTIMISERS",
    "accuracy",
    "classes",
    "compute_cost",
    "evaluate",
    "forward_propagation",
    "initialize_parameters",
    "learning_rate_of",
    "load_digits",
    "make_step",
    "one_hot",
    "output_gradients",
    "predict",
    "probabilities",
    "train",
]

HIDDEN_ACTIVATIONS = deep.HIDDEN_ACTIVATIONS
INITIALISATIONS = ("he", "lab")
OPTIMISERS = ("adam", "sgd")
LEARNING_RATES = {"adam": 0.002, "sgd": 0.05}  # the defaults: what trains the digits well for each
INSTALL_HINT = 'the digits data set needs scikit-learn, which is not installed: pip install -e ".[digits]"'
compute_cost = compute_multiclass_cost


# ----- data -------------------------------------------------------------------------------------------


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits: `X (64, 1797)`, 8x8 pixels of 0 ... 16 read row by row,
    and `labels (1797,)`, 0 ... 9. The data ship inside scikit-learn; nothing is downloaded.
    Without scikit-learn, an ImportError that says how to install it."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    digits = sklearn_digits()
    return digits.data.T.astype(np.float64), digits.target.astype(np.int64)


def one_hot(labels: np.ndarray, classes: int) -> np.ndarray:
    """`Y (classes, m)`: column `i` is 1 in row `labels[i]` and 0 elsewhere."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() >= classes)):
        raise ValueError(f"labels must be a 1-D array of whole numbers 0 to {classes - 1}; got {labels!r}")
    Y = np.zeros((classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


# ----- the network ------------------------------------------------------------------------------------


def initialize_parameters(
    layer_sizes: Sequence[int], init: str = "he", seed: int | None = None
) -> dict[str, np.ndarray]:
    """`W1 ... WL`, `b1 ... bL` for `[n_x, n_1, ..., K]`: He's `N(0, 2/n_in)` (for ReLU), or the lab's
    bound `U(+-sqrt(1/n_in))` (`nets.initialisation`)."""
    if init not in INITIALISATIONS:
        raise ValueError(f"unknown initialisation {init!r}; choose one of {', '.join(INITIALISATIONS)}")
    return initialize_layers(layer_sizes, init, seed=seed)


def classes(parameters: Mapping[str, Any]) -> int:
    """`K`, the number of classes: the rows of the last layer's `W[L]`."""
    return parameters[f"W{deep.number_of_layers(parameters)}"].shape[0]


def forward_propagation(
    X: Any, parameters: Mapping[str, Any], hidden_activation: str = "relu"
) -> tuple[Tensor, dict[str, Tensor]]:
    """`(AL, cache)`: `A[L] = softmax(Z[L], axis=0)` and every `Z[c]`, `A[c]`, as Tensors (`nets.deep`)."""
    return deep.forward_propagation(X, dict(parameters), hidden_activation, output="softmax")


def _cost(parameters: Mapping[str, Any], X: Any, Y: Any, hidden_activation: str) -> tuple[Tensor, Tensor]:
    """`(J, Z[L])`: J from the output layer's Z through `log_softmax`, never through log(softmax)."""
    _, cache = forward_propagation(X, parameters, hidden_activation)
    ZL = cache[f"Z{deep.number_of_layers(parameters)}"]
    return compute_multiclass_cost(ZL, Y), ZL


def make_step(hidden_activation: str) -> Callable[[Mapping[str, Tensor], np.ndarray, np.ndarray], Tensor]:
    """`step(parameters, X, Y) -> J`: one forward pass to the cost, Tensor operations only, so that a
    traced and replayed version (`mg.compile(step)`) can stand in for it."""

    def step(parameters: Mapping[str, Tensor], X: np.ndarray, Y: np.ndarray) -> Tensor:
        return _cost(parameters, X, Y, hidden_activation)[0]

    return step


def output_gradients(
    parameters: Mapping[str, Any], X: Any, Y: Any, hidden_activation: str = "relu"
) -> tuple[np.ndarray, np.ndarray]:
    """`(closed_form, autograd)`: the lab's `dZ[L] = A[L] - Y`, and `m * Z[L].grad` from the backward pass.

    J averages over the m examples, so the backward pass gives `dJ/dZ[L] = (A[L] - Y) / m`; the lab's
    `dZ` leaves that 1/m to `dW` and `db`. The two agree to rounding, for K classes as for the lab's two.
    """
    leaves = {name: Tensor(array(W), requires_grad=True, name=name) for name, W in parameters.items()}
    J, ZL = _cost(leaves, X, Y, hidden_activation)
    J.backward()
    closed_form = np.exp(mg.log_softmax(ZL.detach(), axis=0).data) - array(Y)
    return closed_form, ZL.shape[1] * ZL.grad


# ----- training -------------------------------------------------------------------------------------


def learning_rate_of(optimiser: str, learning_rate: float | None = None) -> float:
    """The learning rate a run uses: the one given, or the optimiser's default (`LEARNING_RATES`)."""
    if optimiser not in OPTIMISERS:
        raise ValueError(f"unknown optimiser {optimiser!r}; choose one of {', '.join(OPTIMISERS)}")
    return LEARNING_RATES[optimiser] if learning_rate is None else learning_rate


def _optimiser(
    name: str, parameters: list[Tensor], learning_rate: float | None, momentum: float
) -> Optimizer:
    rate = learning_rate_of(name, learning_rate)
    return Adam(parameters, rate) if name == "adam" else SGD(parameters, rate, momentum=momentum)


def train(
    X: np.ndarray,
    labels: np.ndarray,
    parameters: Mapping[str, np.ndarray],
    *,
    hidden_activation: str = "relu",
    optimiser: str = "adam",
    learning_rate: float | None = None,
    momentum: float = 0.9,
    batch_size: int = 32,
    epochs: int = 30,
    seed: int | None = None,
    callback: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    compiled: bool = True,
) -> dict[str, np.ndarray]:
    """Mini-batch training from `parameters`; returns the trained ones (new arrays).

    Each epoch visits the examples once, in an order drawn from `seed`, `batch_size` at a time; each
    batch is one `step` (forward pass to J), `J.backward()` and one optimiser step (Adam by default, or
    SGD with `momentum`; `learning_rate` None takes `LEARNING_RATES`). `callback(epoch, parameters)` is
    called before the first epoch (epoch 0) and after each. Raises `TrainingDivergedError` as soon as a
    batch's cost is NaN, infinite, or far above the first batch's. With `compiled` (the default) the
    step is `mg.compile`'s replay of a traced pass, whose J and gradients are the eager engine's to the
    last bit; `compiled=False` runs `J.backward()` on Tensors.
    """
    leaves = {name: Tensor(array(W).copy(), requires_grad=True, name=name) for name, W in parameters.items()}
    opt = _optimiser(optimiser, list(leaves.values()), learning_rate, momentum)
    gradients = (_compiled_gradients if compiled else _eager_gradients)(leaves, make_step(hidden_activation))
    Y = one_hot(labels, classes(leaves))
    rng, m = np.random.default_rng(seed), X.shape[1]
    current = lambda: {name: W.data for name, W in leaves.items()}  # noqa: E731
    if callback is not None:
        callback(0, current())
    costs: list[float] = []  # every batch's, to tell divergence from the first one
    for epoch in range(1, epochs + 1):
        _epoch(gradients, opt, X, Y, rng.permutation(m), batch_size, costs)
        if callback is not None:
            callback(epoch, current())
    return current()


Gradients = Callable[[np.ndarray, np.ndarray], float]


def _eager_gradients(leaves: Mapping[str, Tensor], step: Callable[..., Tensor]) -> Gradients:
    """`gradients(X, Y) -> J`: a forward pass on the leaves, and `J.backward()` to fill their `.grad`."""

    def gradients(X: np.ndarray, Y: np.ndarray) -> float:
        zero_grad(leaves.values())
        J = step(leaves, X, Y)
        J.backward()
        return float(J)

    return gradients


def _compiled_gradients(leaves: Mapping[str, Tensor], step: Callable[..., Tensor]) -> Gradients:
    """The same as `_eager_gradients`, by `mg.compile`: each gradient it returns is put in `.grad`, where
    the optimiser reads it. A last batch smaller than the others is a second signature, traced once too."""
    names = list(leaves)

    def loss(*args: Tensor) -> Tensor:
        *parameters, X, Y = args
        return step(dict(zip(names, parameters)), X, Y)

    replay = mg.compile(loss)

    def gradients(X: np.ndarray, Y: np.ndarray) -> float:
        J, grads = replay(*leaves.values(), X, Y)
        for W, g in zip(leaves.values(), grads):
            W.grad = g
        return J.item()

    return gradients


def _epoch(
    gradients: Gradients,
    opt: Optimizer,
    X: np.ndarray,
    Y: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    costs: list[float],
) -> None:
    """One pass over the examples in `order`, a batch at a time: forward to J, backward, one step."""
    for first in range(0, len(order), batch_size):
        batch = order[first : first + batch_size]
        costs.append(gradients(X[:, batch], Y[:, batch]))
        opt.step()
        if has_diverged(costs[-1], costs[0]):
            raise TrainingDivergedError(len(costs), costs[-1], opt.learning_rate, costs[0])


# ----- predictions ---------------------------------------------------------------------------------


def probabilities(parameters: Mapping[str, Any], X: Any, hidden_activation: str = "relu") -> np.ndarray:
    """`A[L] (K, m)`: each class's probability for each example (a column), without building a graph."""
    with mg.no_grad():
        AL, _ = forward_propagation(X, parameters, hidden_activation)
    return AL.data


def predict(parameters: Mapping[str, Any], X: Any, hidden_activation: str = "relu") -> np.ndarray:
    """The most probable class of each example, `(m,)`."""
    return np.argmax(probabilities(parameters, X, hidden_activation), axis=0)


def accuracy(
    parameters: Mapping[str, Any], X: Any, labels: np.ndarray, hidden_activation: str = "relu"
) -> float:
    """The fraction of examples whose most probable class is their label."""
    return float(np.mean(predict(parameters, X, hidden_activation) == np.asarray(labels)))


def evaluate(
    parameters: Mapping[str, Any], X: np.ndarray, labels: np.ndarray, hidden_activation: str = "relu"
) -> tuple[float, float]:
    """`(J, accuracy)` on these examples, from one forward pass without a graph."""
    with mg.no_grad():
        J, ZL = _cost(parameters, X, one_hot(labels, classes(parameters)), hidden_activation)
    return float(J), float(np.mean(np.argmax(ZL.data, axis=0) == labels))
