"""minigrad: a small reverse-mode automatic differentiation engine on NumPy."""

from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.graph import draw_graph, save_graph, to_dot
from minigrad.ops import (
    add,
    div,
    exp,
    log,
    matmul,
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
from minigrad.tensor import Tensor, is_grad_enabled, no_grad

__all__ = [
    "GradcheckError",
    "Tensor",
    "add",
    "div",
    "draw_graph",
    "exp",
    "gradcheck",
    "is_grad_enabled",
    "log",
    "matmul",
    "mean",
    "mul",
    "neg",
    "no_grad",
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
