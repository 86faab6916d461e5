"""The second main job, `python -m nets.digits` (`__main__.py` runs it): a softmax network on ten classes.

    python -m nets.digits [--hidden 64] [--activation relu] ... [--save model.npz] [--plot run.png]
    python -m nets.digits predict model.npz --data digits|PATH.csv [--out predictions.csv]

Bad input ends the run with a one-line message on stderr and exit status 2, before anything is trained or
written; so does a missing scikit-learn, where the digits are needed. Files are written whole or not at all,
and the outputs of a run all or none (`minigrad.files.all_or_none`): prepared, then moved into place together
at the end. No output may be the same file as an input or as another output (`check_outputs`). What both
commands share is `nets.commandline`'s; this file reads top-down: the story (`run_train`, `run_predict`),
the steps it takes, the parameter files, and the options last.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.files import all_or_none
from nets import datasets, metrics
from nets import digits as dg
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
    final_line,
    fraction,
    positive_float,
    positive_int,
    printer,
    pyplot,
    train_or_predict,
    write_predictions,
)
from nets.commandline import predict_parser as shared_predict_parser
from nets.datasets import DataError
from nets.digits.modelfile import load_model, save_model
from nets.export import add_export_option, check_export, export_predictor
from nets.metrics import percent
from nets.paramfiles import (
    ParameterFileError,
    array_names,
    check_standard_deviations,
    load_arrays,
    save_arrays,
)
from nets.progress import Progress
from nets.training import TrainingDivergedError

PROG = "python -m nets.digits"
DIGITS = "digits"
DEFAULTS: dict[str, Any] = {
    "data": DIGITS,
    "hidden": "64",
    "activation": "relu",
    "init": "he",
    "optimiser": "adam",
    "batch_size": 32,
    "epochs": 30,
    "seed": 0,
    "test_fraction": 0.25,
}
PRINTED_CLASSES = 30  # a wider confusion matrix does not fit a terminal's line
INIT_NAMES = {"he": "He's N(0, 2/n_in)", "lab": "the lab's U(+-sqrt(1/n_in))"}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the main job; returns the exit status (0, 2 for bad input, 1 if an output cannot be written)."""
    return train_or_predict(
        argv,
        lambda args: run_train(train_parser().parse_args(args)),
        lambda args: run_predict(predict_parser().parse_args(args)),
        bad_input=(DataError, ParameterFileError),
    )


def run_train(args: argparse.Namespace) -> int:
    """Train, report and write the outputs: the story of `python -m nets.digits`."""
    # Everything that can be wrong with the input is found before the first epoch.
    _check_outputs(args)
    if args.plot is not None:
        pyplot()
    if args.momentum is not None and args.optimiser != "sgd":
        raise UsageError("--momentum is SGD's: add --optimiser sgd, or leave --momentum out")
    say = printer(args.quiet)

    data = load_data(args)
    sizes = [data.train[0].shape[0], *args.hidden, data.classes]
    _check_network_fits(sizes, data, args)  # before the parameters are drawn
    start = dg.initialize_parameters(sizes, args.init, seed=args.seed)
    _print_plan(data, args, say)
    _print_check(start, data, args, say)
    say("\nTraining")
    parameters, history, seconds = _train(data, start, args)
    say()
    _print_result(data, history, seconds, args)

    picture = _confusions(parameters, data, args)
    _print_confusion(picture[0], picture[-1], say)
    for line in _write_outputs(args, parameters, data, history, picture):
        say(line)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Predict with a saved network, report the accuracy where the data has labels, write `--out`."""
    inputs = {"the parameter file": args.parameters, "--data": data_file(args.data, (DIGITS,))}
    check_outputs({"--out": (args.out, (".csv",))}, inputs)
    parameters, mean, std, activation = load_parameters(args.parameters)
    n_x = mean.shape[0]
    sizes = [n_x, *(parameters[f"W{c}"].shape[0] for c in range(1, len(parameters) // 2 + 1))]
    network = _network(sizes, activation)
    X, labels = _predict_data(args, n_x, dg.classes(parameters), network)
    what = f"{args.parameters}: a network {network} on the {X.shape[1]} examples of {args.data}"
    check_memory(what, network_bytes(sizes, X.shape[1]), ParameterFileError)
    probabilities = dg.probabilities(parameters, datasets.standardise(X, mean, std), activation)
    predicted = probabilities.argmax(axis=0)

    print(f"parameters  {args.parameters}: {network}")
    print(f"data        {args.data}: {X.shape[1]} examples, {'with' if labels is not None else 'no'} labels")
    if labels is not None:
        right = int(np.sum(predicted == labels))
        print(f"accuracy    {percent(right / labels.size)} ({right} of {labels.size})")
    if args.out is not None:
        with all_or_none():  # one output today; a second one would join it here
            write_predictions(args.out, predicted, probabilities.max(axis=0))
        print(f"predictions written to {args.out}")
    return 0


# ----- the steps of a run -----------------------------------------------------------------------------------


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path, before any work: its folder and name, and none the same file as the data or as
    the other output."""
    check_export(args.export)
    outputs = {
        "--save": (args.save, (".npz", ".safetensors")),
        "--plot": (args.plot, PLOT_SUFFIXES),
        "--export": (args.export, (".onnx",)),
    }
    check_outputs(outputs, {"--data": data_file(args.data, (DIGITS,))})


