"""minigrad: a small reverse-mode automatic differentiation engine on NumPy."""

from minigrad.compile import compile
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.graph import draw_graph, save_graph, to_dot
from minigrad.mode import TraceError, is_grad_enabled, no_grad
from minigrad.ops import (
    add,
    broadcast_to,
    div,
    exp,
    log,
    matmul,
    matrix_transpose,
    mean,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    sub,
    sum,
    tanh,
    transpose,
)
from minigrad.tensor import Op, Tensor, grad, op

__all__ = [
    "GradcheckError",
    "Op",
    "Tensor",
    "TraceError",
    "add",
    "broadcast_to",
    "compile",
    "div",
    "draw_graph",
    "exp",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "log",
    "matmul",
    "matrix_transpose",
    "mean",
    "mul",
    "neg",
    "no_grad",
    "op",
    "pow",
    "relu",
    "reshape",
    "save_graph",
    "sigmoid",
    "sub",
    "sum",
    "tanh",
    "to_dot",
    "transpose",
]
