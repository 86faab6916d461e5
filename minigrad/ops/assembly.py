"""Assembly: stacking, splitting, repeating, flipping, triangles and diagonals, padding, moving axes.

Almost everything here is written with the shape operations (`reshape`, `transpose`, `getitem`,
`concatenate`, `broadcast_to`, `where`), whose rules move a gradient back where its value came from:
a repeat or a roll is indexing with an integer array, a triangle is a `where`, a diagonal is indexing.
So there are few rules to trust, and every one of these has gradients of any order. `pad` is the one
operation with a rule of its own: its gradient is the slice of g where the input was put.
"""

from __future__ import annotations

import builtins
import itertools
from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.common import Operand, array_of, normalise_axes, whole_number
from minigrad.ops.elementwise import where
from minigrad.ops.shape import broadcast_to, concatenate, getitem, reshape, transpose
from minigrad.tensor import Tensor


def _shape(x: Any) -> tuple[int, ...]:
    return np.shape(array_of(x))


def ravel(x: Operand) -> Tensor:
    """The elements in one row, as `np.ravel` (C order)."""
    return reshape(x, -1)


flatten = ravel


def atleast_1d(x: Operand) -> Tensor:
    """`x` with at least one axis: a scalar becomes shape (1,)."""
    return reshape(x, (1,)) if len(_shape(x)) == 0 else reshape(x, _shape(x))


def atleast_2d(x: Operand) -> Tensor:
    """`x` with at least two axes: (n,) becomes (1, n), as `np.atleast_2d`."""
    s = _shape(x)
    return reshape(x, (1,) * (2 - len(s)) + s) if len(s) < 2 else reshape(x, s)


def atleast_3d(x: Operand) -> Tensor:
    """`x` with at least three axes: (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1), as NumPy."""
    s = _shape(x)
    shapes = {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}
    return reshape(x, shapes.get(len(s), s))


def vstack(tensors: Any) -> Tensor:
    """Rows on top of each other (1-D inputs as rows), as `np.vstack`."""
    return concatenate([atleast_2d(t) for t in tensors], axis=0)


row_stack = vstack


def hstack(tensors: Any) -> Tensor:
    """Side by side: along axis 1, or axis 0 for 1-D inputs, as `np.hstack`."""
    parts = [atleast_1d(t) for t in tensors]
    return concatenate(parts, axis=0 if parts and parts[0].ndim == 1 else 1)


def dstack(tensors: Any) -> Tensor:
    """Along the third axis, as `np.dstack`."""
    return concatenate([atleast_3d(t) for t in tensors], axis=2)


def column_stack(tensors: Any) -> Tensor:
    """1-D inputs as columns, 2-D inputs as they are, side by side, as `np.column_stack`."""
    return concatenate(
        [reshape(t, (-1, 1)) if len(_shape(t)) < 2 else atleast_2d(t) for t in tensors], axis=1
    )