def load_data(args: argparse.Namespace) -> ClassSplits:
    """The examples `--data` names, `--limit` of them by class, split by class as `--test-fraction` asks."""
    X, labels = load_examples(args.data)
    classes = int(labels.max()) + 1
    if args.limit is not None and args.limit < labels.size:
        try:
            chosen = datasets.stratified_sample(labels, args.limit, seed=args.seed)
        except DataError as e:
            raise UsageError(f"--limit {args.limit}: {e}") from None
        X, labels = X[:, chosen], labels[chosen]
    train, held_out = datasets.stratified_split(X, labels, args.test_fraction, seed=args.seed)
    return ClassSplits(train, held_out, *datasets.standardisation(train[0]), classes)


def load_examples(data: str) -> tuple[np.ndarray, np.ndarray]:
    """`(X, labels)` of the digits or of a CSV file; a missing scikit-learn is bad input, said in one line."""
    if data == DIGITS:
        try:
            return dg.load_digits()
        except ImportError as e:
            raise UsageError(str(e)) from None
    return datasets.load_classes_csv(datasets.csv_path(data, (DIGITS,)))


@dataclass(frozen=True)
class ClassSplits(Splits):
    """The splits of a run (`X`, `labels` in each), their standardisation, and the number of classes."""

    classes: int


def _check_network_fits(sizes: Sequence[int], data: ClassSplits, args: argparse.Namespace) -> None:
    """The network of these layer sizes, on all the examples, fits in memory; else a `UsageError`."""
    hidden = ",".join(map(str, args.hidden))
    what = f"--hidden {hidden}: a network {_network(sizes, args.activation)} on {data.total} examples"
    check_memory(what, network_bytes(sizes, data.total), UsageError)


def _print_plan(data: ClassSplits, args: argparse.Namespace, say: Any) -> None:
    n_x, m_train, m_test = data.train[0].shape[0], data.train[1].size, data.held_out[1].size
    L = len(args.hidden) + 1
    hidden = " -> ".join(f"{n} {args.activation}" for n in args.hidden)
    rate = dg.learning_rate_of(args.optimiser, args.learning_rate)
    optimiser = "Adam" if args.optimiser == "adam" else f"SGD with momentum {_momentum(args):g}"
    say(f"A softmax network on minigrad ({PROG} --help for the options)")
    examples = f"{data.total} examples of {n_x} features, {data.classes} classes"
    say(f"  data      {_describe(args)}: {examples}")
    say(f"  split     {m_train} to train, {m_test} held out (stratified by class); features standardised")
    say(f"  network   {n_x} -> {hidden} -> {data.classes} softmax; W ~ {INIT_NAMES[args.init]}, biases 0")
    say(f"  cost      J = -(1/m) sum(Y * log_softmax(Z{L}, axis=0)), Y one-hot")
    say(
        f"  training  {args.epochs} epochs of mini-batches of {args.batch_size}, {optimiser}, learning rate "
        f"{rate:g}, seed {args.seed}"
    )


