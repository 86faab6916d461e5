"""Integer arguments of a compiled step used as options (an index, `logits[rows, y]`): each call's own go in.

While tracing, such an argument is an `IntegerArgument` in an equation's options. The trace marks where
(`integer_options`), and each call fills this call's arrays in (`bind_options`, `filled`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.backward import Equation
from minigrad.mode import IntegerArgument, TraceError


class ArgumentAt:
    """In a recorded option: the integer argument at `position`, filled in at each call."""

    def __init__(self, position: int) -> None:
        self.position = position


def integer_options(equations: list[Equation]) -> list[int]:
    """Mark where an integer argument is an option; the indices of those equations (changed in place)."""
    bound = []
    for j, (fn, ins, options, k, wanted) in enumerate(equations):
        marked = {name: _marked(value, fn.name) for name, value in options.items()}
        if any(marked[name] is not options[name] for name in options):
            equations[j] = (fn, ins, marked, k, wanted)
            bound.append(j)
    return bound


def _marked(value: Any, name: str) -> Any:
    if isinstance(value, IntegerArgument):
        if value.derived:
            raise TraceError(
                f"{name} was given an array computed from integer argument {value.position} inside the "
                "function mg.compile traces: the compiled step could not recompute it from each call's "
                "argument. Compute it outside and pass it in as an argument"
            )
        return ArgumentAt(value.position)
    if isinstance(value, tuple | list):
        marked = type(value)(_marked(v, name) for v in value)
        return value if all(a is b for a, b in zip(marked, value)) else marked
    return value


def bind_options(equations: list[Equation], bound: list[int], args: list[np.ndarray]) -> list[Equation]:
    """The equations with this call's integer arguments in the options that hold them."""
    equations = list(equations)
    for j in bound:
        fn, ins, options, k, wanted = equations[j]
        equations[j] = (fn, ins, {name: filled(v, args) for name, v in options.items()}, k, wanted)
    return equations


def filled(value: Any, args: list[np.ndarray]) -> Any:
    if isinstance(value, ArgumentAt):
        return args[value.position]
    if isinstance(value, tuple | list):
        return type(value)(filled(v, args) for v in value)
    return value


__all__ = ["ArgumentAt", "bind_options", "filled", "integer_options"]
