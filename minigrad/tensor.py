"""The Tensor: an array, its gradient, its place in the graph, and Python's protocols.

A Tensor made by an operation keeps its inputs (`parents`), the operation, and the keyword options of
the call: nothing else, no closure. The graph therefore has no reference cycle, and dropping the output
frees every intermediate by reference counting alone.

This file knows nothing of the operations: `op.py` makes them, `ops/` holds the built-in ones, and
`methods.py` attaches them to the Tensor as its operators and methods (`a + b`, `t.sum(axis=0)`) from
one table. The slots are the Tensor's representation, shared by the files of the core (`tensor.py`,
`op.py`, `backward.py`, and `versions.py` and `release.py`, which number and release its values) and
read only by the compiled step besides (`compile.py`, `codegen.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from minigrad.mode import TraceError, state
from minigrad.release import ReleasedValues, refuse_released
from minigrad.versions import next_number, record_write

if TYPE_CHECKING:
    from minigrad.op import Op


def as_array(data: Any, what: str = "Tensor data") -> np.ndarray:
    """`data` as a floating ndarray: float dtypes kept, ints and bools made float64."""
    if type(data) is ReleasedValues:  # `np.asarray` would read it without asking (`t.detach()`, Tensor(t))
        refuse_released(data)
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


def array_of(x: Any) -> Any:
    """The array of a Tensor, anything else as it is: what a rule or a NumPy handler reads as a value."""
    return x._data if isinstance(x, Tensor) else x


class Tensor:
    """An n-dimensional array that records the operations made with it, for `backward()`.

    `Tensor(data, requires_grad=False, name=None)`: `data` is anything `np.asarray` takes (an ndarray is
    shared, not copied); floating dtypes are kept, integers and bools become float64, anything else is a
    `TypeError`. `requires_grad` (also an attribute) says whether backward passes compute this tensor's
    gradient, and whether operations on it build a graph; `name` labels its node in graphs and errors.
    Every operation that acts on one tensor is also a method (`t.sum(axis=0)` is `mg.sum(t, axis=0)`).
    """

    __slots__ = (
        "__weakref__",
        "_changed",
        "_data",
        "_fn",
        "_grad",
        "_grad_own",
        "_grad_root",
        "_name",
        "_options",
        "_parents",
        "_print",
        "_seq",
        "_spare",
        "requires_grad",
    )

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data._data
        self._data: np.ndarray = as_array(data)
        self._changed = -1
        self.requires_grad: bool = bool(requires_grad)
        self.name = name
        self._grad: np.ndarray | None = None
        self._grad_own = False
        self._grad_root = -1
        self._parents: tuple[Tensor, ...] = ()
        self._fn: Op | None = None
        self._options: dict[str, Any] | None = None
        self._print: int | None = None
        self._spare: tuple[int, ...] | None = None  # inputs to let go once this is used (release.py)
        self._seq: int = next_number()

    # ----- attributes -------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values, an ndarray. Assigning to it (`W.data = ...`, `W.data -= ...`) marks the tensor
        changed: a graph built from it before then can no longer be back-propagated. Writing into the
        array itself (`W.data[0] = 10`) is seen for parameters only (see `changed_after`)."""
        if type(self._data) is ReleasedValues:  # see release.py
            refuse_released(self._data)
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if type(value) is not np.ndarray or value.dtype.kind != "f":  # `W.data -= ...` is the fast case
            value = as_array(value.data if isinstance(value, Tensor) else value)
        self._data = value
        record_write(self)

    @property
    def grad(self) -> np.ndarray | None:
        """The gradient a backward pass left here: None before, then an array of the data's shape."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            if isinstance(value, Tensor):
                value = value._data
            if not isinstance(value, np.ndarray):
                raise TypeError(f"grad must be a NumPy array or None, got {type(value).__name__}")
            if value.shape != self.shape:
                raise ValueError(f"grad of shape {value.shape} set on a tensor of shape {self.shape}")
        self._grad = value
        self._grad_own = False  # the caller's array: a backward pass adds to it out of place

    @property
    def name(self) -> str | None:
        """The tensor's name, drawn in its graph and used in error messages; None where unset."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"a tensor's name must be a str or None, got {type(value).__name__}")
        self._name = value

    def named(self, name: str) -> Tensor:
        """Give this tensor a name (drawn in its graph) and return it: `(W @ X).named("Z")`."""
        self.name = name
        return self

    @property
    def op(self) -> str:
        """The name of the operation that made this tensor; "" for a leaf."""
        return self._fn.name if self._fn is not None else ""

    @property
    def parents(self) -> tuple[Tensor, ...]:
        """The input tensors of the operation that made this tensor; () for a leaf."""
        return self._parents

    @property
    def shape(self) -> tuple[int, ...]:
        """The data's shape."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The data's number of dimensions."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The data's number of elements."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The data's dtype (always floating)."""
        return self._data.dtype

    # ----- values out of the graph: each refused while `mg.compile` traces ---------------------
    def item(self) -> float:
        """The one element as a Python number."""
        self._refuse_in_trace("t.item()")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The data, an ndarray (shared, not copied)."""
        self._refuse_in_trace("t.numpy()")
        return self.data

    def tolist(self) -> Any:
        """The values as nested Python lists (a number for a 0-d tensor), as `ndarray.tolist`."""
        self._refuse_in_trace("t.tolist()")
        return self._data.tolist()

    # Positions, not values: indices have no gradient, so these answer with NumPy arrays, as autograd's.
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Any:
        """The index of the largest element (along `axis`), as `ndarray.argmax`."""
        self._refuse_in_trace("t.argmax()")
        return self._data.argmax(axis=axis, keepdims=keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Any:
        """The index of the smallest element (along `axis`), as `ndarray.argmin`."""
        self._refuse_in_trace("t.argmin()")
        return self._data.argmin(axis=axis, keepdims=keepdims)

    def argsort(self, axis: int | None = -1, kind: str | None = None) -> np.ndarray:
        """The indices that sort the elements (along `axis`), as `ndarray.argsort`."""
        self._refuse_in_trace("t.argsort()")
        return self._data.argsort(axis=axis, kind=kind)

    def nonzero(self) -> tuple[np.ndarray, ...]:
        """The indices of the elements that are not zero, one array per axis, as `ndarray.nonzero`."""
        self._refuse_in_trace("t.nonzero()")
        return self._data.nonzero()

    def __bool__(self) -> bool:
        self._refuse_in_trace("bool(t) (an `if` or `while` on a tensor)")
        return bool(self._data)  # as NumPy: an error for more than one element

    def __float__(self) -> float:
        self._refuse_in_trace("float(t)")
        return float(self._data)

    def __int__(self) -> int:
        self._refuse_in_trace("int(t)")
        return int(self._data)

    def _refuse_in_trace(self, what: str) -> None:
        if state.tracing:
            raise TraceError(
                f"{what} reads the value of {self._label()} while mg.compile traces the function. The "
                "compiled step replays the recorded operations on new values, and a value read now would "
                "stay the traced one in every later call. Write it with minigrad operations (mg.relu, "
                "mg.maximum, mg.where, ...), or compute it outside the compiled function and pass it in "
                "as an argument"
            )

    def __format__(self, spec: str) -> str:
        """`f"{loss:.4f}"`: a format spec formats the one element, as a NumPy scalar; no spec gives str()."""
        if not spec:
            return str(self)
        if self._data.size != 1:
            raise TypeError(
                f"format spec {spec!r} on {self._label()}: only a one-element Tensor formats as a number; "
                "format its elements (t.tolist()) or use np.array2string(t.data)"
            )
        self._refuse_in_trace('a format spec (f"{t:.4f}")')
        return format(self._data.item(), spec)

    def __round__(self, ndigits: int | None = None) -> Any:
        """`round(loss, 3)` on a one-element Tensor: a Python number, as on a NumPy scalar."""
        if self._data.size != 1:
            raise TypeError(
                f"round() of {self._label()}: only a one-element Tensor rounds to a number; "
                "mg.round(t, decimals) rounds every element"
            )
        self._refuse_in_trace("round(t)")
        return round(self._data.item(), ndigits)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """The values for NumPy, for a Tensor that needs no gradient (`plt.plot(losses)`, `np.asarray(t)`).

        A Tensor that needs a gradient refuses, as PyTorch's does: NumPy would otherwise build an object
        array of Tensors (`np.array([x, 2 * x])`, `np.mean([x, x + 2])`) or a copy of the values cut from
        the graph, and the gradient would be silently wrong.
        """
        if self.requires_grad:
            raise TypeError(
                f"NumPy asked for the values of {self._label()}, which requires a gradient: as an array "
                "it would leave the graph. To keep the gradient, join Tensors with mg.stack or "
                "mg.concatenate (not np.array / np.r_ / a list given to NumPy); for the values alone, "
                "use t.data or t.numpy() (or t.detach())"
            )
        self._refuse_in_trace("np.asarray(t)")
        data = self.data  # NumPy would read released values without asking them (release.py)
        data = data if dtype is None else data.astype(dtype, copy=False)
        return data.copy() if copy else data

    # Comparisons give masks for `where`, indexing and accuracies: NumPy bool arrays, outside the graph,
    # elementwise as NumPy's and PyTorch's, `==` and `!=` too. Hashing stays by identity (as PyTorch), so
    # tensors still key dicts and stand in sets; `t in list` and `list.index(t)` compare values, as there.
    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        """Elementwise `==`: a NumPy bool array, outside the graph."""
        self._refuse_in_trace("t == ... (a mask made from a value)")
        return self._data == array_of(other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        """Elementwise `!=`: a NumPy bool array, outside the graph."""
        self._refuse_in_trace("t != ... (a mask made from a value)")
        return self._data != array_of(other)

    def __lt__(self, other: Any) -> np.ndarray:
        self._refuse_in_trace("t < ... (a mask made from a value)")
        return self._data < array_of(other)

    def __le__(self, other: Any) -> np.ndarray:
        self._refuse_in_trace("t <= ... (a mask made from a value)")
        return self._data <= array_of(other)

    def __gt__(self, other: Any) -> np.ndarray:
        self._refuse_in_trace("t > ... (a mask made from a value)")
        return self._data > array_of(other)

    def __ge__(self, other: Any) -> np.ndarray:
        self._refuse_in_trace("t >= ... (a mask made from a value)")
        return self._data >= array_of(other)

    __hash__ = object.__hash__

    # ----- the graph's bookkeeping ---------------------------------------------------------------
    def detach(self) -> Tensor:
        """The same data (shared, not copied) in a new leaf that builds no graph."""
        return Tensor(self._data, name=self.name)

    def zero_grad(self) -> None:
        """Set `.grad` back to None."""
        self._grad = None

    # In place, as in PyTorch: only where no graph is recorded (`with no_grad(): W -= lr * W.grad`).
    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(np.add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(np.subtract, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(np.multiply, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(np.divide, other, "/=")

    def _in_place(self, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
        if self.requires_grad and state.grad_enabled:
            raise RuntimeError(
                f"{self._label()} {symbol} ...: an in-place change of a tensor that requires a gradient "
                "would hide it from the graph. Update parameters inside `with mg.no_grad():`, "
                "or write `t = t - x` to record the operation"
            )
        ufunc(self._data, array_of(other), out=self._data)
        record_write(self)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        """`t[index] = value`, and so `t[index] -= v` too, as in PyTorch: only where no graph records it.

        Refused, before anything is written, for a tensor that requires a gradient outside `no_grad()`,
        and for a value that requires one (the copy would leave its graph). A graph that read the old
        values (through `t`, a view of it or `t.detach()`) then refuses to back-propagate.
        """
        if state.grad_enabled and self.requires_grad:
            raise RuntimeError(
                f"{self._label()}[...] = ...: an in-place change of a tensor that requires a gradient "
                "would hide it from the graph. Write it inside `with mg.no_grad():`, or build a new "
                "tensor (mg.where, mg.concatenate) to record the operation"
            )
        if state.grad_enabled and isinstance(value, Tensor) and value.requires_grad:
            raise RuntimeError(
                f"{self._label()}[...] = {value._label()}: copying the values of a tensor that requires a "
                "gradient would cut it from the graph. Build a new tensor (mg.where, mg.concatenate) "
                "instead, or assign value.detach() if that is what you mean"
            )
        self._data[array_of(index)] = array_of(value)
        record_write(self)

    def __copy__(self) -> Tensor:
        """The same data and graph, and a `.grad` of its own (a copy of this one's)."""
        clone = type(self).__new__(type(self))
        for name in Tensor.__slots__:
            if name != "__weakref__":
                setattr(clone, name, getattr(self, name))
        clone._grad = None if self._grad is None else self._grad.copy()
        clone._grad_own = True
        clone._seq = next_number()
        return clone

    def __setstate__(self, state: Any) -> None:
        # Unpickled or copied: creation numbers belong to a process, so it takes a new one here.
        _, slots = state if isinstance(state, tuple) else (None, state)
        for name, value in slots.items():
            setattr(self, name, value)
        self._seq = next_number()
        self._changed = -1

    # ----- Python's protocols ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        if type(self._data) is ReleasedValues:
            values = "<released>"
        else:
            values = np.array2string(self._data, separator=", ", prefix="Tensor(", threshold=20)
        extra = f", shape={self.shape}"
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({values}{extra})"

    def _label(self) -> str:
        return repr(self.name) if self.name is not None else f"a tensor of shape {self.shape}"


def node(
    data: np.ndarray, requires_grad: bool, parents: tuple[Tensor, ...], fn: Op | None, options: Any
) -> Tensor:
    """A Tensor around an array already known to be floating: a constant, or an output needing no gradient."""
    t = Tensor.__new__(Tensor)
    t._data = data
    t.requires_grad = requires_grad
    t._name = None
    t._grad = None
    t._grad_own = False
    t._grad_root = -1
    t._parents = parents
    t._fn = fn
    t._options = options
    t._print = None
    t._spare = None
    t._seq = next_number()
    t._changed = -1
    return t


__all__ = [
    "Tensor",
    "array_of",
    "as_array",
    "node",
]
