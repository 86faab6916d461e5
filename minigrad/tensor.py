"""The Tensor, its place in the computation graph, and the backward pass.

A Tensor made by an operation remembers its inputs (`_parents`) and a backward rule (`_backward`):
a function that takes the gradient of the output and returns one gradient per input (None where an
input needs none). The rules live in `ops.py`; this file walks the graph and sums what they return.

The rule never holds the Tensor it belongs to, only its inputs and plain arrays. That keeps the graph
free of reference cycles, so dropping the output frees every intermediate by reference counting alone.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Rule = Callable[[np.ndarray], Sequence["np.ndarray | None"]]

_grad_enabled = True
# Every Tensor gets the next number at birth: its inputs always have smaller ones.
_creation_order = itertools.count()


def is_grad_enabled() -> bool:
    """Whether operations record a graph now (False inside `no_grad`)."""
    return _grad_enabled


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside: `with no_grad(): ...`, or as a decorator `@no_grad()` or `@no_grad`.

    Operations inside return tensors with `requires_grad=False`. The switch is process-wide, not
    per thread: minigrad is single-threaded.
    """

    def __new__(cls, func: Callable[..., Any] | None = None) -> Any:
        # `@no_grad` without brackets, as PyTorch allows: decorate func with a fresh instance.
        instance = super().__new__(cls)
        if func is None:
            return instance
        instance.__init__()
        return instance(func)

    def __init__(self, func: None = None) -> None:
        # A stack, not one saved value: the same decorator instance may be entered again by recursion.
        self._saved: list[bool] = []

    def __enter__(self) -> no_grad:
        global _grad_enabled
        self._saved.append(_grad_enabled)
        _grad_enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self._saved.pop()


def as_array(data: Any, what: str = "Tensor data") -> np.ndarray:
    """`data` as a floating ndarray: float dtypes kept, ints and bools made float64."""
    array = np.asarray(data)
    kind = array.dtype.kind
    if kind == "f":
        return array
    if kind in "iub":
        return array.astype(np.float64)
    raise TypeError(
        f"{what} must be real numbers; got dtype {array.dtype}"
        + (f" (from {type(data).__name__})" if not isinstance(data, np.ndarray) else "")
    )


class Tensor:
    """An n-dimensional array that records the operations made with it, for `backward()`."""

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "name",
        "_parents",
        "_backward",
        "_op",
        "_seq",
        "__weakref__",
    )

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
        self._seq: int = next(_creation_order)

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple[Tensor, ...], rule: Rule | None, op: str) -> Tensor:
        """An operation's output: in the graph when grad mode is on and an input requires a gradient."""
        out = cls.__new__(cls)
        # NumPy returns a scalar, not an array, from a ufunc or a full reduction of 0-d inputs.
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out.name = None
        out._seq = next(_creation_order)
        if _grad_enabled:
            for p in parents:
                if p.requires_grad:
                    out.requires_grad = True
                    out._parents = parents
                    out._backward = rule
                    out._op = op
                    return out
        out.requires_grad = False
        out._parents = ()
        out._backward = None
        out._op = ""
        return out

    @classmethod
    def _constant(cls, data: np.ndarray) -> Tensor:
        """A leaf that needs no gradient, around an array already known to be floating (a hot path)."""
        return cls._from_op(data, (), None, "")

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
    def op(self) -> str:
        """The name of the operation that made this tensor; "" for a leaf."""
        return self._op

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The input tensors of the operation that made this tensor; () for a leaf."""
        return self._parents

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

    def __setstate__(self, state: Any) -> None:
        # Unpickled or copied: creation numbers belong to a process, so it takes a new one here.
        _, slots = state if isinstance(state, tuple) else (None, state)
        for name, value in slots.items():
            setattr(self, name, value)
        self._seq = next(_creation_order)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)  # as NumPy: an error for more than one element

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
        if not isinstance(base, int | float):
            return NotImplemented
        if base <= 0:
            raise ValueError(f"number ** Tensor needs a positive number, got {base}: it is exp(t log(base))")
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

    def transpose(self, *axes: int | tuple[int, ...] | None) -> Tensor:
        """As ndarray.transpose: `t.transpose()`, `t.transpose(1, 0)` or `t.transpose((1, 0))`."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
            axes = axes[0]
        return ops.transpose(self, tuple(axes) if axes else None)

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
            seed = as_array(grad.data if isinstance(grad, Tensor) else grad, "backward(): grad")
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {seed.shape} but the tensor has shape {self.shape}"
                )
            # A copy: the pass may keep the seed as a gradient and add into it in place.
            seed = seed.astype(self.dtype, copy=True)

        # The pass makes no reference cycles, but its allocations would set off the cycle collector,
        # which walks every tensor of the graph: 30% of the time of a 100,000-operation pass.
        collector_was_on = gc.isenabled()
        gc.disable()
        try:
            _propagate(self, seed)
        finally:
            if collector_was_on:
                gc.enable()


