"""The lab's step 4, measured: vanishing and exploding gradients in a deep network, and their remedies.

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

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minigrad import Tensor
from minigrad.optim import SGD, clip_grad_norm, global_norm
from nets import datasets, deep
from nets.checks import check_memory
from nets.commandline import (
    Parser,
    UsageError,
    check_output,
    positive_float,
    positive_int,
    pyplot,
    run_command,
    save_figure,
    seed_number,
)
from nets.training import has_diverged

DEFAULT_COMBINATIONS = ("sigmoid+lab", "tanh+glorot", "relu+lab", "relu+he", "relu+normal:0.5")
# A training run "stalled" when its cost fell by less than this fraction of where it started; it
# "diverged" by `nets.training`'s rule, the same as the lab's network's training.
STALLED = 0.05


@dataclass(frozen=True)
class Combination:
    """A hidden activation and an initialisation, written `relu+he` or `relu+normal:STD`."""

    activation: str
    init: str
    std: float | None = None

    @property
    def label(self) -> str:
        """How the command writes it: `relu+he`, `relu+normal:0.5`."""
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
    """The layers' parameters for `combo`, as Tensors that require a gradient, named `W1`, `b1`, ..."""
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
    """One training run of a combination: its costs, its accuracy, and what stopped it if anything did."""

    costs: list[float] = field(default_factory=list)
    accuracy: float = math.nan
    max_norm: float | None = None
    largest_norm: float = 0.0  # the largest global gradient norm met, before any clipping
    dead_layer: int | None = None  # the first hidden ReLU layer that is 0 for every example, at the end
    stopped: str | None = None  # why the run stopped early: a gradient that overflowed

    @property
    def outcome(self) -> str:
        """`diverged` (NaN or inf, a cost that rose above DIVERGED_ABOVE times its start, or ended above
        it), else `stalled` (fell by less than STALLED of its start) or `trained`."""
        first, last = self.costs[0], self.costs[-1]
        dead = f"; then layer {self.dead_layer}'s ReLUs all died" if self.dead_layer is not None else ""
        if self.stopped is not None:
            return f"diverged: {self.stopped}"
        if not math.isfinite(last):
            return f"diverged: cost {last} at step {len(self.costs) - 1}"
        peak = max(range(len(self.costs)), key=self.costs.__getitem__)
        if has_diverged(self.costs[peak], first):
            return f"diverged: cost rose to {self.costs[peak]:.3g} at step {peak}{dead}"
        if last > first:
            return f"diverged: cost grew from {first:.3g} to {last:.3g}{dead}"
        if last > (1 - STALLED) * first:
            return "stalled" + dead.replace("; then", ",")
        return "trained" + dead.replace("; then", ",")

    @property
    def diverged(self) -> bool:
        """Whether the outcome is a divergence (NaN, inf, or a cost that rose)."""
        return self.outcome.startswith("diverged")


def train(
    parameters: dict[str, Tensor],
    X: np.ndarray,
    Y: np.ndarray,
    activation: str,
    steps: int,
    learning_rate: float,
    max_norm: float | None = None,
) -> TrainingRun:
    """Full-batch gradient descent for `steps` steps; `costs[k]` is the cost after k steps.

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
        if activation == "relu":
            _, cache = deep.forward_propagation(X, parameters, activation)
            dead = [c for c in range(1, L) if not np.any(cache[f"A{c}"].data > 0)]
            run.dead_layer = dead[0] if dead else None
    return run


# ----- the report ---------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    """a / b as floats do it in NumPy: inf or nan for b = 0, where Python would raise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def gradient_table(labels: list[str], dW: list[list[float]], dZ: list[list[float]]) -> str:
    """The table of `|dW[c]|` per layer and combination, with the ratios `dW1/dWL` and `dZ1/dZL`."""
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
    elif first_over_last < 1e-2:
        way = f"dZ vanishes on the way back (dZ1/dZL = {first_over_last:.1e})"
    elif first_over_last > 1e2:
        way = f"dZ explodes on the way back (dZ1/dZL = {first_over_last:.1e})"
    else:
        way = f"dZ stays level on the way back (dZ1/dZL = {first_over_last:.1e})"
    return f"{way}; |dW[c]| from {min(dW):.1e} to {max(dW):.1e}"


