"""`--export model.onnx`: a trained network written as an ONNX predictor, for any ONNX runtime.

The model takes the features in the data's own units, one example per column (`X (n_x, m)`, any `m`),
standardises them with the training split's statistics, and returns each class's probability: the
lab's `A2 (1, m)` for `nets.twolayer`, `A[L] (K, m)` for `nets.digits`. The parameters are the model's
initializers, under their lab names (`W1`, `b1`, ...).

    import onnxruntime
    session = onnxruntime.InferenceSession("model.onnx")
    (probabilities,) = session.run(None, {"X": X})

onnx is optional (`pip install "minigrad[onnx]"`): `check_export` says so before any training.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from minigrad import Tensor
from nets.commandline import UsageError, check_output

INSTALL = 'pip install "minigrad[onnx]"'

Forward = Callable[[Any, Mapping[str, Any], str], tuple[Tensor, Any]]


def add_export_option(p: argparse.ArgumentParser) -> None:
    """The `--export PATH.onnx` option of a training command."""
    p.add_argument(
        "--export",
        type=Path,
        metavar="PATH.onnx",
        help=f"write the trained predictor as an ONNX model, for onnxruntime and others (needs {INSTALL})",
    )


def check_export(path: Path | None) -> None:
    """Before any work: the file name and folder, and the onnx package that writes it."""
    check_output("--export", path, (".onnx",))
    if path is not None:
        try:
            import minigrad.onnx  # noqa: F401  (only to know that it can be imported)
        except ImportError as error:
            raise UsageError(f"--export {path}: {error}") from None


def export_predictor(
    path: Path,
    forward: Forward,
    hidden_activation: str,
    parameters: Mapping[str, np.ndarray],
    mean: np.ndarray,
    std: np.ndarray,
) -> str:
    """Write `forward(X, parameters, hidden_activation)`'s probabilities, on `X` standardised by `mean`
    and `std`, as an ONNX model at `path`; returns what to say."""
    import minigrad.onnx

    leaves = {name: Tensor(W, name=name) for name, W in parameters.items()}
    shift, scale = Tensor(mean, name="mean"), Tensor(std, name="std")

    def predictor(X: Tensor) -> Tensor:
        A, _ = forward((X - shift) / scale, leaves, hidden_activation)
        return A.named("probabilities")

    X = Tensor(np.zeros((mean.shape[0], 2), dtype=np.asarray(mean).dtype), name="X")
    proto = minigrad.onnx.export(predictor, (X,), path, dynamic_axes={"X": {1: "examples"}})
    return f"ONNX predictor ({len(proto.graph.node)} nodes) written to {path}"
