"""The digits network in a `.safetensors` file: the way out to PyTorch.

The tensors are the `state_dict()` of the network as `minigrad.nn` layers (`dg.to_model`): `0.weight`,
`0.bias`, `2.weight`, ... are PyTorch's names for the same `torch.nn.Sequential(Linear, ReLU, Linear)`, so
that `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` takes the file as it is. What
PyTorch's network does not hold, the hidden activation and the features' standardisation (`mean`, `std`,
one number per feature), is text in the header's `__metadata__`, where a strict load does not see it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.saving import SafetensorsError, load_metadata
from nets import digits as dg
from nets.paramfiles import ParameterFileError

WRITTEN_BY = "python -m nets.digits"
_NAME = re.compile(r"(\d+)\.(weight|bias)")


def save_model(
    path: Path, parameters: dict[str, np.ndarray], mean: np.ndarray, std: np.ndarray, activation: str
) -> None:
    """The network's state_dict as tensors; the activation and the standardisation as metadata."""
    metadata = {
        "written_by": WRITTEN_BY,
        "hidden_activation": activation,
        # repr of a float is exact: json keeps every bit of the float64 mean and std
        "mean": json.dumps(np.asarray(mean, dtype=np.float64).reshape(-1).tolist()),
        "std": json.dumps(np.asarray(std, dtype=np.float64).reshape(-1).tolist()),
    }
    mg.save(dg.to_model(parameters, activation).state_dict(), path, metadata=metadata)


def load_model(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, str]:
    """`(parameters, mean, std, hidden_activation)` in the lab's layout (`W1`, `b1` a column, ...; `mean`
    and `std` columns), or a `ParameterFileError` naming the file. Whether the layers chain is the
    caller's check (`command.load_parameters`)."""
    not_ours = f"{path}: not a parameter file written by --save"
    try:
        metadata, tensors = load_metadata(path), mg.load(path)
    except FileNotFoundError:
        raise ParameterFileError(f"{path}: no such file") from None
    except SafetensorsError as e:
        raise ParameterFileError(str(e)) from None
    missing = [key for key in ("hidden_activation", "mean", "std") if key not in metadata]
    if missing:
        raise ParameterFileError(f"{not_ours} (its metadata has no {', '.join(missing)})")
    mean, std = (_column(metadata[key], f"{not_ours} (its {key})") for key in ("mean", "std"))
    return _layers(tensors, not_ours), mean, std, metadata["hidden_activation"]


def _column(text: str, what: str) -> np.ndarray:
    try:
        values = np.asarray(json.loads(text), dtype=np.float64)
    except (ValueError, TypeError):
        raise ParameterFileError(f"{what} is not a list of numbers") from None
    if values.ndim != 1 or not np.all(np.isfinite(values)):
        raise ParameterFileError(f"{what} is not a list of finite numbers")
    return values.reshape(-1, 1)


def _layers(tensors: dict[str, np.ndarray], not_ours: str) -> dict[str, np.ndarray]:
    """`W1, b1, ...` from `0.weight, 0.bias, 2.weight, ...`: a Linear at every other place, with its bias."""
    found = {}
    for name, value in tensors.items():
        match = _NAME.fullmatch(name)
        if match is None:
            raise ParameterFileError(f"{not_ours} (it holds {name!r}, not a layer's weight or bias)")
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            raise ParameterFileError(f"{not_ours} ({name} is not an array of finite floats)")
        found[int(match[1]), match[2]] = value
    places = sorted({place for place, _ in found})
    expected = [(place, kind) for place in range(0, 2 * len(places), 2) for kind in ("weight", "bias")]
    if not places or set(found) != set(expected):
        names = ", ".join(f"{place}.{kind}" for place, kind in expected)
        raise ParameterFileError(
            f"{not_ours} (it should hold {names or 'layers'}; it holds {', '.join(tensors)})"
        )
    parameters = {}
    for c, place in enumerate(places, start=1):
        W, b = found[place, "weight"], found[place, "bias"]
        if W.ndim != 2 or b.ndim != 1:
            raise ParameterFileError(f"{not_ours} ({place}.weight {W.shape} and {place}.bias {b.shape})")
        parameters[f"W{c}"], parameters[f"b{c}"] = W, b.reshape(-1, 1)
    return parameters
