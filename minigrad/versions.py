"""Two clocks on one count: when each tensor was made, and when its values were last written.

Every Tensor takes the next number at birth, so its inputs always have smaller ones (creation order is a
topological order of any graph). A write through a tensor takes the next number too; the backward pass
compares the two to refuse a graph whose values changed after an operation read them.
"""

from __future__ import annotations

import itertools
import operator
import weakref
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minigrad.tensor import Tensor

# Every Tensor gets the next number at birth: its inputs always have smaller ones.
_creation_order = itertools.count()
next_number: Callable[[], int] = _creation_order.__next__

# When a tensor was made: its inputs always have smaller numbers (a topological order of any graph).
creation_number: Callable[[Tensor], int] = operator.attrgetter("_seq")


# ----- what the backward pass checks: was a value changed after the graph read it? -----------------------
#
# Three ways to change a tensor's values, and how each is seen:
# - through the tensor (`-=`, `t[i] = v`, `t.data = ...`): its own creation-ordered write number, `_changed`;
# - through another tensor sharing its memory (`t.detach()`, a view made under no_grad: `t.T`,
#   `t.reshape(...)`, `t[:2]`): the write number of the memory, kept by the array at the bottom of the chain
#   of NumPy views, as PyTorch keeps one version counter for a tensor, its views and its detach();
# - straight into the array (`W.data[0] = 10`, `np.multiply(W.data, 0, out=W.data)`), which no counter
#   sees: a fingerprint (CRC-32) of each parameter (a leaf that requires a gradient), taken when an
#   operation of a graph reads it and compared by the backward pass: one pass over the parameters' bytes
#   per use. Such writes into an intermediate's or an input's array stay unseen.

# id(memory) -> [weak reference to the memory, the number of its last write]; an entry dies with its array.
_writes: dict[int, list[Any]] = {}


def _memory(array: np.ndarray) -> np.ndarray:
    """The array at the bottom of `array`'s chain of views: the memory it shares with its views."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


def _forget(key: int, ref: weakref.ref) -> None:
    entry = _writes.get(key)
    if entry is not None and entry[0] is ref:
        del _writes[key]


_last_write = [-1]  # the number of the last write: a graph made after it needs no look-up in `_writes`


def last_write() -> int:
    """The creation-ordered number of the last write through a tensor (-1 before any)."""
    return _last_write[0]


def record_write(t: Tensor) -> None:
    """Mark `t`'s values, and those of every tensor sharing its memory, as changed now."""
    number = _last_write[0] = next_number()
    t._changed = number
    memory = t._data if t._data.base is None else _memory(t._data)
    key = id(memory)
    entry = _writes.get(key)
    if entry is None or entry[0]() is not memory:
        ref = weakref.ref(memory, lambda r, key=key: _forget(key, r))
        entry = _writes[key] = [ref, number]
    entry[1] = number


def fingerprint(array: np.ndarray) -> int:
    """A CRC-32 of the array's bytes: cheap, and different after any ordinary change of a value."""
    try:  # without asking for the flags first (callgrind: 2.3k instructions for a small parameter)
        return zlib.crc32(array)
    except ValueError:  # NumPy's refusal of a buffer that is not C-contiguous
        return zlib.crc32(np.ascontiguousarray(array))


def changed_after(t: Tensor, made: int) -> bool:
    """Whether `t`'s values may have changed since the moment numbered `made` (an operation read them)."""
    if t._changed > made:
        return True
    if _writes:
        entry = _writes.get(id(_memory(t._data)))
        if entry is not None and entry[1] > made:
            return True
    # A parameter's fingerprint is from the last operation that read it, at or after `made`: a difference
    # means a write after every graph that reads it was built.
    return t._print is not None and t._print != fingerprint(t._data)


__all__ = [
    "changed_after",
    "creation_number",
    "fingerprint",
    "last_write",
    "next_number",
    "record_write",
]
