"""The losses as modules, PyTorch's names: `loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(logits, y)`.

Each calls its fused operation in `minigrad.nn.functional`, where the closed forms are explained.
"""

from __future__ import annotations

from typing import Any

from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"]


class BCEWithLogitsLoss(Module):
    """`F.binary_cross_entropy_with_logits(logits, target)`: the mean binary cross-entropy from logits."""

    def forward(self, logits: Any, target: Any) -> Tensor:
        """The loss of `logits` against `target` (0/1 or probabilities, of the logits' shape)."""
        return F.binary_cross_entropy_with_logits(logits, target)


class CrossEntropyLoss(Module):
    """`F.cross_entropy(logits, target, axis)`: classes on `axis` (-1, PyTorch's; 0 in the lab's layout)."""

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, logits: Any, target: Any) -> Tensor:
        """The loss of `logits` against `target` (class indices, or probabilities of the logits' shape)."""
        return F.cross_entropy(logits, target, axis=self.axis)

    def extra_repr(self) -> str:
        """`axis=...` when it is not -1, shown in the model's repr."""
        return "" if self.axis == -1 else f"axis={self.axis}"


class MSELoss(Module):
    """`F.mse_loss(input, target)`: the mean squared difference."""

    def forward(self, input: Any, target: Any) -> Tensor:
        """The mean of `(input - target) ** 2`."""
        return F.mse_loss(input, target)
