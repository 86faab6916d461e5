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
| `matmul` | `linalg.py` |
"""

from minigrad.ops.arithmetic import add, div, mul, neg, pow, sub
from minigrad.ops.elementwise import abs, clip, exp, log, maximum, minimum, relu, sigmoid, sqrt, tanh, where
from minigrad.ops.linalg import matmul
from minigrad.ops.normalisation import log_softmax, softmax
from minigrad.ops.reductions import logsumexp, max, mean, min, sum
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

__all__ = [
    "abs",
    "add",
    "broadcast_to",
    "clip",
    "concatenate",
    "div",
    "exp",
    "expand_dims",
    "getitem",
    "log",
    "log_softmax",
    "logsumexp",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "where",
]
