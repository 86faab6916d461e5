"""Optimisers over a list of Tensors: gradient descent (with optional momentum), Adam, and gradient clipping.

The loop they serve:

    opt = SGD([W1, b1, W2, b2], learning_rate=0.1)
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

import numpy as np

from minigrad.tensor import Tensor


class Optimizer:
    """What SGD and Adam share: the parameters, checked once, and `zero_grad()`."""

    def __init__(self, parameters: Iterable[Tensor], learning_rate: float) -> None:
        self.parameters: list[Tensor] = list(parameters)
        if not self.parameters:
            raise ValueError("the optimiser was given no parameters: pass a non-empty list of Tensors")
        for i, p in enumerate(self.parameters):
            if not isinstance(p, Tensor):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.requires_grad:
                raise ValueError(
                    f"parameter {i}{_name(p)} has requires_grad=False, so it would never get a gradient; "
                    "create it with Tensor(..., requires_grad=True)"
                )
        self.learning_rate = _positive("learning_rate", learning_rate)

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` back to None, before the next backward pass adds to it."""
        zero_grad(self.parameters)

    def step(self) -> None:
        """Update every parameter in place from its `.grad`; each optimiser defines its own rule."""
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent, with optional momentum (PyTorch's form, the velocity sums raw gradients):

        v = momentum * v + grad           (v starts at 0)
        W = W - learning_rate * v

    With `momentum=0` this is the lab's update, `W = W - learning_rate * dW`.
    """

    def __init__(self, parameters: Iterable[Tensor], learning_rate: float, momentum: float = 0.0) -> None:
        super().__init__(parameters, learning_rate)
        if not (isinstance(momentum, int | float) and 0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1); got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity: list[np.ndarray | None] = [None] * len(self.parameters)

    def step(self) -> None:
        """One step: `W -= learning_rate * v` for each parameter that has a gradient (v as above)."""
        for i, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            update = p.grad
            if self.momentum:
                v = self.velocity[i]
                update = p.grad.copy() if v is None else self.momentum * v + p.grad
                self.velocity[i] = update
            p.data = (p.data - self.learning_rate * update).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), at step t = 1, 2, ...:

        m = beta1 m + (1 - beta1) grad          v = beta2 v + (1 - beta2) grad²     (m, v start at 0)
        m_hat = m / (1 - beta1^t)               v_hat = v / (1 - beta2^t)
        W = W - learning_rate * m_hat / (sqrt(v_hat) + eps)

    The step is about `learning_rate` in size whatever the gradient's scale, which is why Adam
    hides vanishing gradients better than gradient descent does (until they underflow).
    """

    def __init__(
        self,
        parameters: Iterable[Tensor],
        learning_rate: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(parameters, learning_rate)
        if len(betas) != 2 or not all(isinstance(b, int | float) and 0 <= b < 1 for b in betas):
            raise ValueError(f"betas must be two numbers in [0, 1); got {betas!r}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = _positive("eps", eps)
        # t counts each parameter's own steps: one that got no gradient was not stepped (as in PyTorch).
        self.t: list[int] = [0] * len(self.parameters)
        self.m: list[np.ndarray] = [np.zeros_like(p.data) for p in self.parameters]
        self.v: list[np.ndarray] = [np.zeros_like(p.data) for p in self.parameters]

    def step(self) -> None:
        """One step of Adam for each parameter that has a gradient (one without is not stepped)."""
        for i, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            g = p.grad
            self.t[i] += 1
            t = self.t[i]
            self.m[i] = self.beta1 * self.m[i] + (1 - self.beta1) * g
            self.v[i] = self.beta2 * self.v[i] + (1 - self.beta2) * g * g
            m_hat = self.m[i] / (1 - self.beta1**t)
            v_hat = self.v[i] / (1 - self.beta2**t)
            p.data = (p.data - self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)).astype(
                p.dtype, copy=False
            )


def zero_grad(tensors: Iterable[Tensor]) -> None:
    """Set `.grad` of every tensor back to None."""
    for t in tensors:
        t.grad = None


def global_norm(tensors: Iterable[Tensor]) -> float:
    """The norm of all the tensors' gradients together, `sqrt(sum of every gradient element squared)`.

    Tensors without a gradient are skipped. The squares are summed in float64, so that float32 gradients
    of an exploding network do not overflow; the result may still be inf or nan.
    """
    return math.sqrt(
        sum(float(np.sum(np.square(t.grad, dtype=np.float64))) for t in tensors if t.grad is not None)
    )


def clip_grad_norm(tensors: Sequence[Tensor] | Iterable[Tensor], max_norm: float) -> float:
    """Scale the gradients (in place) so that their global norm is at most `max_norm`; return the norm before.

    The global norm is `sqrt(sum of every gradient element squared)` over all the tensors together, so
    clipping shortens the whole step and keeps its direction. Tensors without a gradient are skipped.
    A NaN or infinite norm raises `FloatingPointError`: no rescaling can give such a step a direction.
    """
    max_norm = _positive("max_norm", max_norm)
    tensors = list(tensors)
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


def _name(p: Tensor) -> str:
    return f" ({p.name!r})" if p.name else ""
