"""The figure of `python -m nets.gradients --plot`: the gradient norms layer by layer, and the cost curves."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nets.commandline import pyplot, save_figure
from nets.gradients import TrainingRun

# One look per setup, the same in every panel: a colour, a marker and a line style, so that curves that lie
# on top of each other (sigmoid+lab and relu+lab, both stalled near log 2) both stay visible.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINESTYLES = ("-", "--", "-.", ":")


def _looks(labels: list[str]) -> dict[str, dict[str, object]]:
    return {
        label: {"color": f"C{i % 10}", "marker": _MARKERS[i % len(_MARKERS)], "ls": _LINESTYLES[i % 4]}
        for i, label in enumerate(labels)
    }


def _plot_norms(axes: tuple, labels: list[str], dW: list[list[float]], dZ: list[list[float]], looks) -> None:
    weights, signals = axes
    for label, w_norms, z_norms in zip(labels, dW, dZ):
        layers = range(1, len(w_norms) + 1)
        weights.semilogy(layers, w_norms, label=label, markersize=6, **looks[label])
        signals.semilogy(layers, z_norms, label=label, markersize=6, **looks[label])
    weights.set_title("Weight gradient |dW[c]|")
    signals.set_title("Gradient reaching the layer, |dZ[c]|")
    for ax in axes:
        ax.set_xlabel("layer c")
        ax.legend(fontsize="small")


def _plot_costs(training, runs: list[tuple[str, TrainingRun]], looks) -> None:
    """The cost curves, a marker every so many steps; a run that diverged ends in a cross at the top."""
    # Costs span many decades and a diverging run overflows: show the range a student cares about,
    # from the largest starting cost down, and mark where a diverging run leaves it.
    finite = [c for _, run in runs for c in run.costs if math.isfinite(c) and c > 0]
    top = 10 * max((run.costs[0] for _, run in runs if math.isfinite(run.costs[0])), default=1.0)
    bottom = max(min(finite, default=1.0) / 3, 1e-8)  # a cost of exactly 0 sits on the bottom edge
    longest = max(len(run.costs) for _, run in runs)
    for i, (label, run) in enumerate(runs):
        costs = np.clip(np.array(run.costs, dtype=np.float64), bottom, None)
        look = dict(looks[label.removesuffix(" clipped")])
        if run.max_norm is not None:
            look.update(ls=(0, (1, 1)), marker="x")  # the clipped re-run: dotted, crosses
        # Markers at staggered steps, so that two curves on the same path show both their markers.
        every = (i * max(1, longest // 40) // 3, max(1, longest // 12))
        training.semilogy(costs, label=label, markevery=every, markersize=6, **look)
        if run.diverged:
            training.plot(len(run.costs) - 1, top, marker="x", markersize=10, color=look["color"])
    training.set_ylim(bottom, top * 1.5)
    training.set_xlabel("gradient-descent step")
    training.set_title("Cost J (x at the top: diverged)")
    training.legend(fontsize="small")


def write_plot(
    path: Path,
    labels: list[str],
    dW: list[list[float]],
    dZ: list[list[float]],
    runs: list[tuple[str, TrainingRun]],
    title: str,
) -> None:
    """|dW[c]| and |dZ[c]| per layer (log scale) and the training curves, written whole to `path`."""
    fig, (weights, signals, training) = pyplot().subplots(1, 3, figsize=(15, 4.8))
    looks = _looks(labels)
    _plot_norms((weights, signals), labels, dW, dZ, looks)
    _plot_costs(training, runs, looks)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