def _propagate(root: Tensor, seed: np.ndarray) -> None:
    """The backward pass proper: each tensor's gradient, newest first, handed to its rule."""
    # This pass's gradients, keyed by object identity (never by value). One rule keeps them apart: a
    # writeable array has one holder. A rule may hand on `g` itself or a view of it (add does: in
    # Z1 = W1 X + b1, dZ1 is d(W1 X)); such a gradient is shared, not copied, and made read-only, so
    # that no holder can change it under another. Sums go in place only into a writeable array, and a
    # leaf (a parameter) always gets a writeable .grad of its own.
    pending: dict[int, np.ndarray] = {id(root): seed}
    for node in _topological_order(root):
        g = pending.pop(id(node), None)
        if g is None:  # a rule said this input needs no gradient
            continue
        rule = node._backward
        if node.grad is not None:
            node.grad = _accumulate(node.grad, g)
        elif rule is None and not g.flags.writeable:
            node.grad = g.copy()
        else:
            node.grad = g
        if rule is None:
            continue
        for parent, pg in zip(node._parents, rule(g), strict=True):
            if pg is None or not parent.requires_grad:
                continue
            data = parent.data
            if type(pg) is not np.ndarray or pg.shape != data.shape or pg.dtype is not data.dtype:
                pg = _unbroadcast(pg, data)
            if pg is g or pg.base is not None:
                _read_only(g)
                _read_only(pg)
            key = id(parent)
            pending[key] = _accumulate(pending[key], pg) if key in pending else pg


def _accumulate(total: np.ndarray, more: np.ndarray) -> np.ndarray:
    if total.flags.writeable:
        total += more
        return total
    return np.asarray(total + more)  # 0-d + 0-d is a NumPy scalar


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _unbroadcast(grad: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Sum a gradient back to the shape of the input it belongs to: the one place broadcasting is undone.

    Also gives it the input's dtype, and makes a NumPy scalar (from 0-d arithmetic) an array.
    """
    # np.add.reduce is np.sum without its Python wrapper, which costs more than the sum at small sizes.
    if grad.shape != like.shape:
        extra = grad.ndim - like.ndim
        if extra:
            grad = np.add.reduce(grad, axis=tuple(range(extra)))
        kept = tuple(i for i, n in enumerate(like.shape) if n == 1 and grad.shape[i] != 1)
        if kept:
            grad = np.add.reduce(grad, axis=kept, keepdims=True)
    if grad.dtype != like.dtype:
        grad = grad.astype(like.dtype)
    return np.asarray(grad)  # a full reduction gives a NumPy scalar


def _topological_order(root: Tensor) -> list[Tensor]:
    """`root` and every tensor it was computed from that requires a gradient, consumers first.

    A tensor is always created after its inputs, so creation order is a topological order: collect
    the graph with a stack (no recursion, so depth is unlimited) and sort it, newest first.
    """
    nodes = {id(root): root}
    stack = [root]
    while stack:
        for parent in stack.pop()._parents:
            if parent.requires_grad and id(parent) not in nodes:
                nodes[id(parent)] = parent
                stack.append(parent)
    return sorted(nodes.values(), key=_creation_key, reverse=True)


def _creation_key(t: Tensor) -> int:
    return t._seq


# At the end: ops.py imports Tensor from here, and the methods above only look `ops` up when called.
from minigrad import ops  # noqa: E402
