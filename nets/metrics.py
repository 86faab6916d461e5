"""How a network's outputs become predictions, and how often those are right.

A sigmoid output is the probability of class 1; the prediction is 1 above `THRESHOLD`. An example counts
as right when every one of its outputs (a column of the lab's layout) is. With more classes (a softmax
output, `nets.digits`), the prediction is the most probable class, and the confusion matrix shows which
classes are taken for which.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.5


def percent(share: float) -> str:
    """A fraction as the reports print it: `0.978` is `97.8%`."""
    return f"{100 * share:.1f}%"


def predictions(probabilities: np.ndarray) -> np.ndarray:
    """0/1 predictions, of the same shape: 1 where the probability of class 1 is above `THRESHOLD`."""
    return (np.asarray(probabilities) > THRESHOLD).astype(np.int64)


def correct(predicted: np.ndarray, Y: np.ndarray) -> int:
    """How many examples (columns) have every output predicted right."""
    return int(np.sum(np.all(np.asarray(predicted) == np.asarray(Y), axis=0)))


def accuracy(predicted: np.ndarray, Y: np.ndarray) -> float:
    """The fraction of examples (columns) whose every output is predicted right."""
    return correct(predicted, Y) / np.asarray(Y).shape[-1]


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """`(classes, classes)` counts: row `i`, column `j`, how many examples of class `i` were predicted `j`."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(predicted)), 1)
    return matrix


def most_confused(matrix: np.ndarray, n: int = 3) -> list[tuple[int, int, int, int]]:
    """The `n` pairs of classes mistaken for each other most often, in both directions together:
    `(a, b, a taken for b, b taken for a)`, most mistakes first; pairs never confused are left out."""
    mistakes = matrix + matrix.T
    a, b = np.triu_indices(len(matrix), k=1)
    order = np.argsort(-mistakes[a, b], kind="stable")[:n]
    return [
        (int(a[i]), int(b[i]), int(matrix[a[i], b[i]]), int(matrix[b[i], a[i]]))
        for i in order
        if mistakes[a[i], b[i]] > 0
    ]
