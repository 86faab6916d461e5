"""The lab's step 4, measured: vanishing and exploding gradients in a deep network, and their remedies.

`python -m nets.gradients` is the command (`nets/gradients/command.py`); this module is what it measures
with, usable on its own:

    python -m nets.gradients                     # the default set of activations and initialisations
    python -m nets.gradients --combos relu+he,relu+normal:2 --depth 20 --plot gradients.png

For each combination of hidden activation and initialisation, one network of `--depth` layers is built
(`nets.deep`), and

1. one backward pass of the cost gives the norm of every layer's weight gradient `|dW[c]|`, printed as a
   table with the ratios between the first and the last layer, for `dW` and for `dZ` (the gradient that
   reaches each layer's `Z`, which is what the chain rule multiplies layer by layer);
2. a short run of gradient descent shows the consequence: the cost after `--steps` steps, and whether
   it diverged. A run that diverges is run again with `clip_grad_norm`.

The arithmetic behind the table (one example per column, `n` units per layer):

- back through a layer, `dZ[c-1] = g'(Z[c-1]) * (W[c]ᵀ dZ[c])`. `W[c]ᵀ` multiplies the squared norm by
  about `n var(W)`, and `g'` by its square on average;
- the lab's bound gives `var(W) = 1/(3n)`, so `n var(W) = 1/3`; sigmoid's derivative is at most 1/4,
  so each sigmoid layer shrinks the gradient by 4 * sqrt(3) ≈ 7 or more, 0.14^9 ≈ 3e-8 over 9 layers;
- ReLU passes half the units (derivative 1 or 0): `n var(W) / 2 = 1/6` per layer with the lab's bound,
  a shrinking factor sqrt(6) ≈ 2.4, 6^-4.5 ≈ 3e-4 over 9 layers; He's `var(W) = 2/n` makes it 1;
- a normal init with `n = 32` makes it `n std² / 2`: 4 with `std = 0.5` (the default set's), so the
  gradient doubles every layer, 2^9 = 512 over 9 layers; 16 with `std = 1`, 4 times every layer.

With ReLU, the forward signal `A[c]` shrinks or grows by the same factor per layer as `dZ` does
backwards, and `dW[c] = dZ[c] A[c-1]ᵀ / m` multiplies the two: the weight gradients come out level
across the layers and the whole table is small (lab's bound) or huge (large normal). That is why the
table shows both ratios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from minigrad import Tensor
from minigrad.optim import SGD, clip_grad_norm, global_norm
from nets import datasets, deep
from nets.training import has_diverged

DEFAULT_COMBINATIONS = ("sigmoid+lab", "tanh+glorot", "relu+lab", "relu+he", "relu+normal:0.5")
# A training run "stalled" when its cost fell by less than this fraction of where it started; it
# "diverged" by `nets.training`'s rule, the same as the lab's network's training, or when it ended more
# than GREW of its start above it: a rise in the last places of a cost that did not move is rounding.
STALLED = 0.05
GREW = 1e-3
# dZ1/dZL below this: the gradient vanished on its way back (the table's verdict says so too).
VANISHED_BELOW = 1e-2


@dataclass(frozen=True)
class Combination:
    """A hidden activation and an initialisation, written `relu+he` or `relu+normal:STD`."""

    activation: str
    init: str
    std: float | None = None

    @property
    def label(self) -> str:
        """`relu+he`, `relu+normal:0.5`: the combination as the command line writes it."""
        init = self.init if self.std is None else f"{self.init}:{self.std:g}"
        return f"{self.activation}+{init}"


def parse_combination(text: str) -> Combination:
    """`"relu+he"` -> Combination("relu", "he"); `"relu+normal:1.5"` -> Combination("relu", "normal", 1.5)."""
    activation, plus, init = text.strip().partition("+")
    if not plus:
        raise ValueError(f"combination {text!r} must read ACTIVATION+INIT, e.g. relu+he or relu+normal:1.5")
    init, colon, std_text = init.partition(":")
    if activation not in deep.HIDDEN_ACTIVATIONS:
        raise ValueError(
            f"combination {text!r}: unknown activation {activation!r}; "
            f"choose one of {', '.join(deep.HIDDEN_ACTIVATIONS)}"
        )
    if init not in deep.INITIALISATIONS:
        raise ValueError(
            f"combination {text!r}: unknown initialisation {init!r}; choose one of "
            f"{', '.join(deep.INITIALISATIONS)} (normal needs a std: normal:1.5)"
        )
    std = None
    if init == "normal":
        try:
            std = float(std_text)
        except ValueError:
            std = math.nan
        if not colon or not (math.isfinite(std) and std > 0):
            raise ValueError(
                f"combination {text!r}: normal needs a positive std, e.g. {activation}+normal:1.5"
            )
    elif colon:
        raise ValueError(f"combination {text!r}: only normal takes a std (normal:1.5), not {init!r}")
    return Combination(activation, init, std)


# ----- data ---------------------------------------------------------------------------------------


def make_data(name: str, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set of `nets.datasets`, `X (2, m)` standardised (so the first layer's input has
    variance 1, as the arithmetic assumes) and `Y (1, m)`."""
    if name not in datasets.BUILT_IN:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(datasets.BUILT_IN)}")
    X, Y = datasets.BUILT_IN[name](m=m, seed=seed)
    return datasets.standardise(X, *datasets.standardisation(X)), Y


