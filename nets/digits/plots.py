"""The picture of a digits run (`python -m nets.digits --plot run.png`): how training went, which classes
are taken for which, and the examples it gets wrong, each titled "true 3, predicted 8 (p = 0.71)"."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from nets.commandline import pyplot, save_figure

MISTAKES_SHOWN = 12  # two rows of six


def _plot_costs(ax: Any, costs: list[float]) -> None:
    ax.plot(np.arange(len(costs)), costs, color="C2", marker=".")
    ax.set(xlabel="epoch", ylabel="cost J on the training split (log scale)", title="cost per epoch")
    ax.set_yscale("log")


def _plot_accuracy(ax: Any, history: Any, which: str) -> None:
    epochs = np.arange(len(history.train))
    ax.plot(epochs, 100 * np.array(history.train), color="C0", marker=".", label="training split")
    if not np.all(np.isnan(history.held_out)):
        ax.plot(epochs, 100 * np.array(history.held_out), color="C3", marker=".", label="held out")
    ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy per epoch")
    after_one = [a for a in history.train[1:] + history.held_out[1:] if not np.isnan(a)]
    ax.set_ylim(max(0, 100 * min(after_one, default=0) - 2), 100.5)  # epoch 0, a guess, below the frame
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")


def _plot_confusion(ax: Any, matrix: np.ndarray, which: str) -> None:
    """Counts on a log-like colour scale, so that the few mistakes show beside the full diagonal."""
    K = len(matrix)
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for (i, j), n in np.ndenumerate(matrix):
        if n:
            colour = "white" if i == j else ("C3" if n else "black")
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8, color=colour)
    ax.set(xticks=range(K), yticks=range(K), xlabel="predicted class", ylabel="true class")
    ax.set_title(f"confusion matrix ({which} examples)")


def _plot_mistakes(axes: list[Any], X: np.ndarray, labels: np.ndarray, probabilities: np.ndarray) -> None:
    """The first misclassified examples as images (where the features make a square), titled."""
    predicted = probabilities.argmax(axis=0)
    wrong = np.flatnonzero(predicted != labels)[: len(axes)]
    side = math.isqrt(X.shape[0])
    for ax in axes:
        ax.axis("off")
    for ax, i in zip(axes, wrong):
        title = f"true {labels[i]}, predicted {predicted[i]} (p = {probabilities[predicted[i], i]:.2f})"
        if side * side == X.shape[0]:
            ax.imshow(X[:, i].reshape(side, side), cmap="gray_r")
        ax.set_title(title, fontsize=8.5)
    if not len(wrong):
        axes[0].set_title("no example misclassified", fontsize=9, loc="left")


def write_plot(
    path: Path,
    history: Any,
    matrix: np.ndarray,
    X: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray,
    which: str,
) -> None:
    """Cost and accuracy per epoch, the confusion matrix, and misclassified `which` examples (`X` in the
    data's units, one per column) with their true and predicted class and the predicted one's probability."""
    plt = pyplot()
    fig = plt.figure(figsize=(13, 8.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, 1])
    cost, accuracy, confusion = top.subplots(1, 3)
    _plot_costs(cost, history.costs)
    _plot_accuracy(accuracy, history, which)
    _plot_confusion(confusion, matrix, which)
    _plot_mistakes(list(bottom.subplots(2, 6).flat), X, labels, probabilities)
    bottom.suptitle(f"misclassified {which} examples", fontsize=11)
    save_figure(fig, path, dpi=80)
