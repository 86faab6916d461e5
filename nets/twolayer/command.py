"""The main job, `python -m nets.twolayer` (`__main__.py` runs it): train the lab's network, or predict.

    python -m nets.twolayer [--data moons] [--hidden 10] ... [--save model.npz] [--plot run.png]
    python -m nets.twolayer predict model.npz --data new.csv [--out predictions.csv]

Bad input ends the run with a one-line message on stderr and exit status 2, before anything is trained or
written. Every file is written whole or not at all (a temporary file in the same folder, then a rename),
and the outputs of a run all or none (`minigrad.files.all_or_none`): prepared, then moved into place
together at the end. What both commands share is `nets.commandline`'s; this file reads top-down: the
story (`run_train`, `run_predict`), the steps it takes, the parameter files, and the options last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from minigrad.files import all_or_none
from minigrad.graph import FORMATS as GRAPH_SUFFIXES
from minigrad.graph import INSTALL_HINT as GRAPHVIZ_INSTALL_HINT
from nets import datasets, metrics
from nets import twolayer as tl
from nets.checks import check_memory, network_bytes
from nets.commandline import (
    PLOT_SUFFIXES,
    Parser,
    Splits,
    UsageError,
    add_quiet,
    add_seed,
    add_test_fraction,
    check_outputs,
    data_file,
    diverged,
    dot_fallback,
    final_line,
    positive_float,
    positive_int,
    printer,
    pyplot,
    train_or_predict,
    write_predictions,
)
from nets.commandline import predict_parser as shared_predict_parser
from nets.datasets import DataError
from nets.export import add_export_option, check_export, export_predictor
from nets.metrics import percent
from nets.paramfiles import ParameterFileError, check_standard_deviations, load_arrays, save_arrays
from nets.progress import Progress
from nets.training import TrainingDivergedError

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
AGREE_BELOW = 1e-10  # closed form and autograd differ by rounding only: ~1e-16 times the values' size


def main(argv: Sequence[str] | None = None) -> int:
    """Run the main job; returns the exit status (0, 2 for bad input, 1 if an output cannot be written)."""
    return train_or_predict(
        argv,
        lambda args: run_train(train_parser().parse_args(args)),
        lambda args: run_predict(predict_parser().parse_args(args)),
        bad_input=(DataError, ParameterFileError),
    )


def run_train(args: argparse.Namespace) -> int:
    """Train, report and write the outputs: the story of `python -m nets.twolayer`."""
    # Everything that can be wrong with the input is found before the first iteration.
    _check_outputs(args)
    if args.plot is not None:
        pyplot()
    say = printer(args.quiet)

    data = load_data(args)
    _check_network_fits(data, args)
    start = tl.initialize_parameters(data.train[0].shape[0], args.hidden, 1, seed=args.seed)
    _print_plan(data, args, say)
    check = tl.check_formulas(start, *data.standardised(data.train), args.activation)  # the one initial pass
    _print_check(check, args.activation, say)

    say("\nTraining")
    parameters, costs, seconds = _train(data, start, args)
    say()
    _print_result(data, parameters, costs, seconds, args)

    said, notes = _write_outputs(args, data, check, parameters, costs)
    for line in said:
        say(line)
    for note in notes:
        print(note, file=sys.stderr)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Predict with a saved network, report the accuracy where the data has labels, write `--out`."""
    inputs = {"the parameter file": args.parameters, "--data": data_file(args.data, datasets.BUILT_IN)}
    check_outputs({"--out": (args.out, (".csv",))}, inputs)
    parameters, mean, std, activation = load_parameters(args.parameters)
    n_x = mean.shape[0]
    X, Y = _predict_data(args, n_x)
    n_h, m = parameters["W1"].shape[0], X.shape[1]
    what = f"{args.parameters}: a network {n_x} -> {n_h} -> 1 on the {m} examples of {args.data}"
    check_memory(what, _network_bytes(n_x, n_h, m), ParameterFileError)
    with mg.no_grad():
        A2, _ = tl.forward_propagation(datasets.standardise(X, mean, std), parameters, activation)
    predictions = metrics.predictions(A2.data)

    print(f"parameters  {args.parameters}: {n_x} -> {n_h} {activation} -> 1 sigmoid")
    labelled = "with labels" if Y is not None else "no labels"
    print(f"data        {_describe_data(args.data, args.seed)}: {m} examples, {labelled}")
    if Y is not None:
        right = metrics.correct(predictions, Y)
        print(f"accuracy    {percent(right / m)} ({right} of {m})")
    else:
        print(f"predicted   1 for {int(predictions.sum())} of {m} examples")
    if args.out is not None:
        write_predictions(args.out, predictions[0], A2.data[0])
        print(f"predictions written to {args.out}")
    return 0