def array_split(x: Operand, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Pieces along `axis`, as `np.array_split`: n pieces as equal as can be, or cut at the indices."""
    s = _shape(x)
    (axis,) = normalise_axes(np.empty(s), axis, "array_split")
    n = s[axis]
    if whole_number(indices_or_sections):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: the number of sections must be positive, got {sections}")
        each, more = divmod(n, sections)
        sizes = [each + 1] * more + [each] * (sections - more)
        cuts = list(np.cumsum([0, *sizes]))
    else:
        cuts = [0, *[int(i) for i in indices_or_sections], n]
    before = (slice(None),) * axis
    return [getitem(x, (*before, slice(a, b))) for a, b in itertools.pairwise(cuts)]


def split(x: Operand, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """As `np.split`: `array_split` that refuses sections that do not divide the axis evenly."""
    s = _shape(x)
    if whole_number(indices_or_sections) and indices_or_sections > 0:
        n = s[normalise_axes(np.empty(s), axis, "split")[0]]
        if n % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of shape {s} does not divide into {indices_or_sections} equal parts"
            )
    return array_split(x, indices_or_sections, axis)


def hsplit(x: Operand, indices_or_sections: Any) -> list[Tensor]:
    """`split` along axis 1 (axis 0 for 1-D), as `np.hsplit`."""
    return split(x, indices_or_sections, axis=1 if len(_shape(x)) > 1 else 0)


def vsplit(x: Operand, indices_or_sections: Any) -> list[Tensor]:
    """`split` along axis 0 of an array of at least 2 dimensions, as `np.vsplit`."""
    if len(_shape(x)) < 2:
        raise ValueError(f"vsplit: needs at least 2 dimensions, got shape {_shape(x)}")
    return split(x, indices_or_sections, axis=0)


def dsplit(x: Operand, indices_or_sections: Any) -> list[Tensor]:
    """`split` along axis 2 of an array of at least 3 dimensions, as `np.dsplit`."""
    if len(_shape(x)) < 3:
        raise ValueError(f"dsplit: needs at least 3 dimensions, got shape {_shape(x)}")
    return split(x, indices_or_sections, axis=2)


def _take(x: Operand, index: np.ndarray, axis: int) -> Tensor:
    """The elements at integer `index` along `axis`: indexing, whose gradient adds repeats (np.add.at)."""
    return getitem(x, (slice(None),) * axis + (index,))


def repeat(x: Operand, repeats: Any, axis: int | None = None) -> Tensor:
    """Each element repeated, as `np.repeat`; with axis=None on the flattened input."""
    if axis is None:
        x, axis = ravel(x), 0
    s = _shape(x)
    (axis,) = normalise_axes(np.empty(s), axis, "repeat")
    try:
        index = np.repeat(np.arange(s[axis]), repeats)
    except ValueError as error:
        raise ValueError(f"repeat: repeats {repeats!r} along axis {axis} of shape {s}: {error}") from None
    return _take(x, index, axis)


def tile(x: Operand, reps: Any) -> Tensor:
    """The whole of `x` repeated `reps` times along each axis, as `np.tile`."""
    reps = (int(reps),) if whole_number(reps) else tuple(int(r) for r in reps)
    s = _shape(x)
    n = builtins.max(len(s), len(reps))
    s, reps = (1,) * (n - len(s)) + s, (1,) * (n - len(reps)) + reps
    # Each axis of x gets a new axis before it, broadcast to the number of repeats: (r0, s0, r1, s1, ...).
    spread = reshape(x, tuple(k for side in s for k in (1, side)))
    spread = broadcast_to(spread, shape=tuple(k for r, side in zip(reps, s) for k in (r, side)))
    return reshape(spread, tuple(r * side for r, side in zip(reps, s)))


def roll(x: Operand, shift: Any, axis: Any = None) -> Tensor:
    """The elements shifted along `axis` with wrap-around, as `np.roll`; axis=None on the flattened input."""
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), _shape(x))
    s = _shape(x)
    axes = normalise_axes(np.empty(s), axis, "roll")
    shifts = np.broadcast_to(shift, (len(axes),))
    for a, k in zip(axes, shifts):
        x = _take(x, np.roll(np.arange(s[a]), int(k)), a)
    return x


def flip(x: Operand, axis: Any = None) -> Tensor:
    """The order of the elements reversed along `axis` (every axis for None), as `np.flip`."""
    s = _shape(x)
    axes = range(len(s)) if axis is None else normalise_axes(np.empty(s), axis, "flip")
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(len(s))))


def fliplr(x: Operand) -> Tensor:
    """Columns reversed (axis 1), as `np.fliplr`."""
    return flip(x, 1)


def flipud(x: Operand) -> Tensor:
    """Rows reversed (axis 0), as `np.flipud`."""
    return flip(x, 0)


def _triangle(x: Operand, k: int, name: str, keep: Any) -> Tensor:
    s = _shape(x)
    if len(s) < 2:
        raise ValueError(f"{name}: needs at least 2 dimensions, got shape {s}")
    return where(keep(np.ones(s[-2:], dtype=bool), k), x, 0.0)


def tril(x: Operand, k: int = 0) -> Tensor:
    """The lower triangle (on and below diagonal `k`) of the last two axes, the rest 0, as `np.tril`."""
    return _triangle(x, k, "tril", np.tril)


def triu(x: Operand, k: int = 0) -> Tensor:
    """The upper triangle (on and above diagonal `k`) of the last two axes, the rest 0, as `np.triu`."""
    return _triangle(x, k, "triu", np.triu)


def diagonal(x: Operand, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal `offset` of the axes `axis1`, `axis2`, as a new last axis, as `np.diagonal`."""
    s = _shape(x)
    if len(s) < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {s}")
    a1, a2 = normalise_axes(np.empty(s), (axis1, axis2), "diagonal")
    rows, cols = np.arange(s[a1]), np.arange(s[a2])
    n = builtins.max(
        0, builtins.min(s[a1], s[a2] - offset) if offset >= 0 else builtins.min(s[a1] + offset, s[a2])
    )
    start_row, start_col = builtins.max(-offset, 0), builtins.max(offset, 0)
    rest = [i for i in range(len(s)) if i not in (a1, a2)]
    moved = transpose(x, (*rest, a1, a2))
    return getitem(moved, (Ellipsis, rows[start_row : start_row + n], cols[start_col : start_col + n]))


def diag(v: Operand, k: int = 0) -> Tensor:
    """As `np.diag`: of a 2-D input its diagonal `k`; of a 1-D input the square matrix with it there."""
    s = _shape(v)
    if len(s) == 2:
        return diagonal(v, k)
    if len(s) != 1:
        raise ValueError(f"diag: needs a 1-D or 2-D input, got shape {s}")
    n = s[0] + builtins.abs(k)
    # Each place of the matrix picks an element of v, or the 0 appended after it: indexing's gradient
    # then takes each element's gradient from its one place on the diagonal.
    index = np.full((n, n), s[0])
    rows = np.arange(s[0]) + builtins.max(-k, 0)
    index[rows, rows + k] = np.arange(s[0])
    return getitem(concatenate([v, np.zeros(1, dtype=array_of(v).dtype)]), index)


@op(name="pad")
def _pad(x, *, pad_width, constant_values):
    return np.pad(x, pad_width, mode="constant", constant_values=constant_values)


# The padding is constant: the input's gradient is the part of g where the input was put.
_pad.defvjp(
    lambda g, out, x, *, pad_width, constant_values: g[
        tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
    ]
)


def pad(x: Operand, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """`x` with constant borders, as `np.pad(x, pad_width)` (mode "constant" only)."""
    if mode != "constant":
        raise ValueError(f"pad: mode {mode!r} has no gradient here; only mode='constant' is supported")
    s = _shape(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (len(s), 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad_width {pad_width!r} has a negative width")
    widths = tuple((int(a), int(b)) for a, b in widths)
    return _pad(x, pad_width=widths, constant_values=float(np.asarray(constant_values)))


def swapaxes(x: Operand, axis1: int, axis2: int) -> Tensor:
    """`x` with two axes exchanged, as `np.swapaxes`."""
    s = _shape(x)
    a1, a2 = (normalise_axes(np.empty(s), a, "swapaxes")[0] for a in (axis1, axis2))
    order = list(range(len(s)))
    order[a1], order[a2] = order[a2], order[a1]
    return transpose(x, tuple(order))


def moveaxis(x: Operand, source: Any, destination: Any) -> Tensor:
    """`x` with axes moved to new places, the others in their order, as `np.moveaxis`."""
    s = _shape(x)
    source = normalise_axes(np.empty(s), source, "moveaxis")
    destination = normalise_axes(np.empty(s), destination, "moveaxis")
    if len(source) != len(destination):
        raise ValueError(f"moveaxis: source {source} and destination {destination} differ in length")
    order = [i for i in range(len(s)) if i not in source]
    for d, src in sorted(zip(destination, source)):
        order.insert(d, src)
    return transpose(x, tuple(order))


def take(a: Operand, indices: Any, axis: int | None = None) -> Tensor:
    """The elements at integer `indices` along `axis` (of the flattened input for None), as `np.take`."""
    if axis is None:
        return getitem(ravel(a), np.asarray(indices))
    (axis,) = normalise_axes(np.empty(_shape(a)), axis, "take")
    return _take(a, np.asarray(indices), axis)


def take_along_axis(arr: Operand, indices: Any, axis: int | None) -> Tensor:
    """`arr` picked by an index array of its own shape along `axis`, as `np.take_along_axis`."""
    if axis is None:
        return getitem(ravel(arr), np.asarray(indices))
    indices = np.asarray(indices)
    s = _shape(arr)
    (axis,) = normalise_axes(np.empty(s), axis, "take_along_axis")
    if indices.ndim != len(s):
        raise ValueError(f"take_along_axis: indices of shape {indices.shape} for an input of shape {s}")
    grid = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    grid[axis] = indices
    return getitem(arr, tuple(grid))


def sort(a: Operand, axis: int | None = -1) -> Tensor:
    """The elements in ascending order along `axis`, as `np.sort` (a stable sort): each element's gradient
    follows it to its place, so tied elements keep their own gradient."""
    order = np.argsort(array_of(a), axis=axis, kind="stable")
    return take_along_axis(a, order, axis)


def diff(a: Operand, n: int = 1, axis: int = -1) -> Tensor:
    """The differences of neighbours along `axis`, `n` times over, as `np.diff`."""
    s = _shape(a)
    (axis,) = normalise_axes(np.empty(s), axis, "diff")
    before = (slice(None),) * axis
    for _ in range(n):
        a = getitem(a, (*before, slice(1, None))) - getitem(a, (*before, slice(None, -1)))
    return a


def append(arr: Operand, values: Operand, axis: int | None = None) -> Tensor:
    """`values` joined after `arr`, as `np.append`: both flattened for axis=None."""
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis=axis)


@op
def copy(x):
    """A copy of the values, in the graph (its gradient passes unchanged), as `np.copy`."""
    return np.array(x)


copy.defvjp(lambda g, out, x: g)


@op(name="astype")
def _astype(x, *, dtype):
    return x.astype(dtype)


_astype.defvjp(lambda g, out, x, *, dtype: astype(g, x.dtype))


def astype(x: Operand, dtype: Any) -> Any:
    """The values in another floating dtype, in the graph (float32 <-> float64), as `ndarray.astype`.

    To an integer or bool dtype the result is a NumPy array of values (there is no gradient to keep), as
    `t.long()` in PyTorch gives a tensor that needs none.
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        if dtype.kind in "iub":
            return array_of(x).astype(dtype)
        raise TypeError(f"astype: a Tensor holds real numbers; cannot cast to {dtype}")
    return _astype(x, dtype=dtype)


def broadcast_arrays(*args: Operand) -> list[Tensor]:
    """The inputs broadcast to one shape, as `np.broadcast_arrays`."""
    shape = np.broadcast_shapes(*(_shape(a) for a in args))
    return [broadcast_to(a, shape=shape) for a in args]


def rot90(m: Operand, k: int = 1, axes: Any = (0, 1)) -> Tensor:
    """`m` turned by 90 degrees `k` times in the plane of `axes`, as `np.rot90`: flips and a swap."""
    a1, a2 = normalise_axes(np.empty(_shape(m)), tuple(axes), "rot90")
    k %= 4
    if k == 0:
        return reshape(m, _shape(m))
    if k == 2:
        return flip(flip(m, a1), a2)
    return swapaxes(flip(m, a2), a1, a2) if k == 1 else flip(swapaxes(m, a1, a2), a2)


def rollaxis(a: Operand, axis: int, start: int = 0) -> Tensor:
    """Axis `axis` moved to stand before position `start`, as `np.rollaxis`."""
    n = len(_shape(a))
    (axis,) = normalise_axes(np.empty(_shape(a)), axis, "rollaxis")
    start = start + n if start < 0 else start
    if not 0 <= start <= n:
        raise ValueError(f"rollaxis: start {start} is out of range for {n} dimensions")
    return moveaxis(a, axis, start - 1 if axis < start else start)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Tensor:
    """From the first choice whose condition holds, else `default`, as `np.select` (the conditions are
    constants)."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions for {len(choicelist)} choices")
    result = default
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        result = where(array_of(condition), choice, result)
    return result


def linspace(start: Operand, stop: Operand, num: int = 50, endpoint: bool = True) -> Tensor:
    """`num` evenly spaced values from `start` to `stop`, as `np.linspace`; both ends may be Tensors."""
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    steps = np.arange(num, dtype=float) / builtins.max(num - 1 if endpoint else num, 1)
    if endpoint and num > 1:
        steps[-1] = 1.0  # exactly stop, as NumPy
    shape = np.broadcast_shapes(_shape(start), _shape(stop))
    steps = steps.reshape((num,) + (1,) * len(shape))
    return start + (stop - start) * steps


__all__ = [
    "append",
    "array_split",
    "astype",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_arrays",
    "column_stack",
    "copy",
    "diag",
    "diagonal",
    "diff",
    "dsplit",
    "dstack",
    "flatten",
    "flip",
    "fliplr",
    "flipud",
    "hsplit",
    "hstack",
    "linspace",
    "moveaxis",
    "pad",
    "ravel",
    "repeat",
    "roll",
    "rollaxis",
    "rot90",
    "row_stack",
    "select",
    "sort",
    "split",
    "swapaxes",
    "take",
    "take_along_axis",
    "tile",
    "tril",
    "triu",
    "vsplit",
    "vstack",
]