def _describe(args: argparse.Namespace) -> str:
    if args.data == DIGITS:
        return "scikit-learn's handwritten digits (8x8 pixels)"
    return args.data


def _momentum(args: argparse.Namespace) -> float:
    return 0.9 if args.momentum is None else args.momentum


def _print_check(
    parameters: dict[str, np.ndarray], data: ClassSplits, args: argparse.Namespace, say: Any
) -> None:
    X, labels = data.standardised(data.train)
    closed_form, autograd = dg.output_gradients(
        parameters, X, dg.one_hot(labels, data.classes), args.activation
    )
    L = len(args.hidden) + 1
    difference = float(np.max(np.abs(closed_form - autograd)))
    say(f"\nGradient check at initialisation, on the {labels.size} training examples")
    say(f"  dZ{L} = A{L} - Y (the lab's closed form)   against   m * Z{L}.grad (minigrad's backward pass)")
    say(f"  max |closed form - autograd| = {difference:.1e}")


def one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS on one thread, where threadpoolctl (which scikit-learn brings) is there.

    A mini-batch makes matrices of 64 x 32: too small for a second BLAS thread to pay for its start, and
    on a busy machine OpenBLAS's threads wait on each other. Measured on 2 shared cores: the default run's
    30 epochs take 0.7 s on one thread against about 1.9 s on two, and 17.5 s once while other work ran.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@dataclass
class History:
    """Per epoch: the cost on the training split, and the accuracy on both splits."""

    costs: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    held_out: list[float] = field(default_factory=list)


def _train(data: ClassSplits, start: dict, args: argparse.Namespace) -> tuple[dict, History, float]:
    """`(parameters, history, seconds)`: mini-batch training, one report line (or bar step) per epoch."""
    history = History()
    train, held_out = data.standardised(data.train), data.standardised(data.held_out)
    width = len(str(args.epochs))

    def line(epoch: int, values: tuple[float, float, float]) -> str:
        cost, right, right_held_out = values
        accuracies = f"train {percent(right)}   held-out {percent(right_held_out)}"
        return f"  epoch {epoch:>{width}}   cost {cost:.4f}   {accuracies}"

    def report(epoch: int, parameters: dict) -> None:
        cost, right = dg.evaluate(parameters, *train, args.activation)
        right_held_out = (
            dg.accuracy(parameters, *held_out, args.activation) if held_out[1].size else float("nan")
        )
        history.costs.append(cost), history.train.append(right), history.held_out.append(right_held_out)
        progress.update(epoch, (cost, right, right_held_out))

    started = time.perf_counter()
    progress = Progress(args.epochs, line, lines=args.epochs, quiet=args.quiet, unit="epoch")
    with one_blas_thread(), progress:
        try:
            parameters = dg.train(
                *train,
                start,
                hidden_activation=args.activation,
                optimiser=args.optimiser,
                learning_rate=args.learning_rate,
                momentum=_momentum(args),
                batch_size=args.batch_size,
                epochs=args.epochs,
                seed=args.seed,
                callback=report,
            )
        except TrainingDivergedError as e:
            raise diverged(e, "step") from None
    return parameters, history, time.perf_counter() - started