# ----- the steps of a training run --------------------------------------------------------------------------


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path, before any work: its folder and name, none the same file as an input or another
    output, and no .dot fallback of --graph written over a file the user did not name."""
    check_export(args.export)
    outputs = {
        "--save": (args.save, (".npz",)),
        "--plot": (args.plot, PLOT_SUFFIXES),
        "--graph": (args.graph, GRAPH_SUFFIXES),
        "--export": (args.export, (".onnx",)),
    }
    check_outputs(outputs, {"--data": data_file(args.data, datasets.BUILT_IN)})
    fallback = dot_fallback(args.graph) if args.graph is not None else None
    if fallback is not None and os.path.lexists(fallback):
        raise UsageError(
            f"--graph {args.graph}: without the Graphviz programs the graph would be written to {fallback}, "
            f"which exists and would be lost; move it, give another --graph name, or {GRAPHVIZ_INSTALL_HINT}"
        )


def load_data(args: argparse.Namespace) -> Splits:
    """The data `--data` names, split as `--test-fraction` asks, standardised by the training split."""
    X, Y = datasets.load(args.data, seed=args.seed)
    try:
        train, held_out = datasets.split(X, Y, args.test_fraction, seed=args.seed)
    except DataError as e:
        raise DataError(f"{args.data}: {e}; give a smaller --test-fraction") from None
    return Splits.standardised_by_train(train, held_out)


def _check_network_fits(data: Splits, args: argparse.Namespace) -> None:
    """Before the parameters are drawn: the network, on the training data and on the plot's grid of
    300 x 300 points, fits in memory."""
    n_x, m = data.train[0].shape
    examples = max(m + data.held_out[0].shape[1], 300 * 300 if args.plot is not None and n_x == 2 else 0)
    what = f"--hidden {args.hidden}: a network {n_x} -> {args.hidden} -> 1 on {m} examples"
    check_memory(what, _network_bytes(n_x, args.hidden, examples), UsageError)


def _network_bytes(n_x: int, n_h: int, m: int) -> int:
    """About the most memory a forward and backward pass of `n_x -> n_h -> 1` on `m` examples holds."""
    return network_bytes((n_x, n_h, 1), m)


def _print_plan(data: Splits, args: argparse.Namespace, say: Any) -> None:
    n_x, m_train, m_test = data.train[0].shape[0], data.train[0].shape[1], data.held_out[0].shape[1]
    say(f"The lab's two-layer network on minigrad ({PROG} --help for the options)")
    say(
        f"  data      {_describe_data(args.data, args.seed)}: {m_train + m_test} examples, "
        f"{n_x} feature{'s' * (n_x != 1)}; {m_train} to train, {m_test} held out; features standardised"
    )
    say(
        f"  network   {n_x} -> {args.hidden} {args.activation} -> 1 sigmoid; "
        "W1 ~ U(+-sqrt(1/n_x)), W2 ~ U(+-sqrt(1/n_h)), biases 0"
    )
    say(
        f"  training  {args.iterations} iterations of gradient descent on all {m_train} training "
        f"examples, learning rate {args.learning_rate:g}"
    )


def _describe_data(name: str, seed: int) -> str:
    return f"{name} (seed {seed})" if name in datasets.BUILT_IN else name


def _print_check(check: tl.FormulaCheck, hidden_activation: str, say: Any) -> None:
    say("\nGradient check at initialisation: the lab's formulas (NumPy) against minigrad's backward pass")
    differences = check.differences
    for name, formula in _formulas(hidden_activation).items():
        say(f"  {name} = {formula:<32} max |closed form - autograd| = {differences[name]:.1e}")
    worst = check.largest_difference
    if worst < AGREE_BELOW:
        say(f"  agree: the largest difference, {worst:.1e}, is floating-point rounding")
    else:
        print(
            f"warning: closed form and autograd differ by up to {worst:.1e}; one of them is wrong",
            file=sys.stderr,
        )


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


def _train(
    data: Splits, start: dict[str, np.ndarray], args: argparse.Namespace
) -> tuple[dict, list[float], float]:
    """`(parameters, costs, seconds)`: gradient descent from `start`, its costs reported as it goes."""
    iterations = args.iterations
    line = lambda i, cost: f"  iteration {i:>{len(str(iterations))}}   cost {cost:#.6g}"  # noqa: E731
    start_time = time.perf_counter()
    try:
        with Progress(iterations, line, quiet=args.quiet) as progress:
            parameters, costs = tl.train(
                *data.standardised(data.train),
                hidden_activation=args.activation,
                learning_rate=args.learning_rate,
                iterations=iterations,
                parameters=start,
                callback=progress.update,
            )
    except TrainingDivergedError as e:
        raise diverged(e, "iteration", "the gradients exploded; ") from None
    return parameters, costs, time.perf_counter() - start_time


def _print_result(
    data: Splits, parameters: dict, costs: list[float], seconds: float, args: argparse.Namespace
) -> None:
    def accuracy(split: tuple[np.ndarray, np.ndarray]) -> float:
        # metrics', not tl.accuracy: the labels were checked where they came in, and by tl.train
        X, Y = data.standardised(split)
        return metrics.accuracy(tl.predict(parameters, X, args.activation), Y)

    held_out = accuracy(data.held_out) if data.held_out[0].shape[1] else None
    how_long = f"{args.iterations} iterations in {seconds:.1f} s"
    cost = f"{costs[-1]:#.6g}"
    print(final_line(cost, accuracy(data.train), held_out, "none (--test-fraction 0)", how_long))


def _write_outputs(
    args: argparse.Namespace, data: Splits, check: tl.FormulaCheck, parameters: dict, costs: list[float]
) -> tuple[list[str], list[str]]:
    """Every output of a training run, all or none: `(what to say, notes for stderr)` once all are written."""
    said, notes = [], []
    with all_or_none():
        if args.save is not None:
            save_parameters(args.save, parameters, data.mean, data.std, args.activation)
            said.append(f"parameters saved to {args.save}")
        if args.export is not None:
            forward = tl.forward_propagation
            said.append(
                export_predictor(args.export, forward, args.activation, parameters, data.mean, data.std)
            )
        if args.plot is not None:
            splits = {"train": data.train, "held out": data.held_out}
            from nets.twolayer.plots import write_plot

            write_plot(args.plot, costs, parameters, args.activation, splits, data.mean, data.std)
            said.append(f"plot written to {args.plot}")
        if args.graph is not None:
            line, note = _write_graph(check, data, args)
            said.append(line)
            notes += [note] if note else []
    return said, notes


def _write_graph(check: tl.FormulaCheck, data: Splits, args: argparse.Namespace) -> tuple[str, str | None]:
    """The graph of the check's pass: at initialisation, the pass whose gradients the lab's formulas give.

    Returns what to say once it is in place, and a note for stderr where it is DOT text instead."""
    n_x, m = data.train[0].shape
    network = f"{n_x} -> {args.hidden} {args.activation} -> 1 sigmoid"
    title = (
        f"The lab's two-layer network, {network}, at initialisation:\n"
        "one forward pass to J = -(1/m) sum[Y log A2 + (1 - Y) log(1 - A2)], then one backward pass,\n"
        f"on {_describe_data(args.data, args.seed)}, its m = {m} training examples ({PROG} --graph)"
    )
    written = mg.save_graph(check.J, args.graph, title=title)
    note = None
    if written.suffix.lower() != args.graph.suffix.lower():  # a hint even with --quiet
        note = (
            f"note: no Graphviz dot program, so {written} holds DOT source instead of {args.graph.suffix}; "
            f"to render it, {GRAPHVIZ_INSTALL_HINT}"
        )
    return f"graph of the forward and backward pass at initialisation written to {written}", note


def _predict_data(args: argparse.Namespace, n_x: int) -> tuple[np.ndarray, np.ndarray | None]:
    """`(X, Y)` to predict on: a built-in data set drawn from `--seed`, or a CSV file of `n_x` features
    and, optionally, the label; `Y` None where there is none."""
    if args.data not in datasets.BUILT_IN:
        path = datasets.csv_path(args.data, tuple(datasets.BUILT_IN))
        return datasets.features_maybe_labels(path, n_x, args.parameters, datasets.labels_from)
    X, Y = datasets.load(args.data, seed=args.seed)
    if X.shape[0] != n_x:
        raise ParameterFileError(
            f"{args.parameters} was trained on {n_x} features; the built-in {args.data} data set has "
            f"{X.shape[0]}"
        )
    return X, Y


# ----- parameter files --------------------------------------------------------------------------------------


def save_parameters(
    path: Path, parameters: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray, hidden_activation: str
) -> None:
    """The parameters and the features' standardisation, as plain arrays (`nets.paramfiles`)."""
    arrays = {**{p: parameters[p] for p in tl.PARAMETER_NAMES}, "mean": mean, "std": std}
    save_arrays(path, arrays, {"hidden_activation": hidden_activation})


