"""Checks of the arguments that the networks' functions share, each with the message a student can act on."""

from __future__ import annotations

from typing import Any

import numpy as np

from nets.tensors import array


def whole_number(value: Any, what: str, smallest: int = 1, why: str = "") -> int:
    """`value` as an int, or a ValueError naming `what` where it is not a whole number of at least `smallest`.

    A bool is refused although Python counts it as an int: `n_h=True` is a mistake, not a width of 1.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < smallest:
        need = "a positive whole number" if smallest == 1 else f"a whole number of at least {smallest}"
        raise ValueError(f"{what} must be {need}{why}, got {value!r}")
    return int(value)


def binary_labels(Y: Any, function: str) -> None:
    """A ValueError naming the first value of `Y` that is not 0 or 1: the lab's networks have two classes.

    Labels 0, 1, 2, ... of more classes would train without complaint, to a meaningless cost (`1 - Y` is
    negative); `nets.digits` is the network for them.
    """
    values = array(Y)
    wrong = ~np.isin(values, (0, 1))
    if wrong.any():
        index = np.unravel_index(int(np.argmax(wrong)), values.shape)
        raise ValueError(
            f"{function}: Y must hold only 0 and 1, the lab's two classes; found {values[index]:g} at "
            f"{tuple(int(i) for i in index)}. For more than two classes, use nets.digits (a softmax output)"
        )
