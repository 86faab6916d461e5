"""`compile`: trace a loss once into a flat list of equations, then replay it on arrays.

A training step runs the same graph thousands of times. The first call traces the loss: it runs on
Tensors, and the graph it leaves is read into equations by the backward pass's own walker
(`equations_of`), each `out = op[options](inputs)` over numbered slots:

    slot 0 = sum(1)            the loss
    slot 1 = sigmoid(2)
    slot 2 = add(3, 4)
    ...

The next call replays them: a forward loop calls each operation's forward function on arrays, and the
backward pass's one interpreter (`run_rules`) runs the rules over the same equations, newest first, as
it does for `backward()`. The values and gradients are therefore those of the eager engine, to the last
bit, by construction, without a Tensor, a closure or a dictionary per operation. That replay also notes
what each rule gives, and from then on the signature runs the same calls written out as one Python
function (`codegen.py`), whose checks were answered once and whose values die after their last reader;
the interpreter stays the reference, and the path of traces the generator cannot write.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.backward import (
    Equation,
    equations_of,
    leading_to,
    pruned,
    rules_running,
    run_rules,
    store_gradient,
)
from minigrad.codegen import Learned, changed_capture, generate, watched
from minigrad.integer_options import bind_options, filled, integer_options
from minigrad.mode import IntegerArgument, TraceError, state
from minigrad.tensor import Tensor, as_array
from minigrad.versions import next_number

__all__ = ["Compiled", "TraceError", "compile"]

# A constant of the trace made outside it, of at least this many elements, looks like data: a warning.
LARGE_CONSTANT = 100


def compile(loss: Callable[..., Tensor] | None = None, *, cache_size: int = 8) -> Any:
    """`step = compile(loss)`; then `J, grads = step(*args)`: the loss's value and its gradients.

    `loss(*args)` returns a one-element Tensor built from minigrad operations. `step` takes the same
    positional arguments (Tensors; arrays and numbers, which need no gradient) and returns `J`, the
    value as an array, and `grads`, a tuple of one array per argument with `requires_grad=True`, in
    argument order (zeros for one the loss does not depend on). No argument's `.grad` is written.

    Tensors that `loss` closes over and that require a gradient (a model's parameters) are inputs of
    the trace too: read afresh at each call, their gradients added to their `.grad` as `backward()`
    adds them (so an optimiser steps on them); they are not in `grads`. The result is bit for bit the
    eager one. A Python number argument takes the dtype of the floating arguments (float32 stays
    float32); an integer array argument stays an integer array (labels, indices: `logits[rows, y]`).

    The first call for a signature (each argument's shape, dtype and `requires_grad`) runs `loss` and
    records its operations; later calls replay them. A new signature traces again; the last
    `cache_size` traces are kept. Usable as a decorator: `@mg.compile`.

    From the second call of a signature on, the step runs as one generated Python function (the same
    NumPy calls in the same order: the same bits), whose text `step.source(*args)` returns. Operations'
    functions and rules are bound into it: an operation given a new rule afterwards needs a new `compile`.

    What a trace records is the operations, not the Python around them:
    - Values not computed from the arguments or from closed-over Tensors that require a gradient are
      constants of the trace, copied when it was made (a large one made outside `loss` is warned of:
      pass it as an argument). Random numbers drawn while tracing are an error (`mg.TraceError`): the
      replay would reuse them at every call; draw them outside and pass them in.
    - Reading a value while tracing (`float(t)`, `t.item()`, `bool(t)`, an `if` on a tensor, `t < 0`,
      `t.numpy()`) raises `mg.TraceError`: the replay could not follow a branch or a mask chosen from
      the traced values. Write such a choice with operations (`mg.relu`, `mg.maximum`, `mg.where`), or
      compute it outside and pass it in. Reading `t.data` directly is not caught: it, too, is frozen.
      So is an array computed by NumPy alone from an integer argument (`np.asarray(y, bool)`).
    - Python side effects (printing, appending to a list) happen once, at the trace.
    """
    if loss is None:
        return lambda f: Compiled(f, cache_size)
    return Compiled(loss, cache_size)


class Compiled:
    """A loss function with its traces, one per signature: made by `mg.compile`."""

    def __init__(self, loss: Callable[..., Tensor], cache_size: int = 8) -> None:
        if not callable(loss):
            raise TypeError(f"compile: loss must be a function, got {type(loss).__name__}")
        if cache_size < 1:
            raise ValueError(f"compile: cache_size must be at least 1, got {cache_size}")
        functools.update_wrapper(self, loss)
        self.loss = loss
        self.cache_size = cache_size
        self.traces = 0  # how many times `loss` was traced
        self._cache: OrderedDict[tuple[Any, ...], Trace] = OrderedDict()

    def __call__(self, *args: Any, **kwargs: Any) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """The loss's value and the gradients of the arguments that require one: `J, grads`."""
        if kwargs:
            raise TypeError(
                f"a compiled step takes positional arguments only, got keyword(s) {', '.join(kwargs)}: "
                "pass them in order, or bind fixed options first (functools.partial(loss, ...)) and "
                "compile that"
            )
        arrays, key = _arguments(args)
        trace = self._cache.get(key)
        if trace is None:
            trace = self._trace(args, arrays, key[2::3])
            self._cache[key] = trace
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return trace.run(arrays)

    def trace_for(self, *args: Any) -> Trace | None:
        """The trace of the signature of these arguments (shapes, dtypes, `requires_grad`), None if the
        step has not been called with one like it (it is not traced here)."""
        return self._cache.get(_arguments(args)[1])

    def source(self, *args: Any) -> str:
        """The Python code a call with arguments like these runs, to read or print when debugging a step.

        It is written at the first call of a signature (`trace_for`), from what that call learned;
        before it, and where the trace keeps the interpreter, the text says so.
        """
        trace = self.trace_for(*args)
        if trace is None or trace.source is None:
            return "# no call of the step with arguments of this signature has ended yet: call it first\n"
        return trace.source

    def _trace(self, args: tuple[Any, ...], arrays: list[np.ndarray], requires: tuple[bool, ...]) -> Trace:
        # Every argument requires a gradient while tracing, so that every operation that depends on one
        # is recorded (`1 - Y` too), not folded into a constant; the gradients are pruned afterwards.
        tracers = [_tracer(a, x, i) for i, (a, x) in enumerate(zip(args, arrays))]
        name = getattr(self.loss, "__name__", "loss")
        randomness = _RandomnessWatch(self.loss)
        start = next_number()
        saved = state.tracing, state.grad_enabled, state.integer_operands
        state.tracing, state.grad_enabled, state.integer_operands = True, True, {}
        try:
            out = self.loss(*tracers)
            operands = state.integer_operands
        finally:
            state.tracing, state.grad_enabled, state.integer_operands = saved
        randomness.check(name)
        if not isinstance(out, Tensor):
            raise TypeError(f"compile: {name} must return a Tensor, got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(
                f"compile: {name} must return a one-element Tensor (a loss), got shape {out.shape}"
            )
        self.traces += 1
        trace = Trace(out, tracers, requires, operands, name)
        trace.warn_of_data(start, _closed_over_arrays(self.loss), name)
        return trace

    def __repr__(self) -> str:
        return f"<compiled {getattr(self.loss, '__name__', 'loss')}: {len(self._cache)} trace(s) cached>"


def _arguments(args: tuple[Any, ...]) -> tuple[list[np.ndarray], tuple[Any, ...]]:
    """Each argument's array, and the signature: (shape, dtype, requires_grad) of each."""
    arrays, key = [], []
    number_dtype = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            x = a._data  # read once per argument of every call: the property only for released values
            if type(x) is not np.ndarray:
                x = a.data
            arrays.append(x)
            key += (x.shape, x.dtype, a.requires_grad)
            continue
        if type(a) in (int, float, bool):  # as eager lifting: the dtype of the Tensors beside it
            if number_dtype is None:
                number_dtype = _floating_dtype(args)
            x = np.asarray(a, dtype=number_dtype)
        else:
            x = _argument(a, i)
        arrays.append(x)
        key += (x.shape, x.dtype, False)
    return arrays, tuple(key)


def _argument(a: Any, i: int) -> np.ndarray:
    x = np.asarray(a)
    if x.dtype.kind in "iu":  # labels and indices stay integers
        return x
    return as_array(x, f"compiled step: argument {i}")


def _floating_dtype(args: tuple[Any, ...]) -> np.dtype:
    """The dtype a Python number argument takes: that of the floating arguments (float64 without one)."""
    dtypes = [a.dtype for a in args if isinstance(a, Tensor | np.ndarray) and a.dtype.kind == "f"]
    return np.result_type(*dtypes) if dtypes else np.dtype(np.float64)


def _tracer(a: Any, x: np.ndarray, i: int) -> Any:
    """What the traced function is given for argument `i`: a Tensor, or a marked integer array."""
    if x.dtype.kind in "iu":
        return IntegerArgument.argument(x, i)
    return Tensor(x, requires_grad=True, name=a.name if isinstance(a, Tensor) else None)


class _RandomnessWatch:
    """NumPy's global random state and the closed-over Generators' states, to compare after a trace."""

    def __init__(self, loss: Callable[..., Any]) -> None:
        self.generators = _generators(loss, depth=2)
        self.before = self._states()

    def _states(self) -> list[Any]:
        _, keys, position, *_ = np.random.get_state()
        return [keys.copy(), position] + [g.bit_generator.state for g in self.generators]

    def check(self, name: str) -> None:
        after = self._states()
        drawn = not np.array_equal(after[0], self.before[0]) or after[1:] != self.before[1:]
        if drawn:
            raise TraceError(
                f"{name} drew random numbers while mg.compile traced it: the compiled step would reuse "
                "the same draws (the same dropout mask, the same noise) at every call. Draw them "
                "outside and pass them in as an argument"
            )


def _closed_over(fn: Callable[..., Any]) -> list[Any]:
    """The values a function reads from its closure and its globals (none for other callables)."""
    try:
        names = inspect.getclosurevars(fn)
    except TypeError:
        return []
    return [*names.nonlocals.values(), *names.globals.values()]


def _generators(fn: Any, depth: int) -> list[np.random.Generator]:
    """The Generators a function reads: closed over, or held by what it closes over, down to `depth`
    levels of functions, objects' attributes and containers (a Dropout's `rng` inside a Sequential)."""
    values = _closed_over(fn) if inspect.isfunction(fn) or inspect.ismethod(fn) else [fn]
    found: dict[int, np.random.Generator] = {}
    _search(values, depth + 2, found, set())
    return list(found.values())


def _search(values: Any, depth: int, found: dict[int, Any], seen: set[int]) -> None:
    for v in values:
        if id(v) in seen or inspect.ismodule(v) or isinstance(v, type | np.ndarray | str | bytes):
            continue
        seen.add(id(v))
        if isinstance(v, np.random.Generator):
            found[id(v)] = v
        elif depth == 0:
            continue
        elif inspect.isfunction(v) or inspect.ismethod(v):
            _search(_closed_over(v), depth - 1, found, seen)
        elif isinstance(v, dict):
            _search(v.values(), depth - 1, found, seen)
        elif isinstance(v, list | tuple | set):
            _search(v, depth - 1, found, seen)
        elif hasattr(v, "__dict__"):
            _search(vars(v).values(), depth - 1, found, seen)


def _closed_over_arrays(fn: Callable[..., Any]) -> set[int]:
    return {id(v) for v in _closed_over(fn) if isinstance(v, np.ndarray)}


class Trace:
    """One signature's equations, and their replay: forward on arrays, then the one interpreter of rules."""

    def __init__(
        self,
        out: Tensor,
        tracers: list[Any],
        requires: tuple[bool, ...],
        operands: dict[int, Any],
        name: str = "loss",
    ) -> None:
        self.tensors_made, self.equations = equations_of(out, every_input=True)
        slot = {id(t): k for k, t in enumerate(self.tensors_made)}
        self.n_slots = len(self.tensors_made)
        self.root_is_leaf = out._fn is None
        # (i, k): argument i is slot k, for each argument the loss used; the others get zeros.
        self.arguments = [(i, slot[id(t)]) for i, t in enumerate(tracers) if id(t) in slot]
        self.integer_operands = [(slot[key], i) for key, (_, i) in operands.items() if key in slot]
        given = {k for _, k in self.arguments} | {k for k, _ in self.integer_operands}
        leaves = [(k, t) for k, t in enumerate(self.tensors_made) if t._fn is None and k not in given]
        # Closed-over Tensors that require a gradient: read afresh at each call, gradients into `.grad`.
        self.captured = [(k, t, t.shape, t.dtype) for k, t in leaves if t.requires_grad]
        self.constants = [(k, np.array(t._data)) for k, t in leaves if not t.requires_grad]
        # (i, k) for each argument that requires a gradient; k = -1 where the loss does not use it.
        self.wanted = [(i, slot.get(id(t), -1)) for i, t in enumerate(tracers) if requires[i]]
        targets = [k for _, k in self.wanted if k >= 0] + [k for k, *_ in self.captured]
        self.needs = leading_to(self.n_slots, self.equations, targets)
        self.bound = integer_options(self.equations)
        self.rules = pruned(self.equations, self.needs)[::-1]  # newest first
        self.forward_steps = _forward_steps(self.equations, set())
        self.learning = True  # the first replay checks every output, and remembers which need it
        self.name = name
        # The step as one generated function (`codegen.py`) and its text, written after the first replay.
        self.generated: Callable[[list[np.ndarray]], Any] | None = None
        self.source: str | None = None

    def warn_of_data(self, start: int, closed_over: set[int], name: str) -> None:
        """Warn of each large constant made outside the traced function: it looks like data, frozen.

        `start`: the creation number when the trace began; `closed_over`: the ids of the arrays the
        function reads from its closure and globals (a float array is lifted without a copy).
        """
        tensors, self.tensors_made = self.tensors_made, []  # kept no longer than this
        for k, _ in self.constants:
            t = tensors[k]
            outside = t._seq < start or id(t._data) in closed_over
            if outside and t.size >= LARGE_CONSTANT:
                warnings.warn(
                    f"{name} reads {t._label()}, which mg.compile froze into the trace as a constant: "
                    "later calls use its traced values even if it changes. If it is data, pass it as an "
                    "argument of the compiled step",
                    RuntimeWarning,
                    stacklevel=4,
                )

    def run(self, args: list[np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """The loss's value and the wanted gradients for these arguments (and the captured `.grad`s).

        The first call replays on the interpreter and learns what the generated step needs; later
        calls run the generated step (`source`), or the interpreter where it could not be written.
        """
        if self.generated is not None:
            return self.generated(args)
        if self.source is not None:
            return self.interpret(args)
        notes: dict[tuple[int, int], Any] = {}
        result, (sure, values) = self._replay(args, notes)
        self.generated, self.source = generate(self, Learned(sure, values, notes, len(args)), self.name)
        return result

    def interpret(self, args: list[np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """`run` on the interpreter: each equation's forward function, then `backward.run_rules`."""
        return self._replay(args, None)[0]

    def _replay(self, args: list[np.ndarray], notes: dict[tuple[int, int], Any] | None) -> tuple[Any, Any]:
        """The interpreter's replay; with `notes`, each rule's result is noted (`codegen.Watched`), and
        returned with the equations whose outputs were floating arrays (`~index`: floating NumPy scalars)
        and each slot's shape and dtype."""
        values = self._inputs(args)
        equations, steps = self.equations, self.forward_steps
        if self.bound:  # integer arguments used as options: this call's own
            equations = bind_options(equations, self.bound, args)
            steps = _forward_steps(equations, set())
        learned: set[int] | None = set() if self.learning or notes is not None else None
        _replay_forward(steps, values, learned)
        if learned is not None and not self.bound:
            self.forward_steps = _forward_steps(self.equations, learned)
        self.learning = False
        found = learned, [(np.shape(v), np.asarray(v).dtype) for v in values]
        J = values[0]
        if self.root_is_leaf:  # the loss is an argument or a constant
            J = np.array(J)
        if not self.wanted and not self.captured:
            return (J, ()), found
        grads: list[Any] = [None] * self.n_slots
        owned = [False] * self.n_slots
        grads[0], owned[0] = np.ones(J.shape, J.dtype), True  # as `backward()` seeds one element
        with rules_running(False):
            rules = pruned(equations, self.needs)[::-1] if self.bound else self.rules
            every_slot = range(self.n_slots)
            run_rules(
                rules if notes is None else watched(rules, notes), values, grads, owned, drop=every_slot
            )
            for k, t, *_ in self.captured:
                if grads[k] is not None:
                    store_gradient(t, grads[k], owned[k])
        wanted = [_argument_gradient(grads[k] if k >= 0 else None, owned[k], args[i]) for i, k in self.wanted]
        return (J, tuple(wanted)), found

    def options_for(self, j: int, args: list[np.ndarray]) -> dict[str, Any]:
        """Equation j's options with this call's integer arguments where they are options (an index)."""
        return {name: filled(v, args) for name, v in self.equations[j][2].items()}

    def _inputs(self, args: list[np.ndarray]) -> list[Any]:
        """The slots' values before the replay: arguments, captured Tensors' data (afresh), constants."""
        values: list[Any] = [None] * self.n_slots
        for i, k in self.arguments:
            values[k] = args[i]
        for k, i in self.integer_operands:
            values[k] = as_array(args[i])
        for k, t, shape, dtype in self.captured:
            data = t._data
            if data.shape != shape or data.dtype != dtype:
                changed_capture(t, shape, dtype)
            values[k] = data
        for k, value in self.constants:
            values[k] = value
        return values


def _forward_steps(equations: list[Equation], sure: set[int]) -> list[tuple[Any, ...]]:
    """(forward, first, second, k, sure, index, ins, options, name) for each equation.

    `first` and `second` are the input slots where there are one or two and no options, so that the
    replay calls the forward function directly (-1 otherwise). `sure` says the first replay found its
    output a floating array: NumPy's result type follows from the shapes and dtypes alone, the same
    at every call of a signature, so later replays check only that it is an array.
    """
    steps = []
    for index, (fn, ins, options, k, _) in enumerate(equations):
        simple = not options and len(ins) in (1, 2)
        first = ins[0] if simple else -1
        second = ins[1] if simple and len(ins) == 2 else -1
        steps.append((fn.forward, first, second, k, index in sure, index, ins, options, fn.name))
    return steps


def _replay_forward(steps: list[tuple[Any, ...]], values: list[Any], learned: set[int] | None) -> None:
    """Each equation's forward function on the arrays of its input slots, as `Op.__call__` calls it."""
    ndarray = np.ndarray
    for forward, first, second, k, sure, index, ins, options, name in steps:
        if second >= 0:
            data = forward(values[first], values[second])
        elif first >= 0:
            data = forward(values[first])
        else:
            data = forward(*[values[i] for i in ins], **options)
        if type(data) is not ndarray or not sure:
            if type(data) is not ndarray or data.dtype.kind != "f":
                if learned is not None and isinstance(data, np.floating):
                    learned.add(~index)  # a float scalar (a full reduction), which as_array only wraps
                data = as_array(data, f"{name}'s output")
            elif learned is not None:
                learned.add(index)
        values[k] = data


def _argument_gradient(g: np.ndarray | None, owned: bool, x: np.ndarray) -> np.ndarray:
    """An argument's gradient as the step returns it: an array of its own, zeros where none reached it."""
    if g is None:  # the loss does not depend on this argument
        return np.zeros_like(x)
    if g.shape != x.shape:  # cannot happen for operations whose shapes follow from their inputs' alone
        raise RuntimeError(f"compiled step: a gradient of shape {g.shape} for an argument of shape {x.shape}")
    return g if owned else g.copy()  # never the caller's array, nor one shared with another gradient
