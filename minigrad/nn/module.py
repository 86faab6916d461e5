"""`Module` and `Parameter`: a network as a tree of modules that own their Parameters, as in PyTorch.

Assigning a `Parameter` or a `Module` to an attribute registers it, in assignment order, under that
attribute's name; `named_parameters()` walks the tree and joins the names with dots (`"0.weight"`), which
are PyTorch's names for the same network, so that a `state_dict()` saved here loads into PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["IncompatibleKeys", "Module", "Parameter"]


class Parameter(Tensor):
    """A Tensor that a module owns and an optimiser steps: `requires_grad=True` always."""

    def __init__(self, data: Any, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What `load_state_dict(strict=False)` left out: names the module has that the state lacked, and back."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """The base of every layer and network: subclass it, assign Parameters and Modules in `__init__`
    (after `super().__init__()`), and write `forward`; calling the module calls `forward`."""

    training: bool

    def __init__(self) -> None:
        # Set through object.__setattr__: our own __setattr__ needs the registries to exist.
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        registries = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if registries[0] is None:
            raise AttributeError(
                f"{type(self).__name__}.{name} assigned before Module.__init__() ran: call "
                "super().__init__() first in __init__"
            )
        parameters, modules = registries
        # A name holds one thing: reassigning it unregisters the old one, but a Parameter replacing a
        # Parameter keeps its place (as in PyTorch), so that the state's order stays the same.
        if not isinstance(value, Parameter):
            parameters.pop(name, None)
        if not isinstance(value, Module):
            modules.pop(name, None)
        if isinstance(value, Parameter):
            parameters[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module computes; every subclass writes its own."""
        raise NotImplementedError(f"{type(self).__name__} has no forward(): define forward(self, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ----- the tree ---------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their attribute names, in assignment order."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """The direct sub-modules, in assignment order."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named `prefix`, "" by default) and every module below it, each once, depth first."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            below = [(_join(name, child_name), child) for child_name, child in module.named_children()]
            stack.extend(reversed(below))

    def modules(self) -> Iterator[Module]:
        """This module and every module below it, each once, depth first."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """`("hidden.weight", p)` for every Parameter of the tree, in registration order; a Parameter
        shared by two modules comes once (under its first name) unless `remove_duplicate=False`."""
        seen: set[int] = set()
        for module_name, module in self._all_modules(prefix):
            for name, p in module._parameters.items():
                if remove_duplicate and id(p) in seen:
                    continue
                seen.add(id(p))
                yield _join(module_name, name), p

    def parameters(self) -> Iterator[Parameter]:
        """Every Parameter of the tree, each once: what an optimiser takes."""
        for _, p in self.named_parameters():
            yield p

    def _all_modules(self, prefix: str) -> Iterator[tuple[str, Module]]:
        """Every module of the tree under every name it has (a shared module under each of them)."""
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            stack.extend(reversed([(_join(name, n), child) for n, child in module.named_children()]))

    # ----- training -----------------------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Every Parameter's `.grad` back to None, before the next backward pass adds to it."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Training mode (`mode=True`) or evaluation mode for this module and all below; returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode): mode must be True or False; got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (`Dropout` passes its input through): `train(False)`."""
        return self.train(False)

    # ----- state ----------------------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Dotted name -> a copy of each Parameter's data, every name (a shared Parameter under each)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters(remove_duplicate=False))

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy `state`'s values into the Parameters of the same names, each in its Parameter's dtype.

        Refused with a `ValueError` naming every offending key, and nothing changed, where a shape differs
        or, with `strict`, where a key is missing or unexpected. Returns the missing and unexpected keys.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict takes a mapping of name -> array; got {type(state).__name__}")
        own = dict(self.named_parameters(remove_duplicate=False))
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        values, problems = {}, []
        for name in own.keys() & state.keys():
            value = state[name]
            values[name] = np.asarray(value.data if isinstance(value, Tensor) else value)
            if values[name].shape != own[name].shape:
                problems.append(f"{name}: shape {values[name].shape} in the state, {own[name].shape} here")
            elif values[name].dtype.kind not in "fiub":
                problems.append(f"{name}: dtype {values[name].dtype} is not a number type")
        if strict:
            problems += [f"missing key {name!r}" for name in missing]
            problems += [f"unexpected key {name!r}" for name in unexpected]
        if problems:
            raise ValueError(
                f"load_state_dict into {type(self).__name__} refused: " + "; ".join(sorted(problems))
            )
        for name, value in values.items():
            own[name].data = np.array(value, dtype=own[name].dtype)  # a copy: the state stays the caller's
        return IncompatibleKeys(missing, unexpected)

    # ----- display --------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The sizes shown after the module's name in `repr`; each layer writes its own."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return "\n".join([*lines, ")"])


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
