"""The figure of `python -m nets.twolayer --plot`: the cost curve and, for two features, the decision
boundary over the points, in the data's units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg
from nets import datasets, metrics
from nets import twolayer as tl
from nets.commandline import pyplot, save_figure

CLASS_COLOURS = ("C0", "C3")  # class 0 blue, class 1 red, as in examples/lab.ipynb
DRAWABLE_BELOW = 1e300  # matplotlib's axes overflow for larger values


def write_plot(
    path: Path,
    costs: list[float],
    parameters: dict[str, np.ndarray],
    hidden_activation: str,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    mean: np.ndarray,
    std: np.ndarray,
) -> None:
    """The cost curve and, for two features, the decision boundary over the points (in the data's units)."""
    plt = pyplot()
    two_features = mean.shape[0] == 2
    fig, axes = plt.subplots(1, 2 if two_features else 1, figsize=(11 if two_features else 5.5, 4.5))
    _plot_costs(axes[0] if two_features else axes, costs)
    if two_features:
        _plot_boundary(axes[1], parameters, hidden_activation, splits, mean, std)
    fig.tight_layout()
    save_figure(fig, path)


def _plot_costs(ax: Any, costs: list[float]) -> None:
    ax.plot(np.arange(len(costs)), costs, color="C2")
    ax.set(xlabel="iteration", ylabel="cost J (log scale)", title="cost while training")
    ax.set_yscale("log")


def _plot_boundary(
    ax: Any,
    parameters: dict[str, np.ndarray],
    hidden_activation: str,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    mean: np.ndarray,
    std: np.ndarray,
) -> None:
    """The regions the network gives each class, its boundary A2 = 1/2, and the points in the data's units:
    colour for the class (as in the notebook), a dot for a training example, a cross for a held-out one.

    Features too large for matplotlib's axes (beyond 1e300, where its arithmetic overflows) are drawn
    standardised instead, and the axes say so."""
    X_all = np.hstack([X for X, _ in splits.values()])
    units = ""
    if not np.all(np.abs(X_all) < DRAWABLE_BELOW):
        splits = {name: (datasets.standardise(X, mean, std), Y) for name, (X, Y) in splits.items()}
        mean, std = np.zeros_like(mean), np.ones_like(std)
        X_all, units = np.hstack([X for X, _ in splits.values()]), " (standardised)"
    lo, hi = X_all.min(axis=1), X_all.max(axis=1)
    margin = 0.1 * (hi - lo) + 1e-9
    g0, g1 = np.meshgrid(
        np.linspace(lo[0] - margin[0], hi[0] + margin[0], 300),
        np.linspace(lo[1] - margin[1], hi[1] + margin[1], 300),
    )
    grid = np.vstack([g0.ravel(), g1.ravel()])
    with mg.no_grad():
        A2, _ = tl.forward_propagation(datasets.standardise(grid, mean, std), parameters, hidden_activation)
    A2 = A2.data[0].reshape(g0.shape)
    ax.contourf(g0, g1, A2, levels=[0, metrics.THRESHOLD, 1], colors=CLASS_COLOURS, alpha=0.18)
    ax.contour(g0, g1, A2, levels=[metrics.THRESHOLD], colors="k", linewidths=1)
    for (split, (X, Y)), marker in zip(splits.items(), ("o", "x")):
        for label, colour in enumerate(CLASS_COLOURS):
            points = X[:, Y[0] == label]
            if points.shape[1]:
                ax.scatter(*points[:2], color=colour, marker=marker, s=16, label=f"class {label}, {split}")
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    ax.set(xlabel=f"feature 1{units}", ylabel=f"feature 2{units}", title="decision boundary (A2 = 1/2)")
