"""Which values a rule reads: the output, some inputs, or none, found in the rule's own code.

A rule `rule(g, out, *inputs, **options)` may need the output (sigmoid's `g * out * (1 - out)`), some
inputs (the product's `g * y`) or no value at all (the sum's `g`). The graph keeps alive only the values
some rule reads, as PyTorch's saved tensors do, and lets the others go during the forward pass
(`release.py`). Nobody has to declare it: a parameter the rule's code never loads is never read, and
one loaded only for its `.shape`, `.dtype`, `.ndim` or `.size` reads no value (a released value keeps
those four). Where the code cannot tell (a builtin, a `functools.partial`, a callable object, `locals()`
or `eval` in the body), the rule reads everything.
"""

from __future__ import annotations

import dis
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

# What a released value still answers; reading only these is not reading the value.
METADATA = frozenset({"shape", "dtype", "ndim", "size"})
# Names that reach a frame's variables by name, out of the code's sight: as a global or an import
# (`sys`, `from inspect import currentframe`), or as an attribute (`builtins.locals`, `frame.f_locals`).
# A debugger too: `breakpoint()` in a rule shows its values, not released ones.
_BY_NAME = frozenset(
    {"locals", "vars", "eval", "exec", "_getframe", "currentframe", "f_locals", "breakpoint", "set_trace"}
)
_MODULES = frozenset({"sys", "inspect", "builtins", "pdb"})
_NAMING = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_ATTR", "LOAD_METHOD", "IMPORT_NAME", "IMPORT_FROM"})


class Reads(NamedTuple):
    """What one rule reads: the output, the input positions it names, and every input past those."""

    out: bool
    inputs: frozenset[int]
    rest: int  # inputs at this position and after (a rule's `*inputs`) are read; a large number if none

    def reads_input(self, position: int) -> bool:
        return position in self.inputs or position >= self.rest


EVERYTHING = Reads(True, frozenset(), 0)


def reads_of(rule: Callable[..., Any]) -> Reads:
    """What `rule(g, out, *inputs, **options)` reads, from its code; everything where that cannot be told."""
    if not inspect.isfunction(rule):
        return EVERYTHING
    code = rule.__code__
    names = _names_read(code)
    if names is None:
        return EVERYTHING
    positional = code.co_varnames[: code.co_argcount]
    star = (
        code.co_varnames[code.co_argcount + code.co_kwonlyargcount]
        if code.co_flags & inspect.CO_VARARGS
        else None
    )
    roles = positional[1:]  # out, then the inputs by position
    star_read = star is not None and star in names
    out = roles[0] in names if roles else star_read
    inputs = frozenset(j for j, name in enumerate(roles[1:]) if name in names)
    rest = max(len(roles) - 1, 0) if star_read else 1 << 30
    return Reads(out, inputs, rest)


def _names_read(code: Any) -> frozenset[str] | None:
    """The local names the code loads for more than their metadata; None if it may reach them by name."""
    read = names_loaded(list(dis.get_instructions(code)))
    return None if read is None else read | frozenset(code.co_cellvars)  # read by nested functions


def names_loaded(instructions: list[dis.Instruction]) -> frozenset[str] | None:
    """The local names these instructions load for more than their metadata; None if they may reach
    them by name. Python 3.13 loads two at once (`LOAD_FAST_LOAD_FAST (g, x)` before `x.shape`) and
    stores one then loads one (`STORE_FAST_LOAD_FAST`): the last loaded is the one an attribute follows."""
    read = set()
    for i, instruction in enumerate(instructions):
        opname, argval = instruction.opname, instruction.argval
        if opname in _NAMING and (argval in _BY_NAME or (argval in _MODULES and opname != "LOAD_ATTR")):
            return None
        if "FAST" not in opname:
            continue
        loaded = argval if isinstance(argval, tuple) else (argval,)
        if opname.startswith("STORE_FAST_LOAD"):
            loaded = loaded[1:]
        elif opname.startswith("STORE_"):  # STORE_FAST, STORE_FAST_STORE_FAST, STORE_FAST_MAYBE_NULL
            continue
        read.update(loaded[:-1])
        if not _metadata_only(instructions, i):
            read.add(loaded[-1])
    return frozenset(read)


def _metadata_only(instructions: list[dis.Instruction], i: int) -> bool:
    following = instructions[i + 1] if i + 1 < len(instructions) else None
    return following is not None and following.opname == "LOAD_ATTR" and following.argval in METADATA


__all__ = ["EVERYTHING", "METADATA", "Reads", "names_loaded", "reads_of"]
