"""The backward pass: the graph in creation order, each gradient handed to its operation's rule.

One interpreter of rules serves `t.backward()` and `mg.grad`. On an ordinary pass the rules see
arrays; with `create_graph=True` they see Tensors and record the graph of the gradient itself, which
is how gradients of gradients come from the same rules.
Broadcasting is undone in one place (`fit_gradient`), for every rule.
"""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.mode import state
from minigrad.op import NO_OPTIONS, Op
from minigrad.tensor import Tensor, as_array, changed_after, creation_number

_one_pass_at_a_time = threading.RLock()


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
    _propagate(self, seed, None, create_graph=False)


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
        rules = fn.input_rules
        grads = fn.vjp(g, out, inputs, options or NO_OPTIONS) if rules is None else None
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
                pending[key] = (pending[key][0] + pg, True)
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
        if node._fn is not None and changed_after(node, made):  # its value, which its rule reads, changed
            raise _changed_since(node, node)
        for parent in node._parents:
            if changed_after(parent, made):
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


__all__ = ["add_gradient", "backward", "fit_gradient", "grad"]
