"""Letting go, during the forward pass, of the intermediate values that no rule reads.

A graph keeps its tensors (`t.parents`), and so each tensor's array, until the graph dies. Most of those
arrays are never read again: `x + c` and `x * c` have rules that read no value of `x`, and a sigmoid's
rule reads its output, not its input. As PyTorch keeps only its "saved tensors", minigrad drops the
array of an intermediate that (a) no rule reads, (b) nobody but the graph holds, since then nobody can
compute with it again: its Tensor stays, for `t.parents`, `t.op` and drawings, and its array becomes
`ReleasedValues`, which keep the shape and dtype and refuse every read with a message saying why. The
forward pass then reuses memory still in the cache instead of writing fresh arrays.

When: an operation's output records which of its inputs (a) holds for (`spare`); when that output is
itself an input of a later operation, each of them that (b) holds for too is released. One operation
later, because at the first moment the caller may still hold the input in a variable, which reference
counts tell apart from the graph's own reference only once the expression that made it has ended.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from minigrad.rule_reads import METADATA

if TYPE_CHECKING:
    from minigrad.tensor import Tensor


def references(holder: Sequence[Any], j: int) -> int:
    """The references to `holder[j]`, counted as `UNHELD` counts them."""
    return sys.getrefcount(holder[j])


# What `references` counts for an object only `holder` holds (interpreters count differently).
UNHELD = references((object(),), 0)


def _release_from() -> int:
    """The setting `MINIGRAD_RELEASE_FROM`, in bytes: 0 releases every array no rule reads (the tests run
    so too), a large number keeps them all."""
    value = os.environ.get("MINIGRAD_RELEASE_FROM", "").strip()
    if not value:
        return 65536  # letting smaller arrays go costs more time than their memory is worth
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"MINIGRAD_RELEASE_FROM={value!r} is not a whole number of bytes") from None
    if n < 0:
        raise ValueError(f"MINIGRAD_RELEASE_FROM={value!r}: a number of bytes cannot be negative")
    return n


# Arrays of fewer bytes than this are kept.
RELEASE_FROM = _release_from()
# The creation number of the newest operation with an intermediate of at least RELEASE_FROM bytes among its
# inputs (set by `Op._recorded`): a graph whose oldest operation is newer holds no large intermediate (but
# perhaps its root), and the backward pass looks no further.
newest_large = [-1]


def release_spare(t: Tensor) -> None:
    """Release those of `t`'s inputs that no rule reads and nobody else holds (once, when `t` is used)."""
    parents = t._parents
    for j in t._spare:
        if references(parents, j) <= UNHELD:
            parent = parents[j]
            data = parent._data
            if type(data) is not ReleasedValues:
                parent._data = released(data)
    t._spare = None


def is_released(t: Tensor) -> bool:
    """Whether `t`'s values were let go."""
    return type(t._data) is ReleasedValues


def released(data: np.ndarray) -> ReleasedValues:
    """What stays of an array: its shape and dtype, over one read-only element. Shared: nothing can
    write to it."""
    return released_as(data.shape, data.dtype)


def released_as(shape: tuple[int, ...], dtype: Any) -> ReleasedValues:
    """The shared placeholder of this shape and dtype (also what a copied or unpickled graph's released
    values become again, not a full array of the placeholder's element)."""
    key = shape, np.dtype(dtype)
    values = _made.get(key)
    if values is None:
        if len(_made) > 256:  # the shapes of a few graphs; a program that makes ever new ones starts over
            _made.clear()
        values = _made[key] = np.ndarray.__new__(
            ReleasedValues, shape, key[1], _ELEMENT, 0, (0,) * len(shape)
        )
    return values


# Room for one element of any dtype, every bit set: NumPy's C functions read an array subclass without
# asking it (`np.asarray`, `np.array`, `memoryview`), and what they read is then NaN, never a plausible 0.
_ELEMENT = np.full(2, np.iinfo(np.uint64).max, np.uint64)
_ELEMENT.flags.writeable = False
_made: dict[tuple[tuple[int, ...], np.dtype], ReleasedValues] = {}


