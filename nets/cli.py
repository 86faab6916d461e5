"""The main job, `python -m nets.twolayer`: train the lab's network and report, or predict with it.

    python -m nets.twolayer [--data moons] [--hidden 10] ... [--save model.npz] [--plot run.png]
    python -m nets.twolayer predict model.npz --data new.csv [--out predictions.csv]

Bad input ends the run with a one-line message on stderr and exit status 2, before anything is trained or
written. Every file is written whole or not at all (a temporary file in the same folder, then a rename).
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from nets import datasets
from nets import twolayer as tl
from nets.commandline import (
    Parser,
    UsageError,
    atomic_write,
    check_output,
    positive_float,
    positive_int,
    pyplot,
    run_command,
    save_figure,
    seed_number,
)
from nets.datasets import DataError

PROG = "python -m nets.twolayer"
DEFAULTS: dict[str, Any] = {
    "data": "moons",
    "hidden": 10,
    "activation": "sigmoid",
    "iterations": 5000,
    "learning_rate": 3.0,
    "seed": 0,
    "test_fraction": 0.25,
}
PREDICT_SEED = 1  # a built-in data set drawn from another seed than the default run's: new examples
PLOT_SUFFIXES = (".png", ".svg", ".pdf")
GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".dot")
AGREE_BELOW = 1e-10  # closed form and autograd differ by rounding only: ~1e-16 times the values' size


class ParameterFileError(ValueError):
    """A parameter file that is not one written by --save, or does not fit the data."""


# ----- command line -----------------------------------------------------------------------------------


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def train_parser() -> argparse.ArgumentParser:
    d = DEFAULTS
    p = Parser(
        prog=PROG,
        description="Train the lab's two-layer network with minigrad's backward pass, check its gradients "
        "against the lab's formulas, and report.",
        epilog=f"To use saved parameters on new data: {PROG} predict --help",
    )
    p.add_argument(
        "--data",
        default=d["data"],
        metavar="NAME|PATH.csv",
        help=f"{', '.join(datasets.BUILT_IN)}, or a CSV file: features then the 0/1 label per row "
        f"(default {d['data']})",
    )
    p.add_argument(
        "--hidden", type=positive_int, default=d["hidden"], metavar="N", help="hidden units (%(default)s)"
    )
    p.add_argument(
        "--activation",
        choices=tl.ACTIVATIONS,
        default=d["activation"],
        help="the hidden layer's activation (%(default)s)",
    )
    p.add_argument(
        "--iterations",
        type=positive_int,
        default=d["iterations"],
        metavar="N",
        help="gradient-descent steps (%(default)s)",
    )
    p.add_argument(
        "--learning-rate",
        type=positive_float,
        default=d["learning_rate"],
        metavar="X",
        help="step size (%(default)s)",
    )
    p.add_argument(
        "--seed",
        type=seed_number,
        default=d["seed"],
        metavar="N",
        help="seed for the data, the split and the parameters (%(default)s)",
    )
    p.add_argument(
        "--test-fraction",
        type=_fraction,
        default=d["test_fraction"],
        metavar="F",
        help="share of examples held out to test on, 0 to 0.99 (%(default)s)",
    )
    p.add_argument(
        "--save",
        type=Path,
        metavar="PATH.npz",
        help="write the trained parameters and the data's standardisation",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="PATH.png",
        help="draw the cost curve and, for 2 features, the decision boundary",
    )
    p.add_argument(
        "--graph",
        type=Path,
        metavar="PATH",
        help="draw the computation graph of one forward and backward pass at initialisation "
        "(.svg .png .pdf .dot)",
    )
    p.add_argument("--quiet", action="store_true", help="print only the final result")
    return p


def predict_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog=f"{PROG} predict",
        description="Predict 0/1 labels with parameters saved by --save; report the accuracy where the data "
        "has labels.",
    )
    p.add_argument("parameters", type=Path, metavar="PARAMS.npz", help="a file written by --save")
    p.add_argument(
        "--data",
        required=True,
        metavar="NAME|PATH.csv",
        help="a built-in data set, or a CSV file of features, with or without the 0/1 label as last column",
    )
    p.add_argument(
        "--seed",
        type=seed_number,
        default=PREDICT_SEED,
        metavar="N",
        help="seed for a built-in data set (%(default)s)",
    )
    p.add_argument(
        "--out", type=Path, metavar="PATH.csv", help="write each example's prediction and probability"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the main job; returns the exit status (0, 2 for bad input, 1 if an output cannot be written)."""
    argv = list(sys.argv[1:] if argv is None else argv)

    def command() -> int:
        if argv[:1] == ["predict"]:
            return run_predict(predict_parser().parse_args(argv[1:]))
        return run_train(train_parser().parse_args(argv))

    return run_command(command, bad_input=(DataError, ParameterFileError))


