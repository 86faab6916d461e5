"""`compile`: trace a loss once into a flat list of equations, then replay it on arrays.

A training step runs the same graph thousands of times. The first call traces the loss: it runs on
Tensors, and the graph it leaves is read into equations, each `out = op[options](inputs)`, over
numbered slots (the arguments first, then the constants and the outputs in creation order):

    slot 6 = matmul(0, 4)
    slot 7 = add(6, 1)
    slot 8 = sigmoid(7)
    ...

Later calls replay them: a forward loop calls each operation's forward function on arrays, and a
backward loop, newest equation first, calls the same rules as `backward()` does, undoes broadcasting
and adds contributions with the same functions (`fit_gradient`, `add_gradient`), in the same order.
The values and gradients are therefore those of the eager engine, to the last bit, without a Tensor,
a closure or a dictionary per operation.
"""

from __future__ import annotations

import functools
import gc
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.backward import add_gradient, fit_gradient
from minigrad.mode import TraceError, state
from minigrad.op import Op, operation_of
from minigrad.tensor import Tensor, as_array, creation_number

__all__ = ["Compiled", "TraceError", "compile"]


def compile(loss: Callable[..., Tensor] | None = None, *, cache_size: int = 8) -> Any:
    """`step = compile(loss)`; then `J, grads = step(*args)`: the loss's value and its gradients.

    `loss(*tensors)` returns a one-element Tensor built from minigrad operations. `step` takes the same
    arguments (Tensors, or arrays and numbers, which need no gradient) and returns `J`, the value as an
    array, and `grads`, a tuple of one array per argument with `requires_grad=True`, in argument order
    (zeros for one the loss does not depend on). Nothing is written to any `.grad`.

    The first call for a signature (each argument's shape, dtype and `requires_grad`) runs `loss` on
    Tensors and records its operations; later calls replay them. A new signature traces again; the last
    `cache_size` traces are kept. Usable as a decorator: `@mg.compile`.

    What a trace records is the operations, not the Python around them:
    - Tensors that `loss` closes over (and any value not computed from its arguments) are constants of
      the trace, copied when it was made: a parameter that changes between calls must be an argument.
    - Reading a value while tracing (`float(t)`, `t.item()`, `bool(t)`, an `if` on a tensor, `t < 0`,
      `t.numpy()`) raises `mg.TraceError`: the replay could not follow a branch or a mask chosen from
      the traced values. Write such a choice with operations (`mg.relu`, `mg.maximum`, `mg.where`), or
      compute it outside and pass it in. Reading `t.data` directly is not caught: it, too, is frozen.
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

    def __call__(self, *args: Any) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        arrays, key = [], []
        for i, a in enumerate(args):
            x = a.data if isinstance(a, Tensor) else _argument(a, i)
            arrays.append(x)
            key += (x.shape, x.dtype, isinstance(a, Tensor) and a.requires_grad)
        key = tuple(key)
        trace = self._cache.get(key)
        if trace is None:
            trace = self._trace(args, arrays, key[2::3])
            self._cache[key] = trace
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return trace.run(arrays)

    def _trace(self, args: tuple[Any, ...], arrays: list[np.ndarray], requires: tuple[bool, ...]) -> Trace:
        # Every argument requires a gradient while tracing, so that every operation that depends on one
        # is recorded (`1 - Y` too), not folded into a constant; the gradients are pruned afterwards.
        tracers = [
            Tensor(x, requires_grad=True, name=a.name if isinstance(a, Tensor) else None)
            for x, a in zip(arrays, args)
        ]
        saved = state.tracing, state.grad_enabled
        state.tracing, state.grad_enabled = True, True
        try:
            out = self.loss(*tracers)
        finally:
            state.tracing, state.grad_enabled = saved
        name = getattr(self.loss, "__name__", "loss")
        if not isinstance(out, Tensor):
            raise TypeError(f"compile: {name} must return a Tensor, got {type(out).__name__}")
        if out.size != 1:
            raise ValueError(
                f"compile: {name} must return a one-element Tensor (a loss), got shape {out.shape}"
            )
        self.traces += 1
        return Trace(out, tracers, requires)

    def __repr__(self) -> str:
        return f"<compiled {getattr(self.loss, '__name__', 'loss')}: {len(self._cache)} trace(s) cached>"


def _argument(a: Any, i: int) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.data
    return as_array(a, f"compiled step: argument {i}")


class Trace:
    """One signature's equations, and the replay of their forward and backward passes."""

    def __init__(self, out: Tensor, tracers: list[Tensor], requires: tuple[bool, ...]) -> None:
        n_args = len(tracers)
        slot = {id(t): i for i, t in enumerate(tracers)}
        constants: list[tuple[int, np.ndarray]] = []
        # (forward, input slots, options, output slot), in creation order: inputs before outputs.
        self.equations: list[tuple[Op, tuple[int, ...], dict[str, Any], int]] = []
        for t in _graph(out):
            if id(t) in slot:
                continue
            slot[id(t)] = k = n_args + len(constants) + len(self.equations)
            fn, options = operation_of(t)
            if fn is None:  # a constant: made of no argument, or a tensor from outside
                constants.append((k, np.array(t.data)))
            else:
                inputs = tuple(slot[id(p)] for p in t.parents)
                self.equations.append((fn, inputs, options, k))
        self.n_slots = n_args + len(constants) + len(self.equations)
        self.n_args = n_args
        self.constants = constants
        self.root = slot[id(out)]
        self.wanted = [i for i in range(n_args) if requires[i]]
        self.forward = self._forward_plan(set())
        self.backward = self._backward_plan(set())
        self.learning = True  # the first replay checks every output and gradient, and remembers which need it

    def _forward_plan(self, sure: set[int]) -> list[tuple[Any, ...]]:
        """(forward, first, second, k, sure, index, ins, options, name) for each equation.

        `first` and `second` are the input slots where there are one or two and no options, so that the
        replay calls the forward function directly (-1 otherwise). `sure` says the first replay found its
        output a floating array: NumPy's result type follows from the shapes and dtypes alone, the same
        at every call of a signature, so later replays check only that it is an array.
        """
        plan = []
        for index, (fn, ins, options, k) in enumerate(self.equations):
            simple = not options and len(ins) in (1, 2)
            first = ins[0] if simple else -1
            second = ins[1] if simple and len(ins) == 2 else -1
            plan.append((fn.forward, first, second, k, index in sure, index, ins, options, fn.name))
        return plan

    def _backward_plan(self, sure: set[int]) -> list[tuple[Any, ...]]:
        """One entry per rule to call, newest equation first: (k, last, rule, a, b, i, sure, index, equation).

        A slot needs a gradient where an argument that requires one is computed from it: rules for other
        inputs are never called, as `backward()` calls none for an input that requires no gradient. An
        operation with a rule per input, no options and one or two inputs has an entry per input that
        needs a gradient, its rule called directly on slots `a` (and `b`); `last` marks the equation's
        last entry, after which its gradient is dropped. Any other operation has one entry (rule None)
        that runs its `equation` whole. `sure`: the first replay found this rule's gradient of its
        input's shape and dtype already, so later replays check only that it is an array.
        """
        needs = [False] * self.n_slots
        for i in self.wanted:
            needs[i] = True
        for _, ins, _, k in self.equations:
            needs[k] = any(needs[i] for i in ins)
        plan: list[tuple[Any, ...]] = []
        for fn, ins, options, k in reversed(self.equations):
            if not needs[k]:
                continue
            wanted = tuple((position, i) for position, i in enumerate(ins) if needs[i])
            if fn.input_rules is not None and not options and len(ins) in (1, 2):
                a, b = ins[0], ins[1] if len(ins) == 2 else -1
                for n, (position, i) in enumerate(wanted):
                    index, last = len(plan), n == len(wanted) - 1
                    plan.append((k, last, fn.input_rules[position], a, b, i, index in sure, index, fn))
            else:
                plan.append((k, True, None, -1, -1, -1, False, len(plan), (fn, ins, options, wanted)))
        return plan

    def run(self, args: list[np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        learned: set[int] | None = set() if self.learning else None
        vals: list[Any] = [None] * self.n_slots
        vals[: self.n_args] = args
        for k, value in self.constants:
            vals[k] = value
        _replay_forward(self.forward, vals, learned)
        if learned is not None:
            self.forward = self._forward_plan(learned)
        J = vals[self.root]
        if self.root < self.n_args + len(self.constants):  # the loss is an argument or a constant
            J = np.array(J)
        if not self.wanted:
            self.learning = False
            return J, ()
        grads: list[Any] = [None] * self.n_slots
        owned: list[bool] = [False] * self.n_slots
        grads[self.root], owned[self.root] = np.ones_like(J), True  # as `backward()` seeds one element
        saved = state.grad_enabled, state.rules_on_arrays
        collector_was_on = gc.isenabled()
        gc.disable()
        state.grad_enabled, state.rules_on_arrays = False, True
        learned = set() if self.learning else None
        try:
            _replay_rules(self.backward, vals, grads, owned, learned)
        finally:
            state.grad_enabled, state.rules_on_arrays = saved
            if collector_was_on:
                gc.enable()
        if learned is not None:
            self.backward = self._backward_plan(learned)
            self.learning = False
        return J, tuple(_result(grads[i], owned[i], vals[i]) for i in self.wanted)


def _replay_forward(plan: list[tuple[Any, ...]], vals: list[Any], learned: set[int] | None) -> None:
    """Each equation's forward function on the arrays of its input slots, as `Op.__call__` calls it."""
    ndarray = np.ndarray
    for forward, first, second, k, sure, index, ins, options, name in plan:
        if second >= 0:
            data = forward(vals[first], vals[second])
        elif first >= 0:
            data = forward(vals[first])
        else:
            data = forward(*[vals[i] for i in ins], **options)
        if type(data) is not ndarray or not sure:
            if type(data) is not ndarray or data.dtype.kind != "f":
                data = as_array(data, f"{name}'s output")
            elif learned is not None:
                learned.add(index)
        vals[k] = data


def _replay_rules(
    plan: list[tuple[Any, ...]],
    vals: list[Any],
    grads: list[Any],
    owned: list[bool],
    learned: set[int] | None,
) -> None:
    """The backward pass over slots: what `backward()` does over Tensors, rule for rule, in its order.

    `grads[k]` is slot k's gradient so far and `owned[k]` whether the pass made that array (and so may
    add into it in place), as the `(array, owned)` entries of the eager pass.
    """
    ndarray = np.ndarray
    for k, last, rule, a, b, i, sure, index, equation in plan:
        g = grads[k]
        if g is None:  # no rule gave this slot a gradient
            continue
        if last:
            grads[k] = None
        if rule is None:
            _replay_equation(equation, g, vals[k], vals, grads, owned)
            continue
        pg = rule(g, vals[k], vals[a]) if b < 0 else rule(g, vals[k], vals[a], vals[b])
        if pg is None:
            continue
        if type(pg) is not ndarray:  # a one-input rule may return `(gradient,)`
            pg = equation.only_gradient(pg)
            if pg is None:
                continue
        if sure and type(pg) is ndarray:
            mine = False
        else:
            fitted, mine = fit_gradient(pg, vals[i], equation.name)
            if learned is not None and fitted is pg:
                learned.add(index)
            pg = fitted
        if grads[i] is None:
            grads[i] = pg
            owned[i] = mine
        else:
            grads[i], owned[i] = add_gradient((grads[i], owned[i]), pg)


def _replay_equation(
    equation: tuple[Any, ...], g: Any, out: Any, vals: list[Any], grads: list[Any], owned: list[bool]
) -> None:
    """The rules of an operation with options, one rule for all inputs, or more than two inputs."""
    fn, ins, options, wanted = equation
    inputs = [vals[i] for i in ins]
    results = fn.vjp(g, out, inputs, options) if fn.input_rules is None else None
    for position, i in wanted:
        pg = fn.input_rules[position](g, out, *inputs, **options) if results is None else results[position]
        if pg is None:
            continue
        pg, mine = fit_gradient(pg, vals[i], fn.name)
        if grads[i] is None:
            grads[i], owned[i] = pg, mine
        else:
            grads[i], owned[i] = add_gradient((grads[i], owned[i]), pg)


def _result(g: np.ndarray | None, owned: bool, x: np.ndarray) -> np.ndarray:
    if g is None:  # the loss does not depend on this argument
        return np.zeros_like(x)
    if g.shape != x.shape:  # cannot happen for operations whose shapes follow from their inputs' alone
        raise RuntimeError(f"compiled step: a gradient of shape {g.shape} for an argument of shape {x.shape}")
    return g if owned else g.copy()  # never the caller's array, nor one shared with another gradient


def _graph(out: Tensor) -> list[Tensor]:
    """Every tensor `out` was computed from, and `out`, in creation order (inputs before outputs)."""
    nodes = {id(out): out}
    stack = [out]
    while stack:
        for parent in stack.pop().parents:
            if id(parent) not in nodes:
                nodes[id(parent)] = parent
                stack.append(parent)
    return sorted(nodes.values(), key=creation_number)
