"""More than two classes: a softmax network built from minigrad operations (`python -m nets.digits`).

Layout as in the lab: one example per column, the classes on axis 0. `X` is `(n_x, m)`; `labels` `(m,)`
are whole numbers 0 ... K-1, and `Y = one_hot(labels, K)` is `(K, m)`, one 1 per column.

    Z[c] = W[c] A[c-1] + b[c]       A[c] = relu(Z[c]) (or sigmoid, tanh), c < L     A[0] = X
    Z[L] = W[L] A[L-1] + b[L]       A[L] = softmax(Z[L], axis=0): each class's probability
    J    = -(1/m) sum [ Y * log_softmax(Z[L], axis=0) ]

The lab's closed form holds again at the output: `dZ[L] = A[L] - Y`, `m` times the backward pass's
`Z[L].grad` (`output_gradients` computes both). The layers are `nets.deep`'s, with a softmax output; the
cost is `nets.costs.compute_multiclass_cost`. Training is PyTorch's loop on `minigrad.nn`: the same network
as `nn.Sequential(nn.Linear(...), nn.ReLU(), ..., nn.Linear(...))` (`to_model`), the fused
`F.cross_entropy`, `mg.data.batches` and `minigrad.optim` (Adam, or SGD with momentum); `W[c]` is
`Linear.weight` as it is, and `b[c]` its bias as a column. The data: scikit-learn's bundled handwritten
digits (`load_digits`), or any CSV file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import minigrad as mg
from minigrad import Tensor, nn
from minigrad.nn import functional as F
from minigrad.optim import SGD, Adam, Optimizer
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
    "parameters_of",
    "predict",
    "probabilities",
    "to_model",
    "train",
]

HIDDEN_ACTIVATIONS = deep.HIDDEN_ACTIVATIONS
ACTIVATION_MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
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
    return Adam(parameters, lr=rate) if name == "adam" else SGD(parameters, lr=rate, momentum=momentum)


def to_model(parameters: Mapping[str, Any], hidden_activation: str = "relu") -> nn.Sequential:
    """The network of `parameters` as `minigrad.nn` layers: `Linear, activation, ..., Linear` (the softmax
    is in the loss, as in PyTorch). `W[c]` is already the layout of `Linear.weight` (out, in); `b[c]`, a
    column here, becomes its vector `bias`. The values are copied."""
    if hidden_activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"unknown hidden activation {hidden_activation!r}; choose one of {HIDDEN_ACTIVATIONS}"
        )
    layers: list[nn.Module] = []
    L = deep.number_of_layers(dict(parameters))
    for c in range(1, L + 1):
        W, b = array(parameters[f"W{c}"]), array(parameters[f"b{c}"])
        linear = nn.Linear(W.shape[1], W.shape[0], dtype=W.dtype)
        linear.load_state_dict({"weight": W, "bias": b.reshape(-1)})
        layers += [linear, ACTIVATION_MODULES[hidden_activation]()] if c < L else [linear]
    return nn.Sequential(*layers)


def parameters_of(model: nn.Sequential) -> dict[str, np.ndarray]:
    """`W1, b1, ... WL, bL` in the lab's layout from a model made by `to_model` (the arrays themselves)."""
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    named = {}
    for c, layer in enumerate(linears, start=1):
        named[f"W{c}"], named[f"b{c}"] = layer.weight.data, layer.bias.data.reshape(-1, 1)
    return named


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

    PyTorch's loop on `to_model(parameters)`: for each batch of `mg.data.batches(X.T, labels, ...)` (a new
    order each epoch, drawn from `seed`), `F.cross_entropy(model(xb), yb)`, `backward()`, one step of Adam
    or SGD with `momentum` (`learning_rate` None takes `LEARNING_RATES`). `callback(epoch, parameters)`
    is called before the first epoch (0) and after each. `TrainingDivergedError` as soon as a batch's cost
    is NaN, infinite or far above the first's. `compiled`: `mg.compile`'s replay, the eager bits.
    """
    model, rng = to_model(parameters, hidden_activation), np.random.default_rng(seed)
    opt = _optimiser(optimiser, list(model.parameters()), learning_rate, momentum)
    gradients = (_compiled_gradients if compiled else _eager_gradients)(model)
    if callback is not None:
        callback(0, parameters_of(model))
    costs: list[float] = []  # every batch's, to tell divergence from the first one
    for epoch in range(1, epochs + 1):
        for xb, yb in mg.data.batches(X.T, labels, batch_size=batch_size, shuffle=True, seed=rng):
            costs.append(gradients(xb, yb))
            opt.step()
            if has_diverged(costs[-1], costs[0]):
                raise TrainingDivergedError(len(costs), costs[-1], opt.learning_rate, costs[0])
        if callback is not None:
            callback(epoch, parameters_of(model))
    return parameters_of(model)


Gradients = Callable[[np.ndarray, np.ndarray], float]


def _eager_gradients(model: nn.Sequential) -> Gradients:
    """`gradients(xb, yb) -> J`: the loss of a batch, and `J.backward()` to fill the parameters' `.grad`."""

    def gradients(xb: np.ndarray, yb: np.ndarray) -> float:
        model.zero_grad()
        J = F.cross_entropy(model(xb), yb)
        J.backward()
        return J.item()

    return gradients


def _compiled_gradients(model: nn.Sequential) -> Gradients:
    """The same as `_eager_gradients`, by `mg.compile`, written as the eager loss is: the model's Parameters
    are read afresh at each call and their gradients land in `.grad`, where the optimiser reads them. A last
    batch smaller than the others is a second signature, traced once too."""
    replay = mg.compile(lambda xb, yb: F.cross_entropy(model(xb), yb))

    def gradients(xb: np.ndarray, yb: np.ndarray) -> float:
        model.zero_grad()
        J, _ = replay(xb, yb)
        return J.item()

    return gradients


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