def training_table(rows: list[tuple[str, TrainingRun]], steps: int) -> str:
    """The table of each run's first and last cost, accuracy and outcome."""
    width = max(14, *(len(label) + 2 for label, _ in rows))
    lines = [f"{'':<{width}}{'cost at 0':>12}{'last cost':>12}{'accuracy':>10}  outcome"]
    for label, run in rows:
        lines.append(
            f"{label:<{width}}{run.costs[0]:>12.3g}{run.costs[-1]:>12.3g}{run.accuracy:>10.0%}  {run.outcome}"
        )
    return "\n".join(lines)


# One look per setup, the same in every panel: a colour, a marker and a line style, so that curves that lie
# on top of each other (sigmoid+lab and relu+lab, both stalled near log 2) both stay visible.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINESTYLES = ("-", "--", "-.", ":")


def _looks(labels: list[str]) -> dict[str, dict[str, object]]:
    return {
        label: {"color": f"C{i % 10}", "marker": _MARKERS[i % len(_MARKERS)], "ls": _LINESTYLES[i % 4]}
        for i, label in enumerate(labels)
    }


def _plot_norms(axes: tuple, labels: list[str], dW: list[list[float]], dZ: list[list[float]], looks) -> None:
    weights, signals = axes
    for label, w_norms, z_norms in zip(labels, dW, dZ):
        layers = range(1, len(w_norms) + 1)
        weights.semilogy(layers, w_norms, label=label, markersize=6, **looks[label])
        signals.semilogy(layers, z_norms, label=label, markersize=6, **looks[label])
    weights.set_title("Weight gradient |dW[c]|")
    signals.set_title("Gradient reaching the layer, |dZ[c]|")
    for ax in axes:
        ax.set_xlabel("layer c")
        ax.legend(fontsize="small")


