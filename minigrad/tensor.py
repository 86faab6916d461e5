"""The Tensor, how an operation enters the graph (`op`, `defvjp`), and the backward pass.

An operation is a forward function on NumPy arrays and a rule, its vector-Jacobian product: given the
gradient `g` of the output, the output and the inputs, the gradient of each input. The built-in
operations (`ops.py`) and a user's own are made the same way:

    @op
    def exp(x):
        return np.exp(x)

    exp.defvjp(lambda g, out, x: g * out)      # d(e^x) = e^x dx

A Tensor made by an operation keeps its inputs (`parents`), the operation, and the keyword options of
the call: nothing else, no closure. The graph therefore has no reference cycle, and dropping the output
frees every intermediate by reference counting alone.

The backward pass runs each rule once, newest tensor first. On an ordinary pass the rules see arrays;
with `create_graph=True` they see Tensors and record the graph of the gradient itself, which is how
gradients of gradients come from the same rules.
"""

from __future__ import annotations

import functools
import gc
import inspect
import itertools
import operator
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.mode import TraceError, no_grad, state

# Every Tensor gets the next number at birth: its inputs always have smaller ones.
_creation_order = itertools.count()
_PYTHON_NUMBERS = (float, int, bool)
_NO_OPTIONS: dict[str, Any] = {}
_one_pass_at_a_time = threading.RLock()


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
    """An n-dimensional array that records the operations made with it, for `backward()`.

    `Tensor(data, requires_grad=False, name=None)`: `data` is anything `np.asarray` takes (an ndarray is
    shared, not copied); floating dtypes are kept, integers and bools become float64, anything else is a
    `TypeError`. `requires_grad` (also an attribute) says whether backward passes compute this tensor's
    gradient, and whether operations on it build a graph; `name` labels its node in graphs and errors.
    """

    __slots__ = (
        "__weakref__",
        "_fn",
        "_grad",
        "_grad_own",
        "_grad_root",
        "_name",
        "_options",
        "_parents",
        "_seq",
        "_changed",
        "_data",
        "requires_grad",
    )

    # NumPy's functions on Tensors (`np.exp(Z)`, `np.sum(A, axis=0)`, `ndarray + Tensor`): each that has
    # a minigrad operation returns that operation's Tensor; any other is a TypeError (see numpy_api.py).
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method == "__call__" and not kwargs:  # `ndarray + t`, `np.exp(t)`: straight to the operation
            operation = numpy_api.UFUNCS.get(ufunc)
            if operation is not None:
                return operation(*inputs)
        return numpy_api.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return numpy_api.array_function(func, args, kwargs)

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
        self._seq: int = next(_creation_order)

    # ----- attributes -------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values, an ndarray. Assigning to it (`W.data = ...`, `W.data -= ...`) marks the tensor
        changed: a graph built from it before then can no longer be back-propagated."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        if type(value) is not np.ndarray or value.dtype.kind != "f":  # `W.data -= ...` is the fast case
            value = as_array(value.data if isinstance(value, Tensor) else value)
        self._data = value
        self._changed = next(_creation_order)

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
        """The tensor's name, drawn on its node of a graph and used in error messages; None if unnamed."""
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
        """The shape of the data, as `ndarray.shape`."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of axes, as `ndarray.ndim`."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The number of elements, as `ndarray.size`."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The data's dtype: a floating type (float64 unless a float32 or float16 array was given)."""
        return self._data.dtype

    @property
    def T(self) -> Tensor:
        """The axes reversed (the transpose of a matrix), as `ndarray.T`; an operation of the graph."""
        return ops.transpose(self)

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped, as `ndarray.mT`."""
        return ops.matrix_transpose(self)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float (an error for more elements, as NumPy's)."""
        if state.tracing:
            raise self._read_in_trace("t.item()")
        return self._data.item()

    def numpy(self) -> np.ndarray:
        """The data, the ndarray itself (not a copy): its values, without a gradient."""
        if state.tracing:
            raise self._read_in_trace("t.numpy()")
        return self._data

    def detach(self) -> Tensor:
        """The same data (shared, not copied) in a new leaf that builds no graph."""
        return Tensor(self._data, name=self.name)

    def zero_grad(self) -> None:
        """Set `.grad` back to None; gradients accumulate until then."""
        self._grad = None

    def __copy__(self) -> Tensor:
        """The same data and graph, and a `.grad` of its own (a copy of this one's)."""
        clone = Tensor.__new__(Tensor)
        for name in Tensor.__slots__:
            if name != "__weakref__":
                setattr(clone, name, getattr(self, name))
        clone._grad = None if self._grad is None else self._grad.copy()
        clone._grad_own = True
        clone._seq = next(_creation_order)
        return clone

    def __setstate__(self, state: Any) -> None:
        # Unpickled or copied: creation numbers belong to a process, so it takes a new one here.
        _, slots = state if isinstance(state, tuple) else (None, state)
        for name, value in slots.items():
            setattr(self, name, value)
        self._seq = next(_creation_order)
        self._changed = -1

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (ops.getitem(self, i) for i in range(len(self._data)))  # each row in the graph

    def __bool__(self) -> bool:
        if state.tracing:
            raise self._read_in_trace("bool(t) (an `if` or `while` on a tensor)")
        return bool(self._data)  # as NumPy: an error for more than one element

    def __float__(self) -> float:
        if state.tracing:
            raise self._read_in_trace("float(t)")
        return float(self._data)

    def __int__(self) -> int:
        if state.tracing:
            raise self._read_in_trace("int(t)")
        return int(self._data)

    def __repr__(self) -> str:
        values = np.array2string(self._data, separator=", ", prefix="Tensor(", threshold=20)
        extra = f", shape={self.shape}"
        if self.name is not None:
            extra += f", name={self.name!r}"
        if self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({values}{extra})"

    # ----- operators and methods: each hands its work to the operation of the same name -----------
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

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

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
        ufunc(self._data, other._data if isinstance(other, Tensor) else other, out=self._data)
        self._changed = next(_creation_order)
        return self

    # Comparisons give masks for `where` and indexing: NumPy bool arrays, outside the graph.
    # `==` and `!=` keep their identity meaning, so that tensors can stand in sets and dicts.
    def __lt__(self, other: Any) -> np.ndarray:
        if state.tracing:
            raise self._read_in_trace("t < ... (a mask made from a value)")
        return self._data < _value(other)

    def __le__(self, other: Any) -> np.ndarray:
        if state.tracing:
            raise self._read_in_trace("t <= ... (a mask made from a value)")
        return self._data <= _value(other)

    def __gt__(self, other: Any) -> np.ndarray:
        if state.tracing:
            raise self._read_in_trace("t > ... (a mask made from a value)")
        return self._data > _value(other)

    def __ge__(self, other: Any) -> np.ndarray:
        if state.tracing:
            raise self._read_in_trace("t >= ... (a mask made from a value)")
        return self._data >= _value(other)

    __hash__ = object.__hash__

    def add(self, other: Any) -> Tensor:
        """`self + other`, broadcasting as NumPy."""
        return ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        """`self - other`, broadcasting as NumPy."""
        return ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        """`self * other`, elementwise, broadcasting as NumPy."""
        return ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        """`self / other`, elementwise, broadcasting as NumPy."""
        return ops.div(self, other)

    def neg(self) -> Tensor:
        """`-self`."""
        return ops.neg(self)

    def pow(self, exponent: float) -> Tensor:
        """`self ** exponent` for a number `exponent`."""
        return ops.pow(self, exponent)

    def matmul(self, other: Any) -> Tensor:
        """`self @ other`, the matrix product; a shape mismatch names both shapes."""
        return ops.matmul(self, other)

    def transpose(self, *axes: int | tuple[int, ...] | None) -> Tensor:
        """As ndarray.transpose: `t.transpose()`, `t.transpose(1, 0)` or `t.transpose((1, 0))`."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
            axes = axes[0]
        return ops.transpose(self, tuple(axes) if axes else None)

    def reshape(self, *shape: int | tuple[int, ...]) -> Tensor:
        """The same values in a new shape: `t.reshape(2, 3)` or `t.reshape((2, 3))`; -1 for the rest."""
        return ops.reshape(self, *shape)

    def exp(self) -> Tensor:
        """`e ** self`, elementwise."""
        return ops.exp(self)

    def log(self) -> Tensor:
        """The natural logarithm, elementwise (`log(0) = -inf`, as NumPy's)."""
        return ops.log(self)

    def sigmoid(self) -> Tensor:
        """`1 / (1 + exp(-self))`, elementwise, stable for any value (no overflow at -1000)."""
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        """`max(self, 0)`, elementwise; its derivative at 0 is 0."""
        return ops.relu(self)

    def tanh(self) -> Tensor:
        """The hyperbolic tangent, elementwise."""
        return ops.tanh(self)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The sum over `axis` (all axes when None), keeping the summed axes as length 1 if `keepdims`."""
        if axis is None and not keepdims:  # the cost's sum: the call without options is the fast one
            return ops.sum(self)
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The mean over `axis` (all axes when None), keeping the averaged axes as length 1 if `keepdims`."""
        if axis is None and not keepdims:
            return ops.mean(self)
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def abs(self) -> Tensor:
        """`|self|`, elementwise; its derivative at 0 is 0."""
        return ops.abs(self)

    def sqrt(self) -> Tensor:
        """The square root, elementwise."""
        return ops.sqrt(self)

    def maximum(self, other: Any) -> Tensor:
        """The larger of `self` and `other`, elementwise; where equal, each gets half the gradient."""
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        """The smaller of `self` and `other`, elementwise; where equal, each gets half the gradient."""
        return ops.minimum(self, other)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:
        """The values limited to `[min, max]` (either may be None); the gradient passes inside them."""
        return ops.clip(self, min, max)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The largest value over `axis` (all axes when None); tied elements share the gradient equally."""
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The smallest value over `axis` (all axes when None); tied elements share the gradient equally."""
        return ops.min(self, axis=axis, keepdims=keepdims)

    def logsumexp(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """`log(sum(exp(self)))` over `axis`, computed stably (the max subtracted first)."""
        return ops.logsumexp(self, axis=axis, keepdims=keepdims)

    def softmax(self, axis: int | tuple[int, ...]) -> Tensor:
        """`exp(self) / sum(exp(self))` over `axis`, which is required (the lab's classes are on axis 0)."""
        return ops.softmax(self, axis=axis)

    def log_softmax(self, axis: int | tuple[int, ...]) -> Tensor:
        """`self - logsumexp(self)` over `axis`, which is required: the stable log of `softmax`."""
        return ops.log_softmax(self, axis=axis)

    def expand_dims(self, axis: int | tuple[int, ...]) -> Tensor:
        """A new axis of length 1 at `axis`, as `np.expand_dims`."""
        return ops.expand_dims(self, axis=axis)

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Tensor:
        """The axes of length 1 removed (only `axis`, when given), as `np.squeeze`."""
        return ops.squeeze(self, axis=axis)

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor:
        """The tensor repeated to `shape` as NumPy broadcasts it; the gradient is summed back."""
        return ops.broadcast_to(self, shape=shape)

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
        seed = _seed(self, grad, "backward(): grad")
        _propagate(self, seed, None, create_graph=False)

    def _label(self) -> str:
        return repr(self.name) if self.name is not None else f"a tensor of shape {self.shape}"

    def _read_in_trace(self, what: str) -> TraceError:
        return TraceError(
            f"{what} reads the value of {self._label()} while mg.compile traces the function. The "
            "compiled step replays the recorded operations on new values, and a value read now would stay "
            "the traced one in every later call. Write it with minigrad operations (mg.relu, mg.maximum, "
            "mg.where, ...), or compute it outside the compiled function and pass it in as an argument"
        )


def _value(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


# ----- operations ------------------------------------------------------------------------------


class Op:
    """An operation: a forward function on NumPy arrays, and its rule (`defvjp`) for the backward pass.

    Made by `@op`. The forward function's leading parameters without a default are its inputs (all
    positional arguments where it takes `*inputs`); the others are options, passed to the forward
    function and to the rule alike (`sum(x, axis=0)`).
    """

    def __init__(self, forward: Callable[..., Any], name: str | None = None) -> None:
        functools.update_wrapper(self, forward)
        self.forward = forward
        self.name = name or forward.__name__
        self.rule: Callable[..., Any] | None = None
        self.rules: tuple[Callable[..., Any], ...] | None = None
        self.n_inputs, self.variadic, self._option_names = _inputs_and_options(forward)

    def defvjp(self, *rules: Callable[..., Any]) -> Callable[..., Any]:
        """Register the rule: `rule(g, out, *inputs, **options)` gives each input's gradient.

        One function returns a tuple, one gradient per input (None for one that needs none). Or give
        one function per input, each returning that input's gradient: it is only called for an input
        that needs one (`matmul`'s rule never computes dX for the data X). Returns the first function,
        so that `@softplus.defvjp` works as a decorator.
        """
        if not rules or not all(callable(r) for r in rules):
            raise TypeError(f"{self.name}.defvjp: give one rule, or one per input, as functions")
        if len(rules) == 1 and (self.variadic or self.n_inputs != 1):
            self.rule, self.rules = rules[0], None
        elif not self.variadic and len(rules) == self.n_inputs:
            self.rule, self.rules = None, rules
        else:
            raise TypeError(
                f"{self.name}.defvjp: {len(rules)} rules for an operation of {self.n_inputs} inputs; "
                "give one rule that returns a tuple, or one per input"
            )
        return rules[0]

    def __call__(self, *args: Any, **options: Any) -> Tensor:
        if len(args) != self.n_inputs and not self.variadic:
            args = self._bind(args, options)
        # The common case inline: every argument a Tensor already (one or two of them).
        first_is_tensor = type(args[0]) is Tensor if args else False
        if first_is_tensor and (len(args) == 1 or (len(args) == 2 and type(args[1]) is Tensor)):
            inputs = args
        else:
            inputs = _lift_all(args)
        if inputs is None:  # no Tensor among the arguments
            if state.rules_on_arrays:  # inside a rule on an ordinary backward pass: arrays in, array out
                return self.forward(*args, **options)
            inputs = tuple(Tensor(a) for a in args)
        try:
            if options:
                if len(inputs) == 1:
                    data = self.forward(inputs[0]._data, **options)
                else:
                    data = self.forward(*[t._data for t in inputs], **options)
            elif len(inputs) == 1:
                data = self.forward(inputs[0]._data)
            elif len(inputs) == 2:
                data = self.forward(inputs[0]._data, inputs[1]._data)
            else:
                data = self.forward(*[t._data for t in inputs])
        except ValueError as error:
            raise _named_error(self.name, error, inputs) from None
        # NumPy returns a scalar, not an array, from a ufunc or a full reduction of 0-d inputs.
        if type(data) is not np.ndarray or data.dtype.kind != "f":
            data = as_array(data, f"{self.name}'s output")
        if state.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    if self.rule is None and self.rules is None:
                        raise NotImplementedError(
                            f"{self.name} has no rule for the backward pass: register one with "
                            f"@{self.name}.defvjp (or call it under no_grad())"
                        )
                    # `_node`'s work written out: this is the one line every operation runs through.
                    out = Tensor.__new__(Tensor)
                    out._data = data
                    out.requires_grad = True
                    out._name = None
                    out._grad = None
                    out._grad_own = False
                    out._grad_root = -1
                    out._parents = inputs
                    out._fn = self
                    out._options = options or None
                    out._seq = next(_creation_order)
                    out._changed = -1
                    return out
        elif state.tracing and any(t.requires_grad for t in inputs):
            raise TraceError(
                f"{self.name} under no_grad() while mg.compile traces the function: its result would be "
                "recorded as a constant, fixed at the traced values. Compute it outside the compiled "
                "function and pass it in as an argument that does not require a gradient"
            )
        return _node(data, False, (), None, None)

    def _bind(self, args: tuple[Any, ...], options: dict[str, Any]) -> tuple[Any, ...]:
        """Positional arguments past the inputs fill the options in order: `sum(x, 0)` is `sum(x, axis=0)`."""
        extra = args[self.n_inputs :]
        if len(args) < self.n_inputs or len(extra) > len(self._option_names):
            raise TypeError(
                f"{self.name} takes {self.n_inputs} input(s) and the options {self._option_names}; "
                f"got {len(args)} positional arguments"
            )
        for option, value in zip(self._option_names, extra):
            if option in options:
                raise TypeError(f"{self.name}: {option} given twice")
            options[option] = value
        return args[: self.n_inputs]

    def vjp(self, g: Any, out: Any, inputs: Sequence[Any], options: dict[str, Any]) -> Sequence[Any]:
        """Every input's gradient from the rule, checked against its contract: one per input."""
        if self.rules is not None:
            return [r(g, out, *inputs, **options) for r in self.rules]
        grads = self.rule(g, out, *inputs, **options)
        if self.n_inputs == 1 and not self.variadic and not isinstance(grads, tuple | list):
            grads = (grads,)
        if not isinstance(grads, tuple | list) or len(grads) != len(inputs):
            got = len(grads) if isinstance(grads, tuple | list) else type(grads).__name__
            raise ValueError(
                f"{self.name}'s rule returned {got} gradients for {len(inputs)} inputs; "
                "it must return one per input (None for one that needs none)"
            )
        return grads

    def only_gradient(self, grads: Any) -> Any:
        """A rule's gradient for one input: itself, or the one in a tuple (an error if it held more)."""
        if type(grads) is not tuple and type(grads) is not list:
            return grads
        if len(grads) != 1:
            raise ValueError(
                f"{self.name}'s rule returned {len(grads)} gradients for 1 input; "
                "it must return one per input (None for one that needs none)"
            )
        return grads[0]

    def __repr__(self) -> str:
        return f"<minigrad operation {self.name}>"

    # An operation is one object, as a function is: copies of a graph share it, and pickles name it.
    def __copy__(self) -> Op:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Op:
        return self

    def __reduce__(self) -> str:
        return self.__qualname__


def op(forward: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Make a NumPy function an operation of the graph; give it a rule with `.defvjp`.

    `@op` or `@op(name="softplus")`. The function takes arrays and returns one array.
    """
    if forward is None:
        return lambda f: Op(f, name)
    return Op(forward, name)


def _inputs_and_options(forward: Callable[..., Any]) -> tuple[int, bool, tuple[str, ...]]:
    n_inputs, variadic, options = 0, False, []
    for p in inspect.signature(forward).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            variadic = True
        elif p.kind is p.VAR_KEYWORD:
            continue
        elif p.default is p.empty and p.kind is not p.KEYWORD_ONLY and not options:
            n_inputs += 1
        else:
            options.append(p.name)
    return n_inputs, variadic, tuple(options)


def _named_error(name: str, error: ValueError, inputs: tuple[Tensor, ...]) -> ValueError:
    """NumPy's error, said as the operation's: its name first, the shapes written as Python writes them."""
    message = str(error)
    if message.startswith(f"{name}:"):
        return error
    if "could not be broadcast" in message:
        shapes = " and ".join(str(t.shape) for t in inputs)
        return ValueError(f"{name}: shapes {shapes} cannot be broadcast together")
    return ValueError(f"{name}: {message}")


def _lift_all(args: tuple[Any, ...]) -> tuple[Tensor, ...] | None:
    """The arguments as Tensors, or None where none is a Tensor.

    A Python number takes the dtype of a Tensor beside it (float32 stays float32).
    """
    if len(args) == 1:  # the common cases first, without a generator
        return args if type(args[0]) is Tensor else None if not isinstance(args[0], Tensor) else args
    if len(args) == 2:
        a, b = args
        if type(a) is Tensor:
            return args if type(b) is Tensor else (a, _constant(b, a._data.dtype))
        if type(b) is Tensor:
            return (_constant(a, b._data.dtype), b)
    like = next((a for a in args if isinstance(a, Tensor)), None)
    if like is None:
        return None
    return tuple(a if isinstance(a, Tensor) else _constant(a, like.dtype) for a in args)


def _constant(x: Any, dtype: np.dtype) -> Tensor:
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return _node(x, False, (), None, None)
    if type(x) in _PYTHON_NUMBERS:
        return _node(np.asarray(x, dtype=dtype), False, (), None, None)
    return Tensor(x)


def _node(
    data: np.ndarray, requires_grad: bool, parents: tuple[Tensor, ...], fn: Op | None, options: Any
) -> Tensor:
    """A Tensor around an array already known to be floating: an operation's output, or a constant."""
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
    t._seq = next(_creation_order)
    t._changed = -1
    return t


# ----- the backward pass -----------------------------------------------------------------------


def grad(
    output: Tensor,
    inputs: Tensor | Sequence[Tensor],
    grad_output: Any = None,
    create_graph: bool = False,
) -> tuple[Tensor, ...]:
    """The gradients of `output` with respect to each of `inputs`, as Tensors; every `.grad` is left alone.

    `grad_output` is the gradient flowing into `output`, as `backward()`'s `grad`. An input that `output`
    does not depend on gets zeros. With `create_graph=True` the gradients are in the graph themselves,
    so that `grad` or `backward()` on them gives second derivatives, and so on.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"grad: output must be a Tensor, got {type(output).__name__}")
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: inputs[{i}] is a {type(x).__name__}, not a Tensor")
        if not x.requires_grad:
            raise ValueError(
                f"grad: inputs[{i}] ({x._label()}) has requires_grad=False, so it has no gradient; "
                "create it with requires_grad=True"
            )
    seed = _seed(output, grad_output, "grad(): grad_output")
    found = {}
    if output.requires_grad:
        targets = {id(x): x for x in inputs}
        if create_graph:  # a grad_output that is itself in a graph is differentiated through, as in PyTorch
            seed = grad_output if isinstance(grad_output, Tensor) else Tensor(seed)
        found = _propagate(output, seed, targets, create_graph)
    return tuple(_result(found.get(id(x)), x, create_graph) for x in inputs)


def _result(entry: tuple[Any, bool] | None, x: Tensor, create_graph: bool) -> Tensor:
    if entry is None:
        return Tensor(np.zeros_like(x._data))
    g, owned = entry
    if create_graph:
        return g
    return Tensor(g if owned else np.array(g))


def _seed(root: Tensor, grad: Any, what: str) -> np.ndarray:
    """The gradient flowing into the root: ones for one element, else `grad`, as a new array of its own."""
    if grad is None:
        if root.size != 1:
            raise ValueError(
                f"{what} is needed for an output of shape {root.shape} ({root.size} elements); "
                "it may be left out only for a single element"
            )
        return np.ones(root._data.shape, root._data.dtype)
    seed = as_array(grad._data if isinstance(grad, Tensor) else grad, what)
    if seed.shape != root.shape:
        raise ValueError(f"{what} has shape {seed.shape} but the output has shape {root.shape}")
    return seed.astype(root.dtype, copy=True)


def _propagate(
    root: Tensor, seed: Any, targets: dict[int, Tensor] | None, create_graph: bool
) -> dict[int, tuple[Any, bool]]:
    """Hand each tensor's gradient to its rule, newest first; into `.grad`, or for `targets` only.

    The pass adds contributions in place only into arrays it made itself (`owned`): a rule may return
    `g` itself, a view of it, or an array it keeps, and none of those is ever written to.
    """
    order = _topological_order(root)
    needed = _leading_to(order, targets) if targets is not None else None
    saved = state.grad_enabled, state.rules_on_arrays
    # The pass makes no reference cycles, but its allocations would set off the cycle collector,
    # which walks every tensor of the graph.
    # One pass at a time, in any thread: two passes adding into one leaf's .grad would lose updates.
    with _one_pass_at_a_time:
        collector_was_on = gc.isenabled()
        gc.disable()
        state.grad_enabled, state.rules_on_arrays = create_graph, not create_graph
        try:
            return _run_rules(root, seed, order, targets, needed, create_graph)
        finally:
            state.grad_enabled, state.rules_on_arrays = saved
            if collector_was_on:
                gc.enable()


def _run_rules(
    root: Tensor,
    seed: Any,
    order: list[Tensor],
    targets: dict[int, Tensor] | None,
    needed: set[int] | None,
    create_graph: bool,
) -> dict[int, tuple[Any, bool]]:
    pending: dict[int, tuple[Any, bool]] = {id(root): (seed, True)}  # gradient, owned by the pass
    found: dict[int, tuple[Any, bool]] = {}
    stale: list[Tensor] = []
    root_seq = root._seq
    for node in order:
        entry = pending.pop(id(node), None)
        if entry is None:  # no rule gave this tensor a gradient
            continue
        g = entry[0]
        fn = node._fn
        if targets is None:
            if node._grad is None and fn is not None:  # an intermediate, reached for the first time
                node._grad = g
                node._grad_root = root_seq
            elif _store(node, entry, root_seq):
                stale.append(node)
        elif id(node) in targets:
            found[id(node)] = entry
        if fn is None:
            continue
        parents = node._parents
        out, inputs = _rule_arguments(node, parents, create_graph)
        options = node._options
        rules = fn.rules
        grads = fn.vjp(g, out, inputs, options or _NO_OPTIONS) if rules is None else None
        for i, parent in enumerate(parents):
            if not parent.requires_grad or (needed is not None and id(parent) not in needed):
                continue
            if grads is not None:
                pg = grads[i]
            else:
                pg = rules[i](g, out, *inputs, **options) if options else rules[i](g, out, *inputs)
            if pg is None:
                continue
            x = parent._data
            if not create_graph and type(pg) is np.ndarray and pg.shape == x.shape and pg.dtype == x.dtype:
                owned = False  # the common case, without a call
            else:
                pg, owned = _fitted(pg, parent, fn, create_graph)
                if pg is None:
                    continue
            key = id(parent)
            if key not in pending:
                pending[key] = (pg, owned)
            elif create_graph:
                pending[key] = (ops.add(pending[key][0], pg), True)
            else:
                pending[key] = add_gradient(pending[key], pg)
    if targets is None:
        _watch_growth(stale)
    return found


def _rule_arguments(node: Tensor, parents: tuple[Tensor, ...], create_graph: bool) -> tuple[Any, Any]:
    """What a rule is given besides `g`: the output and the inputs, as Tensors or as their arrays."""
    if create_graph:
        return node, parents
    if len(parents) == 1:
        return node._data, (parents[0]._data,)
    if len(parents) == 2:
        return node._data, (parents[0]._data, parents[1]._data)
    return node._data, tuple(p._data for p in parents)


def _fitted(grad: Any, x: Tensor, fn: Op, create_graph: bool) -> tuple[Any, bool]:
    """A rule's gradient for `x` that is not already an array of x's shape and dtype, made one (or None)."""
    grad = fn.only_gradient(grad)  # a one-input rule may return `(gradient,)`
    if grad is None:
        return None, False
    if create_graph:
        return _shaped_tensor(grad, x, fn.name)
    return fit_gradient(grad, x._data, fn.name)


def _store(node: Tensor, entry: tuple[np.ndarray, bool], root_seq: int) -> bool:
    """Add this pass's gradient to `node.grad`. A leaf's `.grad` is always an array of its own.

    Returns whether `node` is an intermediate that an earlier pass from another output reached too.
    """
    g, owned = entry
    stale = False
    if node._grad is None:
        if node._fn is None and not owned:
            g, owned = g.copy(), True
        node._grad, node._grad_own = g, owned and node._fn is None
    else:
        stale = node._fn is not None and node._grad_root != root_seq
        if node._grad_own and node._grad.flags.writeable:
            node._grad += g
        else:
            node._grad, node._grad_own = _added(node._grad, g), True
    node._grad_root = root_seq
    return stale


def add_gradient(total: tuple[np.ndarray, bool], more: np.ndarray) -> tuple[np.ndarray, bool]:
    """One more contribution to a gradient, `(array, owned)`: in place only into an array the pass made.

    The backward pass and `mg.compile`'s replay both add with this, in the same order, to the same bits.
    """
    array, owned = total
    if owned:
        array += more
        return total
    return _added(array, more), True


def _added(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = a + b
    return total if type(total) is np.ndarray else np.asarray(total)  # 0-d + 0-d is a NumPy scalar


def fit_gradient(grad: Any, like: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """A rule's gradient as an array summed back to the shape of its input `like`, in its dtype.

    The one place broadcasting is undone, for the backward pass and `mg.compile`'s replay alike.
    Returns it with whether it is a new array (which the pass may then add into in place).
    """
    if type(grad) is not np.ndarray:
        grad = np.asarray(grad._data if isinstance(grad, Tensor) else grad)
    owned = False
    if grad.shape != like.shape:
        grad, owned = np.asarray(_unbroadcast(grad, like.shape, name, np.add.reduce)), True
    if grad.dtype != like.dtype:
        grad, owned = grad.astype(like.dtype), True
    return grad, owned


def _shaped_tensor(grad: Any, x: Tensor, name: str) -> tuple[Tensor, bool]:
    """As `fit_gradient`, in the graph (`create_graph=True`): summed back with minigrad's own `sum`."""
    if not isinstance(grad, Tensor):
        grad = Tensor(grad)
    if grad.shape != x.shape:
        grad = _unbroadcast(grad, x.shape, name, ops.sum)
    return grad, False


def _unbroadcast(grad: Any, shape: tuple[int, ...], name: str, add_reduce: Callable[..., Any]) -> Any:
    extra = grad.ndim - len(shape)
    if extra >= 0:  # a gradient of the broadcast shape: sum the axes broadcasting added or stretched
        if extra:
            grad = add_reduce(grad, axis=tuple(range(extra)))
        kept = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if kept:
            grad = add_reduce(grad, axis=kept, keepdims=True)
        if grad.shape == shape:
            return grad
    raise ValueError(f"{name}'s rule gave a gradient of shape {grad.shape} for an input of shape {shape}")


def _topological_order(root: Tensor) -> list[Tensor]:
    """`root` and every tensor it was computed from that requires a gradient, consumers first.

    A tensor is always created after its inputs, so creation order is a topological order: collect
    the graph with a stack (no recursion, so depth is unlimited) and sort it, newest first.
    """
    nodes = {id(root): root}
    stack = [root]
    while stack:
        node = stack.pop()
        made = node._seq
        if node._changed > made and node._fn is not None:  # its value, which its rule reads, changed
            raise _changed_since(node, node)
        for parent in node._parents:
            if parent._changed > made:
                raise _changed_since(parent, node)
            if parent.requires_grad and id(parent) not in nodes:
                nodes[id(parent)] = parent
                stack.append(parent)
    return sorted(nodes.values(), key=creation_number, reverse=True)


def _changed_since(changed: Tensor, user: Tensor) -> RuntimeError:
    """A tensor's data changed after an operation of the graph read it: its gradients would be stale."""
    return RuntimeError(
        f"{changed._label()} was changed (an optimiser's step, `-=` under no_grad, or an assignment to "
        f".data) after the graph read it (in {user.op or 'the graph'}): back-propagating that graph would "
        "mix the new values with the old. Run the forward pass again, then backward()"
    )


# When a tensor was made: its inputs always have smaller numbers (a topological order of any graph).
creation_number: Callable[[Tensor], int] = operator.attrgetter("_seq")


def operation_of(t: Tensor) -> tuple[Op | None, dict[str, Any]]:
    """The operation that made `t` (None for a leaf) and the options it was called with."""
    return t._fn, t._options or _NO_OPTIONS


def _leading_to(order: list[Tensor], targets: dict[int, Tensor]) -> set[int]:
    """The tensors of the graph through which a gradient reaches a target (the targets included)."""
    leading = set()
    for t in reversed(order):  # inputs before the tensors made from them
        if id(t) in targets or any(id(p) in leading for p in t._parents):
            leading.add(id(t))
    return leading


# How many intermediates the last few backward passes found already holding an earlier pass's gradient.
_stale_counts: list[int] = []


def _watch_growth(stale: list[Tensor]) -> None:
    """Warn once when that number grew at each of three passes in a row: the graph keeps every step.

    That happens when a loop replaces a parameter by an operation on itself (`W = W - lr * W.grad`):
    each step's graph holds every earlier step, and each pass is slower than the last. Several losses
    from one graph, or the same graph back-propagated again, do not make the number grow.
    """
    if not stale:  # the usual pass: nothing grows
        _stale_counts.clear()
        return
    _stale_counts.append(len(stale))
    del _stale_counts[:-4]
    if len(_stale_counts) == 4 and _stale_counts[0] < _stale_counts[1] < _stale_counts[2] < _stale_counts[3]:
        leaf = stale[-1]  # the oldest: the order is newest first
        while leaf._parents:
            leaf = next((p for p in leaf._parents if p.requires_grad), leaf._parents[0])
        warnings.warn(
            f"backward() went again through the earlier steps made from {leaf._label()}: the graph keeps "
            "every step and grows each time, so each pass is slower than the last. To update a "
            "parameter, change it in place without recording a graph: `with mg.no_grad(): W -= lr * "
            "W.grad` (or `W.data -= lr * W.grad`), then `W.zero_grad()`",
            RuntimeWarning,
            stacklevel=5,
        )


# At the end: ops.py builds on the classes above, and the methods above only look `ops` up when called.
from minigrad import numpy_api, ops  # noqa: E402

__all__ = [
    "Op",
    "Tensor",
    "add_gradient",
    "as_array",
    "creation_number",
    "fit_gradient",
    "grad",
    "no_grad",
    "op",
    "operation_of",
]