# ----- output files -----------------------------------------------------------------------------------


SAVED_KEYS = (*tl.PARAMETER_NAMES, "mean", "std", "hidden_activation")


def save_parameters(
    path: Path, parameters: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray, hidden_activation: str
) -> None:
    """Plain arrays only (the activation as a string array), so that loading needs no pickle."""
    arrays = {**{p: parameters[p] for p in tl.PARAMETER_NAMES}, "mean": mean, "std": std}
    with atomic_write(path) as f:
        np.savez(f, **arrays, hidden_activation=np.array(hidden_activation))


def load_parameters(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, str]:
    """`(parameters, mean, std, hidden_activation)` from a file written by `save_parameters`."""
    not_ours = f"{path}: not a parameter file written by --save"
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ParameterFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ParameterFileError(f"{path}: is a folder, not a parameter file") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        raise ParameterFileError(f"{not_ours} (not an .npz archive)") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ParameterFileError(f"{not_ours} (a single .npy array, not an .npz archive)")
    with loaded as archive:
        missing = [k for k in SAVED_KEYS if k not in archive.files]
        if missing:
            raise ParameterFileError(f"{not_ours} (it has no {', '.join(missing)})")
        try:
            arrays = {k: archive[k] for k in SAVED_KEYS}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile):
            raise ParameterFileError(
                f"{not_ours} (its arrays are not plain arrays, or it is damaged)"
            ) from None

    activation = str(arrays.pop("hidden_activation"))
    if activation not in tl.ACTIVATIONS:
        raise ParameterFileError(f"{not_ours} (hidden_activation is {activation!r})")
    for key, value in arrays.items():
        if value.dtype.kind != "f" or value.ndim != 2 or not np.all(np.isfinite(value)):
            raise ParameterFileError(f"{not_ours} ({key} is not a finite 2-D array of floats)")
    W1, W2 = arrays["W1"], arrays["W2"]
    n_h, n_x = W1.shape
    n_y = W2.shape[0]
    expected = {"b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1), "mean": (n_x, 1), "std": (n_x, 1)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ParameterFileError(
                f"{path}: the shapes do not fit together: W1 is {W1.shape}, so {key} should be {shape}, "
                f"but it is {arrays[key].shape}"
            )
    parameters = {p: arrays[p] for p in tl.PARAMETER_NAMES}
    return parameters, arrays["mean"], arrays["std"], activation


