"""When training has diverged, for every network and command: one rule, one error.

Gradient descent with a step that suits the problem brings the cost down; a cost that becomes NaN or
infinite, or rises far above where it started, means the steps were too large (exploding gradients, the
lab's step 4).
"""

from __future__ import annotations

import math

# A cost this many times its start has diverged: a spike of a few times can recover, ten times the cost of
# a guess does not.
DIVERGED_ABOVE = 10.0


def has_diverged(cost: float, start: float) -> bool:
    """Whether `cost` is NaN or infinite, or above `DIVERGED_ABOVE` times the cost at the `start`."""
    return not math.isfinite(cost) or cost > DIVERGED_ABOVE * start


class TrainingDivergedError(ArithmeticError):
    """The cost became NaN or infinite, or rose far above its start: the steps were too large."""

    def __init__(self, iteration: int, cost: float, learning_rate: float, start: float) -> None:
        self.iteration, self.cost, self.learning_rate, self.start = iteration, cost, learning_rate, start
        super().__init__(
            f"the cost became {cost:.6g} at iteration {iteration} (from {start:.6g} at the start): "
            f"the gradients exploded; try a learning rate smaller than {learning_rate:g}"
        )