def _print_result(data: ClassSplits, history: History, seconds: float, args: argparse.Namespace) -> None:
    held_out = history.held_out[-1] if data.held_out[1].size else None
    how_long = f"{args.epochs} epochs in {seconds:.1f} s"
    cost = f"{history.costs[-1]:.4f}"
    print(final_line(cost, history.train[-1], held_out, "none (no example held out)", how_long))


def _confusions(
    parameters: dict[str, np.ndarray], data: ClassSplits, args: argparse.Namespace
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """`(matrix, X, labels, probabilities, which)`: the confusion matrix of the held-out split (of the
    training split where none is held out), and what the plot draws beside it."""
    split, which = (data.held_out, "held-out") if data.held_out[1].size else (data.train, "training")
    X, labels = data.standardised(split)
    probabilities = dg.probabilities(parameters, X, args.activation)
    matrix = metrics.confusion_matrix(labels, probabilities.argmax(axis=0), data.classes)
    return matrix, split[0], labels, probabilities, which


def _print_confusion(matrix: np.ndarray, which: str, say: Any) -> None:
    if len(matrix) > PRINTED_CLASSES:
        say(f"\n{len(matrix)} classes: the confusion matrix is too wide to print (at most {PRINTED_CLASSES})")
        return
    say(f"\nConfusion matrix of the {matrix.sum()} {which} examples (rows: true class, columns: predicted)")
    width = max(3, len(str(matrix.max())) + 1)
    say("      " + "".join(f"{k:>{width}}" for k in range(len(matrix))))
    for k, row in enumerate(matrix):
        say(f"  {k:>3} " + "".join(f"{n:>{width}}" for n in row))
    pairs = metrics.most_confused(matrix)
    if not pairs:
        say("No class was taken for another.")
        return
    say("Most confused pairs of classes (ties in the order of the classes):")
    for a, b, a_as_b, b_as_a in pairs:
        directions = [f"{x} taken for {y} {_times(n)}" for x, y, n in ((a, b, a_as_b), (b, a, b_as_a)) if n]
        say(f"  {a} and {b}: {', '.join(directions)}")


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _write_outputs(
    args: argparse.Namespace,
    parameters: dict[str, np.ndarray],
    data: ClassSplits,
    history: History,
    picture: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str],
) -> list[str]:
    """Every output of a training run, all or none; what to say once all are in place."""
    said = []
    with all_or_none():
        if args.save is not None:
            save_parameters(args.save, parameters, data, args.activation)
            said.append(f"parameters saved to {args.save}")
        if args.export is not None:
            forward = dg.forward_propagation
            said.append(
                export_predictor(args.export, forward, args.activation, parameters, data.mean, data.std)
            )
        if args.plot is not None:
            from nets.digits.plots import write_plot

            write_plot(args.plot, history, *picture)
            said.append(f"plot written to {args.plot}")
    return said


