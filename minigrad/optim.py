"""Optimisers over a list of Tensors: gradient descent (with optional momentum), Adam, AdamW, and clipping.

Each follows PyTorch's algorithm of the same name, with PyTorch's keywords (`lr`, `weight_decay`). The loop
they serve:

    opt = SGD([W1, b1, W2, b2], lr=0.1)          # or SGD(model.parameters(), lr=0.1)
    for step in range(n):
        opt.zero_grad()
        cost = ...                      # forward pass
        cost.backward()
        clip_grad_norm(opt.parameters, max_norm=1.0)   # optional
        opt.step()

`step()` gives each parameter a new array (`W.data = W.data - ...`) rather than writing into the old
one: the array may belong to the caller (`Tensor(ndarray)` does not copy), and a graph built before the
step still holds it. A parameter whose `.grad` is None (no backward pass reached it) is left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from minigrad.tensor import Tensor


class Optimizer:
    """What SGD, Adam and AdamW share: the parameters, checked once, the learning rate, `zero_grad()`.

    The learning rate is PyTorch's keyword `lr`, or the long name `learning_rate`: one of the two.
    """

    def __init__(
        self, parameters: Iterable[Tensor], lr: float | None = None, *, learning_rate: float | None = None
    ) -> None:
        if isinstance(parameters, Tensor):  # a Tensor is iterable (its rows): never what was meant
            raise TypeError(
                "the optimiser takes an iterable of Tensors (model.parameters(), or [W1, b1]); got one "
                f"Tensor{_name(parameters)}: wrap it in a list"
            )
        self.parameters: list[Tensor] = list(parameters)
        if not self.parameters:
            raise ValueError("the optimiser was given no parameters: pass a non-empty list of Tensors")
        _check_parameters(self.parameters)
        self.learning_rate = _positive("learning_rate (lr)", _rate(lr, learning_rate, type(self).__name__))

    @property
    def lr(self) -> float:
        """The learning rate, PyTorch's name for `learning_rate`."""
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = _positive("learning_rate (lr)", value)

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` back to None, before the next backward pass adds to it."""
        zero_grad(self.parameters)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        raise NotImplementedError


def _check_parameters(parameters: list[Tensor]) -> None:
    """Each a Tensor that requires a gradient, and each once: one listed twice would be stepped twice."""
    first: dict[int, int] = {}
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Tensor")
        if not p.requires_grad:
            raise ValueError(
                f"parameter {i}{_name(p)} has requires_grad=False, so it would never get a gradient; "
                "create it with Tensor(..., requires_grad=True)"
            )
        if id(p) in first:
            raise ValueError(
                f"parameter {i}{_name(p)} is parameter {first[id(p)]} again: each would be stepped twice "
                "per step; list each parameter once (model.parameters() does)"
            )
        first[id(p)] = i


def _rate(lr: float | None, learning_rate: float | None, optimiser: str, default: float | None = None) -> Any:
    if lr is not None and learning_rate is not None:
        raise TypeError(f"{optimiser}: give lr or learning_rate, not both")
    rate = lr if lr is not None else learning_rate if learning_rate is not None else default
    if rate is None:
        raise TypeError(f"{optimiser} needs a learning rate: {optimiser}(parameters, lr=0.1)")
    return rate


class SGD(Optimizer):
    """Gradient descent, with optional momentum and weight decay: PyTorch's `torch.optim.SGD`, step for step.

        g = grad + weight_decay * W       (L2 regularisation folded into the gradient)
        v = momentum * v + g              (v starts at g, at each parameter's first step)
        W = W - lr * v                    (v is g itself without momentum)

    With `momentum=0` and `weight_decay=0` this is the lab's update, `W = W - learning_rate * dW`.
    """

    def __init__(
        self,
        parameters: Iterable[Tensor],
        lr: float | None = None,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        *,
        learning_rate: float | None = None,
    ) -> None:
        super().__init__(parameters, lr, learning_rate=learning_rate)
        if not (isinstance(momentum, int | float) and 0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.momentum = float(momentum)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        self.velocity: list[np.ndarray | None] = [None] * len(self.parameters)

    def step(self) -> None:
        """One update of every parameter that has a gradient (one without is left as it is)."""
        for i, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            update = p.grad + self.weight_decay * p.data if self.weight_decay else p.grad
            if self.momentum:
                v = self.velocity[i]
                update = update.copy() if v is None else self.momentum * v + update
                self.velocity[i] = update
            p.data = (p.data - self.learning_rate * update).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), PyTorch's `torch.optim.Adam` step for step, at step t = 1, 2, ...:

        g = grad + weight_decay * W            (L2, folded into the gradient, as PyTorch's Adam)
        m = beta1 m + (1 - beta1) g            v = beta2 v + (1 - beta2) g²     (m, v start at 0)
        m_hat = m / (1 - beta1^t)              v_hat = v / (1 - beta2^t)
        W = W - lr * m_hat / (sqrt(v_hat) + eps)

    The step is about `lr` in size whatever the gradient's scale, which is why Adam hides vanishing
    gradients better than gradient descent does (until they underflow). For weight decay that does not
    pass through m and v, use `AdamW`.
    """

    def __init__(
        self,
        parameters: Iterable[Tensor],
        lr: float | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        learning_rate: float | None = None,
    ) -> None:
        super().__init__(parameters, _rate(lr, learning_rate, type(self).__name__, 1e-3))
        if len(betas) != 2 or not all(isinstance(b, int | float) and 0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = _positive("eps", eps)
        self.weight_decay = _non_negative("weight_decay", weight_decay)
        # t counts each parameter's own steps: one that got no gradient was not stepped (as in PyTorch).
        self.t: list[int] = [0] * len(self.parameters)
        self.m: list[np.ndarray] = [np.zeros_like(p.data) for p in self.parameters]
        self.v: list[np.ndarray] = [np.zeros_like(p.data) for p in self.parameters]

    def step(self) -> None:
        """One update of every parameter that has a gradient (one without is left as it is)."""
        for i, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            self._decay(p)
            g = p.grad + self.weight_decay * p.data if self._l2 else p.grad
            self.t[i] += 1
            t = self.t[i]
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g * g
            m_hat = self.m[i] / (1 - self.beta1**t)
            v_hat = self.v[i] / (1 - self.beta2**t)
            p.data = (p.data - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)).astype(
                p.dtype, copy=False
            )

    @property
    def _l2(self) -> bool:
        """Adam folds the weight decay into the gradient; AdamW does not."""
        return bool(self.weight_decay)

    def _decay(self, p: Tensor) -> None:
        """AdamW's decoupled decay, before the step; none for Adam."""


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), PyTorch's `torch.optim.AdamW`:

        W = W - lr * weight_decay * W          (the decay, apart from the gradient: m and v never see it)
        then Adam's step on the raw gradient.

    The default `weight_decay=0.01` is PyTorch's.
    """

    def __init__(
        self,
        parameters: Iterable[Tensor],
        lr: float | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        *,
        learning_rate: float | None = None,
    ) -> None:
        super().__init__(parameters, lr, betas, eps, weight_decay, learning_rate=learning_rate)

    @property
    def _l2(self) -> bool:
        return False

    def _decay(self, p: Tensor) -> None:
        if self.weight_decay:
            p.data = (p.data * (1 - self.learning_rate * self.weight_decay)).astype(p.dtype, copy=False)


def zero_grad(tensors: Iterable[Tensor]) -> None:
    """Set `.grad` of every tensor back to None."""
    for t in tensors:
        t.grad = None


def global_norm(tensors: Iterable[Tensor]) -> float:
    """The norm of all the tensors' gradients together, `sqrt(sum of every gradient element squared)`.

    Tensors without a gradient are skipped, and one listed twice counts once. The squares are summed in
    float64, so that float32 gradients of an exploding network do not overflow; the result may still be
    inf or nan.
    """
    return math.sqrt(
        sum(
            float(np.sum(np.square(t.grad, dtype=np.float64)))
            for t in {id(t): t for t in tensors}.values()
            if t.grad is not None
        )
    )


def clip_grad_norm(tensors: Sequence[Tensor] | Iterable[Tensor], max_norm: float) -> float:
    """Scale the gradients (in place) so that their global norm is at most `max_norm`; return the norm before.

    The global norm is `sqrt(sum of every gradient element squared)` over all the tensors together, so
    clipping shortens the whole step and keeps its direction. Tensors without a gradient are skipped.
    A NaN or infinite norm raises `FloatingPointError`: no rescaling can give such a step a direction.
    """
    max_norm = _positive("max_norm", max_norm)
    tensors = list({id(t): t for t in tensors}.values())  # one listed twice counts, and is scaled, once
    norm = global_norm(tensors)
    if not math.isfinite(norm):
        raise FloatingPointError(
            f"clip_grad_norm: the gradients' global norm is {norm} (they contain NaN or inf); "
            "lower the learning rate or clip earlier, before the values overflow"
        )
    if norm > max_norm:
        scale = max_norm / norm
        for t in tensors:
            if t.grad is None:
                continue
            if t.parents:  # an intermediate's .grad may be its neighbour's very array: not in place
                t.grad = t.grad * scale
            else:  # a parameter's is its own, scaled in place as PyTorch's clip_grad_norm_ does
                np.multiply(t.grad, scale, out=t.grad)
    return norm


def _positive(what: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating) or not value > 0:
        raise ValueError(f"{what} must be a positive number; got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite; got {value!r}")
    return float(value)


def _non_negative(what: str, value: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float | np.floating)
        or not 0 <= value < math.inf
    ):
        raise ValueError(f"{what} must be a finite number, 0 or more; got {value!r}")
    return float(value)


def _name(p: Tensor) -> str:
    return f" ({p.name!r})" if p.name else ""