# ----- at backward(): the gradients nobody could read, the values no rule reads ----------------------------


def unheld(tensors: list[Tensor], equations: list[Any]) -> set[int]:
    """The slots of large intermediates nobody but the graph holds: their gradients are dropped once handed
    on (as PyTorch keeps no intermediate's), since nobody could read their `.grad` but through `parents`.
    Small ones keep theirs, for drawings."""
    if not equations or newest_large[0] < tensors[equations[0][3]]._seq:  # none made since the oldest
        return set()
    large = [
        k
        for k in range(1, len(tensors))
        if tensors[k]._fn is not None and tensors[k]._data.nbytes >= RELEASE_FROM
    ]
    if not large:
        return set()
    uses = [0] * len(tensors)  # the references to each tensor from the graph's `parents` tuples
    for _, ins, _, _, _ in equations:
        for i in ins:
            uses[i] += 1
    return {k for k in large if references(tensors, k) <= UNHELD + uses[k]}


def withheld(values: list[np.ndarray], equations: list[Any]) -> list[np.ndarray]:
    """The backward pass's values with those no rule of its equations (`backward.Equation`) reads let go,
    as the forward pass may let them go: a rule that reads one after all raises, which is how the tests
    check `rule_reads.py` (`MINIGRAD_RELEASE_FROM=0`)."""
    read = [False] * len(values)
    for fn, ins, _, k, wanted in equations:
        positions = [p for p, _ in wanted]
        read[k] = read[k] or fn.reads_output(positions)
        for j, i in enumerate(ins):
            read[i] = read[i] or fn.reads_input(j, positions)
    return [v if read[k] or k == 0 else released(v) for k, v in enumerate(values)]


_ALLOWED = METADATA | {"base", "flags", "strides", "itemsize", "nbytes"}


class ReleasedValues(np.ndarray):
    """The values of an intermediate no rule reads and nobody held, let go during the forward pass.

    Its shape and dtype remain; any read of its values raises `RuntimeError`, so that a freed value is
    never silently used."""

    def __getattribute__(self, name: str) -> Any:
        if name in _ALLOWED or (name.startswith("__") and name not in _READS):
            return super().__getattribute__(name)
        refuse_released(self)

    def __array_ufunc__(self, *args: Any, **kwargs: Any) -> NoReturn:
        refuse_released(self)

    def __array_function__(self, *args: Any, **kwargs: Any) -> NoReturn:
        refuse_released(self)

    def __getitem__(self, index: Any) -> NoReturn:
        refuse_released(self)

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        refuse_released(self)

    def __float__(self) -> NoReturn:
        refuse_released(self)

    def __int__(self) -> NoReturn:
        refuse_released(self)

    def __bool__(self) -> NoReturn:
        refuse_released(self)

    def __iter__(self) -> NoReturn:
        refuse_released(self)

    # Copies and pickles of a graph keep the placeholder, one element, not an array of its full size.
    def __copy__(self) -> ReleasedValues:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ReleasedValues:
        return self

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return released_as, (self.shape, self.dtype.str)

    def __repr__(self) -> str:
        return f"<released values of shape {self.shape}, {self.dtype}>"

    __str__ = __repr__


_READS = frozenset({"__array__", "__array_interface__", "__array_struct__", "__buffer__", "__dlpack__"})


def refuse_released(values: ReleasedValues) -> NoReturn:
    raise RuntimeError(
        f"the values of this intermediate (shape {values.shape}) were released during the forward pass: "
        "no rule of its graph reads them and nothing else held the tensor. Keep a reference to the "
        "tensor (a variable, a list) while you compute with its values, and they are kept. If backward() "
        "raised this, a rule read it that did not when the graph was built (a requires_grad set to True "
        "after the tensor was used, or a rule registered again with defvjp): build the graph again"
    )


__all__ = [
    "RELEASE_FROM",
    "UNHELD",
    "ReleasedValues",
    "is_released",
    "newest_large",
    "references",
    "refuse_released",
    "release_spare",
    "released",
    "released_as",
    "unheld",
    "withheld",
]