def write_plot(
    path: Path,
    costs: list[float],
    parameters: dict[str, np.ndarray],
    hidden_activation: str,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    mean: np.ndarray,
    std: np.ndarray,
) -> None:
    """The cost curve and, for two features, the decision boundary over the points (in the data's units)."""
    plt = pyplot()
    two_features = mean.shape[0] == 2
    fig, axes = plt.subplots(1, 2 if two_features else 1, figsize=(11 if two_features else 5.5, 4.5))
    cost_ax = axes[0] if two_features else axes
    cost_ax.plot(np.arange(len(costs)), costs)
    cost_ax.set(xlabel="iteration", ylabel="cost J", title="cost while training")
    cost_ax.set_yscale("log")

    if two_features:
        ax = axes[1]
        X_all = np.hstack([X for X, _ in splits.values()])
        lo, hi = X_all.min(axis=1), X_all.max(axis=1)
        margin = 0.1 * (hi - lo) + 1e-9
        g0, g1 = np.meshgrid(
            np.linspace(lo[0] - margin[0], hi[0] + margin[0], 300),
            np.linspace(lo[1] - margin[1], hi[1] + margin[1], 300),
        )
        grid = np.vstack([g0.ravel(), g1.ravel()])
        A2, _ = tl.forward_propagation(datasets.standardise(grid, mean, std), parameters, hidden_activation)
        ax.contourf(g0, g1, A2.data[0].reshape(g0.shape), levels=[0, 0.5, 1], colors=["#f4c7c3", "#c6dbef"])
        ax.contour(g0, g1, A2.data[0].reshape(g0.shape), levels=[0.5], colors="k", linewidths=1)
        for (label, (X, Y)), marker in zip(splits.items(), ("o", "x")):
            if X.shape[1]:
                ax.scatter(X[0], X[1], c=Y[0], cmap="RdBu", vmin=0, vmax=1, marker=marker, s=14, label=label)
        ax.legend(loc="best")
        ax.set(xlabel="feature 1", ylabel="feature 2", title="decision boundary (A2 = 0.5)")
    fig.tight_layout()
    save_figure(fig, path)


def write_predictions(path: Path, predictions: np.ndarray, probabilities: np.ndarray) -> None:
    lines = ["prediction,probability"] + [f"{p},{a:.6f}" for p, a in zip(predictions, probabilities)]
    with atomic_write(path) as f:
        f.write(("\n".join(lines) + "\n").encode())


# ----- reporting ----------------------------------------------------------------------------------------


