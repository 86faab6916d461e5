"""Whether operations record a graph now, per thread, and the `no_grad` switch that turns it off."""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class _Mode(threading.local):
    """Per-thread state, as PyTorch's: one thread's `no_grad` leaves another's graph alone."""

    # Operations record a graph (False inside `no_grad`).
    grad_enabled = True
    # The backward pass runs rules on plain arrays: an operation called on arrays alone then returns
    # the array, so that a rule written with minigrad's functions costs what NumPy costs.
    rules_on_arrays = False
    # `mg.compile` is tracing a function: reading a Tensor's value would freeze it into the trace.
    tracing = False
    # While tracing: the Tensors made from an integer argument used as an operand, by id, with the
    # argument's position (`mg.compile` reads the argument into them afresh at each call).
    integer_operands: dict[int, tuple[Any, int]] | None = None


class TraceError(RuntimeError):
    """A value was read while `mg.compile` traced a function: the replay could not follow it."""


state = _Mode()


class IntegerArgument(np.ndarray):
    """An integer array argument (labels, indices) of a function that `mg.compile` traces.

    It stays an integer array, and the trace remembers where it was used (an option such as an index, or
    an operand), so that each call's own argument goes there. An array computed from it inside the traced
    function (`labels + 1`, `labels[:, None]`) is `derived`: the replay could not follow it.
    """

    position: int = -1
    derived: bool = True

    def __array_finalize__(self, obj: Any) -> None:
        self.position = getattr(obj, "position", -1)
        self.derived = True  # any array NumPy makes from it; `argument()` marks the argument itself

    @staticmethod
    def argument(array: np.ndarray, position: int) -> IntegerArgument:
        """The argument at `position`, marked."""
        marked = array.view(IntegerArgument)
        marked.position, marked.derived = position, False
        return marked


def is_grad_enabled() -> bool:
    """Whether operations record a graph now in this thread (False inside `no_grad`)."""
    return state.grad_enabled


class no_grad(contextlib.ContextDecorator):
    """Build no graph inside: `with no_grad(): ...`, or as a decorator `@no_grad()` or `@no_grad`.

    Operations inside return tensors with `requires_grad=False`. The switch is per thread. A decorated
    generator function builds no graph each time it runs, between its `yield`s.
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
        self._saved.append(state.grad_enabled)
        state.grad_enabled = False
        return self

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._saved.pop()

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.isgeneratorfunction(func):
            return super().__call__(func)

        @functools.wraps(func)
        def generator(*args: Any, **kwargs: Any) -> Any:
            # The body runs at each next(), not at the call: the switch must be on around each step.
            inner = func(*args, **kwargs)
            sent = None
            while True:
                with no_grad():
                    try:
                        value = inner.send(sent)
                    except StopIteration as stop:
                        return stop.value
                sent = yield value

        return generator
