"""The Tensor, its place in the computation graph, and the backward pass.

A Tensor made by an operation remembers its inputs (`_parents`) and a backward rule (`_backward`):
a function that takes the gradient of the output and returns one gradient per input (None where an
input needs none). The rules live in `ops.py`; this file walks the graph and sums what they return.

The rule never holds the Tensor it belongs to, only its inputs and plain arrays. That keeps the graph
free of reference cycles, so dropping the output frees every intermediate by reference counting alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Rule = Callable[[np.ndarray], Sequence["np.ndarray | None"]]

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether operations record a graph now (False inside `no_grad`)."""
    return _grad_enabled


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside: `with no_grad(): ...` or as a decorator `@no_grad()`.

    Operations inside return tensors with `requires_grad=False`. The switch is process-wide, not
    per thread: minigrad is single-threaded.
    """

    def __enter__(self) -> no_grad:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous


def as_array(data: Any) -> np.ndarray:
    """`data` as a floating ndarray: float dtypes kept, ints and bools made float64."""
    array = np.asarray(data)
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "iub":
        return array.astype(np.float64)
    raise TypeError(
        f"Tensor data must be real numbers; got dtype {array.dtype}"
        + (f" (from {type(data).__name__})" if not isinstance(data, np.ndarray) else "")
    )


class Tensor:
    """An n-dimensional array that records the operations made with it, for `backward()`."""

    __slots__ = ("data", "grad", "requires_grad", "name", "_parents", "_backward", "_op", "__weakref__")

    # NumPy hands `ndarray + Tensor` (and every other ufunc) to the Tensor's reflected operator.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data: np.ndarray = as_array(data)
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self.name: str | None = name
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Rule | None = None
        self._op: str = ""

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple[Tensor, ...], rule: Rule, op: str) -> Tensor:
        """The output of an operation: in the graph when grad mode is on and an input needs a grad."""
        out = cls.__new__(cls)
        out.data = data
        out.grad = None
        out.name = None
        if _grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = parents
            out._backward = rule
            out._op = op
        else:
            out.requires_grad = False
            out._parents = ()
            out._backward = None
            out._op = ""
        return out

    # ----- attributes -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> Tensor:
        """The same data (shared, not copied) in a new leaf that builds no graph."""
        return Tensor(self.data, name=self.name)

    def zero_grad(self) -> None:
        self.grad = None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        values = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20)
        extra = f", shape={self.shape}"
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({values}{extra})"

    # ----- operations: each hands its work to the function of the same name in ops.py ------------
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __pow__(self, exponent: float) -> Tensor:
        return ops.pow(self, exponent)

    def __rpow__(self, base: float) -> Tensor:
        # base ** t = exp(t log base), so no rule of its own is needed.
        if not isinstance(base, int | float) or base <= 0:
            return NotImplemented
        return ops.exp(ops.mul(self, float(np.log(base))))

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def add(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def neg(self) -> Tensor:
        return ops.neg(self)

    def pow(self, exponent: float) -> Tensor:
        return ops.pow(self, exponent)

    def matmul(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def transpose(self, axes: tuple[int, ...] | None = None) -> Tensor:
        return ops.transpose(self, axes)

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        return ops.reshape(self, *shape)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return ops.mean(self, axis, keepdims)

    # ----- backward pass ------------------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Add d(self)/d(t), weighted by `grad`, to `t.grad` for every `t` in the graph that requires it.

        `grad` is the gradient flowing into `self` (ones when `self` holds one element). Gradients
        accumulate across calls; each call propagates only its own contribution.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require a gradient: none of the tensors "
                "it was computed from has requires_grad=True (or it was computed under no_grad())"
            )
        if grad is None:
            if self.size != 1:
                raise ValueError(
                    f"backward() needs a `grad` argument for a tensor of shape {self.shape} "
                    f"({self.size} elements); it may be left out only for a single element"
                )
            seed = np.ones_like(self.data)
        else:
            seed = as_array(grad.data if isinstance(grad, Tensor) else grad)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {seed.shape} but the tensor has shape {self.shape}"
                )
            seed = seed.astype(self.dtype, copy=False)

        # This pass's gradients, keyed by object identity (never by value). Arrays in it may be shared
        # with a rule's input (add passes `g` through), so they are summed into new arrays, never in place.
        pending: dict[int, np.ndarray] = {id(self): seed}
        for node in reversed(_topological_order(self)):
            g = pending.pop(id(node))
            node.grad = g.copy() if node.grad is None else node.grad + g
            if node._backward is None:
                continue
            for parent, pg in zip(node._parents, node._backward(g)):
                if pg is None or not parent.requires_grad:
                    continue
                pg = _unbroadcast(pg, parent.data)
                key = id(parent)
                pending[key] = pending[key] + pg if key in pending else pg


def _unbroadcast(grad: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Sum a gradient back to the shape of the input it belongs to: the one place broadcasting is undone."""
    if grad.shape != like.shape:
        extra = grad.ndim - like.ndim
        if extra:
            grad = grad.sum(axis=tuple(range(extra)))
        kept = tuple(i for i, n in enumerate(like.shape) if n == 1 and grad.shape[i] != 1)
        if kept:
            grad = grad.sum(axis=kept, keepdims=True)
    if grad.dtype != like.dtype:
        grad = grad.astype(like.dtype)
    return grad


def _topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor that `root` depends on, each after its inputs; iterative, so depth is unlimited."""
    order: list[Tensor] = []
    visited: set[int] = {id(root)}
    stack: list[tuple[Tensor, int]] = [(root, 0)]
    while stack:
        node, i = stack[-1]
        if i < len(node._parents):
            stack[-1] = (node, i + 1)
            parent = node._parents[i]
            if parent.requires_grad and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, 0))
        else:
            stack.pop()
            order.append(node)
    return order


# At the end: ops.py imports Tensor from here, and the methods above only look `ops` up when called.
from minigrad import ops  # noqa: E402
