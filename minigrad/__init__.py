"""minigrad: a small reverse-mode automatic differentiation engine on NumPy.

Every operation (`mg.add`, `mg.sigmoid`, `mg.einsum`, ...) is one of `minigrad.ops`, re-exported here by the
names `ops.__all__` lists, so that the list of operations is written in one place.
"""

from minigrad import (
    data,
    linalg,
    methods,  # noqa: F401  (attaches the operators and methods to Tensor)
    nn,
    ops,
    optim,
)
from minigrad.backward import grad
from minigrad.compile import compile
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.mode import TraceError, is_grad_enabled, no_grad
from minigrad.op import Op, op
from minigrad.ops import *  # noqa: F403
from minigrad.saving import load, save
from minigrad.tensor import Tensor

# Drawing needs the graphviz package, which `import minigrad` does not import until a graph is drawn.
_DRAWING = ("draw_graph", "save_graph", "to_dot")

__all__ = [
    "GradcheckError",
    "Op",
    "Tensor",
    "TraceError",
    "compile",
    "data",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "linalg",
    "load",
    "nn",
    "no_grad",
    "op",
    "optim",
    "save",
    *_DRAWING,
    *ops.__all__,
]


def __getattr__(name: str) -> object:
    if name in _DRAWING:
        from minigrad import graph

        return getattr(graph, name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
