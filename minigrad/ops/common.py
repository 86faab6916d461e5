"""What the operation families share: reading axes as NumPy does, and constants in a gradient's dtype."""

from __future__ import annotations

import builtins
import numbers
from typing import Any

import numpy as np

from minigrad.tensor import Tensor, array_of

Operand = Tensor | np.ndarray | float | int
Axis = int | tuple[int, ...] | None


def whole_number(n: Any) -> bool:
    """An int or a NumPy integer; not a bool, a float or a string (NumPy refuses each as an axis)."""
    return isinstance(n, numbers.Integral) and not isinstance(n, bool | np.bool_)


def normalise_axes(x: np.ndarray, axis: Any, name: str) -> tuple[int, ...] | None:
    """`axis` as non-negative ints, with an error that names the operation and the shape."""
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    for a in axes:
        if not whole_number(a):  # NumPy refuses a bool axis too
            raise TypeError(
                f"{name}: axis must be an int, a tuple of ints or None; got {axis!r} ({type(a).__name__})"
            )
    if not builtins.all(-x.ndim <= a < x.ndim for a in axes):
        raise ValueError(f"{name}: axis {axis!r} is out of range for shape {x.shape}")
    normalised = tuple(int(a) % x.ndim for a in axes)
    if len(set(normalised)) != len(normalised):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return normalised


def like(mask: np.ndarray, y: Any) -> np.ndarray:
    """A constant mask or share in the dtype of `y` (float32 stays float32)."""
    return mask.astype(array_of(y).dtype, copy=False)


__all__ = ["Axis", "Operand", "array_of", "like", "normalise_axes", "whole_number"]
