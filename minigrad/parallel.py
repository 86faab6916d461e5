"""Large elementwise work in cache-sized blocks shared among a few threads, as PyTorch's intra-op threads.

NumPy's ufunc loops release the GIL, so a sigmoid over a million elements can run on two cores at once.
Three things are gained, the first even on one thread:
- a rule of several passes (sigmoid's forward is four: negate, exp, add 1, reciprocal) runs all its
  passes over one block of BLOCK elements while the block is in the cache, instead of streaming the
  whole array through memory once per pass;
- the blocks are shared among the threads;
- every pass writes into the one output array (`out=`), so no block allocates.

Bit for bit: a kernel does the same NumPy calls, in the same order, on every element as the whole-array
call does. Blocks start at multiples of BLOCK elements (a multiple of 64), so each block's vector loop
sees the same alignment as the whole array's; the result never depends on the number of threads.

Arrays under the threshold (MIN_SIZE elements) run whole on the calling thread: below it, handing work
to a thread costs more than it saves (benchmarks/threshold.py measures it). `MINIGRAD_NUM_THREADS=1`
turns the threads off (the blocks stay); by default there are as many threads as the BLAS uses
(`OPENBLAS_NUM_THREADS`, `OMP_NUM_THREADS`, else the cores this process may run on).
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

# 32,768 float64 elements are 256 KiB: a block and its output stay in a core's L2 cache.
BLOCK = 32_768
# Below this many elements an operation runs whole on the calling thread, as plain NumPy calls. Handing
# a block to a thread costs tens of microseconds; a sigmoid of 2**15 elements takes about 0.5 ms on one
# core (NumPy's float64 exp is not vectorised on AVX2). benchmarks/threshold.py measures it.
MIN_SIZE = 32_768

Kernel = Callable[..., None]


def _default_threads() -> int:
    for name in ("MINIGRAD_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a whole number of threads") from None
            if n < 1:
                raise ValueError(f"{name}={value!r}: the number of threads must be at least 1")
            return n
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Settings:
    """The threads, threshold and block size in force (`settings`), and the pool (made on first use)."""

    def __init__(self) -> None:
        self.threads = _default_threads()
        self.min_size = MIN_SIZE
        self.block = BLOCK
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self.pool_pid = -1

    def executor(self) -> ThreadPoolExecutor:
        """The pool of `threads - 1` workers (the calling thread is the last), made anew in a forked child."""
        with self.lock:
            # A forked child inherits the pool object but not its threads.
            if self.pool is None or self.pool_pid != os.getpid():
                self.pool = ThreadPoolExecutor(
                    max_workers=max(1, self.threads - 1), thread_name_prefix="minigrad"
                )
                self.pool_pid = os.getpid()
            return self.pool


settings = Settings()


def num_threads() -> int:
    """How many threads (the calling one included) share a large elementwise operation."""
    return settings.threads


def configure(
    threads: int | None = None, min_size: int | None = None, block: int | None = None
) -> dict[str, int]:
    """Change the number of threads, the threshold (in elements) or the block size; returns the old values.

    For tests and measurements; `MINIGRAD_NUM_THREADS` sets the number of threads for a whole program.
    """
    for what, value in (("threads", threads), ("min_size", min_size), ("block", block)):
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"parallel.configure: {what} must be a whole number >= 1, got {value!r}")
    if block is not None and block % 64:
        raise ValueError(f"parallel.configure: block must be a multiple of 64 elements, got {block}")
    old = {"threads": settings.threads, "min_size": settings.min_size, "block": settings.block}
    with settings.lock:
        if threads is not None and threads != settings.threads:
            settings.threads = threads
            if settings.pool is not None:
                settings.pool.shutdown(wait=False)
                settings.pool = None
        if min_size is not None:
            settings.min_size = min_size
        if block is not None:
            settings.block = block
    return old


def is_large(x: np.ndarray) -> bool:
    """Whether `x` is at or over the threshold: worth blocks and threads (below, plain NumPy is faster)."""
    return x.size >= settings.min_size


def elementwise(kernel: Kernel, out: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
    """`kernel(out, *arrays)` writes its result into `out`; run it whole, or block by block, and return `out`.

    Every array must have `out`'s shape. The kernel only does elementwise NumPy calls with `out=`, so
    that running it on matching slices is running it on the whole. Arrays that are small, or not all
    C-contiguous, run whole on the calling thread.
    """
    size = out.size
    if size < settings.min_size or not _all_contiguous(out, arrays):
        kernel(out, *arrays)
        return out
    flat_out = out.reshape(-1)
    flats = [a.reshape(-1) for a in arrays]
    starts = range(0, size, settings.block)
    parts = min(settings.threads, len(starts))
    # Each thread takes a run of neighbouring blocks; the calling thread takes the first run.
    runs = [starts[i * len(starts) // parts : (i + 1) * len(starts) // parts] for i in range(parts)]
    futures: list[Future[None]] = []
    if parts > 1:
        pool = settings.executor()
        for run in runs[1:]:
            # Each task runs in a copy of the caller's context, so np.errstate holds in the threads too.
            ctx = contextvars.copy_context()
            futures.append(pool.submit(ctx.run, _blocks, kernel, run, flat_out, flats))
    _blocks(kernel, runs[0], flat_out, flats)
    for f in futures:
        f.result()  # re-raises a worker's error (a FloatingPointError under np.errstate(all="raise"))
    return out


def _blocks(kernel: Kernel, starts: range, out: np.ndarray, arrays: list[np.ndarray]) -> None:
    block = settings.block
    for start in starts:
        stop = start + block
        kernel(out[start:stop], *[a[start:stop] for a in arrays])


def _all_contiguous(out: np.ndarray, arrays: tuple[np.ndarray, ...]) -> bool:
    if not out.flags.c_contiguous:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.shape != out.shape or not a.flags.c_contiguous:
            return False
    return True


__all__ = ["BLOCK", "MIN_SIZE", "Settings", "configure", "elementwise", "is_large", "num_threads", "settings"]
