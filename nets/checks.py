"""Checks of the arguments that the networks' functions share, each with the message a student can act on."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from nets.tensors import array

FALLBACK_MEMORY = 2**34  # 16 GiB, where the system does not say how much memory it has


def whole_number(value: Any, what: str, smallest: int = 1, why: str = "") -> int:
    """`value` as an int, or a ValueError naming `what` where it is not a whole number of at least `smallest`.

    A bool is refused although Python counts it as an int: `n_h=True` is a mistake, not a width of 1.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < smallest:
        need = "a positive whole number" if smallest == 1 else f"a whole number of at least {smallest}"
        raise ValueError(f"{what} must be {need}{why}, got {value!r}")
    return int(value)


def binary_labels(Y: Any, function: str) -> None:
    """A ValueError naming the first value of `Y` that is not 0 or 1: the lab's networks have two classes.

    Labels 0, 1, 2, ... of more classes would train without complaint, to a meaningless cost (`1 - Y` is
    negative); `nets.digits` is the network for them.
    """
    values = array(Y)
    wrong = ~np.isin(values, (0, 1))
    if wrong.any():
        index = np.unravel_index(int(np.argmax(wrong)), values.shape)
        raise ValueError(
            f"{function}: Y must hold only 0 and 1, the lab's two classes; found {values[index]:g} at "
            f"{tuple(int(i) for i in index)}. For more than two classes, use nets.digits (a softmax output)"
        )


def check_examples(X: np.ndarray, Y: np.ndarray, function: str) -> None:
    """A ValueError naming what is wrong with a training set in the lab's layout, before any step: `X`
    `(n_x, m)` of finite numbers with at least one example, `Y` `(n_y, m)` of 0s and 1s, one column per
    example as `X`'s. Without it, NaN in X reads as exploding gradients, and a `Y` of shape `(m,)`
    broadcasts into an `(m, m)` cost whose message names neither."""
    if X.ndim != 2 or X.shape[1] == 0:
        raise ValueError(
            f"{function}: X must be (n_x, m), one example per column, at least one; got {X.shape}"
        )
    if Y.ndim != 2 or Y.shape[1] != X.shape[1]:
        raise ValueError(
            f"{function}: Y must be (n_y, m) with one column per example of X {X.shape}, m = {X.shape[1]}; "
            f"got {Y.shape}" + (" (use Y.reshape(1, -1) for one row of labels)" if Y.ndim == 1 else "")
        )
    if not np.all(np.isfinite(X)):
        index = np.unravel_index(int(np.argmax(~np.isfinite(X))), X.shape)
        raise ValueError(
            f"{function}: X must hold finite numbers; found {X[index]} at {tuple(int(i) for i in index)}"
        )
    binary_labels(Y, function)


class TooLargeError(ValueError):
    """An input whose size would not fit in memory; found before anything is allocated."""


def memory_limit() -> int:
    """The bytes of physical memory of this machine: no array larger than that can be worked on."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system, or it does not say
        return FALLBACK_MEMORY


def size_in_bytes(n: int) -> str:
    """`n` bytes for people: `512 bytes`, `1.5 GiB`, `80.0 TiB`."""
    if n < 1024:
        return f"{n} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        n /= 1024
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}"
    raise AssertionError  # the loop always returns


COPIES_PER_UNIT = 10  # arrays of (units, m) alive at once per layer: W A, Z, A, their gradients, the update's


def network_bytes(layer_sizes: Sequence[int], m: int) -> int:
    """About the most memory a forward and backward pass of a network of `layer_sizes` (`[n_x, n_1, ...,
    n_L]`) on `m` examples holds: the parameters four times over (values, gradients, an optimiser's two
    moments), and `COPIES_PER_UNIT` arrays of `(n_c, m)` for each layer."""
    parameters = sum(n_out * (n_in + 1) for n_in, n_out in itertools.pairwise(layer_sizes))
    units = sum(layer_sizes[1:])
    return 8 * (4 * parameters + COPIES_PER_UNIT * units * (m + layer_sizes[0]))


def check_memory(what: str, n_bytes: int, error: type[Exception] = TooLargeError) -> None:
    """Before allocating: `error` naming `what` and the memory it would take, where that is more than the
    machine has. `what` says what is that large, the size included (`--hidden 99999999999: a network ...`)."""
    limit = memory_limit()
    if n_bytes > limit:
        raise error(
            f"{what} would take about {size_in_bytes(n_bytes)} of memory; this machine has "
            f"{size_in_bytes(limit)}"
        )
