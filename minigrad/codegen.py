"""A compiled step as one generated Python function: the replay without its interpreter.

`mg.compile`'s first call of a signature replays the trace through the backward pass's interpreter
(`run_rules`) and watches each rule's result: an array of its input's shape and dtype, or one to sum
back or cast (`fit_gradient`), or something else (None, a tuple, a Tensor). Shapes and dtypes are fixed
per signature, so every check the interpreter makes has a known answer from then on, and `generate`
writes the step as straight-line code with the answers built in (`Compiled.source` prints it):

    def lab_loss(args):
        v1, v2, v3, v4, v5, v6 = args
        v10 = matmul(v1, v5)
        v11 = add(v10, v2)
        v10 = released_v10  # no later rule reads its values
        ...
        with rules_running(False):
            g25 = one.copy()  # ones((), float64)
            # v25 = div(v24, c7)
            g24 = asarray(div_d0(g25, v25, v24, c7))
            del g25
            ...
            # v11 = add(v10, v2)
            g10 = add_d0(g11, v11, v10, v2)
            g2 = fit_gradient(add_d1(g11, v11, v10, v2), v2, 'add')[0]

The same NumPy calls on the same arrays in the same order as the interpreter, gradients added in the same
order, in place exactly where it adds in place: the same bits. A value dies after its last reader: a
forward value no rule reads at its last forward use (`del`; where a later rule is still passed it without
reading it, the stand-in `released` gives, which keeps its shape and dtype), a gradient once handed on.
"""

from __future__ import annotations

import keyword
import linecache
import re
import weakref
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from minigrad.backward import fit_gradient, rules_running, store_gradient
from minigrad.release import released
from minigrad.tensor import Tensor, as_array

# How the first replay found a rule's gradient for an input: (needs fit_gradient, the fitted one is new).
# FIT is a NumPy scalar of the input's shape and dtype, which `fit_gradient` only makes an array.
SAME, FIT, FIT_OWNED = (False, False), (True, False), (True, True)


def kind_of(gradient: Any, x: Any) -> tuple[bool, bool] | None:
    """What `run_rules` does with this gradient for input `x`, or None where it is neither an array nor
    a NumPy scalar (None, a tuple, a Tensor): such a trace keeps the interpreter."""
    if type(x) is not np.ndarray:
        return None
    if type(gradient) is np.ndarray:
        return SAME if gradient.shape == x.shape and gradient.dtype == x.dtype else FIT_OWNED
    if isinstance(gradient, np.generic):  # a ufunc on 0-d arrays gives a scalar
        array = np.asarray(gradient)
        return FIT if array.shape == x.shape and array.dtype == x.dtype else FIT_OWNED
    return None


class Watched:
    """An operation as the first replay's interpreter sees it: its own rules, each result noted in
    `notes[rule index, input position]` (`kind_of`)."""

    def __init__(self, fn: Any, index: int, notes: dict[tuple[int, int], Any]) -> None:
        self.fn, self.name, self.index, self.notes = fn, fn.name, index, notes
        rules = fn.input_rules
        self.input_rules = None if rules is None else tuple(self._watched(r, p) for p, r in enumerate(rules))

    def _watched(self, rule: Any, position: int) -> Any:
        def watched(g: Any, out: Any, *inputs: Any, **options: Any) -> Any:
            gradient = rule(g, out, *inputs, **options)
            self.notes[self.index, position] = kind_of(gradient, inputs[position])
            return gradient

        return watched

    def vjp(self, g: Any, out: Any, inputs: list[Any], options: dict[str, Any]) -> Any:
        """The operation's own `vjp`, each gradient noted."""
        gradients = self.fn.vjp(g, out, inputs, options)
        for position, gradient in enumerate(gradients):
            self.notes[self.index, position] = kind_of(gradient, inputs[position])
        return gradients

    def only_gradient(self, gradients: Any) -> Any:
        """The operation's own `only_gradient`."""
        return self.fn.only_gradient(gradients)


def watched(rules: list[Any], notes: dict[tuple[int, int], Any]) -> list[Any]:
    """The equations (newest first) with each operation `Watched`, for the first replay."""
    return [(Watched(fn, r, notes), *rest) for r, (fn, *rest) in enumerate(rules)]