def _predict_data(
    args: argparse.Namespace, n_x: int, K: int, network: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """`(X, labels)` to predict on with a `network` of `n_x` features and `K` classes: the digits, or a
    CSV file of features and, optionally, the label; `labels` None where there is none."""
    if args.data != DIGITS:
        read_labels = lambda column, lines, path: datasets.class_labels_from(column, lines, path, K)  # noqa: E731
        path = datasets.csv_path(args.data, (DIGITS,))
        return datasets.features_maybe_labels(path, n_x, args.parameters, read_labels)
    X, labels = load_examples(DIGITS)
    if X.shape[0] != n_x:
        raise ParameterFileError(f"{args.parameters} was trained on {n_x} features; the digits have 64")
    have = int(labels.max()) + 1
    if have != K:
        raise ParameterFileError(
            f"{args.parameters} holds a network {network}, of {K} classes; the digits have {have}"
        )
    return X, labels


def _network(sizes: Sequence[int], activation: str) -> str:
    """`64 -> 32 relu -> 10 softmax`: the network of these layer sizes."""
    hidden = [f"{n} {activation}" for n in sizes[1:-1]]
    return " -> ".join([str(sizes[0]), *hidden, f"{sizes[-1]} softmax"])


# ----- parameter files --------------------------------------------------------------------------------------


def save_parameters(
    path: Path, parameters: dict[str, np.ndarray], data: ClassSplits, activation: str
) -> None:
    """The parameters, the features' standardisation and the activation, as plain arrays."""
    if path.suffix.lower() == ".safetensors":  # a file PyTorch loads too (nets/digits/modelfile.py)
        save_model(path, parameters, data.mean, data.std, activation)
        return
    layers = str(len(parameters) // 2)
    texts = {"hidden_activation": activation, "layers": layers}
    save_arrays(path, {**parameters, "mean": data.mean, "std": data.std}, texts)


def load_parameters(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, str]:
    """`(parameters, mean, std, hidden_activation)` from a file written by `save_parameters`.

    A file `--save` could not have written is refused as a damaged one is, its message describing the
    network the file holds: layers that do not chain, no feature, a layer of no unit, fewer than two
    classes, a standard deviation of 0 or below."""
    loaded = load_model(path) if path.suffix.lower() == ".safetensors" else _load_npz(path)
    parameters, mean, std, activation = loaded
    not_saved = f"{path}: not a parameter file written by --save"
    if activation not in dg.HIDDEN_ACTIVATIONS:
        raise ParameterFileError(f"{not_saved} (hidden_activation {activation!r})")
    L = len(parameters) // 2
    sizes = [parameters["W1"].shape[1]]
    for c in range(1, L + 1):
        W, b = parameters[f"W{c}"], parameters[f"b{c}"]
        if W.shape[1] != sizes[-1] or b.shape != (W.shape[0], 1):
            sizes = []
            break
        sizes.append(W.shape[0])
    if not sizes or mean.shape != (sizes[0], 1) or std.shape != mean.shape:
        held = ", ".join(f"{name} {shape}" for name, shape in _shapes(parameters, mean, std))
        raise ParameterFileError(f"{not_saved}: its layers do not chain: it holds {held}")
    holds = f"{not_saved}: it holds a network {_network(sizes, activation)}"
    if sizes[0] == 0:
        raise ParameterFileError(f"{holds}, with no feature")
    if 0 in sizes[1:-1]:
        raise ParameterFileError(f"{holds}, with no unit in hidden layer {sizes[1:-1].index(0) + 1}")
    if sizes[-1] < 2:
        K = sizes[-1]
        raise ParameterFileError(f"{holds}, with {K} class{'es' * (K != 1)} where --save writes at least 2")
    check_standard_deviations(std, holds)
    return parameters, mean, std, activation


def _load_npz(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, str]:
    """`(parameters, mean, std, hidden_activation)` from an .npz file written by `save_parameters`."""
    arrays, texts = load_arrays(path, ("mean", "std"), ("hidden_activation", "layers"))
    activation, L = texts["hidden_activation"], _layers(path, texts["layers"])
    if activation not in dg.HIDDEN_ACTIVATIONS or L is None:
        not_saved = f"{path}: not a parameter file written by --save"
        raise ParameterFileError(
            f"{not_saved} (hidden_activation {activation!r}, layers {texts['layers']!r})"
        )
    parameters, _ = load_arrays(path, [f"{kind}{c}" for c in range(1, L + 1) for kind in "Wb"])
    return parameters, arrays["mean"], arrays["std"], activation


def _layers(path: Path, text: str) -> int | None:
    """The number of layers a file's `layers` text says, where it is a whole number written in ASCII digits
    (`isdigit` takes "²") from 1 to the weight arrays the file holds; else None. Counted before any array
    is named, so that a tampered count cannot make a list of names as long as itself."""
    if not (text.isascii() and text.isdigit()):
        return None
    weights = sum(1 for name in array_names(path) if re.fullmatch(r"W[1-9][0-9]*", name))
    return int(text) if 1 <= int(text) <= weights else None


def _shapes(parameters: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray) -> list[tuple[str, tuple]]:
    """Every array's name and shape, layer by layer: what a file holds, where it is not a network."""
    layers = len(parameters) // 2
    named = [(f"{kind}{c}", parameters[f"{kind}{c}"]) for c in range(1, layers + 1) for kind in "Wb"]
    return [(name, value.shape) for name, value in [*named, ("mean", mean), ("std", std)]]


# ----- the command line -------------------------------------------------------------------------------------


def train_parser() -> argparse.ArgumentParser:
    """The options of a training run."""
    p = Parser(
        prog=PROG,
        description="Train a softmax network built from minigrad operations on scikit-learn's handwritten "
        "digits (or a CSV file of K classes), and report its accuracy and its confusions.",
        epilog=f"To use saved parameters on new data: {PROG} predict --help",
    )
    _data_options(p)
    _network_options(p)
    _training_options(p)
    _output_options(p)
    return p


def hidden_sizes(text: str) -> tuple[int, ...]:
    """`64,32` as `(64, 32)`: the hidden layers' widths, at least one, each a positive whole number."""
    try:
        return tuple(positive_int(part.strip()) for part in text.split(","))
    except argparse.ArgumentTypeError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: give widths separated by commas; {e}") from None


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default=DIGITS,
        metavar="digits|PATH.csv",
        help="scikit-learn's digits (default), or a CSV file: features, then an integer label 0 ... K-1",
    )
    p.add_argument(
        "--limit", type=positive_int, metavar="N", help="use only N examples, drawn by class (for quick runs)"
    )
    add_test_fraction(p, DEFAULTS["test_fraction"], "each class")


def _network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--hidden",
        type=hidden_sizes,
        default=hidden_sizes(DEFAULTS["hidden"]),
        metavar="N[,N...]",
        help=f"hidden layers' widths ({DEFAULTS['hidden']})",
    )
    p.add_argument(
        "--activation", choices=dg.HIDDEN_ACTIVATIONS, default=DEFAULTS["activation"], help="(%(default)s)"
    )
    p.add_argument(
        "--init",
        choices=dg.INITIALISATIONS,
        default=DEFAULTS["init"],
        help="He's N(0, 2/n_in) or the lab's U(+-sqrt(1/n_in)) (%(default)s)",
    )


