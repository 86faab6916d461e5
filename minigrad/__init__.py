"""minigrad: a small reverse-mode automatic differentiation engine on NumPy."""

from minigrad import methods  # noqa: F401  (attaches the operators and methods to Tensor)
from minigrad.backward import grad
from minigrad.compile import compile
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.mode import TraceError, is_grad_enabled, no_grad
from minigrad.op import Op, op
from minigrad.ops import (
    abs,
    add,
    broadcast_to,
    clip,
    concatenate,
    div,
    exp,
    expand_dims,
    getitem,
    log,
    log_softmax,
    logsumexp,
    matmul,
    matrix_transpose,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    stack,
    sub,
    sum,
    tanh,
    transpose,
    where,
)
from minigrad.tensor import Tensor

__all__ = [
    "GradcheckError",
    "Op",
    "Tensor",
    "TraceError",
    "abs",
    "add",
    "broadcast_to",
    "clip",
    "compile",
    "concatenate",
    "div",
    "draw_graph",
    "exp",
    "expand_dims",
    "getitem",
    "grad",
    "gradcheck",
    "is_grad_enabled",
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
    "no_grad",
    "op",
    "pow",
    "relu",
    "reshape",
    "save_graph",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "to_dot",
    "transpose",
    "where",
]

# The step after the lab (modules, mini-batches, saving): none of them imports an optional package.
from minigrad import data, nn, optim
from minigrad.saving import load, save

__all__ += ["data", "load", "nn", "optim", "save"]


# Drawing needs the graphviz package, which `import minigrad` does not import until a graph is drawn.
_DRAWING = ("draw_graph", "save_graph", "to_dot")


def __getattr__(name: str) -> object:
    if name in _DRAWING:
        from minigrad import graph

        return getattr(graph, name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
