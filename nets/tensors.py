"""Tensors that carry the lab's names, and arrays from either: what the networks' modules share.

Names are what graphs (`mg.draw_graph`) and error messages show, so every tensor a network builds is named
after the lab's formula (`Z1`, `A1`, `log A2`, ...).
"""

from __future__ import annotations

import numpy as np

from minigrad import Tensor

ArrayOrTensor = np.ndarray | Tensor


def as_tensor(x: ArrayOrTensor, name: str) -> Tensor:
    """An input as a Tensor named `name` (a caller's Tensor keeps a name it already has)."""
    if isinstance(x, Tensor):
        if x.name is None:
            x.name = name
        return x
    return Tensor(x, name=name)


def named(t: Tensor, name: str) -> Tensor:
    """`t`, the result of an operation, now carrying the lab's name for it."""
    t.name = name
    return t


def array(x: ArrayOrTensor) -> np.ndarray:
    """The values of a Tensor, or anything NumPy takes, as an ndarray (integers as float64)."""
    if isinstance(x, Tensor):
        return x.data
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)