class Progress:
    """A one-line bar on a terminal, drawn only once a run looks like lasting more than a few seconds."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.start = time.perf_counter()
        self.shown = False
        self.last_draw = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        elapsed = now - self.start
        if not self.shown and (elapsed < 0.5 or elapsed / max(done, 1) * self.total < 3.0):
            return
        if now - self.last_draw < 0.1:
            return
        self.shown, self.last_draw = True, now
        width = 30
        filled = width * done // self.total
        left = elapsed / max(done, 1) * (self.total - done)
        sys.stdout.write(
            f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}  {left:4.0f} s left"
        )
        sys.stdout.flush()

    def clear(self) -> None:
        if self.shown:
            sys.stdout.write("\r" + " " * 70 + "\r")
            sys.stdout.flush()


def _formulas(hidden_activation: str) -> dict[str, str]:
    derivative = "A1 (1 - A1)" if hidden_activation == "sigmoid" else "relu_derivative(Z1)"
    return {
        "dZ2": "A2 - Y",
        "dW2": "(1/m) dZ2 A1.T",
        "db2": "(1/m) sum(dZ2, axis=1)",
        "dZ1": f"(W2.T dZ2) * {derivative}",
        "dW1": "(1/m) dZ1 X.T",
        "db1": "(1/m) sum(dZ1, axis=1)",
    }


def gradient_check(
    parameters: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, hidden_activation: str
) -> dict[str, float]:
    """For each of the lab's gradients, the largest |closed form - autograd| on these data.

    Autograd differentiates the lab's J as written (as `--graph` draws it): at initialisation no output
    has saturated, and every rule on the way, log and sigmoid included, is held against the lab's formulas.
    """
    _, cache = tl.forward_propagation(X, parameters, hidden_activation)
    closed = tl.backward_propagation(parameters, cache, X, Y, hidden_activation)
    auto = tl.autograd_gradients(parameters, X, Y, hidden_activation, from_logits=False)
    return {name: float(np.max(np.abs(closed[name] - auto[name]))) for name in tl.GRADIENT_NAMES}


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def _describe_data(name: str, seed: int) -> str:
    return f"{name} (seed {seed})" if name in datasets.BUILT_IN else name


# ----- the two commands -----------------------------------------------------------------------------------


def run_train(args: argparse.Namespace) -> int:
    # Everything that can be wrong with the input is found before the first iteration.
    check_output("--save", args.save, (".npz",))
    check_output("--plot", args.plot, PLOT_SUFFIXES)
    check_output("--graph", args.graph, GRAPH_SUFFIXES)
    if args.plot is not None:
        pyplot()

    X, Y = datasets.load(args.data, seed=args.seed)
    try:
        (X_train, Y_train), (X_test, Y_test) = datasets.split(X, Y, args.test_fraction, seed=args.seed)
    except DataError as e:
        raise DataError(f"{args.data}: {e}; give a smaller --test-fraction") from None
    mean, std = datasets.standardisation(X_train)
    X_train_s, X_test_s = datasets.standardise(X_train, mean, std), datasets.standardise(X_test, mean, std)
    n_x, m = X.shape
    activation, iterations, lr = args.activation, args.iterations, args.learning_rate
    parameters0 = tl.initialize_parameters(n_x, args.hidden, 1, seed=args.seed)
    say = (lambda *a, **k: None) if args.quiet else print

    say(f"The lab's two-layer network on minigrad ({PROG} --help for the options)")
    say(
        f"  data      {_describe_data(args.data, args.seed)}: {m} examples, {n_x} feature{'s' * (n_x != 1)}; "
        f"{X_train.shape[1]} to train, {X_test.shape[1]} held out; features standardised"
    )
    say(
        f"  network   {n_x} -> {args.hidden} {activation} -> 1 sigmoid; "
        "W1 ~ U(+-sqrt(1/n_x)), W2 ~ U(+-sqrt(1/n_h)), biases 0"
    )
    say(
        f"  training  {iterations} iterations of gradient descent on all {X_train.shape[1]} training "
        f"examples, learning rate {lr:g}"
    )

    differences = gradient_check(parameters0, X_train_s, Y_train, activation)
    say("\nGradient check at initialisation: the lab's formulas (NumPy) against minigrad's backward pass")
    for name, formula in _formulas(activation).items():
        say(f"  {name} = {formula:<32} max |closed form - autograd| = {differences[name]:.1e}")
    worst = max(differences.values())
    if worst < AGREE_BELOW:
        say(f"  agree: the largest difference, {worst:.1e}, is floating-point rounding")
    else:
        print(
            f"warning: closed form and autograd differ by up to {worst:.1e}; one of them is wrong",
            file=sys.stderr,
        )

    say("\nTraining")
    every = max(1, iterations // 10)
    progress = Progress(iterations, enabled=not args.quiet and sys.stdout.isatty())

    def report(i: int, cost: float) -> None:
        if i % every == 0 or i == iterations:
            progress.clear()
            say(f"  iteration {i:>{len(str(iterations))}}   cost {cost:#.6g}")
        progress.update(i)

    start = time.perf_counter()
    try:
        parameters, costs = tl.train(
            X_train_s,
            Y_train,
            args.hidden,
            hidden_activation=activation,
            learning_rate=lr,
            iterations=iterations,
            parameters=parameters0,
            callback=report,
        )
    except tl.TrainingDiverged as e:
        raise UsageError(
            f"the cost became {e.cost:.6g} at iteration {e.iteration} (from {e.start:.6g} at the start): "
            f"the gradients exploded; try a smaller --learning-rate than {e.learning_rate:g}. "
            "Nothing was written."
        ) from None
    finally:
        progress.clear()
    seconds = time.perf_counter() - start

    train_accuracy = tl.accuracy(parameters, X_train_s, Y_train, hidden_activation=activation)
    held_out = (
        _percent(tl.accuracy(parameters, X_test_s, Y_test, hidden_activation=activation))
        if X_test.shape[1]
        else "none (--test-fraction 0)"
    )
    say()
    print(
        f"final cost {costs[-1]:#.6g}   train accuracy {_percent(train_accuracy)}   "
        f"held-out accuracy {held_out}   ({iterations} iterations in {seconds:.1f} s)"
    )

    if args.save is not None:
        save_parameters(args.save, parameters, mean, std, activation)
        say(f"parameters saved to {args.save}")
    if args.plot is not None:
        write_plot(
            args.plot,
            costs,
            parameters,
            activation,
            {"train": (X_train, Y_train), "held out": (X_test, Y_test)},
            mean,
            std,
        )
        say(f"plot written to {args.plot}")
    if args.graph is not None:
        # At initialisation, as the gradient check above: the pass whose gradients the lab's formulas give.
        J, _, _ = tl._autograd_pass(parameters0, X_train_s, Y_train, activation)
        network = f"{n_x} -> {args.hidden} {activation} -> 1 sigmoid"
        title = (
            f"The lab's two-layer network, {network}, at initialisation:\n"
            "one forward pass to J = -(1/m) sum[Y log A2 + (1 - Y) log(1 - A2)], then one backward pass,\n"
            f"on {_describe_data(args.data, args.seed)}, its m = {X_train.shape[1]} training examples "
            f"({PROG} --graph)"
        )
        written = mg.save_graph(J, args.graph, title=title)
        say(f"graph of the forward and backward pass at initialisation written to {written}")
        if written.suffix.lower() != args.graph.suffix.lower():  # a hint even with --quiet
            print(
                f"note: no Graphviz dot program, so {written} holds DOT source instead of "
                f"{args.graph.suffix}; to render it: apt-get install graphviz, or brew install graphviz",
                file=sys.stderr,
            )
    return 0


def run_predict(args: argparse.Namespace) -> int:
    check_output("--out", args.out, (".csv",))
    parameters, mean, std, activation = load_parameters(args.parameters)
    n_x = mean.shape[0]
    if args.data in datasets.BUILT_IN:
        X, Y = datasets.load(args.data, seed=args.seed)
        if X.shape[0] != n_x:
            raise ParameterFileError(
                f"{args.parameters} was trained on {n_x} features; the built-in {args.data} data set has "
                f"{X.shape[0]}"
            )
    else:
        X, Y = _features_maybe_labels(Path(args.data), n_x, args.parameters)
    A2, _ = tl.forward_propagation(datasets.standardise(X, mean, std), parameters, activation)
    predictions = (A2.data > 0.5).astype(np.int64)

    n_h, m = parameters["W1"].shape[0], X.shape[1]
    print(f"parameters  {args.parameters}: {n_x} -> {n_h} {activation} -> 1 sigmoid")
    labelled = "with labels" if Y is not None else "no labels"
    print(f"data        {_describe_data(args.data, args.seed)}: {m} examples, {labelled}")
    if Y is not None:
        right = int(np.sum(np.all(predictions == Y, axis=0)))
        print(f"accuracy    {_percent(right / m)} ({right} of {m})")
    else:
        print(f"predicted   1 for {int(predictions.sum())} of {m} examples")
    if args.out is not None:
        write_predictions(args.out, predictions[0], A2.data[0])
        print(f"predictions written to {args.out}")
    return 0


def _features_maybe_labels(
    path: Path, n_x: int, parameter_file: Path
) -> tuple[np.ndarray, np.ndarray | None]:
    """A CSV file's features, and its labels when it has one column more than the parameters' features."""
    if not path.suffix.lower() == ".csv" and not path.exists():
        raise DataError(
            f"unknown data set {str(path)!r}: give one of {', '.join(datasets.BUILT_IN)} or a .csv file"
        )
    table, line_numbers = datasets.read_table(path)
    columns = table.shape[1]
    if columns == n_x:
        return table.T.copy(), None
    if columns == n_x + 1:
        return table[:, :-1].T.copy(), datasets.labels_from(table[:, -1], line_numbers, path)
    raise ParameterFileError(
        f"{parameter_file} was trained on {n_x} feature{'s' * (n_x != 1)}, but {path} has {columns} columns "
        f"(expected {n_x} features, then optionally the 0/1 label)"
    )
