"""The command `python -m nets.gradients` (`__main__.py` runs it): the lab's step 4, measured and reported.

    python -m nets.gradients                     # the default set of activations and initialisations
    python -m nets.gradients --combos relu+he,relu+normal:2 --depth 20 --plot gradients.png

The measurements are `nets.gradients`'; this file reads the arguments, checks them before any work, and
prints the report. Bad input ends the run with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

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
    seed_number,
)
from nets.gradients import (
    DEFAULT_COMBINATIONS,
    Combination,
    Measurements,
    clipping_verdict,
    gradient_table,
    gradient_verdict,
    make_data,
    measure,
    parse_combination,
    training_table,
)

PROG = "python -m nets.gradients"
COPIES_PER_LAYER = 8  # arrays of (width, m) alive at once for each layer: Z, A, their gradients, temporaries


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment; returns the exit status (0, 2 for bad input, 1 if the plot cannot be written)."""
    return run_command(lambda: run_experiment(build_parser().parse_args(argv)))


def run_experiment(args: argparse.Namespace) -> int:
    """The measurements and the report for parsed arguments; see `main`."""
    combos = _checked_setup(args)
    X, Y = make_data(args.data, args.examples, args.seed)
    sizes = [X.shape[0]] + [args.width] * (args.depth - 1) + [1]
    found = measure(
        combos,
        X,
        Y,
        sizes,
        steps=args.steps,
        learning_rate=args.learning_rate,
        clip=args.clip,
        seed=args.seed,
    )
    setting = (
        f"depth {args.depth} (layer sizes {sizes[0]}, {args.width} x {args.depth - 1}, 1), "
        f"{args.data}, {args.examples} examples, seed {args.seed}"
    )
    print_report(found, setting, args)
    if args.plot is not None:
        from nets.gradients.plots import write_plot

        write_plot(args.plot, found.labels, found.dW, found.dZ, found.runs, f"{PROG}: {setting}")
        print(f"\nPlot written to {args.plot}")
    return 0


def print_report(found: Measurements, setting: str, args: argparse.Namespace) -> None:
    """The gradient table and its verdicts, then the training runs and what clipping did."""
    print(f"Gradient norms |dW[c]| after one backward pass of the cost J\n{setting}")
    print(gradient_table(found.labels, found.dW, found.dZ))
    print()
    width = max(len(label) for label in found.labels)
    for label, dW, dZ in zip(found.labels, found.dW, found.dZ):
        print(f"  {label:<{width}}  {gradient_verdict(dW, dZ)}")
    print()
    print(f"Training: {args.steps} steps of gradient descent, learning rate {args.learning_rate:g}")
    print(training_table(found.runs))
    for label, run in found.runs:
        if run.max_norm is not None:
            print(f"\n{clipping_verdict(label, run)}")


# ----- checks before any work ---------------------------------------------------------------------


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


def combinations_from(args: argparse.Namespace) -> list[Combination]:
    """The combinations that `--combos`, or `--activation` and `--init`, name; a ValueError where none is,
    or one is listed twice."""
    if args.combos is not None and (args.activation is not None or args.init is not None):
        raise ValueError("give either --combos or --activation/--init, not both")
    if args.activation is not None or args.init is not None:
        # an empty list given is a mistake to say, not a default to take ("" is falsy)
        activations = _listed("--activation", "relu" if args.activation is None else args.activation)
        inits = _listed("--init", "he" if args.init is None else args.init)
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


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _listed(option: str, text: str) -> list[str]:
    """The names of a list option, at least one; else a ValueError naming the option."""
    names = _names(text)
    if not names:
        example = "relu,tanh" if option == "--activation" else "he,lab"
        raise ValueError(f"{option} {text!r}: give at least one name, e.g. {option} {example}")
    return names


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


# ----- the command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The options of the experiment: the network and its data, the combinations, the training runs."""
    parser = Parser(
        prog=PROG,
        description="Vanishing and exploding gradients in a deep network (the lab's step 4), measured.",
    )
    parser.add_argument("--depth", type=positive_int, default=10, help="layers with weights, W1 ... WL (10)")
    parser.add_argument("--width", type=positive_int, default=32, help="units in every hidden layer (32)")
    parser.add_argument(
        "--data", choices=tuple(datasets.BUILT_IN), default="moons", help="built-in data set (moons)"
    )
    parser.add_argument("--examples", type=positive_int, default=200, help="examples in the data set (200)")
    _combination_options(parser)
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


def _combination_options(parser: argparse.ArgumentParser) -> None:
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
