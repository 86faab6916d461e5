"""A deep fully connected network: the lab's two-layer network generalised to a list of layer sizes.

Layout as in the lab: one example per column, `X` is `(n_x, m)`, `Y` is `(n_y, m)`.
`layer_sizes = [n_x, n_1, ..., n_L]` gives `L` layers with weights `W1 ... WL` and biases `b1 ... bL`:

    Z[c] = W[c] A[c-1] + b[c]        A[0] = X
    A[c] = g(Z[c])                   g = sigmoid, tanh or relu for the hidden layers c < L
    A[L] = sigmoid(Z[L])             the output, as in the lab (or softmax(Z[L], axis=0): `nets.digits`)

Everything is built from minigrad operations, so `backward()` gives every `W[c].grad`, `Z[c].grad`.
Initialisation is `nets.initialisation`'s (`initialize_layers`), shared with the two-layer network, and so
are its costs (`nets.costs`): `compute_cost(AL, Y)`, the lab's formula as written, and
`compute_cost_from_logits(ZL, Y)`, the same cost from `Z[L]`, the one to use where outputs saturate (an
exploding network, the lab's step 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad import Tensor, no_grad
from nets import metrics
from nets.costs import compute_cost, compute_cost_from_logits
from nets.initialisation import INITIALISATIONS, initialize_layers

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "INITIALISATIONS",
    "compute_cost",
    "compute_cost_from_logits",
    "forward_propagation",
    "initialize_layers",
    "number_of_layers",
    "predict",
]

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax")


def number_of_layers(parameters: dict[str, Any]) -> int:
    """`L`, the number of layers with weights, read off the keys `W1 ... WL`."""
    L = 0
    while f"W{L + 1}" in parameters:
        L += 1
    if L == 0:
        raise ValueError(f"parameters hold no W1; got keys {sorted(parameters)}")
    for c in range(1, L + 1):
        if f"b{c}" not in parameters:
            raise ValueError(f"parameters have W{c} but no b{c}")
    return L


def forward_propagation(
    X: Any,
    parameters: dict[str, Any],
    hidden_activation: str | Sequence[str] = "sigmoid",
    output: str = "sigmoid",
) -> tuple[Tensor, dict[str, Tensor]]:
    """`(AL, cache)`: the output `A[L]` and `cache["Z1"], ["A1"], ..., ["ZL"], ["AL"]` as Tensors.

    `hidden_activation` is one name for every hidden layer or a list with one name per hidden layer
    (`L - 1` of them). `output` is `"sigmoid"` (the lab's) or `"softmax"` (over the classes, axis 0).
    Parameters may be ndarrays or Tensors; pass Tensors with `requires_grad=True` to get their gradients
    from `backward()`.
    """
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}; choose one of {', '.join(OUTPUTS)}")
    L = number_of_layers(parameters)
    activations = _hidden_activations(hidden_activation, L)
    A = X if isinstance(X, Tensor) else Tensor(X)
    n_x = parameters["W1"].shape[1]
    if A.ndim != 2 or A.shape[0] != n_x:
        raise ValueError(f"X must have shape (n_x, m) = ({n_x}, m), one example per column; got {A.shape}")
    cache: dict[str, Tensor] = {}
    for c in range(1, L + 1):
        Z = parameters[f"W{c}"] @ A + parameters[f"b{c}"]
        if c < L:
            A = getattr(Z, activations[c - 1])()
        else:
            A = Z.sigmoid() if output == "sigmoid" else Z.softmax(axis=0)
        cache[f"Z{c}"] = Z
        cache[f"A{c}"] = A
    return A, cache


def predict(
    parameters: dict[str, Any], X: Any, hidden_activation: str | Sequence[str] = "sigmoid"
) -> np.ndarray:
    """0/1 predictions of shape `(n_y, m)`: 1 where `A[L] > 0.5` (`nets.metrics.THRESHOLD`)."""
    with no_grad():
        AL, _ = forward_propagation(X, parameters, hidden_activation)
    return metrics.predictions(AL.data)


def _hidden_activations(hidden_activation: str | Sequence[str], L: int) -> list[str]:
    names = [hidden_activation] * (L - 1) if isinstance(hidden_activation, str) else list(hidden_activation)
    if len(names) != L - 1:
        raise ValueError(
            f"hidden_activation lists {len(names)} names but the network has {L - 1} hidden layers"
        )
    for name in names:
        if name not in HIDDEN_ACTIVATIONS:
            raise ValueError(
                f"unknown hidden activation {name!r}; choose one of {', '.join(HIDDEN_ACTIVATIONS)}"
            )
    return names
