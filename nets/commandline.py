"""What the commands `python -m nets.twolayer` and `python -m nets.gradients` share: the command-line helpers.

Bad input ends a command with one line on stderr, `error: ...`, and exit status 2, before any work is
done or any file written: argparse's own complaints included (`Parser`), every output path checked up
front (`check_output`), and no output the same file as an input or as another output (`check_distinct`).
Files are written whole or not at all: a temporary file in the same folder, then one rename
(`atomic_write`); a command that writes several prepares them all inside `all_or_none()`, and they are
moved into place together at its end. Ctrl-C and SIGTERM stop a command alike, removing what it was
writing (`run_command`). matplotlib is optional (the extra `plot`); without it, the message says
how to install it.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import math
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from minigrad.files import atomic_write, check_target

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
