"""Where blocks and threads start to pay: minigrad.parallel's threshold, measured.

    python -m benchmarks.threshold            # about a minute

For sizes from 2**12 to 2**23 float64 elements, times sigmoid's forward function and its rule three
ways, interleaved round by round: whole arrays on the calling thread (as below the threshold), in
blocks on one thread, and in blocks on all threads. The threshold (`parallel.MIN_SIZE`) is the
smallest size from which the threaded blocks are faster than the whole-array calls at every larger size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from minigrad import parallel
from minigrad.ops import elementwise as ew


def _forward(x: np.ndarray) -> np.ndarray:
    return ew.sigmoid.forward(x)


def _rule(g: np.ndarray, out: np.ndarray) -> np.ndarray:
    return ew.sigmoid.input_rules[0](g, out, out)


def _median_seconds(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size: int, rounds: int) -> dict[str, float]:
    """Median seconds of forward + rule at `size` elements: whole, blocked on 1 thread, blocked on all."""
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(size), rng.standard_normal(size)
    threads = parallel.num_threads()

    def both() -> None:
        _rule(g, _forward(x))

    settings = {
        "whole": (1, size + 1),
        "blocks, 1 thread": (1, 1),
        f"blocks, {threads} threads": (threads, 1),
    }
    times: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(rounds):
        for name, (n, min_size) in settings.items():
            old = parallel.configure(threads=n, min_size=min_size)
            try:
                times[name].append(_median_seconds(both, 5))
            finally:
                parallel.configure(threads=old["threads"], min_size=old["min_size"])
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    """Print the table of times per size, and the threshold it suggests."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(
        f"sigmoid forward + rule, float64, median of {args.rounds} rounds; threads: {parallel.num_threads()}"
    )
    rows = []
    for power in range(12, 24):
        t = measure(2**power, args.rounds)
        rows.append((2**power, t))
        cells = "  ".join(f"{name} {v * 1e6:9.1f} µs" for name, v in t.items())
        print(f"2**{power:<2} {cells}")
    names = list(rows[0][1])
    faster = [t[names[2]] < t[names[0]] for _, t in rows]
    first = next((i for i in range(len(rows)) if all(faster[i:])), None)
    print(
        f"threaded blocks faster from {rows[first][0]:,} elements on" if first is not None else "never faster"
    )


if __name__ == "__main__":
    main()
