"""Two-class data sets for the lab's network: built-in ones NumPy draws from a seed, and CSV files.

Every function returns the lab's layout, one example per column: `X (n_x, m)` and `Y (1, m)` of 0s and 1s.
For more than two classes (`nets.digits`), `load_classes_csv` returns `X` and the class labels `(m,)`,
whole numbers 0 ... K-1, and `stratified_split` holds out the same share of every class.
Problems with a file raise `DataError`, whose message names the file, and the line and column where
there is one, so that a student can go and fix it.
"""

from __future__ import annotations

import array
import csv
import math
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from nets import checks
from nets.checks import whole_number

Examples = tuple[np.ndarray, np.ndarray]  # `(X, Y)` in the lab's layout


class DataError(ValueError):
    """A data set that cannot be used as it is; the message says what is wrong and where."""


# ----- built-in data sets ---------------------------------------------------------------------------


def _labelled(points_0: np.ndarray, points_1: np.ndarray, rng: np.random.Generator, noise: float) -> Examples:
    """Class 0 and class 1 points (rows), plus Gaussian noise, shuffled into the lab's layout."""
    points = np.vstack([points_0, points_1])
    points = points + rng.normal(0.0, noise, size=points.shape)
    labels = np.concatenate([np.zeros(len(points_0)), np.ones(len(points_1))])
    order = rng.permutation(len(points))
    return points[order].T.copy(), labels[order].reshape(1, -1)


def _halves(m: int) -> tuple[int, int]:
    """How many examples of each class: a data set needs at least 2 examples, one of each."""
    m = whole_number(m, "m", smallest=2, why=" (a data set needs at least 2 examples, one of each class)")
    return m // 2, m - m // 2


def moons(m: int = 400, noise: float = 0.2, seed: int | None = None) -> Examples:
    """Two interleaved half-moons: class 0 the upper arc, class 1 the lower one, shifted into its gap."""
    rng = np.random.default_rng(seed)
    m0, m1 = _halves(m)
    t0, t1 = rng.uniform(0, np.pi, m0), rng.uniform(0, np.pi, m1)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    return _labelled(upper, lower, rng, noise)


def xor(m: int = 400, noise: float = 0.25, seed: int | None = None) -> Examples:
    """Four clusters at the corners (+-1, +-1): class 1 where the two signs differ, as in XOR."""
    rng = np.random.default_rng(seed)
    m0, m1 = _halves(m)
    same = rng.choice([-1.0, 1.0], size=(m0, 1)) * np.ones((1, 2))
    differ = rng.choice([-1.0, 1.0], size=(m1, 1)) * np.array([[1.0, -1.0]])
    return _labelled(same, differ, rng, noise)


def circles(m: int = 400, noise: float = 0.1, seed: int | None = None) -> Examples:
    """Two concentric rings: class 0 the outer (radius 1), class 1 the inner (radius 0.5)."""
    rng = np.random.default_rng(seed)
    m0, m1 = _halves(m)
    t0, t1 = rng.uniform(0, 2 * np.pi, m0), rng.uniform(0, 2 * np.pi, m1)
    outer = np.column_stack([np.cos(t0), np.sin(t0)])
    inner = 0.5 * np.column_stack([np.cos(t1), np.sin(t1)])
    return _labelled(outer, inner, rng, noise)


def blobs(m: int = 400, noise: float = 1.0, seed: int | None = None) -> Examples:
    """Two round Gaussian clouds, centred at (-1.5, -1.5) and (1.5, 1.5), overlapping a little."""
    rng = np.random.default_rng(seed)
    m0, m1 = _halves(m)
    return _labelled(np.full((m0, 2), -1.5), np.full((m1, 2), 1.5), rng, noise)


BUILT_IN: dict[str, Callable[..., Examples]] = {
    "moons": moons,
    "xor": xor,
    "circles": circles,
    "blobs": blobs,
}


# ----- CSV files --------------------------------------------------------------------------------------


