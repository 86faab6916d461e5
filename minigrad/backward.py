"""The backward pass: the graph as equations, newest first, each gradient handed to its operation's rule.

One walker (`equations_of`) reads a graph into equations, each `out = op[options](inputs)` over numbered
slots; one interpreter (`run_rules`) runs the rules over them. `t.backward()`, `mg.grad` and the replay
of `mg.compile` all call that one loop, so a compiled step's gradients are the eager ones by
construction (as JAX's Autodidax transposes a jaxpr), and `mg.draw_graph` walks with the same walker.
On an ordinary pass the rules see arrays; with `create_graph=True` they see Tensors and record the graph
of the gradient itself, which is how gradients of gradients come from the same rules.
Broadcasting is undone in one place (`fit_gradient`), for every rule.
"""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Callable, Container, Iterable, Sequence
from typing import Any

import numpy as np

from minigrad.mode import state
from minigrad.op import NO_OPTIONS, Op
from minigrad.release import RELEASE_FROM, unheld, withheld
from minigrad.tensor import Tensor, as_array
from minigrad.versions import changed_after, creation_number, last_write

# `(operation, input slots, options, output slot, wanted)`: one operation of a graph, over numbered slots;
# `wanted` holds `(position, slot)` for each input that needs a gradient (the only rules called).
Equation = tuple[Op, tuple[int, ...], dict[str, Any], int, tuple[tuple[int, int], ...]]

_one_pass_at_a_time = threading.RLock()


# ----- the entry points ---------------------------------------------------------------------------


def backward(self: Tensor, grad: Any = None) -> None:
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
    tensors, equations = equations_of(self, every_input=False)
    with rules_running(False):  # storing too: two threads adding into one leaf's .grad would lose updates
        grads, owned, dropped = _propagate(tensors, equations, seed, False)
        stale = store_gradients(tensors, grads, owned, self._seq)
        stale += _reached_again(tensors, dropped, self._seq)
    _watch_growth(stale)


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
    inputs = _checked_inputs(output, inputs)
    seed = _seed(output, grad_output, "grad(): grad_output")
    if not output.requires_grad:
        return tuple(_grad_result(None, False, x, create_graph) for x in inputs)
    if create_graph:  # a grad_output that is itself in a graph is differentiated through, as in PyTorch
        seed = grad_output if isinstance(grad_output, Tensor) else Tensor(seed)
    tensors, equations = equations_of(output, every_input=False)
    slot = {id(t): k for k, t in enumerate(tensors)}
    targets = [slot[id(x)] for x in inputs if id(x) in slot]
    equations = pruned(equations, leading_to(len(tensors), equations, targets))
    with rules_running(create_graph):
        grads, owned, _ = _propagate(tensors, equations, seed, create_graph)
    results = []
    for x in inputs:
        k = slot.get(id(x))
        results.append(
            _grad_result(None if k is None else grads[k], k is not None and owned[k], x, create_graph)
        )
    return tuple(results)


def _checked_inputs(output: Any, inputs: Any) -> tuple[Tensor, ...]:
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
    return inputs


def _grad_result(g: Any, owned: bool, x: Tensor, create_graph: bool) -> Tensor:
    """One of `grad`'s answers: a Tensor of its own (zeros where `output` does not depend on `x`)."""
    if g is None:
        return Tensor(np.zeros_like(x._data))
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
    tensors: list[Tensor], equations: list[Equation], seed: Any, create_graph: bool
) -> tuple[list[Any], list[bool], set[int]]:
    """The eager pass: the root's gradient (slot 0) through every rule, on arrays or on Tensors; and the
    slots whose gradients it dropped (`release.unheld`)."""
    grads: list[Any] = [None] * len(tensors)
    owned = [False] * len(tensors)
    grads[0], owned[0] = seed, True
    values = tensors if create_graph else [t._data for t in tensors]
    if RELEASE_FROM == 0 and not create_graph:  # every value no rule reads let go: the rules get none of them
        values = withheld(values, equations)
    dropped = unheld(tensors, equations)
    run_rules(reversed(equations), values, grads, owned, drop=dropped)
    return grads, owned, dropped


# ----- the walker: a graph as equations -------------------------------------------------------------


def equations_of(root: Tensor, every_input: bool = True) -> tuple[list[Tensor], list[Equation]]:
    """The tensors of `root`'s graph by slot, and its equations in creation order (inputs first).

    Breadth first from `root` (slot 0), iterative. `every_input` follows every input, one slot per tensor
    (drawing, tracing); otherwise only those that require a gradient, and a tensor changed since the graph
    read it is an error (the backward pass: its rule would read the new value).
    """
    slots = {id(root): 0}
    tensors = [root]
    made_at: list[int] = []
    equations: list[Equation] = []
    check, since = not every_input, last_write()  # a tensor made after the last write needs no look-up
    for k, t in enumerate(tensors):  # the list grows as the walk finds inputs
        fn = t._fn
        if fn is not None and (k == 0 or every_input or t.requires_grad):
            made = t._seq
            if check and since > made and changed_after(t, made):  # its value, which its rule reads, changed
                raise _changed_since(t, t)
            ins, wanted = [], []
            for parent in t._parents:
                if check and (since > made or parent._print is not None) and changed_after(parent, made):
                    raise _changed_since(parent, t)
                if parent.requires_grad:  # one slot per tensor
                    s = slots.get(id(parent))
                    if s is None:
                        s = slots[id(parent)] = len(tensors)
                        tensors.append(parent)
                    wanted.append((len(ins), s))
                elif every_input:
                    s = slots.setdefault(id(parent), len(tensors))
                    if s == len(tensors):
                        tensors.append(parent)
                else:  # a value for the rules, never given a gradient: a slot of its own, found faster
                    s = len(tensors)
                    tensors.append(parent)
                ins.append(s)
            made_at.append(made)
            equations.append((fn, tuple(ins), t._options or NO_OPTIONS, k, tuple(wanted)))
    return tensors, _in_creation_order(made_at, equations)


