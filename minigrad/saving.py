"""`save` and `load`: named arrays in the safetensors format, written here in a few lines, never pickled.

The format (the `safetensors` project's): 8 bytes, the header's length N as a little-endian unsigned
64-bit number; N bytes of JSON, `{name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
..., "__metadata__": {text: text}}`; then the data, every array's bytes in C order, little-endian, at
`[begin, end)` counted from the end of the header, back to back with no gap and no overlap.

Writing the format ourselves keeps the engine free of dependencies; the `safetensors` package reads our
files in the tests, as an independent reader. Reading checks the whole header against the file's size
before it allocates anything, so a damaged or lying file (a size of terabytes in a file of bytes) is
refused in one line naming the file.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from minigrad.files import atomic_write
from minigrad.tensor import Tensor

__all__ = ["SafetensorsError", "load", "load_metadata", "save"]

# The format's names of the dtypes NumPy has (BF16 and the F8 kinds have no NumPy dtype).
DTYPES = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"),
    "U32": np.dtype("<u4"),
    "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"),
    "F64": np.dtype("<f8"),
}
_NAMES = {(dtype.kind, dtype.itemsize): name for name, dtype in DTYPES.items()}
MAX_HEADER = 100_000_000  # the safetensors project's own limit on the JSON header
METADATA = "__metadata__"


class SafetensorsError(ValueError):
    """A file that is not a valid safetensors file, or a value that cannot be written to one."""


def save(
    tensors: Mapping[str, Any], path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None
) -> None:
    """Write `tensors` (name -> ndarray or Tensor) to `path` in the safetensors format, whole or not at all.

    Dtypes are kept (bool, integers, float16/32/64). `metadata`, text -> text, goes in the header's
    `__metadata__`. An existing file at `path` is replaced, as `np.save` and `torch.save` do.
    """
    arrays = _arrays(tensors)
    header: dict[str, Any] = {}
    if metadata is not None:
        if not isinstance(metadata, Mapping) or not all(
            isinstance(x, str) for kv in metadata.items() for x in kv
        ):
            raise SafetensorsError(f"save: metadata must map text to text; got {metadata!r}")
        header[METADATA] = dict(metadata)
    offset = 0
    for name, a in arrays.items():
        header[name] = {"dtype": _NAMES[a.dtype.kind, a.dtype.itemsize], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}  # fmt: skip
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # spaces, as the format allows: the data then starts 8-byte aligned
    with atomic_write(path) as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for a in arrays.values():
            f.write(a.tobytes(order="C"))


def _arrays(tensors: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Every value as a little-endian array of a dtype the format has; a `SafetensorsError` otherwise."""
    if not isinstance(tensors, Mapping):
        raise SafetensorsError(
            f"save: give a mapping of name -> array (a state_dict); got {type(tensors).__name__}"
        )
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or name == METADATA:
            raise SafetensorsError(
                f"save: a tensor's name must be text other than {METADATA!r}; got {name!r}"
            )
        a = np.asarray(value.data if isinstance(value, Tensor) else value)
        if (a.dtype.kind, a.dtype.itemsize) not in _NAMES:
            raise SafetensorsError(
                f"save: {name} has dtype {a.dtype}, which the safetensors format does not hold"
            )
        arrays[name] = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return arrays


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, name -> ndarray, dtypes kept, in the file's order.

    A missing file is a `FileNotFoundError`; anything else that is not a valid safetensors file (a
    folder, a device, a truncated file, a header whose sizes or offsets do not add up) a
    `SafetensorsError` of one line naming the file, raised before any array is allocated.
    """
    with _open(path) as f:
        size = os.fstat(f.fileno()).st_size
        entries, _ = _header(f, path, size)
        data = bytearray(size - f.tell())
        if f.readinto(data) != len(data):
            raise SafetensorsError(f"{os.fspath(path)}: not a safetensors file (it changed while being read)")
    arrays = {}
    for name, (dtype, shape, begin, _) in entries.items():
        a = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=begin).reshape(shape)
        arrays[name] = a.astype(dtype.newbyteorder("="), copy=False)
    return arrays


def load_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The `__metadata__` of a safetensors file (text -> text; empty where it has none), checked as `load`
    checks the whole file, without reading the arrays."""
    with _open(path) as f:
        return _header(f, path, os.fstat(f.fileno()).st_size)[1]


def _open(path: str | os.PathLike[str]) -> BinaryIO:
    """The file, opened for reading, if it is a regular file: a pipe or a device could never end."""
    mode = os.stat(path).st_mode  # FileNotFoundError names the file itself
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, a pipe or a socket)"
        raise SafetensorsError(f"{os.fspath(path)}: {what}, not a safetensors file")
    return open(path, "rb")


Entry = tuple[np.dtype, tuple[int, ...], int, int]


def _header(f: BinaryIO, path: str | os.PathLike[str], size: int) -> tuple[dict[str, Entry], dict[str, str]]:
    """The entries (dtype, shape, begin, end) and the metadata, every size checked against the file's."""

    def refuse(why: str) -> SafetensorsError:
        return SafetensorsError(f"{os.fspath(path)}: not a safetensors file ({why})")

    if size < 8:
        raise refuse(f"{size} bytes, shorter than the 8 that give the header's length")
    (n,) = struct.unpack("<Q", f.read(8))
    if n > min(MAX_HEADER, size - 8):
        raise refuse(f"its header claims {n} bytes; the file has {size - 8} after the length")
    try:
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=_no_repeats)
    except (UnicodeDecodeError, ValueError) as e:
        raise refuse(f"its header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise refuse("its header is not a JSON object")
    metadata = header.pop(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise refuse(f"{METADATA} is not a map of text to text")
    entries = {}
    for name, entry in header.items():
        try:
            entries[name] = _entry(entry)
        except ValueError as e:
            raise refuse(f"tensor {name!r}: {e}") from None
    _check_layout(entries, size - 8 - n, refuse)
    return entries, metadata


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"a name is given twice: {sorted({x for x in names if names.count(x) > 1})}")
    return dict(pairs)


def _entry(entry: Any) -> Entry:
    """One tensor's header entry, checked: a known dtype, a shape, offsets that hold exactly its bytes."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise ValueError("its entry must have exactly dtype, shape and data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise ValueError(f"shape {shape!r} is not a list of whole numbers")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets):
        raise ValueError(f"data_offsets {offsets!r} is not two whole numbers")
    begin, end = offsets
    n_bytes = math.prod(shape) * DTYPES[dtype].itemsize  # Python's integers: a lie cannot overflow
    if not 0 <= begin <= end or end - begin != n_bytes:
        raise ValueError(f"data_offsets {offsets} do not hold its {n_bytes} bytes of {dtype} {tuple(shape)}")
    return DTYPES[dtype], tuple(shape), begin, end


def _check_layout(entries: dict[str, Entry], data_size: int, refuse: Any) -> None:
    """The arrays back to back from 0 to the end of the file: no gap, no overlap, nothing past the end."""
    at = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda item: item[1][2:]):
        if begin != at:
            raise refuse(f"tensor {name!r} starts at byte {begin} of the data; the one before ends at {at}")
        at = end
    if at != data_size:
        raise refuse(f"its tensors hold {at} bytes of data; the file has {data_size}")