def load_parameters(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, str]:
    """`(parameters, mean, std, hidden_activation)` from a file written by `save_parameters`.

    A file `--save` could not have written is refused as a damaged one is, its message describing the
    network the file holds: no feature or hidden unit, more than one output, shapes that do not chain, a
    standard deviation of 0 or below."""
    arrays, texts = load_arrays(path, (*tl.PARAMETER_NAMES, "mean", "std"), ("hidden_activation",))
    activation = texts["hidden_activation"]
    if activation not in tl.ACTIVATIONS:
        raise ParameterFileError(
            f"{path}: not a parameter file written by --save (hidden_activation is {activation!r})"
        )
    W1, W2 = arrays["W1"], arrays["W2"]
    n_h, n_x = W1.shape
    n_y = W2.shape[0]
    network = f"{n_x} -> {n_h} {activation} -> {n_y}"
    not_saved = f"{path}: not a parameter file written by --save: it holds a network {network}"
    if n_x == 0 or n_h == 0:
        raise ParameterFileError(f"{not_saved}, with no {'feature' if n_x == 0 else 'hidden unit'}")
    if n_y != 1:
        raise ParameterFileError(f"{not_saved}, with {n_y} outputs where --save writes 1")
    expected = {"b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1), "mean": (n_x, 1), "std": (n_x, 1)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise ParameterFileError(
                f"{path}: the shapes do not fit together: W1 is {W1.shape}, so {key} should be {shape}, "
                f"but it is {arrays[key].shape}"
            )
    check_standard_deviations(arrays["std"], not_saved)
    parameters = {p: arrays[p] for p in tl.PARAMETER_NAMES}
    return parameters, arrays["mean"], arrays["std"], activation