def _plot_costs(training, runs: list[tuple[str, TrainingRun]], looks) -> None:
    """The cost curves, a marker every so many steps; a run that diverged ends in a cross at the top."""
    # Costs span many decades and a diverging run overflows: show the range a student cares about,
    # from the largest starting cost down, and mark where a diverging run leaves it.
    finite = [c for _, run in runs for c in run.costs if math.isfinite(c) and c > 0]
    top = 10 * max((run.costs[0] for _, run in runs if math.isfinite(run.costs[0])), default=1.0)
    bottom = max(min(finite, default=1.0) / 3, 1e-8)  # a cost of exactly 0 sits on the bottom edge
    longest = max(len(run.costs) for _, run in runs)
    for i, (label, run) in enumerate(runs):
        costs = np.clip(np.array(run.costs, dtype=np.float64), bottom, None)
        look = dict(looks[label.removesuffix(" clipped")])
        if run.max_norm is not None:
            look.update(ls=(0, (1, 1)), marker="x")  # the clipped re-run: dotted, crosses
        # Markers at staggered steps, so that two curves on the same path show both their markers.
        every = (i * max(1, longest // 40) // 3, max(1, longest // 12))
        training.semilogy(costs, label=label, markevery=every, markersize=6, **look)
        if run.diverged:
            training.plot(len(run.costs) - 1, top, marker="x", markersize=10, color=look["color"])
    training.set_ylim(bottom, top * 1.5)
    training.set_xlabel("gradient-descent step")
    training.set_title("Cost J (x at the top: diverged)")
    training.legend(fontsize="small")


def plot(
    path: Path,
    labels: list[str],
    dW: list[list[float]],
    dZ: list[list[float]],
    runs: list[tuple[str, TrainingRun]],
    title: str,
) -> None:
    """|dW[c]| and |dZ[c]| per layer (log scale) and the training curves, written whole to `path`."""
    fig, (weights, signals, training) = pyplot().subplots(1, 3, figsize=(15, 4.8))
    looks = _looks(labels)
    _plot_norms((weights, signals), labels, dW, dZ, looks)
    _plot_costs(training, runs, looks)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


# ----- the command --------------------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m nets.gradients`."""
    parser = Parser(
        prog="python -m nets.gradients",
        description="Vanishing and exploding gradients in a deep network (the lab's step 4), measured.",
    )
    parser.add_argument("--depth", type=positive_int, default=10, help="layers with weights, W1 ... WL (10)")
    parser.add_argument("--width", type=positive_int, default=32, help="units in every hidden layer (32)")
    parser.add_argument(
        "--data", choices=tuple(datasets.BUILT_IN), default="moons", help="built-in data set (moons)"
    )
    parser.add_argument("--examples", type=positive_int, default=200, help="examples in the data set (200)")
    parser.add_argument(
        "--combos",
        metavar="LIST",
        help="ACTIVATION+INIT,... e.g. relu+he,relu+normal:1.5; activations "
        f"{'|'.join(deep.HIDDEN_ACTIVATIONS)}, initialisations {'|'.join(deep.INITIALISATIONS)} "
        # ", " lets the help wrap between two combinations, never inside one
        f"(default: {', '.join(DEFAULT_COMBINATIONS)})",
    )
    parser.add_argument(
        "--activation",
        metavar="LIST",
        help="instead of --combos: activations, each tried with every --init (relu)",
    )
    parser.add_argument(
        "--init", metavar="LIST", help="initialisations for --activation, normal:STD included (he)"
    )
    parser.add_argument("--steps", type=positive_int, default=300, help="gradient-descent steps (300)")
    parser.add_argument(
        "--learning-rate", type=positive_float, default=0.1, help="step size of gradient descent (0.1)"
    )
    parser.add_argument(
        "--clip",
        type=positive_float,
        default=1.0,
        help="max_norm for clip_grad_norm on runs that diverge (1.0)",
    )
    parser.add_argument(
        "--seed", type=seed_number, default=0, help="seed for the data and the parameters (0)"
    )
    parser.add_argument("--plot", type=Path, metavar="PATH.png", help="also draw the gradients and costs")
    return parser


def combinations_from(args: argparse.Namespace) -> list[Combination]:
    """The combinations the command line asks for: `--combos`, or every `--activation` with every `--init`."""
    if args.combos is not None and (args.activation is not None or args.init is not None):
        raise ValueError("give either --combos or --activation/--init, not both")
    if args.activation is not None or args.init is not None:
        activations = _names(args.activation or "relu")
        inits = _names(args.init or "he")
        texts = [f"{a}+{i}" for a in activations for i in inits]
    else:
        texts = _names(args.combos) if args.combos is not None else list(DEFAULT_COMBINATIONS)
    if not texts:
        raise ValueError("no combination given")
    combos = [parse_combination(text) for text in texts]
    labels = [c.label for c in combos]
    if len(set(labels)) != len(labels):
        raise ValueError(f"a combination is listed twice: {', '.join(labels)}")
    return combos


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment; returns the exit status (0, 2 for bad input, 1 if the plot cannot be written)."""
    return run_command(lambda: experiment(build_parser().parse_args(argv)))


@dataclass
class Measurements:
    """What the experiment measured for each combination: gradient norms, and the training runs."""

    labels: list[str] = field(default_factory=list)
    dW: list[list[float]] = field(default_factory=list)
    dZ: list[list[float]] = field(default_factory=list)
    runs: list[tuple[str, TrainingRun]] = field(default_factory=list)


def _checked_setup(args: argparse.Namespace) -> list[Combination]:
    """The combinations to measure, once the arguments are known to make sense; else a `UsageError`."""
    try:
        combos = combinations_from(args)
        if args.depth < 2:
            raise ValueError(
                f"--depth must be at least 2 (one hidden layer and the output); got {args.depth}"
            )
        if args.examples < 2:
            raise ValueError(f"--examples must be at least 2, one of each class; got {args.examples}")
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_output("--plot", args.plot, (".png",))
    _check_network_fits(args)
    if args.plot is not None:
        pyplot()  # a missing matplotlib is said before the experiment runs, not after
    return combos


COPIES_PER_LAYER = 8  # arrays of (width, m) alive at once for each layer: Z, A, their gradients, temporaries


def _check_network_fits(args: argparse.Namespace) -> None:
    """Before any array is made: one network's parameters and a pass over the examples fit in memory.
    The message names the option that is furthest above its default, as the likely slip."""
    depth, width, m = args.depth, args.width, args.examples
    weights = 2 * width + (depth - 2) * width * width + width  # W1 (width, 2) ... WL (1, width)
    n_bytes = 8 * (4 * weights + COPIES_PER_LAYER * depth * width * m)
    given = {"--depth": (depth, 10), "--width": (width, 32), "--examples": (m, 200)}
    option = max(given, key=lambda name: given[name][0] / given[name][1])
    what = f"{option} {given[option][0]}: a network of {depth} layers of {width} units on {m} examples"
    check_memory(what, n_bytes, UsageError)


def measure(
    combos: list[Combination], X: np.ndarray, Y: np.ndarray, sizes: list[int], args: argparse.Namespace
) -> Measurements:
    """For each combination: the gradient norms at initialisation, then a training run, and a clipped
    re-run from the same start where the first diverged."""
    found = Measurements(labels=[c.label for c in combos])
    for combo in combos:
        parameters = network_parameters(combo, sizes, args.seed)
        dW, dZ = gradient_norms(parameters, X, Y, combo.activation)
        found.dW.append(dW)
        found.dZ.append(dZ)
        plain = train(parameters, X, Y, combo.activation, args.steps, args.learning_rate)
        found.runs.append((combo.label, plain))
        if plain.diverged:
            parameters = network_parameters(combo, sizes, args.seed)
            clipped = train(parameters, X, Y, combo.activation, args.steps, args.learning_rate, args.clip)
            found.runs.append((f"{combo.label} clipped", clipped))
    return found


def _clipping_verdict(label: str, run: TrainingRun) -> str:
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


def print_report(found: Measurements, setting: str, args: argparse.Namespace) -> None:
    """Print what the experiment found: both tables and a sentence per combination."""
    print(f"Gradient norms |dW[c]| after one backward pass of the cost J\n{setting}")
    print(gradient_table(found.labels, found.dW, found.dZ))
    print()
    width = max(len(label) for label in found.labels)
    for label, dW, dZ in zip(found.labels, found.dW, found.dZ):
        print(f"  {label:<{width}}  {gradient_verdict(dW, dZ)}")
    print()
    print(f"Training: {args.steps} steps of gradient descent, learning rate {args.learning_rate:g}")
    print(training_table(found.runs, args.steps))
    for label, run in found.runs:
        if run.max_norm is not None:
            print(f"\n{_clipping_verdict(label, run)}")


def experiment(args: argparse.Namespace) -> int:
    """The measurements and the report for parsed arguments; see `main`."""
    combos = _checked_setup(args)
    X, Y = make_data(args.data, args.examples, args.seed)
    sizes = [X.shape[0]] + [args.width] * (args.depth - 1) + [1]
    found = measure(combos, X, Y, sizes, args)
    setting = (
        f"depth {args.depth} (layer sizes {sizes[0]}, {args.width} x {args.depth - 1}, 1), "
        f"{args.data}, {args.examples} examples, seed {args.seed}"
    )
    print_report(found, setting, args)
    if args.plot is not None:
        plot(args.plot, found.labels, found.dW, found.dZ, found.runs, f"python -m nets.gradients: {setting}")
        print(f"\nPlot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
