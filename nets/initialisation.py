"""Initialisation (the lab's step 1), for the two-layer network and the deep one alike.

`layer_sizes = [n_x, n_1, ..., n_L]`: `W[c]` has shape `(n[c], n[c-1])` and `b[c]` is `(n[c], 1)` of zeros.
`initialize_layers(layer_sizes, ...)` draws them all; `nets.twolayer.initialize_parameters(n_x, n_h, n_y)`
is the lab's two-layer call of it. The lab's bound is the default; the alternatives carry their own
authors' names, so that the lab's rule (which the lab calls Xavier) is not mistaken for Glorot and Bengio's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nets.checks import whole_number

INITIALISATIONS = ("lab", "glorot", "he", "normal")


def initialize_layers(
    layer_sizes: Sequence[int],
    init: str = "lab",
    std: float | None = None,
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """`W1 ... WL` and `b1 ... bL` for `layer_sizes = [n_x, n_1, ..., n_L]`; biases start at 0.

    `init` names how `W[c]` of shape `(n[c], n[c-1])` is drawn:

    - `"lab"`: the lab's bound, `U(-sqrt(1/n[c-1]), +sqrt(1/n[c-1]))`, variance `1/(3 n[c-1])`
      (the lab calls it Xavier);
    - `"glorot"`: Glorot and Bengio's own bound, `U(±sqrt(6/(n[c-1] + n[c])))`, variance `2/(n[c-1] + n[c])`;
    - `"he"`: He et al.'s normal, `N(0, 2/n[c-1])`, made for ReLU;
    - `"normal"`: a plain `N(0, std²)` with the `std` given.

    The same seed gives the same parameters.
    """
    sizes = _check_layer_sizes(layer_sizes)
    _check_init(init, std)
    rng = np.random.default_rng(seed)
    parameters: dict[str, np.ndarray] = {}
    for c in range(1, len(sizes)):
        parameters[f"W{c}"] = _weights(rng, init, std, sizes[c - 1], sizes[c])
        parameters[f"b{c}"] = np.zeros((sizes[c], 1))
    return parameters


def _check_init(init: str, std: float | None) -> None:
    if init not in INITIALISATIONS:
        raise ValueError(f"unknown initialisation {init!r}; choose one of {', '.join(INITIALISATIONS)}")
    if init == "normal":
        if std is None or not np.isfinite(std) or std <= 0:
            raise ValueError(f'initialisation "normal" needs a positive, finite std; got std={std!r}')
    elif std is not None:
        raise ValueError(f'std is only used by the "normal" initialisation, not by {init!r}')


def _weights(rng: np.random.Generator, init: str, std: float | None, n_in: int, n_out: int) -> np.ndarray:
    """One `W (n_out, n_in)` drawn by `init`, from `rng` (in the same order as ever: same seed, same W)."""
    shape = (n_out, n_in)
    if init == "lab":
        bound = np.sqrt(1 / n_in)
        return rng.uniform(-bound, bound, size=shape)
    if init == "glorot":
        bound = np.sqrt(6 / (n_in + n_out))
        return rng.uniform(-bound, bound, size=shape)
    if init == "he":
        return rng.normal(0.0, np.sqrt(2 / n_in), size=shape)
    return rng.normal(0.0, std, size=shape)


def _check_layer_sizes(layer_sizes: Sequence[int]) -> list[int]:
    """The sizes as a list of ints, or a ValueError naming the one that is not a positive integer."""
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least [n_x, n_y]; got {sizes}")
    return [whole_number(n, f"layer_sizes[{i}] (in {sizes})") for i, n in enumerate(sizes)]
