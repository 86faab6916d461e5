"""The layers: `Linear`, `Sequential`, the activations `ReLU`, `Sigmoid`, `Tanh`, and `Dropout`.

One example per row, as in PyTorch: `x` is `(batch, features)`. The names and shapes of the Parameters
are PyTorch's (`weight (out_features, in_features)`, `bias (out_features,)`), which is also the lab's
layout of `W` (`(n_h, n_x)`); only the bias is a vector here where the lab keeps a column.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.nn import functional as F
from minigrad.nn.module import Module, Parameter
from minigrad.ops import relu, sigmoid, tanh
from minigrad.tensor import Tensor

__all__ = ["Dropout", "Linear", "ReLU", "Sequential", "Sigmoid", "Tanh"]

Seed = int | np.random.Generator | None


class Linear(Module):
    """`y = x @ weight.T + bias`, for `x` of shape `(..., in_features)`.

    `weight ~ U(-sqrt(1/in_features), +sqrt(1/in_features))`: the lab's bound, which is also PyTorch's
    default bound for `nn.Linear`'s weight. `bias = 0`, as in the lab (PyTorch draws it from the same
    bound). `seed` (a number, or a `np.random.Generator` to draw from) makes the draw repeatable.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        seed: Seed = None,
        dtype: Any = np.float64,
    ) -> None:
        super().__init__()
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
                raise ValueError(f"Linear: {what} must be a positive whole number; got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        bound = math.sqrt(1 / self.in_features)
        draw = np.random.default_rng(seed).uniform(-bound, bound, (self.out_features, self.in_features))
        self.weight = Parameter(draw.astype(dtype))
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        """`x @ weight.T + bias`; a `ValueError` naming the layer and both widths where `x` does not fit."""
        shape = np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: input of shape {shape} has {shape[-1] if shape else 'no'} features on its last "
                f"axis; this layer takes {self.in_features}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        """`in_features=..., out_features=..., bias=...`, shown in the model's repr."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Sequential(Module):
    """The modules applied one after the other; children named `"0"`, `"1"`, ... (PyTorch's names)."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, not a Module")
            setattr(self, str(i), module)

    def forward(self, x: Any) -> Any:
        """Each module's output is the next one's input."""
        for module in self:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        if not -len(modules) <= index < len(modules):
            raise IndexError(f"Sequential of {len(modules)} modules has no module {index}")
        return modules[index]

    def append(self, module: Module) -> Sequential:
        """Add `module` at the end, named by its position; returns self."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: a {type(module).__name__} is not a Module")
        setattr(self, str(len(self)), module)
        return self


class ReLU(Module):
    """`max(x, 0)`, elementwise; its derivative at 0 is 0 (as PyTorch's and the lab's)."""

    def forward(self, x: Any) -> Tensor:
        """`relu(x)`."""
        return relu(x)


class Sigmoid(Module):
    """`1 / (1 + e^-x)`, elementwise, stable at any x."""

    def forward(self, x: Any) -> Tensor:
        """`sigmoid(x)`."""
        return sigmoid(x)


class Tanh(Module):
    """`tanh(x)`, elementwise."""

    def forward(self, x: Any) -> Tensor:
        """`tanh(x)`."""
        return tanh(x)


class Dropout(Module):
    """In training, each element zeroed with probability `p` and the others scaled by `1/(1-p)`, so that
    the expected output is the input; in `eval()` the identity.

    The masks come from `seed`: a number (a generator of its own, the same masks for the same seed and
    the same sequence of calls), a `np.random.Generator` to share with other code, or None (fresh
    entropy). A new mask is drawn at each call.
    """

    def __init__(self, p: float = 0.5, *, seed: Seed = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, int | float | np.floating) or not 0 <= p <= 1:
            raise ValueError(
                f"Dropout: p, the probability of zeroing an element, must be in [0, 1]; got {p!r}"
            )
        self.p = float(p)
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def forward(self, x: Any) -> Any:
        """`x` with elements dropped and the rest scaled, in training; `x` itself in `eval()`."""
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * np.zeros(np.shape(x))
        keep = self.rng.random(np.shape(x)) >= self.p
        return x * (keep / (1 - self.p))

    def extra_repr(self) -> str:
        """`p=...`, shown in the model's repr."""
        return f"p={self.p}"
