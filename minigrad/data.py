"""Mini-batches of rows: the loop PyTorch's `DataLoader` writes for you, in one function.

    for xb, yb in mg.data.batches(X, y, batch_size=32, shuffle=True, seed=rng):
        ...

Rows are examples (PyTorch's layout, `minigrad.nn`'s). With `shuffle`, the order is a permutation drawn
from `seed`: a number gives the same order every time it is given, so for a new order at each epoch pass
one `np.random.Generator` to every epoch's call (each call draws the next permutation from it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["batches"]


def batches(
    X: Any,
    y: Any = None,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int | np.random.Generator | None = None,
) -> Iterator[Any]:
    """Mini-batches of the rows of `X` (and the same rows of `y`): `xb`, or `(xb, yb)` where `y` is given.

    Every row comes once; every batch holds `batch_size` rows but the last, which holds the rest.
    `X` and `y` may be ndarrays or Tensors (a Tensor's batch is taken by indexing, in the graph).
    Bad arguments are refused here, before the first batch.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive whole number; got {batch_size!r}")
    if not isinstance(shuffle, bool):
        raise TypeError(f"batches: shuffle must be True or False; got {shuffle!r}")
    if seed is not None and not shuffle:
        raise ValueError("batches: a seed was given with shuffle=False; the order would not use it")
    m = _rows(X, "X")
    if y is not None and _rows(y, "y") != m:
        raise ValueError(f"batches: X has {m} rows and y has {_rows(y, 'y')}; they must be the same examples")
    order = np.random.default_rng(seed).permutation(m) if shuffle else None
    return _batches(X, y, m, int(batch_size), order)


def _batches(X: Any, y: Any, m: int, batch_size: int, order: np.ndarray | None) -> Iterator[Any]:
    for first in range(0, m, batch_size):
        rows = slice(first, first + batch_size) if order is None else order[first : first + batch_size]
        yield X[rows] if y is None else (X[rows], y[rows])


def _rows(a: Any, what: str) -> int:
    shape = np.shape(a)
    if not shape:
        raise ValueError(
            f"batches: {what} must have at least one axis (its rows are the examples); got {a!r}"
        )
    return shape[0]
