"""Trained parameters in a file, for every command: an .npz of plain arrays, loaded without pickle.

`save_arrays(path, arrays, texts)` writes float arrays and short strings (an activation's name), whole or
not at all; `load_arrays(path, array_keys, text_keys)` reads them back, with `allow_pickle=False`, so that a
parameter file cannot run code, and refuses with a `ParameterFileError` naming the problem a file that is
missing, not an .npz, lacks a key, or holds anything but finite arrays of floats and short texts; each
array's header is read first, so that one declaring more than the memory of the machine, or a text that is
not one short string, is refused before anything is allocated.
Whether the shapes fit a network is the network's command's to check.
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from minigrad.files import atomic_write
from nets import checks

# The longest text a parameter file holds: an activation's name, a count of layers.
MAX_TEXT = 64


class ParameterFileError(ValueError):
    """A parameter file that is not one written by --save, or does not fit the data."""


def check_standard_deviations(std: np.ndarray, holds: str) -> None:
    """A `ParameterFileError` where a feature's standard deviation (an `(n_x, 1)` array) is 0 or below:
    `--save` writes positive ones, so such a file is damaged. `holds` describes the file and its network."""
    if np.any(std <= 0):
        feature = int(np.argmax(std[:, 0] <= 0))
        raise ParameterFileError(
            f"{holds}, but a standard deviation of {std[feature, 0]:g} for feature {feature + 1}; "
            "--save writes positive ones"
        )


def save_arrays(path: Path, arrays: Mapping[str, np.ndarray], texts: Mapping[str, str]) -> None:
    """Plain arrays only (each text as a string array), so that loading needs no pickle: anything else
    is a TypeError before the file is opened (`np.savez` would pickle an object array)."""
    for key, value in {**arrays, **texts}.items():
        plain = isinstance(value, str) if key in texts else np.asarray(value).dtype.kind in "fiub"
        if not plain or (key in texts and len(value) > MAX_TEXT):
            raise TypeError(f"save_arrays: {key} is {type(value).__name__}, not a number array or short text")
    with atomic_write(path) as f:
        np.savez(f, **arrays, **{k: np.array(v) for k, v in texts.items()})


def load_arrays(
    path: Path, array_keys: Sequence[str], text_keys: Sequence[str] = ()
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """`(arrays, texts)` from a file written by `save_arrays`; every array finite, 2-D, of floats."""
    not_ours = f"{path}: not a parameter file written by --save"
    with contextlib.suppress(OSError):  # a missing file is for np.load to say
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            raise ParameterFileError(f"{path}: not a regular file (a device, a pipe or a socket)")
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ParameterFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ParameterFileError(f"{path}: is a folder, not a parameter file") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        raise ParameterFileError(f"{not_ours} (not an .npz archive)") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ParameterFileError(f"{not_ours} (a single .npy array, not an .npz archive)")
    with loaded as archive:
        missing = [k for k in (*array_keys, *text_keys) if k not in archive.files]
        if missing:
            raise ParameterFileError(f"{not_ours} (it has no {', '.join(missing)})")
        try:
            for key in array_keys:
                _check_header(path, archive, key)
            for key in text_keys:
                _check_text_header(path, archive, key)
            arrays = {k: archive[k] for k in array_keys}
            texts = {k: str(archive[k]) for k in text_keys}
        except ParameterFileError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile):
            raise ParameterFileError(
                f"{not_ours} (its arrays are not plain arrays, or it is damaged)"
            ) from None
    for key, value in arrays.items():
        if value.dtype.kind != "f" or value.ndim != 2 or not np.all(np.isfinite(value)):
            raise ParameterFileError(f"{not_ours} ({key} is not a finite 2-D array of floats)")
    return arrays, texts


def array_names(path: Path) -> list[str]:
    """The names of the arrays a parameter file holds, read from its table of contents (nothing loaded);
    call it once `load_arrays` has accepted the file."""
    with np.load(path, allow_pickle=False) as archive:
        return list(archive.files)


def _header(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and type `key`'s header declares, read before its data."""
    not_ours = f"{path}: not a parameter file written by --save"
    with archive.zip.open(f"{key}.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise ParameterFileError(f"{not_ours} ({key} is in .npy format {version}, not 1.0 or 2.0)")
    return shape, dtype


def _check_text_header(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> None:
    """A text, as `save_arrays` writes it: one string of at most `MAX_TEXT` characters, else
    `ParameterFileError`, before its data is read (a header can declare a text array of any size)."""
    shape, dtype = _header(path, archive, key)
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_TEXT:
        raise ParameterFileError(
            f"{path}: not a parameter file written by --save ({key} is not one text of at most {MAX_TEXT} "
            f"characters: its header declares {dtype} of shape {shape})"
        )


def _check_header(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> None:
    """The shape and type `key`'s header declares, read before its data: a 2-D array of floats that fits
    in memory, else `ParameterFileError`."""
    not_ours = f"{path}: not a parameter file written by --save"
    shape, dtype = _header(path, archive, key)
    if dtype.kind != "f" or len(shape) != 2:
        raise ParameterFileError(f"{not_ours} ({key} is not a finite 2-D array of floats)")
    n_bytes = math.prod(shape) * dtype.itemsize
    checks.check_memory(f"{path}: {key} is an array of {shape}, which", n_bytes, ParameterFileError)
