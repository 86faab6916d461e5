"""`mg.linalg`: NumPy's `np.linalg` on Tensors, with gradients (`mg.linalg.inv(A)`, `mg.linalg.norm(x)`).

The operations live in `minigrad/ops/linalg.py`, beside their rules; this module names them as NumPy does.
"""

from minigrad.ops import (
    cholesky,
    cond,
    det,
    eigh,
    inv,
    lstsq,
    matmul,
    matrix_power,
    multi_dot,
    norm,
    outer,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    tensordot,
)
from minigrad.ops import eigenvalues as eigvalsh
from minigrad.ops import singular_values as svdvals

__all__ = [
    "cholesky",
    "cond",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_power",
    "multi_dot",
    "norm",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
]