def changed_capture(t: Tensor, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """The error for a closed-over Tensor whose shape or dtype changed since the trace."""
    raise ValueError(
        f"compiled step: {t._label()}, which the loss closes over, is now {t.shape} {t.dtype}; "
        f"it was traced as {shape} {dtype}. Compile the loss again"
    )


@dataclass
class Learned:
    """What the first replay of a signature found out."""

    sure: set[int]  # equations whose forward function gave a floating ndarray; ~index: a float scalar
    values: list[tuple[tuple[int, ...], np.dtype]]  # each slot's shape and dtype
    notes: dict[tuple[int, int], Any]  # (rule index, input position): `kind_of` its gradient
    n_args: int


def generate(trace: Any, learned: Learned, name: str) -> tuple[Any, str]:
    """The step as one function `step(args) -> (J, grads)`, with its source; (None, why not) where the
    first replay met a gradient that is not an array (the interpreter then keeps the trace)."""
    writer = _Writer(trace, learned)
    odd = writer.plan()
    if odd is not None:
        return None, f"# {name}: this trace runs on the interpreter (backward.run_rules): {odd}\n"
    function = _identifier(name if name.isidentifier() else "step", writer.namespace)
    source = writer.source(function)
    filename = f"<mg.compile {name} {id(writer):x}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks show it
    exec(compile(source, filename, "exec"), writer.namespace)
    step = writer.namespace[function]
    weakref.finalize(step, linecache.cache.pop, filename, None)  # a trace the cache dropped leaves no text
    return step, source


# The generated code's local names, and the builtin it calls: an operation named so is bound under another.
_LOCAL = re.compile(r"[vga]\d+|every\d*|options\d+|J|args|type")


def _identifier(name: str, taken: Container[str]) -> str:
    """`name` made a Python name not among `taken` (an operation called `sum` or `ones` stays readable)."""
    base = re.sub(r"\W", "_", name)
    if not base.isidentifier() or keyword.iskeyword(base) or _LOCAL.fullmatch(base):
        base = f"op_{base}"
    chosen, n = base, 1
    while chosen in taken:
        n += 1
        chosen = f"{base}{n}"
    return chosen


@dataclass
class _Step:
    """A stretch of the function: its lines, and the value slots it reads and names."""

    lines: list[str]
    reads: set[int] = field(default_factory=set)
    names: set[int] = field(default_factory=set)
    level: int = 0  # 1: inside `with rules_running(False):`
    after: list[str] = field(default_factory=list)  # lines once its values were dropped


class _Writer:
    """Writes one trace's step: forward steps, then the rules newest first, then the drops between them.

    Slot k is written `v{n}` (its value), `g{n}` (its gradient) or `c{n}` (a constant), n numbering the
    slots in the order the code makes them: arguments first, the loss last.
    """

    def __init__(self, trace: Any, learned: Learned) -> None:
        self.trace, self.learned = trace, learned
        self.namespace: dict[str, Any] = {
            "ndarray": np.ndarray,
            "as_array": as_array,
            "asarray": np.asarray,
            "array": np.array,
            "zeros_like": np.zeros_like,
            "fit_gradient": fit_gradient,
            "store_gradient": store_gradient,
            "rules_running": rules_running,
            "changed_capture": changed_capture,
        }
        self.bound: dict[tuple[int, str], str] = {}
        self.made = {k for _, _, _, k, _ in trace.equations}
        self.constants = {k for k, _ in trace.constants}
        order = [k for _, k in sorted(trace.arguments)] + [k for k, _ in trace.integer_operands]
        order += [k for k, *_ in trace.captured] + [k for k, _ in trace.constants]
        order += [k for *_, k, _ in trace.equations]
        self.number = {k: n + 1 for n, k in enumerate(dict.fromkeys(order))}
        self.local_options: dict[int, str] = {}
        self.fill = trace.options_for  # one bound method, bound once
        self.steps: list[_Step] = []
        self.head: list[str] = []

    def bind(self, value: Any, name: str) -> str:
        """The name under which the function reads `value` (bound once per object and role)."""
        key = (id(value), name)
        if key not in self.bound:
            self.bound[key] = _identifier(name, self.namespace)
            self.namespace[self.bound[key]] = value
        return self.bound[key]

    def v(self, k: int) -> str:
        """Slot k's value."""
        return f"c{self.number[k]}" if k in self.constants else f"v{self.number[k]}"

    def g(self, k: int) -> str:
        """Slot k's gradient."""
        return f"g{self.number[k]}"

    def like(self, k: int) -> str:
        """What `fit_gradient` reads of slot k (its shape and dtype): a made value may be gone by then."""
        if k not in self.made:
            return self.v(k)
        shape, dtype = self.learned.values[k]
        return self.bind(np.broadcast_to(np.zeros((), dtype), shape), f"like_{self.v(k)}")

    def options(self, k: int, options: dict[str, Any]) -> str:
        """The options of the equation making slot k: bound once, or this call's own (`options_for`)."""
        return self.local_options.get(k) or self.bind(options, f"o{self.number[k]}")

    def plan(self) -> str | None:
        """Write every step; the reason the trace cannot be generated, if any."""
        trace = self.trace
        for k, value in trace.constants:
            self.namespace[self.v(k)] = value
        self._inputs()
        for index, equation in enumerate(trace.equations):
            self.steps.append(self._forward(index, equation))
        if not trace.wanted and not trace.captured:
            self.steps.append(_Step([f"return {self._loss()}, ()"], names={0}))
            return None
        return self._backward()

    def _inputs(self) -> None:
        """Unpack the arguments; read each closed-over Tensor's array afresh, checking it kept its shape."""
        trace, names = self.trace, [f"a{i}" for i in range(self.learned.n_args)]
        for i, k in trace.arguments:
            names[i] = self.v(k)
        self.head.append(f"{', '.join(names)}{',' if len(names) == 1 else ''} = args")
        for k, i in trace.integer_operands:
            self.head.append(f"{self.v(k)} = as_array(a{i})")
        for k, t, shape, dtype in trace.captured:
            v, t_name, dtype_name = (
                self.v(k),
                self.bind(t, f"t{self.number[k]}"),
                self.bind(dtype, str(dtype)),
            )
            self.head.append(f"{v} = {t_name}._data")
            self.head.append(f"if {v}.shape != {shape!r} or {v}.dtype != {dtype_name}:")
            self.head.append(f"    changed_capture({t_name}, {shape!r}, {dtype_name})")

    def _forward(self, index: int, equation: Any) -> _Step:
        fn, ins, options, k, _ = equation
        forward, v = self.bind(fn.forward, fn.name), self.v(k)
        arguments, lines = [self.v(i) for i in ins], []
        if index in self.trace.bound:  # an integer argument is an option: each call's own
            self.local_options[k] = f"options{self.number[k]}"
            lines.append(f"{self.local_options[k]} = {self.bind(self.fill, 'options_for')}({index}, args)")
        if options:
            arguments.append(f"**{self.options(k, options)}")
        lines.append(f"{v} = {forward}({', '.join(arguments)})")
        if ~index in self.learned.sure:  # a float scalar: all `as_array` does is `asarray`
            lines[-1] = f"{v} = asarray({forward}({', '.join(arguments)}))"
        elif index not in self.learned.sure:  # the interpreter's check, where the first replay needed it
            lines.append(f'if type({v}) is not ndarray or {v}.dtype.kind != "f":')
            what = f"{fn.name}'s output"
            lines.append(f"    {v} = as_array({v}, {what!r})")
        return _Step(lines, reads=set(ins), names=set(ins))

    def _loss(self) -> str:
        return f"array({self.v(0)})" if self.trace.root_is_leaf else self.v(0)

    def _backward(self) -> str | None:
        """The seed, each rule newest first as `run_rules` calls it, the stores and the return."""
        shape, dtype = self.learned.values[0]
        self.owned: list[bool | None] = [None] * len(self.learned.values)  # None: no gradient yet
        self.owned[0] = True
        seed = self.bind(np.ones(shape, dtype), "one")  # copied: a rule may write into its g
        self.steps.append(_Step([f"J = {self._loss()}", "with rules_running(False):"]))
        self.steps.append(_Step([f"{self.g(0)} = {seed}.copy()  # ones({shape!r}, {dtype})"], level=1))
        for index, equation in enumerate(self.trace.rules):
            if self.owned[equation[3]] is None:  # no rule gave this slot a gradient: `run_rules` skips it
                continue
            step = self._rule(index, equation)
            if step is None:
                return f"{equation[0].name}'s rule gave a gradient that is not an array nor a NumPy scalar"
            self.steps.append(step)
        self.steps += self._stores()
        return None

    def _rule(self, index: int, equation: Any) -> _Step | None:
        """One equation's rules: the wanted inputs' gradients, each fitted and added as `run_rules` does."""
        fn, ins, options, k, wanted = equation
        step = _Step([f"# {self.v(k)} = {fn.name}({', '.join(self.v(i) for i in ins)})"], level=1)
        step.names = {k, *ins}
        step.reads = self._rule_reads(fn, ins, k, wanted)
        calls = self._calls(fn, ins, options, k, wanted, step)
        for (position, i), call in zip(wanted, calls):
            kind = self.learned.notes.get((index, position))
            if kind is None:
                return None
            step.lines.append(self._handed_on(i, kind, call, fn.name))
        step.after.insert(0, f"del {self.g(k)}")
        return step

    def _rule_reads(self, fn: Any, ins: tuple[int, ...], k: int, wanted: Any) -> set[int]:
        """The slots whose values the called rules read (`rule_reads`): the others may be stand-ins."""
        positions = [position for position, _ in wanted]
        read = {k} if fn.reads_output(positions) else set()
        return read | {i for j, i in enumerate(ins) if fn.reads_input(j, positions)}

    def _calls(self, fn: Any, ins: Any, options: Any, k: int, wanted: Any, step: _Step) -> list[str]:
        """The expression giving each wanted input's gradient, in `run_rules`'s order of calls."""
        given = f"{self.g(k)}, {self.v(k)}, {', '.join(self.v(i) for i in ins)}"
        rules = fn.input_rules
        if rules is not None and not options and len(ins) in (1, 2):  # called one at a time, directly
            return [f"{self.bind(rules[p], f'{fn.name}_d{p}')}({given})" for p, _ in wanted]
        if rules is None:  # the one rule, through `vjp`, which checks it gave one gradient per input
            vjp, o = self.bind(fn.vjp, f"{fn.name}_vjp"), self.options(k, options)
            inputs = ", ".join(self.v(i) for i in ins)
            step.lines.append(f"every = {vjp}({self.g(k)}, {self.v(k)}, [{inputs}], {o})")
            step.after.append("del every")
            return [f"every[{p}]" for p, _ in wanted]
        more = f", **{self.options(k, options)}" if options else ""
        for p, _ in wanted:  # each wanted input's own rule, all called before any is added
            step.lines.append(f"every{p} = {self.bind(rules[p], f'{fn.name}_d{p}')}({given}{more})")
        step.after += [f"del every{p}" for p, _ in wanted]
        return [f"every{p}" for p, _ in wanted]

    def _handed_on(self, i: int, kind: tuple[bool, bool], call: str, name: str) -> str:
        """`call`'s gradient into slot i's: the first kept as it is, the next added, in place if owned."""
        fit, mine = kind
        if kind == FIT:
            call = f"asarray({call})"
        elif fit:
            call = f"fit_gradient({call}, {self.like(i)}, {name!r})[0]"
        owned, g = self.owned[i], self.g(i)
        self.owned[i] = mine if owned is None else True
        if owned is None:
            return f"{g} = {call}"
        if owned:
            return f"{g} += {call}"
        if self.learned.values[i][0] == ():  # 0-d + 0-d is a NumPy scalar: `add_gradient` makes it an array
            return f"{g} = asarray({g} + {call})"
        return f"{g} = {g} + {call}"

    def _stores(self) -> list[_Step]:
        """Captured Tensors' gradients into `.grad`; the arguments' returned, each an array of its own."""
        lines = []
        for k, t, *_ in self.trace.captured:
            if self.owned[k] is not None:
                t_name = self.bind(t, f"t{self.number[k]}")
                lines.append(f"store_gradient({t_name}, {self.g(k)}, {self.owned[k]})")
        returned = []
        for i, k in self.trace.wanted:
            owned = None if k < 0 else self.owned[k]
            g = "" if k < 0 else self.g(k)
            returned.append(f"zeros_like(a{i})" if owned is None else g if owned else f"{g}.copy()")
        comma = "," if len(returned) == 1 else ""
        stores = [_Step(lines, level=1)] if lines else []
        return [*stores, _Step([f"return J, ({', '.join(returned)}{comma})"])]

    def source(self, function: str) -> str:
        """The function's text: each step, and after it the values nothing reads any more dropped."""
        last_read, last_named = {}, {}
        for position, step in enumerate(self.steps):
            for k in step.reads:
                last_read[k] = position
            for k in step.names:
                last_named[k] = position
        dropped: list[list[int]] = [[] for _ in self.steps]  # after each step, the values read last there
        for k, position in last_read.items():
            if k in self.made and k != 0:  # the loss is returned
                dropped[position].append(k)
        lines = [f"def {function}(args):", *("    " + line for line in self.head)]
        for position, step in enumerate(self.steps):
            indent = "    " * (step.level + 1)
            lines += [indent + line for line in step.lines]
            lines += [indent + self._dropped(k, last_named[k] > position) for k in sorted(dropped[position])]
            lines += [indent + line for line in step.after]
        return "\n".join(lines) + "\n"

    def _dropped(self, k: int, named_later: bool) -> str:
        if not named_later:
            return f"del {self.v(k)}"
        shape, dtype = self.learned.values[k]
        stand_in = released(np.broadcast_to(np.zeros((), dtype), shape))  # its shape and dtype, no values
        return (
            f"{self.v(k)} = {self.bind(stand_in, f'released_{self.v(k)}')}  # no later rule reads its values"
        )


__all__ = ["Learned", "Watched", "changed_capture", "generate", "kind_of", "watched"]
