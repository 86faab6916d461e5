"""What the commands `python -m nets.twolayer`, `nets.digits` and `nets.gradients` share: their skeleton.

Bad input ends a command with one line on stderr, `error: ...`, and exit status 2, before any work is
done or any file written: argparse's own complaints included (`Parser`), every output path checked up
front (`check_output`), and no output the same file as an input or as another output (`check_distinct`).
Files are written whole or not at all: a temporary file in the same folder, then one rename
(`atomic_write`); a command that writes several prepares them all inside `all_or_none()`, and they are
moved into place together at its end. Ctrl-C and SIGTERM stop a command alike, removing what it was
writing (`run_command`). matplotlib is optional (the extra `plot`); without it, the message says
how to install it.

A training command's story is the same in both: check every output (`check_outputs`), load the data
and split it (`Splits`), say the plan (`printer`), train (a divergence ends it in one line, `diverged`),
print the `final_line`, write the outputs all or none; `predict` reads a parameter file and writes
`write_predictions`. The options both declare are declared here once (`add_seed`, `add_test_fraction`,
`add_quiet`, `predict_parser`).
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import math
import os
import re
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.files import atomic_write, check_target
from nets import datasets
from nets.metrics import percent
from nets.training import TrainingDivergedError

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
PLOT_NEEDS = '--plot needs matplotlib, which is not installed: pip install "minigrad[plot]"'


_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


_ESCAPED_BYTE = re.compile(r"\\udc([89a-f][0-9a-f])")


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose complaints are a `UsageError`: one line, not argparse's usage block.

    A negative number is read as a value in every notation `float` takes (`-1e3`, `-.5E-2`, `-inf`), so
    that the option's own check names the problem; argparse alone takes `-1e3` for an option.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse quotes a bad value with repr(): a byte that a file name did not decode as UTF-8 then
        # reads `\udce9`; it is shown as its byte, `\xe9`, as everywhere else.
        message = _ESCAPED_BYTE.sub(r"\\x\1", message)
        raise UsageError(f"{message} (see {self.prog} --help)")


class Terminated(KeyboardInterrupt):
    """SIGTERM (or another signal that ends a process), raised where the command is, so that it stops as
    Ctrl-C stops it: temporaries removed. `signum` is the signal's number."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


# The signals whose default ends the process and that a handler can catch (SIGINT is Ctrl-C already;
# SIGPIPE and SIGXFSZ Python ignores, so that a write fails with an error instead).
_ENDING_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGXCPU", "SIGALRM", "SIGVTALRM", "SIGPROF")
    if hasattr(signal, name)
)


