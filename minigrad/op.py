"""How an operation enters the graph: `@op` makes a NumPy function an operation, `defvjp` gives it its rule.

An operation is a forward function on NumPy arrays and a rule, its vector-Jacobian product: given the
gradient `g` of the output, the output and the inputs, the gradient of each input. The built-in
operations (`ops/`) and a user's own are made the same way:

    @op
    def exp(x):
        return np.exp(x)

    exp.defvjp(lambda g, out, x: g * out)      # d(e^x) = e^x dx

Calling an operation lifts its arguments to Tensors (a Python number takes the dtype of the Tensor
beside it), runs the forward function on their arrays, and returns a Tensor that remembers the
operation, its inputs and its options: a node of the graph, which `backward.py` walks.
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from minigrad.mode import IntegerArgument, TraceError, state
from minigrad.release import RELEASE_FROM, ReleasedValues, newest_large, refuse_released, release_spare
from minigrad.rule_reads import EVERYTHING, Reads, reads_of
from minigrad.tensor import Tensor, as_array, node
from minigrad.versions import fingerprint, next_number

_PYTHON_NUMBERS = (float, int, bool)
NO_OPTIONS: dict[str, Any] = {}


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
        # The rule: one function for all inputs (`rule`), or one per input (`input_rules`), never both.
        self.rule: Callable[..., Any] | None = None
        self.input_rules: tuple[Callable[..., Any], ...] | None = None
        # What the rules read (`rule_reads.py`): the graph keeps those values alive, and only those.
        self.reads: tuple[Reads, ...] = (EVERYTHING,)
        self.reads_out = True
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
            self.rule, self.input_rules = rules[0], None
        elif not self.variadic and len(rules) == self.n_inputs:
            self.rule, self.input_rules = None, rules
        else:
            raise TypeError(
                f"{self.name}.defvjp: {len(rules)} rules for an operation of {self.n_inputs} inputs; "
                "give one rule that returns a tuple, or one per input"
            )
        self.reads = tuple(reads_of(r) for r in rules)
        self.reads_out = any(r.out for r in self.reads)
        return rules[0]

    def called_reads(self, wanted: Iterable[int]) -> tuple[Reads, ...]:
        """What the rules a backward pass calls for the inputs at the positions `wanted` read: the one
        rule's whatever is wanted, or each wanted input's own."""
        return self.reads if self.input_rules is None else tuple(self.reads[p] for p in wanted)

    def reads_input(self, position: int, wanted: Iterable[int]) -> bool:
        """Whether those rules read the value of input `position`."""
        return any(r.reads_input(position) for r in self.called_reads(wanted))

    def reads_output(self, wanted: Iterable[int]) -> bool:
        """Whether those rules read the output's value."""
        return any(r.out for r in self.called_reads(wanted))

    def __call__(self, *args: Any, **options: Any) -> Tensor:
        # Every operation runs through here: the common path is inline (see docs/performance.md, the
        # instructions per call before and after the core cut); rare cases go to the methods below.
        if len(args) != self.n_inputs and not self.variadic:
            args = self._bind(args, options)
        n = len(args)
        if n and type(args[0]) is Tensor and (n == 1 or (n == 2 and type(args[1]) is Tensor)):
            inputs = args
        else:
            inputs = lift(args)
            if inputs is None and state.rules_on_arrays:  # in a rule of an ordinary backward pass
                return self.forward(*args, **options)  # arrays in, array out
            if inputs is None:  # no Tensor among the arguments
                return self(*[Tensor(a) for a in args], **options)
        try:
            if options:
                data = self.forward(*[t._data for t in inputs], **options)
            elif n == 2:
                data = self.forward(inputs[0]._data, inputs[1]._data)
            elif n == 1:
                data = self.forward(inputs[0]._data)
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
                    return self._recorded(data, inputs, options)
        elif state.tracing:
            self._refuse_untraced(inputs)
        return node(data, False, (), None, None)

    def _recorded(self, data: np.ndarray, inputs: tuple[Tensor, ...], options: dict[str, Any]) -> Tensor:
        """The output as a node: parameters fingerprinted (versions.py), unread values let go (release.py)."""
        if self.rule is None and self.input_rules is None:
            self._check_rule()
        spare, large, j = None, False, 0
        for parent in inputs:
            fn = parent._fn
            if fn is None:
                if parent.requires_grad:  # a parameter read by the graph: see `changed_after`
                    parent._print = fingerprint(parent._data)
            else:
                if parent._spare is not None:
                    release_spare(parent)
                if parent._data.nbytes >= RELEASE_FROM:
                    if type(parent._data) is ReleasedValues:  # a forward that read it by `np.asarray`
                        refuse_released(parent._data)  # (the others refuse) got NaN: never let it out
                    large = True
                    if not fn.reads_out and not self.reads_input(j, _needing(inputs)):
                        spare = (j,) if spare is None else (*spare, j)
            j += 1  # noqa: SIM113 (a counter, not enumerate: this loop runs for every recorded operation)
        # `node`'s work written out, not called: every recorded operation runs through here.
        t = Tensor.__new__(Tensor)
        t._data = data
        t.requires_grad = True
        t._name = None
        t._grad = None
        t._grad_own = False
        t._grad_root = -1
        t._parents = inputs
        t._fn = self
        t._options = options or None
        t._print = None
        t._spare = spare
        t._seq = next_number()
        t._changed = -1
        if large:  # this node's inputs hold a large intermediate: see `release.unheld`
            newest_large[0] = t._seq
        return t

    def _refuse_untraced(self, inputs: tuple[Tensor, ...]) -> None:
        if any(t.requires_grad for t in inputs):
            raise TraceError(
                f"{self.name} under no_grad() while mg.compile traces the function: its result would be "
                "recorded as a constant, fixed at the traced values. Compute it outside the compiled "
                "function and pass it in as an argument that does not require a gradient"
            )

    def _check_rule(self) -> None:
        if self.rule is None and self.input_rules is None:
            raise NotImplementedError(
                f"{self.name} has no rule for the backward pass: register one with "
                f"@{self.name}.defvjp (or call it under no_grad())"
            )

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
        """Every input's gradient from the one rule, checked against its contract: one per input."""
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

    # An operation is a method of the Tensor too (`Tensor.exp = exp` makes `t.exp()`), as a function is.
    def __get__(self, instance: Any, owner: Any = None) -> Any:
        return self if instance is None else types.MethodType(self, instance)

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


