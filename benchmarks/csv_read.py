"""Reading a CSV file with `nets.datasets`, against `np.loadtxt`: time, and memory per byte of text.

Run from the repository root:

    python -m benchmarks.csv_read            # the time of each shape, and the memory factor
    python -m benchmarks.csv_read --rows 60000   # a full MNIST-shaped file (about 110 MB of text)

The shapes: an MNIST-shaped file (rows of 784 pixels 0 ... 255 and a label), a file of one very long row
(16,000 columns: the reading used to be quadratic in the number of columns), and the file whose text takes
the most memory per byte, one short number a line ("0"). Each file is written to a temporary folder, read
once by each reader (after one read to warm the page cache), and removed. The memory is the peak that
tracemalloc sees (NumPy's allocations included) while `datasets.load_csv` reads the file, divided by the
file's size: what `datasets.CSV_MEMORY_PER_BYTE` must cover.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nets import datasets


def write_shapes(folder: Path, rows: int) -> dict[str, Path]:
    """The files to read, by name: each a CSV of features then a 0/1 label, as `load_csv` takes them."""
    rng = np.random.default_rng(0)
    shapes = {
        f"mnist {rows} x 785": rng.integers(0, 256, size=(rows, 785)),
        "one row of 16,000": rng.integers(0, 2, size=(1, 16_000)),
        "200,000 x 1 ('0')": np.zeros((200_000, 2), dtype=np.int64),
    }
    paths = {}
    for i, (name, table) in enumerate(shapes.items()):
        table[:, -1] = table[:, -1] % 2  # the label column: 0 or 1
        paths[name] = folder / f"shape{i}.csv"
        np.savetxt(paths[name], table, fmt="%d", delimiter=",")
    return paths


def seconds(read: Callable[[], object]) -> float:
    """The time of one read, after one to warm the page cache."""
    read()
    start = time.perf_counter()
    read()
    return time.perf_counter() - start


def peak_bytes(read: Callable[[], object]) -> int:
    """The most memory tracemalloc sees allocated at once while `read` runs."""
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    """Print one row per shape: both readers' times, their ratio, and the memory factor of `load_csv`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows of the MNIST-shaped file (2000)")
    args = parser.parse_args()
    print(f"{'file':<22}{'MB':>8}{'nets s':>9}{'loadtxt s':>11}{'ratio':>7}{'bytes/byte':>12}")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in write_shapes(Path(folder), args.rows).items():
            size = path.stat().st_size
            ours = seconds(lambda: datasets.load_csv(path))  # noqa: B023 (called at once)
            numpy = seconds(lambda: np.loadtxt(path, delimiter=",", ndmin=2))  # noqa: B023
            factor = peak_bytes(lambda: datasets.load_csv(path)) / size  # noqa: B023
            print(
                f"{name:<22}{size / 1e6:>8.1f}{ours:>9.2f}{numpy:>11.2f}{ours / numpy:>7.1f}{factor:>12.1f}"
            )
    print(f"datasets.CSV_MEMORY_PER_BYTE = {datasets.CSV_MEMORY_PER_BYTE}")


if __name__ == "__main__":
    main()