def _training_options(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    rates = ", ".join(f"{k} {v:g}" for k, v in dg.LEARNING_RATES.items())
    p.add_argument("--optimiser", choices=dg.OPTIMISERS, default=d["optimiser"], help="(%(default)s)")
    p.add_argument("--learning-rate", type=positive_float, metavar="X", help=f"step size ({rates})")
    p.add_argument("--momentum", type=fraction, metavar="B", help="SGD's momentum, 0 to 0.99 (0.9)")
    p.add_argument(
        "--batch-size", type=positive_int, default=d["batch_size"], metavar="N", help="(%(default)s)"
    )
    p.add_argument("--epochs", type=positive_int, default=d["epochs"], metavar="N", help="(%(default)s)")
    add_seed(p, d["seed"], "seed for the split, the parameters and the batches")


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--save",
        type=Path,
        metavar="PATH.npz|PATH.safetensors",
        help="write the parameters and standardisation (.safetensors: a file PyTorch loads too)",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="PATH.png",
        help="cost and accuracy per epoch, the confusion matrix, misclassified examples",
    )
    add_export_option(p)
    add_quiet(p)


def predict_parser() -> argparse.ArgumentParser:
    """The options of `predict`."""
    data_help = "scikit-learn's digits (all 1,797), or a CSV file of features, with or without the label last"
    return shared_predict_parser(
        PROG,
        "Predict classes with parameters saved by --save; report the accuracy where the data has labels.",
        ("digits|PATH.csv", data_help),
        "write each prediction and its probability",
        parameters=("PARAMS", "a file written by --save (.npz or .safetensors)"),
    )
