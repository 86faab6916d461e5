"""nets.metrics: predictions above the threshold, and accuracy over examples (columns)."""

import numpy as np

from nets import metrics


def test_predictions_are_1_strictly_above_the_threshold():
    A = np.array([[0.2, 0.5, 0.5000001, 0.9]])
    np.testing.assert_array_equal(metrics.predictions(A), [[0, 0, 1, 1]])
    assert metrics.predictions(A).dtype == np.int64


def test_an_example_is_right_only_when_every_output_is():
    predicted = np.array([[1, 0, 1, 1], [0, 0, 1, 0]])
    Y = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    assert metrics.correct(predicted, Y) == 2
    assert metrics.accuracy(predicted, Y) == 0.5