# ----- the measurements ---------------------------------------------------------------------------


def network_parameters(combo: Combination, layer_sizes: Sequence[int], seed: int) -> dict[str, Tensor]:
    """A network's parameters drawn by `combo`'s initialisation, as leaves named `W1`, `b1`, ...."""
    arrays = deep.initialize_layers(layer_sizes, combo.init, std=combo.std, seed=seed)
    return {name: Tensor(value, requires_grad=True, name=name) for name, value in arrays.items()}


def gradient_norms(
    parameters: dict[str, Tensor], X: np.ndarray, Y: np.ndarray, activation: str
) -> tuple[list[float], list[float]]:
    """`(|dW[c]|, |dZ[c]|)` for c = 1 ... L after one backward pass of the cost (Frobenius norms)."""
    L = deep.number_of_layers(parameters)
    for p in parameters.values():
        p.zero_grad()
    # An absurd initialisation may overflow: the table then shows inf or nan, which says it better.
    with np.errstate(over="ignore", invalid="ignore"):
        _, cache = deep.forward_propagation(X, parameters, activation)
        deep.compute_cost_from_logits(cache[f"Z{L}"], Y).backward()
        dW = [float(np.linalg.norm(parameters[f"W{c}"].grad)) for c in range(1, L + 1)]
        dZ = [float(np.linalg.norm(cache[f"Z{c}"].grad)) for c in range(1, L + 1)]
    for p in parameters.values():
        p.zero_grad()
    return dW, dZ


@dataclass
class TrainingRun:
    """The costs of one run of gradient descent (`training_run`), and what was seen on the way."""

    costs: list[float] = field(default_factory=list)
    accuracy: float = math.nan
    max_norm: float | None = None
    largest_norm: float = 0.0  # the largest global gradient norm met, before any clipping
    dead_layer: int | None = None  # the first hidden ReLU layer that is 0 for every example, at the end
    stopped: str | None = None  # why the run stopped early: a gradient that overflowed
    vanished: bool = False  # whether the gradient vanished on its way back at the start (dZ1/dZL)

    @property
    def outcome(self) -> str:
        """`diverged` (NaN or inf, a cost that rose above DIVERGED_ABOVE times its start, or ended more than
        GREW above it), else `stalled` (fell by less than STALLED of its start; `no progress (vanishing
        gradients)` where the gradient had vanished) or `trained`."""
        first, last = self.costs[0], self.costs[-1]
        dead = f"; then layer {self.dead_layer}'s ReLUs all died" if self.dead_layer is not None else ""
        if self.stopped is not None:
            return f"diverged: {self.stopped}"
        if not math.isfinite(last):
            return f"diverged: cost {last} at step {len(self.costs) - 1}"
        peak = max(range(len(self.costs)), key=self.costs.__getitem__)
        if has_diverged(self.costs[peak], first):
            return f"diverged: cost rose to {self.costs[peak]:.3g} at step {peak}{dead}"
        if last > (1 + GREW) * first:
            return f"diverged: cost grew from {first:.3g} to {last:.3g}{dead}"
        if last > (1 - STALLED) * first:
            stalled = "no progress (vanishing gradients)" if self.vanished else "stalled"
            return stalled + dead.replace("; then", ",")
        return "trained" + dead.replace("; then", ",")

    @property
    def diverged(self) -> bool:
        """Whether the outcome is a divergence: the run that `measure` runs again with clipping."""
        return self.outcome.startswith("diverged")


def training_run(
    parameters: dict[str, Tensor],
    X: np.ndarray,
    Y: np.ndarray,
    activation: str,
    steps: int,
    learning_rate: float,
    max_norm: float | None = None,
) -> TrainingRun:
    """Full-batch gradient descent for `steps` steps, as a `TrainingRun`: `costs[k]` is the cost after k
    steps.

    Stops early once the cost is NaN or infinite; with `max_norm`, each step's gradients are first
    clipped to that global norm.
    """
    L = deep.number_of_layers(parameters)
    optimiser = SGD(parameters.values(), learning_rate)
    run = TrainingRun(max_norm=max_norm)
    # A diverging run overflows on purpose: the cost says so, NumPy's warnings would only repeat it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for step in range(steps + 1):
            optimiser.zero_grad()
            _, cache = deep.forward_propagation(X, parameters, activation)
            J = deep.compute_cost_from_logits(cache[f"Z{L}"], Y)
            run.costs.append(J.item())
            if step == steps or not math.isfinite(run.costs[-1]):
                break
            J.backward()
            norm = global_norm(optimiser.parameters)
            run.largest_norm = max(run.largest_norm, norm)
            if not math.isfinite(norm):
                run.stopped = f"gradient norm {norm} at step {step}"
                break
            if max_norm is not None:
                clip_grad_norm(optimiser.parameters, max_norm)
            optimiser.step()
        run.accuracy = float(np.mean(deep.predict(parameters, X, activation) == Y))
        run.dead_layer = first_dead_layer(parameters, X) if activation == "relu" else None
    return run