# ----- the command line -------------------------------------------------------------------------------------


def train_parser() -> argparse.ArgumentParser:
    """The options of a training run."""
    p = Parser(
        prog=PROG,
        description="Train the lab's two-layer network with minigrad's backward pass, check its gradients "
        "against the lab's formulas, and report.",
        epilog=f"To use saved parameters on new data: {PROG} predict --help",
    )
    _data_options(p)
    _training_options(p)
    _output_options(p)
    return p


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=DEFAULTS["data"],
        metavar="NAME|PATH.csv",
        help=f"{', '.join(datasets.BUILT_IN)}, or a CSV file: features then the 0/1 label per row "
        f"(default {DEFAULTS['data']})",
    )


def _training_options(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
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
    add_seed(p, d["seed"], "seed for the data, the split and the parameters")
    add_test_fraction(p, d["test_fraction"], "examples")


def _output_options(p: argparse.ArgumentParser) -> None:
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
    add_export_option(p)
    add_quiet(p)


def predict_parser() -> argparse.ArgumentParser:
    """The options of `predict`."""
    data_help = "a built-in data set, or a CSV file of features, with or without the 0/1 label as last column"
    return shared_predict_parser(
        PROG,
        "Predict 0/1 labels with parameters saved by --save; report the accuracy where the data has labels.",
        ("NAME|PATH.csv", data_help),
        "write each example's prediction and probability",
        seed=PREDICT_SEED,
    )