def _in_creation_order(made_at: list[int], equations: list[Equation]) -> list[Equation]:
    """Creation order is a topological order: inputs are always made first. The walk from the root
    finds a chain newest first, so the common case is a reversal."""
    if sorted(made_at, reverse=True) == made_at:
        equations.reverse()
        return equations
    order = sorted(range(len(made_at)), key=made_at.__getitem__)
    return [equations[j] for j in order]


def leading_to(n_slots: int, equations: list[Equation], targets: Iterable[int]) -> list[bool]:
    """Which slots a gradient reaches a target through (the targets included): those worth a rule."""
    needs = [False] * n_slots
    for k in targets:
        needs[k] = True
    for _, ins, _, k, _ in equations:  # inputs before the outputs made from them
        if not needs[k]:
            needs[k] = any(needs[i] for i in ins)
    return needs


def pruned(equations: list[Equation], needs: Sequence[bool]) -> list[Equation]:
    """The equations whose output needs a gradient, each wanting only the inputs that need one."""
    kept = []
    for fn, ins, options, k, wanted in equations:
        if needs[k]:
            kept.append((fn, ins, options, k, tuple((p, i) for p, i in wanted if needs[i])))
    return kept


def _changed_since(changed: Tensor, user: Tensor) -> RuntimeError:
    """A tensor's data changed after an operation of the graph read it: its gradients would be stale."""
    return RuntimeError(
        f"{changed._label()} was changed (an optimiser's step, `-=` under no_grad, or an assignment to "
        f".data) after the graph read it (in {user.op or 'the graph'}): back-propagating that graph would "
        "mix the new values with the old. Run the forward pass again, then backward()"
    )


# ----- the interpreter: one loop over equations, for the eager pass and the compiled replay ----------


class rules_running:  # named as the function it replaced: `with rules_running(False):`
    """Around a run of rules: one pass at a time, no cycle collector, operations on arrays.

    The pass makes no reference cycles, but its allocations would set off the cycle collector, which
    walks every tensor of the graph. One pass at a time, in any thread: two passes adding into one
    leaf's .grad would lose updates. A class, not a generator: entered once per compiled step.
    """

    def __init__(self, create_graph: bool) -> None:
        self.create_graph = create_graph

    def __enter__(self) -> None:
        _one_pass_at_a_time.acquire()
        self.saved = state.grad_enabled, state.rules_on_arrays
        self.collector_was_on = gc.isenabled()
        gc.disable()
        state.grad_enabled, state.rules_on_arrays = self.create_graph, not self.create_graph

    def __exit__(self, *exception: object) -> None:
        state.grad_enabled, state.rules_on_arrays = self.saved
        if self.collector_was_on:
            gc.enable()
        _one_pass_at_a_time.release()


def run_rules(
    equations: Iterable[Equation],
    values: list[Any],
    grads: list[Any],
    owned: list[bool],
    drop: Container[int],
) -> None:
    """Each equation's rules, newest first: `grads[k]`, slot k's gradient, handed to its wanted inputs;
    `values[k]` its value (Tensors with `create_graph`); `owned[k]`: the pass made `grads[k]` (may add in
    place); `drop`: slots whose gradients leave `grads` once handed on (all when compiled; the eager pass
    stores the others in `.grad`)."""
    ndarray = np.ndarray
    for fn, ins, options, k, wanted in equations:
        g = grads[k]
        if g is None:  # no rule gave this slot a gradient
            continue
        if k in drop:
            grads[k] = None
        out = values[k]
        rules = fn.input_rules
        n = 0 if options or rules is None else len(ins)  # 1 or 2: rules called directly, not with *inputs
        every = None if n in (1, 2) else _gradients(fn, g, out, [values[i] for i in ins], options, wanted)
        a, b = values[ins[0]], values[ins[1]] if n == 2 else None
        for position, i in wanted:
            if every is not None:
                pg = every[position]
            else:
                pg = rules[0](g, out, a) if n == 1 else rules[position](g, out, a, b)
            x = values[i]
            if type(pg) is not ndarray or type(x) is not ndarray:  # None, a tuple, a number, or a Tensor
                pg, mine = _fitted(pg, x, fn)
                if pg is None:
                    continue
            elif pg.shape == x.shape and (pg.dtype is x.dtype or pg.dtype == x.dtype):  # NumPy's dtypes are
                mine = False  # nearly always the same object, and `is` costs far less than `==`
            else:  # to be summed back or cast
                pg, mine = fit_gradient(pg, x, fn.name)
            total = grads[i]
            grads[i], owned[i] = (pg, mine) if total is None else add_gradient(total, owned[i], pg)


