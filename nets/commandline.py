"""What the commands `python -m nets.twolayer` and `python -m nets.gradients` share: the command-line helpers.

Bad input ends a command with one line on stderr, `error: ...`, and exit status 2, before any work is
done or any file written: argparse's own complaints included (`Parser`), and every output path checked
up front (`check_output`). Files are written whole or not at all: a temporary file in the same folder,
then one rename (`atomic_write`). matplotlib is optional (the extra `plot`); without it, the message says
how to install it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from minigrad.files import atomic_write

PLOT_NEEDS = '--plot needs matplotlib, which is not installed: pip install "minigrad[plot]"'


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose complaints are a `UsageError`: one line, not argparse's usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def run_command(command: Callable[[], int], bad_input: tuple[type[Exception], ...] = ()) -> int:
    """`command()`'s exit status; `UsageError` and the `bad_input` exceptions become `error: ...` and 2.

    An output that cannot be written (disk full, permissions) is 1; its temporary file is already gone.
    """
    try:
        return command()
    except (UsageError, *bad_input) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


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
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")


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
