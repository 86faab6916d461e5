"""How a network's outputs become predictions, and how often those are right.

A sigmoid output is the probability of class 1; the prediction is 1 above `THRESHOLD`. An example counts
as right when every one of its outputs (a column of the lab's layout) is.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.5


def predictions(probabilities: np.ndarray) -> np.ndarray:
    """0/1 predictions, of the same shape: 1 where the probability of class 1 is above `THRESHOLD`."""
    return (np.asarray(probabilities) > THRESHOLD).astype(np.int64)


def correct(predicted: np.ndarray, Y: np.ndarray) -> int:
    """How many examples (columns) have every output predicted right."""
    return int(np.sum(np.all(np.asarray(predicted) == np.asarray(Y), axis=0)))


def accuracy(predicted: np.ndarray, Y: np.ndarray) -> float:
    """The fraction of examples (columns) whose every output is predicted right."""
    return correct(predicted, Y) / np.asarray(Y).shape[-1]