def _number(cell: str) -> float | None:
    """The number a cell holds, as `float` reads it, but not `1_000`: a CSV file has no digit separators
    (`float` takes Python's, and a stray `_` is more likely a typo than a thousand)."""
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def read_table(path: str | Path) -> tuple[np.ndarray, Sequence[int]]:
    """A CSV file's numbers as `(rows, line_numbers)`: one row per example, its line in the file beside it.

    A first line with no number in it is a header and skipped; blank lines are skipped. Every other cell
    must be a finite number, and every row as long as the first. A file that is not a regular file (a
    device such as /dev/zero, a pipe) or too large for memory is refused before it is read. Messages name
    lines of the file, also where a quoted field spans lines (a row's line is that of its last cell).
    The time is linear in the size of the file, and the numbers are held as 8-byte floats as they are read.
    """
    path = Path(path)
    _check_readable(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            table = _Table(path)
            for cells in (reader := csv.reader(f)):
                table.add(cells, reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text CSV file (it is not UTF-8 text)") from None
    except (OSError, csv.Error) as e:
        raise DataError(f"{path}: cannot be read: {e}") from None
    if not table.line_numbers:
        empty = " (only a header)" if table.header else " (the file is empty)"
        raise DataError(f"{path}: no data rows{empty}")
    return table.array(), table.line_numbers


class _Table:
    """The rows of a CSV file as they are read, a record at a time: every number appended to one flat array
    of 8-byte floats (a Python list of floats takes 32 bytes a number and more), each row's line beside it.

    A record costs time in proportion to its length: the line of each cell, which the messages name, is
    counted only for the cell at fault.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values = array.array("d")
        self.line_numbers = array.array("q")
        self.columns = 0
        self.header = False
        self.ended = 0  # the line on which the previous record ended

    def add(self, cells: list[str], ended: int) -> None:
        """One record of `csv.reader`, which ended on line `ended`."""
        first, self.ended = self.ended + 1, ended
        if not any(c.strip() for c in cells):
            return
        values = self._numbers(cells, first)
        if values is None:
            return  # the header
        line = ended - cells[-1].count("\n")  # the line of the record's last cell
        if self.line_numbers and len(values) != self.columns:
            raise DataError(
                f"{self.path}, line {line}: {len(values)} columns, but line {self.line_numbers[0]} has "
                f"{self.columns}; every row needs the same number of columns"
            )
        self.columns = len(values)
        self.values.extend(values)
        self.line_numbers.append(line)

    def _numbers(self, cells: list[str], first: int) -> list[float] | None:
        """The record's numbers, every one finite; None for the header; else a `DataError` at the cell."""
        try:
            if "_" not in ",".join(cells):
                values = list(map(float, cells))
                if all(map(math.isfinite, values)):
                    return values
        except ValueError:
            pass
        values = [_number(c) for c in cells]
        if not self.line_numbers and not self.header and all(v is None for v in values):
            self.header = True  # the first line, and not a number in it: column names
            return None
        column = next(k for k, v in enumerate(values) if v is None or not math.isfinite(v))
        line = first + sum(c.count("\n") for c in cells[:column])
        where, cell = f"{self.path}, line {line}, column {column + 1}", cells[column].strip()
        if values[column] is None:
            raise DataError(f"{where}: {cell!r} is not a number")
        raise DataError(f"{where}: {cell}; every value must be a finite number")

    def array(self) -> np.ndarray:
        """The rows, `(m, columns)`, on the numbers read (no copy)."""
        return np.frombuffer(self.values, dtype=np.float64).reshape(-1, self.columns)


# Bytes of memory per byte of CSV text while a file is read, measured with tracemalloc
# (`python -m benchmarks.csv_read`): about 8 for rows of any width from a few thousand cells down to one,
# 4.6 for MNIST's rows; the most, 24.5, for a file of one very long row of one-digit cells, whose cells
# `csv.reader` holds at once as Python strings (about 50 bytes for the 2 of "0,"). Above that, a margin.
CSV_MEMORY_PER_BYTE = 32


def _check_readable(path: Path) -> None:
    """A regular file whose numbers fit in memory; else `DataError`. A missing file is for `open` to say."""
    try:
        status = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as e:
        raise DataError(f"{path}: cannot be read: {e.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        return
    if not stat.S_ISREG(status.st_mode):
        raise DataError(f"{path}: not a regular file (a device, a pipe or a socket); give a CSV file")
    checks.check_memory(
        f"{path}: {checks.size_in_bytes(status.st_size)} of CSV text",
        status.st_size * CSV_MEMORY_PER_BYTE,
        DataError,
    )


def labels_from(column: np.ndarray, line_numbers: list[int], path: str | Path) -> np.ndarray:
    """The last column as labels `(1, m)`, after checking that every one is 0 or 1."""
    wrong = ~np.isin(column, (0.0, 1.0))
    if wrong.any():
        found = ", ".join(f"{v:g}" for v in np.unique(column[wrong])[:5])
        first = line_numbers[int(np.argmax(wrong))]
        raise DataError(
            f"{path}: labels (the last column) must be 0 or 1; found {found} (first on line {first})"
        )
    return column.reshape(1, -1)


def load_csv(path: str | Path) -> Examples:
    """Features then the 0/1 label in the last column, one example per row: `(X (n_x, m), Y (1, m))`."""
    table, line_numbers = read_table(path)
    if table.shape[1] < 2:
        raise DataError(
            f"{path}: {table.shape[1]} column; need at least one feature column and the 0/1 label in the last"
        )
    Y = labels_from(table[:, -1], line_numbers, path)
    return table[:, :-1].T.copy(), Y


def class_labels_from(
    column: np.ndarray, line_numbers: list[int], path: str | Path, classes: int | None = None
) -> np.ndarray:
    """The last column as class labels `(m,)` of ints, after checking each is a whole number 0 ... K-1.

    K is `classes` where given (the classes a network was trained on), else at most the number of
    examples: a label of 99999 among 61 rows is a typo, not the last of 100,000 classes (and 1e19 would
    wrap around as an int64). The message is one line, naming the first such label and its line."""
    top = column.size if classes is None else classes
    wrong = (column != np.round(column)) | (column < 0) | (column >= top)
    if wrong.any():
        first = int(np.argmax(wrong))
        why = "" if classes is not None else f" (at most one class per example: {column.size} examples)"
        raise DataError(
            f"{path}, line {line_numbers[first]}: the label (the last column) must be a whole number "
            f"from 0 to {top - 1}{why}; found {column[first]:g}"
        )
    return column.astype(np.int64)


def load_classes_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Features then an integer label 0 ... K-1 per row: `(X (n_x, m), labels (m,))`, at least two classes."""
    table, line_numbers = read_table(path)
    if table.shape[1] < 2:
        raise DataError(f"{path}: 1 column; need at least one feature column and the label in the last")
    labels = class_labels_from(table[:, -1], line_numbers, path)
    if labels.max() < 1:
        raise DataError(f"{path}: every label is {labels.max()}; need at least two classes")
    return table[:, :-1].T.copy(), labels


def csv_path(name: str, built_in: Sequence[str]) -> Path:
    """The CSV file that `--data NAME` names, where NAME is none of the `built_in` data sets; else a
    `DataError` that lists them: for an empty name (which `Path` would read as the current folder), for
    a built-in data set of another command, and for a name that is no .csv file and nothing that exists."""
    choices = built_in[0] if len(built_in) == 1 else f"one of {', '.join(built_in)}"
    give = f"give {choices} or a path to a .csv file"
    if not name.strip():
        raise DataError(f"no data set named (--data {name!r}): {give}")
    if name in BUILT_IN:
        raise DataError(f"{name} is a built-in data set of two classes, for nets.twolayer; here {give}")
    if not name.lower().endswith(".csv") and not Path(name).exists():
        raise DataError(f"unknown data set '{name}': {give}")
    return Path(name)


def features_maybe_labels(
    path: Path, n_x: int, trained_on: str | Path, read_labels: Callable[..., np.ndarray]
) -> tuple[np.ndarray, np.ndarray | None]:
    """A CSV file's features `(n_x, m)`, and its labels (`read_labels(last column, line_numbers, path)`)
    when it has one column more: data for a network `trained_on` (a parameter file) `n_x` features.
    `path` is what `csv_path` returns."""
    table, line_numbers = read_table(path)
    columns = table.shape[1]
    if columns == n_x:
        return table.T.copy(), None
    if columns == n_x + 1:
        return table[:, :-1].T.copy(), read_labels(table[:, -1], line_numbers, path)
    raise DataError(
        f"{trained_on} was trained on {n_x} feature{'s' * (n_x != 1)}, but {path} has {columns} columns "
        f"(expected {n_x} features, then optionally the label)"
    )


def load(name_or_path: str, seed: int | None = None) -> Examples:
    """A built-in data set by name (drawn from `seed`) or a CSV file by path."""
    if name_or_path in BUILT_IN:
        return BUILT_IN[name_or_path](seed=seed)
    return load_csv(csv_path(name_or_path, tuple(BUILT_IN)))


# ----- splitting and standardisation ------------------------------------------------------------------


def split(
    X: np.ndarray, Y: np.ndarray, test_fraction: float, seed: int | None = None
) -> tuple[Examples, Examples]:
    """`((X_train, Y_train), (X_test, Y_test))`: a random `test_fraction` of the examples held out.

    A positive fraction holds out at least one example; at least one is always left to train on.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be at least 0 and below 1, got {test_fraction}")
    m = X.shape[1]
    m_test = max(1, round(test_fraction * m)) if test_fraction > 0 else 0
    if m - m_test < 1:
        raise DataError(
            f"{m} example{'s' if m != 1 else ''} with a test fraction of {test_fraction:g} "
            "leaves none to train on"
        )
    order = np.random.default_rng(seed).permutation(m)
    test, train = order[:m_test], order[m_test:]
    return (X[:, train], Y[:, train]), (X[:, test], Y[:, test])


def stratified_split(
    X: np.ndarray, labels: np.ndarray, test_fraction: float, seed: int | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`((X_train, labels_train), (X_test, labels_test))`, holding out `test_fraction` of each class.

    Each class keeps at least one example to train on; the order within each split is shuffled.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be at least 0 and below 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    test, train = [], []
    for k in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == k))
        m_test = min(round(test_fraction * len(members)), len(members) - 1)
        test.append(members[:m_test])
        train.append(members[m_test:])
    test, train = rng.permutation(np.concatenate(test)), rng.permutation(np.concatenate(train))
    return (X[:, train], labels[train]), (X[:, test], labels[test])


def stratified_sample(labels: np.ndarray, n: int, seed: int | None = None) -> np.ndarray:
    """The indices of exactly `n` examples, sorted, drawn from every class in proportion to its size (the
    largest remainders rounded up), at least one of each: a `DataError` where `n` is below the number of
    classes or above the number of examples."""
    classes, counts = np.unique(labels, return_counts=True)
    if not len(classes) <= n <= labels.size:
        raise DataError(
            f"{n} examples cannot be drawn by class from {labels.size} examples of {len(classes)} classes: "
            f"give from {len(classes)} to {labels.size}"
        )
    # one of each class first, the rest shared in proportion to what each class has left
    share = (n - len(classes)) * (counts - 1) / max(labels.size - len(classes), 1)
    take = 1 + np.floor(share).astype(np.int64)
    remainders = np.argsort(-(share - np.floor(share)), kind="stable")
    take[remainders[: n - int(take.sum())]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == k))[:t] for k, t in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


def standardisation(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation of each feature (row), shape `(n_x, 1)` each.

    A constant feature gets a standard deviation of 1, so that it is only shifted, never divided by 0.
    A feature so large that its sum or its squares overflow (values near 1e308, or 1e160), or so small
    that its squares underflow (below 1e-162), is measured in units of its largest value, so that both are
    finite, and the standard deviation positive, for every feature of finite values that is not constant.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=1, keepdims=True)
        std = X.std(axis=1, keepdims=True)
    rescaled = ~(np.isfinite(mean) & np.isfinite(std))[:, 0]
    # Below about 1e-162 the squares underflow to 0, and a feature that varies would read as constant:
    # measured in units of its largest value too.
    rescaled |= (std[:, 0] == 0) & (X.max(axis=1) != X.min(axis=1)) if X.shape[1] else False
    if rescaled.any():
        rows = X[rescaled]
        scale = np.max(np.abs(rows), axis=1, keepdims=True)  # the scaled values lie in [-1, 1]
        mean[rescaled] = scale * (rows / scale).mean(axis=1, keepdims=True)
        std[rescaled] = scale * (rows / scale).std(axis=1, keepdims=True)
    return mean, np.where(std > 0, std, 1.0)


def standardise(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Each feature shifted and scaled by the training split's statistics: `(X - mean) / std`.

    Where `X - mean` would overflow (both near 1e308, of opposite signs) it is computed halved, which
    gives the same numbers where it does not.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        Z = (X - mean) / std
    if not np.all(np.isfinite(Z)):
        with np.errstate(over="ignore"):
            Z = 2 * ((X / 2 - mean / 2) / std)
    return Z
