"""The built-in operations, by family: each forward computation beside its rule, in the one rule table.

Every operation is an `@op` (`minigrad/op.py`); its rule, registered with `defvjp`, reads like the
chain rule:

    out = f(a, b)        rule: g -> (g * df/da, g * df/db)

A rule is given `g` (the output's gradient), `out` (the output) and the inputs, as arrays on an
ordinary backward pass and as Tensors under `create_graph=True`. Written with operators and minigrad's
functions, the same line serves both, and so gives gradients of any order. Where a rule is given per
input, only the gradients that are needed are computed (`W1 @ X` never computes dX).

A rule returns gradients of the broadcast shape: the backward pass sums them back to each input's
shape, in one place for all. The options of a call (an axis, a shape, an exponent) reach the rule as
keyword arguments.

| family | file |
| --- | --- |
| `add sub mul div neg pow` | `arithmetic.py` |
| `exp log sigmoid relu tanh abs sqrt maximum minimum where clip` | `elementwise.py` |
| `sum mean max min logsumexp` | `reductions.py` |
| `softmax log_softmax` | `normalisation.py` |
| `reshape transpose matrix_transpose broadcast_to getitem concatenate stack expand_dims squeeze` |\
  `shape.py` |
| `matmul`, and `np.linalg`'s `inv det slogdet solve cholesky eigh svd pinv norm` | `linalg.py` |
| `sin cos tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh sinc deg2rad rad2deg arctan2 hypot` |\
  `trigonometric.py` |
| `log1p expm1 log2 log10 exp2 square reciprocal logaddexp logaddexp2 power` | `exponential.py` |
| `sign floor ceil trunc rint round remainder mod fmod real conj` | `rounding.py` |
| `einsum dot tensordot inner outer vdot trace kron` | `contractions.py` |
| `vstack hstack dstack column_stack split array_split repeat tile roll flip tril triu diag diagonal pad`\
  `swapaxes moveaxis ravel atleast_1d ...` | `assembly.py` |
| `prod cumsum cumprod var std average ptp nansum nanmean` | `scans.py` |
"""

from minigrad.ops.arithmetic import add, div, mul, neg, pow, sub
from minigrad.ops.assembly import (
    append,
    array_split,
    astype,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_arrays,
    column_stack,
    copy,
    diag,
    diagonal,
    diff,
    dsplit,
    dstack,
    flatten,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    moveaxis,
    pad,
    ravel,
    repeat,
    roll,
    row_stack,
    sort,
    split,
    swapaxes,
    take,
    take_along_axis,
    tile,
    tril,
    triu,
    vsplit,
    vstack,
)
from minigrad.ops.contractions import dot, einsum, inner, kron, outer, tensordot, trace, vdot
from minigrad.ops.elementwise import abs, clip, exp, log, maximum, minimum, relu, sigmoid, sqrt, tanh, where
from minigrad.ops.exponential import (
    exp2,
    expm1,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    power,
    reciprocal,
    square,
)
from minigrad.ops.linalg import (
    cholesky,
    det,
    eigenvalues,
    eigenvectors,
    eigh,
    inv,
    logabsdet,
    matmul,
    norm,
    pinv,
    singular_values,
    slogdet,
    solve,
    svd,
)
from minigrad.ops.normalisation import log_softmax, softmax
from minigrad.ops.reductions import logsumexp, max, mean, min, sum
from minigrad.ops.rounding import ceil, conj, floor, fmod, mod, real, remainder, rint, round, sign, trunc
from minigrad.ops.scans import average, cumprod, cumsum, nanmean, nansum, prod, ptp, std, var
from minigrad.ops.shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    getitem,
    matrix_transpose,
    reshape,
    squeeze,
    stack,
    transpose,
)
from minigrad.ops.trigonometric import (
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    cos,
    cosh,
    deg2rad,
    hypot,
    rad2deg,
    sin,
    sinc,
    sinh,
    tan,
)

__all__ = [
    "abs",
    "add",
    "append",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "array_split",
    "astype",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "average",
    "broadcast_arrays",
    "broadcast_to",
    "ceil",
    "cholesky",
    "clip",
    "column_stack",
    "concatenate",
    "conj",
    "copy",
    "cos",
    "cosh",
    "cumprod",
    "cumsum",
    "deg2rad",
    "det",
    "diag",
    "diagonal",
    "diff",
    "div",
    "dot",
    "dsplit",
    "dstack",
    "eigenvalues",
    "eigenvectors",
    "eigh",
    "einsum",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "flatten",
    "flip",
    "fliplr",
    "flipud",
    "floor",
    "fmod",
    "getitem",
    "hsplit",
    "hstack",
    "hypot",
    "inner",
    "inv",
    "kron",
    "log",
    "log1p",
    "log2",
    "log10",
    "log_softmax",
    "logabsdet",
    "logaddexp",
    "logaddexp2",
    "logsumexp",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mod",
    "moveaxis",
    "mul",
    "nanmean",
    "nansum",
    "neg",
    "norm",
    "outer",
    "pad",
    "pinv",
    "pow",
    "power",
    "prod",
    "ptp",
    "rad2deg",
    "ravel",
    "real",
    "reciprocal",
    "relu",
    "remainder",
    "repeat",
    "reshape",
    "rint",
    "roll",
    "round",
    "row_stack",
    "sigmoid",
    "sign",
    "sin",
    "sinc",
    "singular_values",
    "sinh",
    "slogdet",
    "softmax",
    "solve",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "svd",
    "swapaxes",
    "take",
    "take_along_axis",
    "tan",
    "tanh",
    "tensordot",
    "tile",
    "trace",
    "transpose",
    "tril",
    "triu",
    "trunc",
    "var",
    "vdot",
    "vsplit",
    "vstack",
    "where",
]