def operation_of(t: Tensor) -> tuple[Op | None, dict[str, Any]]:
    """The operation that made `t` (None for a leaf) and the options it was called with."""
    return t._fn, t._options or NO_OPTIONS


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


def _needing(inputs: Sequence[Tensor]) -> list[int]:
    """The positions of the inputs that need a gradient: those whose rules a backward pass calls."""
    return [p for p, t in enumerate(inputs) if t.requires_grad]


def _named_error(name: str, error: ValueError, inputs: Sequence[Tensor]) -> ValueError:
    """NumPy's error, said as the operation's: its name first, the shapes written as Python writes them."""
    message = str(error)
    if message.startswith(f"{name}:"):
        return error
    if "could not be broadcast" in message:
        shapes = " and ".join(str(t.shape) for t in inputs)
        return ValueError(f"{name}: shapes {shapes} cannot be broadcast together")
    return ValueError(f"{name}: {message}")


def lift(args: tuple[Any, ...]) -> tuple[Tensor, ...] | None:
    """The arguments as Tensors, or None where none is a Tensor.

    A Python number takes the dtype of a Tensor beside it (float32 stays float32). A subclass of Tensor
    (a `Parameter`) is the Tensor it is.
    """
    if len(args) == 2:  # the common case first, without a generator
        a, b = args
        if isinstance(a, Tensor):
            return args if isinstance(b, Tensor) else (a, constant(b, a._data.dtype))
        if isinstance(b, Tensor):
            return (constant(a, b._data.dtype), b)
        return None
    like = next((a for a in args if isinstance(a, Tensor)), None)
    if like is None:
        return None
    if len(args) == 1:
        return args
    return tuple(a if isinstance(a, Tensor) else constant(a, like.dtype) for a in args)


def constant(x: Any, dtype: np.dtype) -> Tensor:
    """A value beside a Tensor in an operation, as a Tensor that needs no gradient."""
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return node(x, False, (), None, None)
    if type(x) in _PYTHON_NUMBERS:
        return node(np.asarray(x, dtype=dtype), False, (), None, None)
    if isinstance(x, IntegerArgument):
        return _integer_operand(x)
    return Tensor(x)


def _integer_operand(x: IntegerArgument) -> Tensor:
    """An integer argument of a traced function used as an operand: a Tensor the trace fills afresh."""
    if x.derived or state.integer_operands is None:
        raise TraceError(
            f"an array computed from integer argument {x.position} inside the function mg.compile traces "
            "is used as an operand: the compiled step could not recompute it from each call's argument. "
            "Compute it outside and pass it in as an argument"
        )
    t = Tensor(x)
    state.integer_operands[id(t)] = (t, x.position)
    return t


__all__ = ["NO_OPTIONS", "Op", "constant", "lift", "op", "operation_of"]
