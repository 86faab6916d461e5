"""Checks of the arguments that the networks' functions share, each with the message a student can act on."""

from __future__ import annotations

from typing import Any

import numpy as np


def whole_number(value: Any, what: str, smallest: int = 1, why: str = "") -> int:
    """`value` as an int, or a ValueError naming `what` where it is not a whole number of at least `smallest`.

    A bool is refused although Python counts it as an int: `n_h=True` is a mistake, not a width of 1.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < smallest:
        need = "a positive whole number" if smallest == 1 else f"a whole number of at least {smallest}"
        raise ValueError(f"{what} must be {need}{why}, got {value!r}")
    return int(value)