def train_or_predict(
    argv: Sequence[str] | None,
    train: Callable[[Sequence[str]], int],
    predict: Callable[[Sequence[str]], int],
    bad_input: tuple[type[Exception], ...] = (),
) -> int:
    """A command's main: `predict ...` runs `predict` on the rest, anything else `train`, in `run_command`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["predict"]:
        return run_command(lambda: predict(argv[1:]), bad_input)
    return run_command(lambda: train(argv), bad_input)


def run_command(command: Callable[[], int], bad_input: tuple[type[Exception], ...] = ()) -> int:
    """`command()`'s exit status; `UsageError` and the `bad_input` exceptions become `error: ...` and 2.

    An output that cannot be written (disk full, permissions) is 1; its temporary file is already gone.
    Ctrl-C is 130 and SIGTERM 143, SIGHUP 129, ... (128 + the signal's number, as a shell reports them),
    with the files being written removed.
    """
    _print_any_file_name()
    try:
        with _sigterm_as_exception():
            return command()
    except (UsageError, *bad_input) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Terminated as stop:
        name = signal.Signals(stop.signum).name
        print("terminated" if stop.signum == signal.SIGTERM else f"stopped by {name}", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _shown_as_bytes(error: UnicodeError) -> tuple[str, int]:
    """A codec error handler: a byte a file name did not decode as (Python's surrogateescape) is shown as
    `\\xe9`, anything else the output cannot encode as its escape, `\\ud800`."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    return "".join(
        f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c.encode("unicode_escape").decode()
        for c in text
    ), error.end


codecs.register_error("nets.shown_as_bytes", _shown_as_bytes)


def _print_any_file_name() -> None:
    """A file name that is not valid UTF-8 (an argument decoded with surrogateescape) prints as its bytes'
    escapes, wherever the command prints it, instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            stream.reconfigure(errors="nets.shown_as_bytes")


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """SIGTERM (SIGHUP, SIGUSR1, ...: `_ENDING_SIGNALS`) raises `Terminated` while the block runs (Python's
    default would end the process at once, leaving a half-written temporary file behind).
    Only the main thread can set a handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = {signum: signal.signal(signum, terminate) for signum in _ENDING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ----- argument types: argparse names the option in front of the message --------------------------------


def positive_int(text: str) -> int:
    return _whole_number(text, 1, "must be a positive whole number")


def seed_number(text: str) -> int:
    return _whole_number(text, 0, "a seed is a whole number 0 or above")  # NumPy's generators take no less


def _whole_number(text: str, smallest: int, too_small: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < smallest:
        raise argparse.ArgumentTypeError(f"{too_small}, got {value}")
    return value


def fraction(text: str) -> float:
    """A share from 0 up to, not including, 1 (of the examples held out, say)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


# ----- output files -----------------------------------------------------------------------------------


def check_output(option: str, path: Path | None, suffixes: Sequence[str]) -> None:
    """Before any work: the output's folder exists and is writable, and its name ends as `option` writes."""
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path}: the folder {folder} is not writable")
    try:  # write-protected, a FIFO or a device, a name too long: refused before the work, not after
        check_target(path)
    except IsADirectoryError:
        raise UsageError(f"{option} {path}: is a folder; give a file name") from None
    except OSError as error:
        raise UsageError(f"{option} {path}: {error.strerror}") from None


def check_distinct(
    outputs: Mapping[str, Path | None], inputs: Mapping[str, Path | None] | None = None
) -> None:
    """Before any work: no output is the same file as an input or as another output.

    Each mapping goes from how the file was given (`--out`, `--data`) to its path, None where not given.
    Paths are compared resolved (symbolic links followed) and, for files that exist, by identity (hard links).
    """
    inputs = inputs or {}
    seen: list[tuple[str, Path]] = [(name, path) for name, path in inputs.items() if path is not None]
    for name, path in outputs.items():
        if path is None:
            continue
        for other, earlier in seen:
            if _same_file(path, earlier):
                kind = "would destroy it" if other in inputs else "would lose one of them"
                raise UsageError(
                    f"{name} {path} is the same file as {other} {earlier}; writing it {kind}: "
                    "give another name"
                )
        seen.append((name, path))


def _same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (files only, no window). Call it before the work, so that
    a missing matplotlib is said before anything runs."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(PLOT_NEEDS) from None
    return plt


def save_figure(figure: Any, path: Path, dpi: int = 100) -> None:
    """Write a matplotlib figure whole to `path`, in the format its suffix names, and close it."""
    try:
        with atomic_write(path) as f:
            figure.savefig(f, format=path.suffix[1:].lower(), dpi=dpi)
    finally:
        pyplot().close(figure)


def dot_fallback(path: Path) -> Path | None:
    """Where `mg.save_graph(t, path)` writes DOT text instead of `path`, if the Graphviz programs are
    missing now; None where it would write `path` itself. (Only the commands need to know it before the
    work, to refuse to write over a file the user did not name.)"""
    if path.suffix.lower() == ".dot" or shutil.which("dot") is not None:
        return None
    return path.with_suffix(".dot")


def data_file(data: str, built_in: Container[str]) -> Path | None:
    """The file `--data` names, None for a built-in data set (nothing on disk to protect)."""
    return None if data in built_in else Path(data)


def check_outputs(
    outputs: Mapping[str, tuple[Path | None, Sequence[str]]], inputs: Mapping[str, Path | None]
) -> None:
    """Every output path, before any work: its folder and the end of its name (`check_output`), and none
    the same file as an input or as another output (`check_distinct`). `outputs` maps an option to its
    path and the suffixes it writes."""
    for option, (path, suffixes) in outputs.items():
        check_output(option, path, suffixes)
    check_distinct({option: path for option, (path, _) in outputs.items()}, inputs)


def write_predictions(path: Path, predicted: np.ndarray, probability: np.ndarray) -> None:
    """`prediction,probability`, one line per example, written whole."""
    lines = ["prediction,probability"] + [f"{k},{p:.6f}" for k, p in zip(predicted, probability)]
    with atomic_write(path) as f:
        f.write(("\n".join(lines) + "\n").encode())


# ----- a training run: its data, what it says, and its end ---------------------------------------------


@dataclass(frozen=True)
class Splits:
    """The examples of a training run: the training and held-out splits in the data's units, each
    `(X, labels)`, and the training split's standardisation, which `--save` writes beside the parameters."""

    train: tuple[np.ndarray, np.ndarray]
    held_out: tuple[np.ndarray, np.ndarray]
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def standardised_by_train(
        cls, train: tuple[np.ndarray, np.ndarray], held_out: tuple[np.ndarray, np.ndarray]
    ) -> Splits:
        """The splits, with the standardisation measured on the training split alone."""
        return cls(train, held_out, *datasets.standardisation(train[0]))

    @property
    def total(self) -> int:
        """The examples in both splits."""
        return self.train[0].shape[1] + self.held_out[0].shape[1]

    def standardised(self, split: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """A split with its features standardised by the training split's statistics."""
        X, labels = split
        return datasets.standardise(X, self.mean, self.std), labels


def printer(quiet: bool) -> Callable[..., None]:
    """`print`, or where `--quiet` asks for only the final result, a function that prints nothing."""
    return (lambda *args, **kwargs: None) if quiet else print


def diverged(error: TrainingDivergedError, where: str, why: str = "") -> UsageError:
    """The one line that ends a run whose cost diverged: where (`iteration 12`, `step 3`), and the remedy."""
    return UsageError(
        f"the cost became {error.cost:.6g} at {where} {error.iteration} (from {error.start:.6g} at the "
        f"start): {why}try a smaller --learning-rate than {error.learning_rate:g}. Nothing was written."
    )


def final_line(cost: str, train: float, held_out: float | None, nothing_held_out: str, how_long: str) -> str:
    """The result both commands print last, also under `--quiet`."""
    held = percent(held_out) if held_out is not None else nothing_held_out
    return f"final cost {cost}   train accuracy {percent(train)}   held-out accuracy {held}   ({how_long})"


# ----- the options both commands declare ----------------------------------------------------------------


def add_seed(p: argparse.ArgumentParser, default: int, what: str) -> None:
    """`--seed N`: `what` it seeds."""
    p.add_argument("--seed", type=seed_number, default=default, metavar="N", help=f"{what} (%(default)s)")


def add_test_fraction(p: argparse.ArgumentParser, default: float, share_of: str) -> None:
    """`--test-fraction F`, the share of `share_of` held out."""
    p.add_argument(
        "--test-fraction",
        type=fraction,
        default=default,
        metavar="F",
        help=f"share of {share_of} held out to test on, 0 to 0.99 (%(default)s)",
    )


def add_quiet(p: argparse.ArgumentParser) -> None:
    """`--quiet`: the final line alone."""
    p.add_argument("--quiet", action="store_true", help="print only the final result")


def predict_parser(
    prog: str,
    description: str,
    data: tuple[str, str],
    out_help: str,
    seed: int | None = None,
    parameters: tuple[str, str] = ("PARAMS.npz", "a file written by --save"),
) -> Parser:
    """The parser of `PROG predict PARAMS.npz --data ... [--seed N] [--out PATH.csv]`; `data` and
    `parameters` are the metavar and help of `--data` and of the file; `--seed` (of a built-in data set)
    only where a default `seed` is given."""
    p = Parser(prog=f"{prog} predict", description=description)
    p.add_argument("parameters", type=Path, metavar=parameters[0], help=parameters[1])
    p.add_argument("--data", required=True, metavar=data[0], help=data[1])
    if seed is not None:
        add_seed(p, seed, "seed for a built-in data set")
    p.add_argument("--out", type=Path, metavar="PATH.csv", help=out_help)
    return p