def _gradients(
    fn: Op, g: Any, out: Any, inputs: list[Any], options: dict[str, Any], wanted: tuple[tuple[int, int], ...]
) -> Sequence[Any]:
    """The wanted inputs' gradients by position, from the one rule or from each wanted input's own."""
    rules = fn.input_rules
    if rules is None:
        return fn.vjp(g, out, inputs, options)
    every: list[Any] = [None] * len(inputs)
    for position, _ in wanted:
        every[position] = rules[position](g, out, *inputs, **options)
    return every


def _fitted(grad: Any, x: Any, fn: Op) -> tuple[Any, bool]:
    """A rule's gradient for `x`, not an array or for a Tensor (`create_graph`), made one like x (or None)."""
    if grad is None:
        return None, False
    grad = fn.only_gradient(grad)  # a one-input rule may return `(gradient,)`
    if grad is None:
        return None, False
    if isinstance(x, Tensor):  # create_graph: the gradient is in the graph too
        return _shaped_tensor(grad, x, fn.name)
    return fit_gradient(grad, x, fn.name)


def add_gradient(total: Any, owned: bool, more: Any) -> tuple[Any, bool]:
    """One more contribution to a gradient: in place only into an array the pass made (`owned`).

    With `create_graph` the gradients are Tensors, and the sum is an operation of the graph.
    """
    if isinstance(total, Tensor):
        return total + more, True
    if owned:
        total += more
        return total, True
    return _added(total, more), True


def _added(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = a + b
    return total if type(total) is np.ndarray else np.asarray(total)  # 0-d + 0-d is a NumPy scalar


def fit_gradient(grad: Any, like: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """A rule's gradient as an array summed back to the shape of its input `like`, in its dtype.

    The one place broadcasting is undone. Returns it with whether it is a new array (which the pass
    may then add into in place).
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
        grad = _unbroadcast(grad, x.shape, name, Tensor.sum)
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


# ----- into .grad -----------------------------------------------------------------------------------


def store_gradients(
    tensors: Sequence[Tensor], grads: list[Any], owned: list[bool], root_seq: int
) -> list[Tensor]:
    """Add this pass's gradient of each tensor to its `.grad`; the intermediates an earlier pass reached.

    An intermediate reached for the first time keeps the pass's array as it is; a leaf's `.grad` is
    always an array of its own.
    """
    stale = []
    for t, g, mine in zip(tensors, grads, owned):
        if g is None:
            continue
        if t._grad is None and t._fn is not None:  # an intermediate, reached for the first time
            t._grad = g
            t._grad_root = root_seq
        elif store_gradient(t, g, mine, root_seq):
            stale.append(t)
    return stale


def store_gradient(t: Tensor, g: np.ndarray, owned: bool, root_seq: int = -1) -> bool:
    """Add a pass's gradient `g` to `t.grad`, as `backward()` does; `owned`: the pass made `g`.

    Returns whether `t` is an intermediate that an earlier pass from another output reached too.
    """
    stale = False
    if t._grad is None:
        if t._fn is None and not owned:
            g, owned = g.copy(), True
        t._grad, t._grad_own = g, owned and t._fn is None
    else:
        stale = t._fn is not None and t._grad_root != root_seq
        if t._grad_own and t._grad.flags.writeable:
            t._grad += g
        else:
            t._grad, t._grad_own = _added(t._grad, g), True
    t._grad_root = root_seq
    return stale


def _reached_again(tensors: Sequence[Tensor], dropped: set[int], root_seq: int) -> list[Tensor]:
    """The intermediates whose gradients were dropped that an earlier pass from another output reached
    too: for `_watch_growth`, as `store_gradient` finds those it stores."""
    again = []
    for k in dropped:
        t = tensors[k]
        if t._grad_root != -1 and t._grad_root != root_seq:
            again.append(t)
        t._grad_root = root_seq
    return again


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
        leaf = min(stale, key=creation_number)  # the oldest
        while leaf._parents:
            leaf = next((p for p in leaf._parents if p.requires_grad), leaf._parents[0])
        warnings.warn(
            f"backward() went again through the earlier steps made from {leaf._label()}: the graph keeps "
            "every step and grows each time, so each pass is slower than the last. To update a "
            "parameter, change it in place without recording a graph: `with mg.no_grad(): W -= lr * "
            "W.grad` (or `W.data -= lr * W.grad`), then `W.zero_grad()`",
            RuntimeWarning,
            stacklevel=3,
        )


__all__ = [
    "Equation",
    "add_gradient",
    "backward",
    "equations_of",
    "fit_gradient",
    "grad",
    "leading_to",
    "pruned",
    "rules_running",
    "run_rules",
    "store_gradient",
    "store_gradients",
]