def first_dead_layer(parameters: dict[str, Tensor], X: np.ndarray) -> int | None:
    """The first hidden ReLU layer whose every unit is 0 for every example, None where none is."""
    _, cache = deep.forward_propagation(X, parameters, "relu")
    dead = [c for c in range(1, deep.number_of_layers(parameters)) if not np.any(cache[f"A{c}"].data > 0)]
    return dead[0] if dead else None


# ----- the experiment ------------------------------------------------------------------------------


@dataclass
class Measurements:
    """What the experiment measured for each combination: gradient norms, and the training runs."""

    labels: list[str] = field(default_factory=list)
    dW: list[list[float]] = field(default_factory=list)
    dZ: list[list[float]] = field(default_factory=list)
    runs: list[tuple[str, TrainingRun]] = field(default_factory=list)


def measure(
    combos: Sequence[Combination],
    X: np.ndarray,
    Y: np.ndarray,
    sizes: Sequence[int],
    *,
    steps: int,
    learning_rate: float,
    clip: float,
    seed: int,
) -> Measurements:
    """For each combination: the gradient norms at initialisation, then a training run, and a clipped
    re-run from the same start where the first diverged."""
    found = Measurements(labels=[c.label for c in combos])
    for combo in combos:
        parameters = network_parameters(combo, sizes, seed)
        dW, dZ = gradient_norms(parameters, X, Y, combo.activation)
        found.dW.append(dW)
        found.dZ.append(dZ)
        plain = training_run(parameters, X, Y, combo.activation, steps, learning_rate)
        plain.vanished = ratio(dZ[0], dZ[-1]) < VANISHED_BELOW
        found.runs.append((combo.label, plain))
        if plain.diverged:
            parameters = network_parameters(combo, sizes, seed)
            clipped = training_run(parameters, X, Y, combo.activation, steps, learning_rate, clip)
            found.runs.append((f"{combo.label} clipped", clipped))
    return found


# ----- the report ---------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    """a / b as floats do it in NumPy: inf or nan for b = 0, where Python would raise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def gradient_table(labels: list[str], dW: list[list[float]], dZ: list[list[float]]) -> str:
    """`|dW[c]|` layer by layer, one column per combination, and the first-to-last ratios of dW and dZ."""
    width = max(12, *(len(label) + 2 for label in labels))
    L = len(dW[0])
    lines = ["layer c" + "".join(f"{label:>{width}}" for label in labels)]
    for c in range(L):
        lines.append(f"{c + 1:>7}" + "".join(f"{norms[c]:>{width}.2e}" for norms in dW))
    lines.append("dW1/dWL" + "".join(f"{ratio(norms[0], norms[-1]):>{width}.2e}" for norms in dW))
    lines.append("dZ1/dZL" + "".join(f"{ratio(norms[0], norms[-1]):>{width}.2e}" for norms in dZ))
    return "\n".join(lines)


def gradient_verdict(dW: list[float], dZ: list[float]) -> str:
    """What the chain rule did to the gradient on its way back, and what that left in the weights."""
    first_over_last = ratio(dZ[0], dZ[-1])
    if not math.isfinite(first_over_last):
        way = f"dZ1/dZL is {first_over_last}"
    elif first_over_last < VANISHED_BELOW:
        way = f"dZ vanishes on the way back (dZ1/dZL = {first_over_last:.1e})"
    elif first_over_last > 1e2:
        way = f"dZ explodes on the way back (dZ1/dZL = {first_over_last:.1e})"
    else:
        way = f"dZ stays level on the way back (dZ1/dZL = {first_over_last:.1e})"
    return f"{way}; |dW[c]| from {min(dW):.1e} to {max(dW):.1e}"


def training_table(rows: list[tuple[str, TrainingRun]]) -> str:
    """One line per training run: the cost at the start and at the end, the accuracy, the outcome."""
    width = max(14, *(len(label) + 2 for label, _ in rows))
    lines = [f"{'':<{width}}{'cost at 0':>12}{'last cost':>12}{'accuracy':>10}  outcome"]
    for label, run in rows:
        lines.append(
            f"{label:<{width}}{run.costs[0]:>12.3g}{run.costs[-1]:>12.3g}{run.accuracy:>10.0%}  {run.outcome}"
        )
    return "\n".join(lines)


def clipping_verdict(label: str, run: TrainingRun) -> str:
    """What clipping did for a run that diverged without it."""
    if run.diverged:
        verdict = "still diverges"
    elif run.outcome.startswith("trained"):
        verdict = "trains"
    else:
        verdict = "no longer diverges but stalls"
    return (
        f"{label.removesuffix(' clipped')} diverges without clipping and {verdict} with "
        f"clip_grad_norm(max_norm={run.max_norm:g}): the global gradient norm reached "
        f"{run.largest_norm:.2e} before clipping."
    )
