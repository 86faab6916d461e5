"""Linear algebra: the matrix product, each forward beside its rule."""

from __future__ import annotations

import numpy as np

from minigrad.op import op
from minigrad.ops.common import Operand, array_of
from minigrad.ops.shape import reshape
from minigrad.tensor import Tensor


@op(name="matmul")
def _matmul(a, b):
    """`a @ b`, the matrix product (`mg.matmul` checks the shapes and names both on a mismatch)."""
    return a @ b


_matmul.defvjp(
    lambda g, out, a, b: g @ b.mT,  # d(A B) = dA B + A dB  ->  dA = g Bᵀ, dB = Aᵀ g
    lambda g, out, a, b: a.mT @ g,
)


def matmul(a: Operand, b: Operand) -> Tensor:
    """`a @ b` as `np.matmul`; a 1-D operand is a row (on the left) or a column (on the right)."""
    sa, sb = np.shape(array_of(a)), np.shape(array_of(b))
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: {sa} @ {sb}: operands must have at least one dimension")
    inner = sb[-2] if len(sb) > 1 else sb[0]
    if sa[-1] != inner:
        raise ValueError(f"matmul: {sa} @ {sb}: the inner dimensions {sa[-1]} and {inner} differ")
    if len(sa) > 1 and len(sb) > 1:
        return _matmul(a, b)
    out = _matmul(
        reshape(a, (1, sa[0])) if len(sa) == 1 else a, reshape(b, (sb[0], 1)) if len(sb) == 1 else b
    )
    shape = out.shape[:-2] + out.shape[-1:] if len(sa) == 1 else out.shape
    return reshape(out, shape[:-1] if len(sb) == 1 else shape)


__all__ = ["matmul"]
