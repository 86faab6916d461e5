"""Speed and memory of minigrad against hand-written NumPy (and PyTorch on the CPU where installed).

Run from the repository root:

    python -m benchmarks.bench            # the full run: a few minutes on 2 cores
    python -m benchmarks.bench --quick    # about a minute
    python benchmarks/bench.py --sizes tiny,mid --no-torch --skip-chains

What it measures
----------------
1. A training step of the lab's network (float64, one example per column, sigmoid hidden and output
   layers, cross-entropy cost): forward, cost, the gradients of W1, b1, W2, b2 and a gradient-descent
   update, at four sizes n_x × n_h × m. The implementations:
   - `numpy`: written by hand as a student writes it, with the lab's closed-form gradients
     (sigmoid as 1 / (1 + np.exp(-Z)), dZ2 = A2 - Y, dW2 = dZ2 @ A1.T / m, W1 = W1 - lr * dW1, ...);
   - `minigrad`: built from Tensor operations the way a user writes it (W1 @ X + b1, .sigmoid(),
     the cost through .log(), J.backward(), then `.data -= lr * .grad`);
   - `compiled`: the same cost as a function, `step = mg.compile(lab_loss)`, traced once and replayed
     on arrays (`J, grads = step(W1, b1, W2, b2, X, Y)`), then the same update;
   - `torch-Nt`: the same Tensor code in PyTorch, float64, at its default number of threads and at 1.
   Every ratio is to the hand-written NumPy (or between two engines) measured in the same process and
   the same rounds.
2. Per-operation cost: a chain of 1,000 operations cycling `x + (-0.5)`, `x * 4.0`, `sigmoid(x)` (Python
   numbers as constants, as users write them) on a 1 × 1 and a 100 × 100 array, forward, backward and
   freeing, divided by 1,000. minigrad's (eager, and compiled) is held against NumPy's forward alone
   and against PyTorch's forward + backward.
3. A chain of 100,000 such operations, forward + backward, against the same chain in NumPy with its
   backward written by hand.
4. Peak extra memory of one step, two ways: tracemalloc (sees NumPy's arrays, not PyTorch's memory),
   and the peak resident set (VmHWM, reset through /proc/self/clear_refs, minus VmRSS before the step)
   in a fresh process per engine and size, with glibc told to return every freed block of 128 KiB or
   more to the system (MALLOC_ENV), so that the resident set follows what is allocated: that one
   counts NumPy's and PyTorch's memory alike, and is the one judged.

Every target of issue 23 is printed beside its ratio with PASS or MISS, and listed at the end.

How it measures
---------------
- One process per size and per chain, so that memory and caches do not carry over between them.
- Before any timing every implementation's gradients are checked against the hand-written NumPy ones:
  the largest absolute difference divided by the largest absolute value of the NumPy gradient must be
  at most 1e-8 (a relative max-abs error, per gradient). A mismatch stops the run.
- Interleaved: each round times one block of calls of every implementation, in an order rotated from
  round to round; a block lasts about 10 ms (--quick) or 40 ms. Reported: the median time per call
  over the rounds with its interquartile range [p25–p75], and each ratio as the median [p25–p75] of
  the per-round ratios (both blocks of a round ran under the same load). Targets are judged on that
  median ratio.
- The garbage collector stays on, as it is in a user's program.
- The load average is printed before and after: the machine has 2 cores, and anything else running
  (a test suite) slows NumPy's 2-thread BLAS most. Trust a run whose load average stayed near 0.
- Nothing is changed in the environment: BLAS threads, OPENBLAS_* variables (OPENBLAS_CORETYPE and
  OPENBLAS_L2_SIZE are set on some machines and slow a current NumPy; both implementations share the
  same BLAS, so the ratios stay fair) are recorded in the output, never set, unless `--blas-threads N`
  asks for N BLAS threads in this run's processes.

The worker processes run this same file with `--worker`; `--json PATH` also saves every number.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

SIZES: dict[str, tuple[int, int, int]] = {
    "tiny": (2, 4, 400),
    "small": (20, 64, 1000),
    "mid": (128, 256, 4096),
    "large": (784, 1024, 8192),
}
# The targets of issue 23, each a ratio of two implementations measured in the same rounds.
# Eager and compiled minigrad's time per step over hand-written NumPy's.
STEP_TARGETS = {"tiny": 2.0, "small": 1.0, "mid": 0.95, "large": 0.95}
COMPILED_TARGETS = {"tiny": 1.2, "small": 0.95, "mid": 0.95, "large": 0.95}
# At every size the compiled step is no slower than the eager one; at mid and large the faster of the two
# is no slower than PyTorch at its default number of threads.
TORCH_STEP_SIZES = ("mid", "large")
OP_TARGET_TORCH = 1.0  # eager forward + backward / the best PyTorch's, 1,000-op chains at 1×1 and 100×100
OP_TARGET_COMPILED = 2.0  # compiled forward + backward / NumPy's forward alone, 1,000-op chain at 1 × 1
# Peak extra memory of a step (RSS): eager and compiled no more than PyTorch's, at these sizes.
MEMORY_SIZES = ("mid", "large")
# The memory workers have glibc hand every block of 128 KiB or more straight back to the system when it is
# freed, so that the resident set follows what is allocated (by NumPy and by PyTorch alike).
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}

TOLERANCE = 1e-8
LEARNING_RATE = 0.01
CHAIN_ADD = -0.5  # the chain cycles x + CHAIN_ADD, x * CHAIN_MUL, sigmoid(x): Python numbers as constants
CHAIN_MUL = 4.0

# Rounds per size: fewer where one call is long. A block of calls lasts about BLOCK_SECONDS.
ROUNDS = {
    "quick": {"tiny": 15, "small": 15, "mid": 7, "large": 5, "ops": 15, "chain": 3},
    "full": {"tiny": 61, "small": 51, "mid": 31, "large": 11, "ops": 51, "chain": 7},
}
# Short blocks and many rounds: the two blocks of a round then see nearly the same load on a busy machine.
BLOCK_SECONDS = {"quick": 0.01, "full": 0.04}

# x -> sigmoid(4 (x - 0.5)) keeps x in (0, 1) and near 0.5, where its derivative is at most 1: after
# 100,000 operations the gradient is small but far from 0.


# ----- the three implementations of one training step -------------------------------------------


def make_problem(
    n_x: int, n_h: int, m: int, seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The lab's initialisation (W ~ U(±sqrt(1/n_prev)), biases 0), random X and 0/1 labels Y."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    params = {
        "W1": rng.uniform(-math.sqrt(1 / n_x), math.sqrt(1 / n_x), (n_h, n_x)),
        "b1": np.zeros((n_h, 1)),
        "W2": rng.uniform(-math.sqrt(1 / n_h), math.sqrt(1 / n_h), (1, n_h)),
        "b2": np.zeros((1, 1)),
    }
    return params, X, Y


def numpy_step(params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray, lr: float) -> dict[str, Any]:
    """One step as a student writes it from the lab: naive sigmoid, closed-form gradients."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = 1 / (1 + np.exp(-Z1))
    Z2 = W2 @ A1 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    J = -np.sum(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)) / m
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * A1 * (1 - A1)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    params["W1"] = W1 - lr * dW1
    params["b1"] = b1 - lr * db1
    params["W2"] = W2 - lr * dW2
    params["b2"] = b2 - lr * db2
    return {"J": J, "dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def minigrad_step(params: dict[str, Any], X: np.ndarray, Y: np.ndarray, lr: float) -> dict[str, Any]:
    """One step as a minigrad user writes it: Tensor operations, backward(), update of .data in place."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    for p in (W1, b1, W2, b2):
        p.zero_grad()
    Z1 = W1 @ X + b1
    A1 = Z1.sigmoid()
    Z2 = W2 @ A1 + b2
    A2 = Z2.sigmoid()
    J = -(Y * A2.log() + (1 - Y) * (1 - A2).log()).sum() / m
    J.backward()
    for p in (W1, b1, W2, b2):
        p.data -= lr * p.grad
    return {"J": J.data, "dW1": W1.grad, "db1": b1.grad, "dW2": W2.grad, "db2": b2.grad}


def lab_loss(W1: Any, b1: Any, W2: Any, b2: Any, X: Any, Y: Any) -> Any:
    """The cost of the step above, as a function of its tensors: what `mg.compile` traces."""
    m = X.shape[1]
    A1 = (W1 @ X + b1).sigmoid()
    A2 = (W2 @ A1 + b2).sigmoid()
    return -(Y * A2.log() + (1 - Y) * (1 - A2).log()).sum() / m


def compiled_step(step: Any, params: dict[str, Any], X: Any, Y: Any, lr: float) -> dict[str, Any]:
    """One step with `step = mg.compile(lab_loss)`: the traced graph replayed on arrays."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    J, (dW1, db1, dW2, db2) = step(W1, b1, W2, b2, X, Y)
    W1.data -= lr * dW1
    b1.data -= lr * db1
    W2.data -= lr * dW2
    b2.data -= lr * db2
    return {"J": J, "dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def torch_step(params: dict[str, Any], X: Any, Y: Any, lr: float) -> dict[str, Any]:
    """The same Tensor code in PyTorch."""
    import torch

    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[1]
    for p in (W1, b1, W2, b2):
        p.grad = None
    Z1 = W1 @ X + b1
    A1 = torch.sigmoid(Z1)
    Z2 = W2 @ A1 + b2
    A2 = torch.sigmoid(Z2)
    J = -(Y * torch.log(A2) + (1 - Y) * torch.log(1 - A2)).sum() / m
    J.backward()
    with torch.no_grad():
        for p in (W1, b1, W2, b2):
            p -= lr * p.grad
    return {"J": J.detach(), "dW1": W1.grad, "db1": b1.grad, "dW2": W2.grad, "db2": b2.grad}


# ----- the chains of elementwise operations -----------------------------------------------------


def numpy_chain_forward(x: np.ndarray, n_ops: int) -> np.ndarray:
    """The chain's forward pass alone: the floor that per-operation costs are held against."""
    for i in range(n_ops):
        if i % 3 == 0:
            x = x + CHAIN_ADD
        elif i % 3 == 1:
            x = x * CHAIN_MUL
        else:
            x = 1 / (1 + np.exp(-x))
    return x


def numpy_chain_hand(x: np.ndarray, n_ops: int) -> tuple[np.ndarray, np.ndarray]:
    """The chain's forward pass, then its backward pass written by hand: the gradient of sum(x) wrt x."""
    saved = []
    for i in range(n_ops):
        if i % 3 == 0:
            x = x + CHAIN_ADD
        elif i % 3 == 1:
            x = x * CHAIN_MUL
        else:
            x = 1 / (1 + np.exp(-x))
            saved.append(x)
    g = np.ones_like(x)
    for i in reversed(range(n_ops)):
        if i % 3 == 1:
            g = g * CHAIN_MUL
        elif i % 3 == 2:
            s = saved.pop()
            g = g * (s * (1 - s))
    return x, g


def _chain(x: Any, n_ops: int) -> Any:
    for i in range(n_ops):
        if i % 3 == 0:
            x = x + CHAIN_ADD
        elif i % 3 == 1:
            x = x * CHAIN_MUL
        else:
            x = x.sigmoid()
    return x


def minigrad_chain(x: Any, n_ops: int) -> tuple[np.ndarray, np.ndarray]:
    x.zero_grad()
    y = _chain(x, n_ops)
    y.backward(np.ones_like(y.data))
    return y.data, x.grad


def chain_loss(x: Any, n_ops: int) -> Any:
    """The chain as a loss for `mg.compile`: its output's sum, whose gradient is that of backward(ones)."""
    return _chain(x, n_ops).sum()


def torch_chain(x: Any, n_ops: int) -> tuple[Any, Any]:
    import torch

    x.grad = None
    y = x
    for i in range(n_ops):
        if i % 3 == 0:
            y = y + CHAIN_ADD
        elif i % 3 == 1:
            y = y * CHAIN_MUL
        else:
            y = torch.sigmoid(y)
    y.backward(torch.ones_like(y))
    return y.detach(), x.grad


# ----- measuring --------------------------------------------------------------------------------


def interleaved(
    impls: dict[str, Callable[[], Any]],
    setups: dict[str, Callable[[], None]],
    rounds: int,
    block_seconds: float,
) -> dict[str, list[float]]:
    """Seconds per call of each implementation, one sample per round, rounds interleaved and rotated."""
    names = list(impls)
    inner = {}
    for name in names:
        setups.get(name, _nothing)()
        one = _time_calls(impls[name], 1)  # also the warm-up
        if one < block_seconds:
            one = min(_time_calls(impls[name], 1) for _ in range(3))
        inner[name] = max(1, round(block_seconds / max(one, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            setups.get(name, _nothing)()
            samples[name].append(_time_calls(impls[name], inner[name]) / inner[name])
    return samples


def _nothing() -> None:
    pass


def _time_calls(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


def summary(samples: list[float]) -> dict[str, float]:
    if len(samples) >= 2:
        p25, p50, p75 = statistics.quantiles(samples, n=4, method="inclusive")
    else:
        p25 = p50 = p75 = samples[0]
    return {"median": p50, "p25": p25, "p75": p75, "min": min(samples), "n": len(samples)}


def peak_extra_bytes(fn: Callable[[], Any]) -> int:
    """The most memory that one call of `fn` holds at once beyond what was allocated before it.

    Call it on a warmed-up `fn`: a first call's one-off allocations would count.
    """
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - before


def max_rel_error(got: Any, want: np.ndarray) -> float:
    """max |got - want| / max |want|: the largest error relative to the gradient's largest entry."""
    got = np.asarray(got.detach().numpy() if hasattr(got, "detach") else got, dtype=np.float64)
    if got.shape != want.shape:
        return math.inf
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    return err / scale if scale > 0 else err


def check_agree(results: dict[str, dict[str, Any]], reference: str, what: str) -> dict[str, float]:
    """The worst relative max-abs error of every implementation against `reference`; exits on a mismatch."""
    worst: dict[str, float] = {}
    for name, result in results.items():
        if name == reference:
            continue
        errors = {
            key: max_rel_error(result[key], np.asarray(value)) for key, value in results[reference].items()
        }
        worst[name] = max(errors.values())
        bad = {key: err for key, err in errors.items() if not err <= TOLERANCE}
        if bad:
            raise SystemExit(
                f"{what}: {name} disagrees with {reference} beyond {TOLERANCE:g} "
                f"(relative max-abs error): {bad}; no timing is meaningful until that is fixed"
            )
    return worst


def torch_or_none(no_torch: bool) -> Any:
    if no_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_threads_setup(torch: Any, n: int) -> Callable[[], None]:
    def setup() -> None:
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)

    return setup


def torch_thread_counts(torch: Any) -> list[int]:
    """PyTorch's default number of threads here, then 1 (once, where the default is 1)."""
    default = torch.get_num_threads()
    return [default] if default == 1 else [default, 1]


# ----- the workers: one process each ------------------------------------------------------------


def step_impls(
    size: str, no_torch: bool
) -> tuple[dict[str, Callable[[], Any]], dict[str, Callable[[], None]]]:
    """One step of every implementation, each on its own copy of the same parameters; PyTorch's setups."""
    import minigrad as mg

    params, X, Y = make_problem(*SIZES[size])
    torch = torch_or_none(no_torch)
    np_params = {k: v.copy() for k, v in params.items()}
    mg_params = {k: mg.Tensor(v.copy(), requires_grad=True, name=k) for k, v in params.items()}
    c_params = {k: mg.Tensor(v.copy(), requires_grad=True, name=k) for k, v in params.items()}
    step = mg.compile(lab_loss)
    tX, tY = mg.Tensor(X), mg.Tensor(Y)  # made once, as a training loop does
    impls: dict[str, Callable[[], Any]] = {
        "numpy": lambda: numpy_step(np_params, X, Y, LEARNING_RATE),
        "minigrad": lambda: minigrad_step(mg_params, X, Y, LEARNING_RATE),
        "compiled": lambda: compiled_step(step, c_params, tX, tY, LEARNING_RATE),
    }
    setups: dict[str, Callable[[], None]] = {}
    if torch is not None:
        pX, pY = torch.from_numpy(X), torch.from_numpy(Y)
        for n in torch_thread_counts(torch):
            t_params = {
                k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()
            }
            impls[f"torch-{n}t"] = lambda t_params=t_params: torch_step(t_params, pX, pY, LEARNING_RATE)
            setups[f"torch-{n}t"] = _torch_threads_setup(torch, n)
    return impls, setups


def worker_step(size: str, mode: str, no_torch: bool) -> dict[str, Any]:
    import minigrad as mg

    impls, setups = step_impls(size, no_torch)
    # Every implementation starts from the same parameters, so their first gradients must agree.
    first = {}
    for name, fn in impls.items():
        setups.get(name, _nothing)()
        first[name] = fn()
    agreement = check_agree(first, "numpy", f"step at size {size}")
    torch_default = next((n for n in impls if n.startswith("torch")), None)
    if torch_default:
        setups[torch_default]()

    samples = interleaved(impls, setups, ROUNDS[mode][size], BLOCK_SECONDS[mode])
    memory = {name: peak_extra_bytes(impls[name]) for name in ("numpy", "minigrad", "compiled")}
    return {
        "size": size,
        "shape": list(SIZES[size]),
        "agreement": agreement,
        "samples": samples,
        "memory": memory,
        "blas": runtime_blas(),
        "minigrad_file": mg.__file__,
        "threads": _threads_of_minigrad(mg),
    }


def _threads_of_minigrad(mg: Any) -> int | None:
    """How many threads minigrad's elementwise work uses (None for a minigrad without minigrad.parallel)."""
    try:
        from minigrad import parallel
    except ImportError:
        return None
    return parallel.num_threads()


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"/proc/self/status has no {field}: the RSS measure needs Linux")


def worker_memory(size: str, name: str, no_torch: bool) -> dict[str, Any]:
    """Peak extra resident memory of one step of `name`, in a process of its own, after three warm-up steps.

    The peak resident set (VmHWM) is reset through /proc/self/clear_refs, then read after one step; minus
    the resident set before it. The parent runs this with MALLOC_ENV, so freed arrays leave the RSS.
    """
    impls, setups = step_impls(size, no_torch)
    if name not in impls:
        return {"size": size, "name": name, "bytes": None}
    setups.get(name, _nothing)()
    for _ in range(3):
        impls[name]()
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kib("VmRSS")
    impls[name]()
    peak = _status_kib("VmHWM")
    return {"size": size, "name": name, "bytes": (peak - before) * 1024}


def worker_chain(n_ops: int, side: int, mode: str, no_torch: bool, reference: str) -> dict[str, Any]:
    import minigrad as mg

    rng = np.random.default_rng(1)
    x0 = rng.uniform(0.25, 0.75, (side, side))
    torch = torch_or_none(no_torch)

    mx = mg.Tensor(x0.copy(), requires_grad=True)
    impls: dict[str, Callable[[], Any]] = {
        "numpy-forward": lambda: numpy_chain_forward(x0, n_ops),
        "numpy-hand": lambda: numpy_chain_hand(x0, n_ops),
        "minigrad": lambda: minigrad_chain(mx, n_ops),
    }
    if n_ops <= 10_000:  # the compiled chain: traced once, its 1,000 equations replayed
        step = mg.compile(lambda x: chain_loss(x, n_ops))
        cx = mg.Tensor(x0.copy(), requires_grad=True)
        impls["compiled"] = lambda: step(cx)
    setups: dict[str, Callable[[], None]] = {}
    if torch is not None:
        tx = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        for n in torch_thread_counts(torch):
            impls[f"torch-{n}t"] = lambda: torch_chain(tx, n_ops)
            setups[f"torch-{n}t"] = _torch_threads_setup(torch, n)
    if reference == "numpy-hand":
        del impls["numpy-forward"]

    _, g_hand = numpy_chain_hand(x0, n_ops)
    results = {"numpy-hand": {"dx": g_hand}, "minigrad": {"dx": minigrad_chain(mx, n_ops)[1].copy()}}
    if "compiled" in impls:
        results["compiled"] = {"dx": impls["compiled"]()[1][0]}
    if torch is not None:
        results["torch"] = {"dx": torch_chain(tx, n_ops)[1].clone()}
    agreement = check_agree(results, "numpy-hand", f"chain of {n_ops} ops at {side}×{side}")

    kind = "chain" if n_ops > 10_000 else "ops"
    samples = interleaved(impls, setups, ROUNDS[mode][kind], BLOCK_SECONDS[mode])
    return {
        "n_ops": n_ops,
        "side": side,
        "reference": reference,
        "agreement": agreement,
        "gradient": float(np.mean(g_hand)),
        "samples": samples,
    }


# ----- the environment --------------------------------------------------------------------------


def runtime_blas() -> dict[str, Any]:
    """What NumPy's BLAS runs here: from threadpoolctl where installed, else from OpenBLAS itself."""
    info: dict[str, Any] = {}
    try:
        from threadpoolctl import threadpool_info

        info["threadpoolctl"] = [
            {
                k: v
                for k, v in pool.items()
                if k in ("user_api", "internal_api", "num_threads", "version", "architecture")
            }
            for pool in threadpool_info()
        ]
        return info
    except ImportError:
        pass
    with contextlib.suppress(Exception):
        import ctypes

        libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
        for lib_path in sorted(libs.glob("*openblas*")):
            lib = ctypes.CDLL(str(lib_path))
            for prefix in ("scipy_openblas_", "openblas_"):
                for suffix in ("64_", ""):
                    get_core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                    if get_core is None:
                        continue
                    get_core.restype = ctypes.c_char_p
                    info["openblas_core"] = get_core().decode()
                    threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
                    threads.restype = ctypes.c_int
                    info["openblas_threads"] = threads()
                    config = getattr(lib, f"{prefix}get_config{suffix}")
                    config.restype = ctypes.c_char_p
                    info["openblas_config"] = config().decode().strip()
                    return info
    return info


def environment(minigrad_dir: Path) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        blas_build = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas_build.get('name')} {blas_build.get('version')}"
    except Exception:
        blas = "unknown (numpy.show_config(mode='dicts') unavailable)"
    try:
        from importlib.metadata import version

        torch_version = version("torch")
    except Exception:
        torch_version = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    variables = {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO", "BLIS_", "NPY_", "VECLIB", "PYTHONHASHSEED"))
    }
    commit = _git(["rev-parse", "--short", "HEAD"], minigrad_dir)
    dirty = _git(["status", "--porcelain", "--", "minigrad"], minigrad_dir)
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch_version,
        "cpu": cpu,
        "cores": cores,
        "blas_build": blas,
        "blas_runtime": runtime_blas(),
        "env": variables,
        "minigrad": str(minigrad_dir / "minigrad"),
        "commit": (commit or "?") + (" with uncommitted changes to minigrad/" if dirty else ""),
        "gc": "enabled, as in a user's program",
        "load_before": _load(),
    }


def _load() -> str:
    """The 1-, 5- and 15-minute load averages: near 0 on a quiet machine, near the core count when busy."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _busy(load: str) -> bool:
    try:
        return float(load.split()[0]) > 0.5
    except (ValueError, IndexError):
        return False


def _git(args: list[str], where: Path) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=where, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# ----- the parent: runs the workers and prints the tables ---------------------------------------


def run_worker(
    args: list[str], minigrad_dir: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    env = dict(os.environ, **(extra_env or {}))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(minigrad_dir), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", *args],
        cwd=minigrad_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark worker {' '.join(args)} failed (exit {proc.returncode}); see above")
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def fmt_spread(s: dict[str, float], scale: float = 1.0) -> str:
    return f"{fmt_time(s['median'] / scale)} [{fmt_time(s['p25'] / scale)}–{fmt_time(s['p75'] / scale)}]"


def paired_ratio(samples: dict[str, list[float]], name: str, reference: str) -> dict[str, float]:
    """`name`'s time over `reference`'s, round by round: both ran in the same round, under the same load."""
    return summary([a / b for a, b in zip(samples[name], samples[reference])])


def fmt_ratio(r: dict[str, float]) -> str:
    return f"{r['median']:.2f}× [{r['p25']:.2f}–{r['p75']:.2f}]"


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio <= target else "MISS"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def judged(samples: dict[str, list[float]], name: str, reference: str, target: float | None) -> list[str]:
    """The cells of one ratio: its median [p25–p75], its target and PASS or MISS (blank without a target)."""
    r = paired_ratio(samples, name, reference)
    if target is None:
        return [fmt_ratio(r), "", ""]
    return [fmt_ratio(r), f"≤ {target}×", verdict(r["median"], target)]


def with_derived(samples: dict[str, list[float]]) -> dict[str, list[float]]:
    """The samples, plus per round the faster of eager and compiled minigrad, and the best PyTorch."""
    out = dict(samples)
    if "compiled" in samples:
        out["faster minigrad"] = [min(a, b) for a, b in zip(samples["minigrad"], samples["compiled"])]
    torch_names = [n for n in samples if n.startswith("torch-")]
    if torch_names:
        out["best torch"] = [min(r) for r in zip(*(samples[n] for n in torch_names))]
    return out


def _judge_rows(
    where: str,
    samples: dict[str, list[float]],
    rows: list[tuple[str, str, float | None]],
    verdicts: list[str],
) -> list[list[str]]:
    lines = []
    for name, ref, target in rows:
        if name not in samples or ref not in samples:
            continue
        cells = judged(samples, name, ref, target)
        lines.append([where, f"{name} / {ref}", *cells])
        if target is not None:
            median = paired_ratio(samples, name, ref)["median"]
            verdicts.append(f"{cells[2]}  {where}: {name}/{ref} {median:.2f}× (target ≤ {target}×)")
    return lines


def print_steps(results: list[dict[str, Any]], verdicts: list[str]) -> None:
    times, ratios = [], []
    for r in results:
        size, samples = r["size"], with_derived(r["samples"])
        s = {name: summary(v) for name, v in r["samples"].items()}
        torch_names = [n for n in s if n.startswith("torch-")]
        cells = [fmt_spread(s[n]) for n in ("numpy", "minigrad", "compiled")]
        cells += [fmt_spread(s[n]) for n in torch_names]
        times.append([size, "×".join(map(str, r["shape"])), *cells])
        rows: list[tuple[str, str, float | None]] = [
            ("minigrad", "numpy", STEP_TARGETS[size]),
            ("compiled", "numpy", COMPILED_TARGETS[size]),
            ("compiled", "minigrad", 1.0),
        ]
        rows += [(n, "numpy", None) for n in torch_names]
        if torch_names:
            target = 1.0 if size in TORCH_STEP_SIZES else None
            rows.append(("faster minigrad", torch_names[0], target))
        ratios += _judge_rows(f"step {size}", samples, rows, verdicts)
    print("Training step of the lab's network: median time per step [interquartile range]")
    width = max(len(row) for row in times)
    header = ["size", "n_x×n_h×m", "numpy (hand)", "minigrad", "compiled"]
    header += [n for n in results[0]["samples"] if n.startswith("torch-")]
    header += [""] * (width - len(header))
    print(table(header, [row + [""] * (width - len(row)) for row in times]))
    print()
    print("Ratios per step: the median [p25–p75] of the per-round ratios (both ran in the same round);")
    print("'faster minigrad': per round, the faster of eager and compiled; torch-Nt: PyTorch on N threads")
    print(table(["size", "ratio", "median [p25–p75]", "target", ""], ratios))
    rounds = ", ".join(f"{r['size']} {len(r['samples']['numpy'])}" for r in results)
    print(f"rounds: {rounds}")
    print()


def print_memory(
    results: list[dict[str, Any]], rss: dict[str, dict[str, int | None]], verdicts: list[str]
) -> None:
    rows = []
    for r in results:
        mem = r["memory"]
        rows.append(
            [r["size"]] + [f"{mem[name] / 2**20:.2f} MiB" for name in ("numpy", "minigrad", "compiled")]
        )
    print("Peak extra memory of one step, traced: tracemalloc sees every NumPy array (not PyTorch's memory)")
    print(table(["size", "numpy (hand)", "eager", "compiled"], rows))
    print()
    if not rss:
        return
    torch_names = sorted({n for per in rss.values() for n in per if n.startswith("torch")})
    names = ["numpy", "minigrad", "compiled", *torch_names]
    rows = []
    for size, per in rss.items():
        rows.append([size] + [f"{per[n] / 2**20:.1f} MiB" if per.get(n) is not None else "-" for n in names])
        torch_name = next((n for n in names if n.startswith("torch") and per.get(n) is not None), None)
        if size in MEMORY_SIZES and torch_name:
            for n in ("minigrad", "compiled"):
                ok = per[n] <= per[torch_name]
                verdicts.append(
                    f"{'PASS' if ok else 'MISS'}  memory {size}: {n} {per[n] / 2**20:.1f} MiB "
                    f"(target ≤ {torch_name} {per[torch_name] / 2**20:.1f} MiB)"
                )
    print("Peak extra resident memory of one step (VmHWM - VmRSS; a fresh process per cell, 3 warm-up steps;")
    print(
        f"glibc set to {' '.join(f'{k}={v}' for k, v in MALLOC_ENV.items())}): counts NumPy and PyTorch alike"
    )
    print(table(["size", *names], rows))
    print()


def print_chains(results: list[dict[str, Any]], verdicts: list[str]) -> None:
    times, ratios = [], []
    for r in results:
        samples, n, side = with_derived(r["samples"]), r["n_ops"], r["side"]
        s = {name: summary(v) for name, v in r["samples"].items()}
        where = f"{n:,} ops at {side}×{side}"
        torch_names = [t for t in s if t.startswith("torch-")]
        names = ["numpy-forward", "numpy-hand", "minigrad", "compiled", *torch_names]
        times.append([f"{n:,}", f"{side}×{side}"] + [fmt_spread(s[k], n) if k in s else "-" for k in names])
        rows: list[tuple[str, str, float | None]] = [
            ("minigrad", "numpy-forward", None),
            ("compiled", "numpy-forward", OP_TARGET_COMPILED if side == 1 else None),
            ("compiled", "minigrad", None),
            ("minigrad", "best torch", OP_TARGET_TORCH if n <= 10_000 else None),
        ]
        if "numpy-forward" not in s:
            rows = [("minigrad", "numpy-hand", None), ("minigrad", "best torch", None)]
        ratios += _judge_rows(where, samples, rows, verdicts)
    print(
        f"Chains of elementwise operations (x + {CHAIN_ADD}, x * {CHAIN_MUL}, sigmoid(x)): "
        "median time per operation [interquartile range]"
    )
    print(
        "numpy-forward: the forward pass alone; the others: forward and backward "
        "(numpy-hand: backward by hand; compiled: mg.compile of the chain's sum; torch-Nt: N threads)"
    )
    width = max(len(row) for row in times)
    header = ["ops", "array", "numpy-forward", "numpy-hand", "minigrad", "compiled"]
    header += [n for n in results[0]["samples"] if n.startswith("torch-")]
    header += [""] * (width - len(header))
    print(table(header, [row + [""] * (width - len(row)) for row in times]))
    print()
    print("Ratios per operation: the median [p25–p75] of the per-round ratios; best torch: per round")
    print(table(["chain", "ratio", "median [p25–p75]", "target", ""], ratios))
    print()


def print_agreement(steps: list[dict[str, Any]], chains: list[dict[str, Any]]) -> None:
    parts = []
    for r in steps:
        parts.append(f"{r['size']}: " + ", ".join(f"{n} {e:.1e}" for n, e in r["agreement"].items()))
    for r in chains:
        parts.append(
            f"chain {r['n_ops']:,} at {r['side']}×{r['side']}: "
            + ", ".join(f"{n} {e:.1e}" for n, e in r["agreement"].items())
        )
    print(
        f"Gradients checked before timing (relative max-abs error against hand-written NumPy, "
        f"max |a-b| / max |b|, must be ≤ {TOLERANCE:g}):"
    )
    for p in parts:
        print(f"  {p}")
    print()


def print_environment(env: dict[str, Any], worker: dict[str, Any] | None, mode: str) -> None:
    print(f"minigrad benchmark ({mode} run), {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    where = worker["minigrad_file"] if worker else env["minigrad"]
    print(f"  minigrad: {where} (git {env['commit']})")
    print(f"  python {env['python']}, numpy {env['numpy']}, torch {env['torch'] or 'not installed'}")
    print(f"  CPU: {env['cpu']}, {env['cores']} cores available")
    print(f"  BLAS (build): {env['blas_build']}")
    runtime = worker["blas"] if worker else env["blas_runtime"]
    for k, v in runtime.items():
        print(f"  BLAS (runtime) {k}: {v}")
    env_vars = ", ".join(f"{k}={v}" for k, v in env["env"].items()) or "none set"
    print(f"  BLAS/threading environment variables: {env_vars}")
    print(
        f"  PyTorch: its default threads and 1 thread (torch-Nt); minigrad's elementwise threads: "
        f"{worker.get('threads') if worker else '?'} (MINIGRAD_NUM_THREADS); NumPy's BLAS threads as above"
    )
    print(f"  garbage collector: {env['gc']}")
    print(
        f"  load average before: {env['load_before']}, after: {env.get('load_after', '?')} "
        "(a quiet run: both near 0)"
    )
    print()


def measure_rss(
    sizes: list[str], steps: list[dict[str, Any]], flags: list[str], minigrad_dir: Path
) -> dict[str, dict[str, int | None]]:
    """Each implementation's peak extra resident memory per size, one fresh process each (PyTorch's too)."""
    rss: dict[str, dict[str, int | None]] = {}
    for size, step in zip(sizes, steps):
        torch_names = [n for n in step["samples"] if n.startswith("torch-")]
        names = ["numpy", "minigrad", "compiled", *torch_names[:1]]
        rss[size] = {}
        for name in names:
            no_torch = [] if name.startswith("torch") or "--no-torch" in flags else ["--no-torch"]
            out = run_worker(["memory", size, name, *flags, *no_torch], minigrad_dir, MALLOC_ENV)
            rss[size][name] = out["bytes"]
    return rss


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and shorter blocks: about a minute"
    )
    parser.add_argument("--sizes", default=",".join(SIZES), help="comma-separated, from: " + ", ".join(SIZES))
    parser.add_argument(
        "--no-torch", action="store_true", help="leave PyTorch out even where it is installed"
    )
    parser.add_argument("--skip-chains", action="store_true", help="only the training steps and memory")
    parser.add_argument("--skip-rss", action="store_true", help="leave out the resident-memory measure")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="set OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS for this run only "
        "(default: leave them as they are). 1 makes a busy machine's numbers far less noisy",
    )
    parser.add_argument("--minigrad", type=Path, default=ROOT, help="directory holding the minigrad package")
    parser.add_argument("--json", type=Path, help="also write every sample and setting to this file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"

    if args.worker:
        kind, *rest = args.worker
        if kind == "step":
            out = worker_step(rest[0], mode, args.no_torch)
        elif kind == "memory":
            out = worker_memory(rest[0], rest[1], args.no_torch)
        else:
            out = worker_chain(int(rest[0]), int(rest[1]), mode, args.no_torch, rest[2])
        print(json.dumps(out))
        return

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {list(SIZES)}")
    minigrad_dir = args.minigrad.resolve()
    if not (minigrad_dir / "minigrad" / "__init__.py").is_file():
        parser.error(f"--minigrad {minigrad_dir} holds no minigrad/__init__.py")
    flags = (["--quick"] if args.quick else []) + (["--no-torch"] if args.no_torch else [])

    if args.blas_threads is not None:
        if args.blas_threads < 1:
            parser.error(f"--blas-threads must be at least 1, got {args.blas_threads}")
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.blas_threads)  # inherited by the workers alone

    started = time.perf_counter()
    env = environment(minigrad_dir)
    steps = [run_worker(["step", size, *flags], minigrad_dir) for size in sizes]
    chains = []
    if not args.skip_chains:
        for n_ops, side, ref in (
            (1000, 1, "numpy-forward"),
            (1000, 100, "numpy-forward"),
            (100_000, 1, "numpy-hand"),
        ):
            chains.append(run_worker(["chain", str(n_ops), str(side), ref, *flags], minigrad_dir))
    rss = {} if args.skip_rss else measure_rss(sizes, steps, flags, minigrad_dir)

    env["load_after"] = _load()
    busy = _busy(env["load_before"]) or _busy(env["load_after"])
    verdicts: list[str] = []
    print_environment(env, steps[0] if steps else None, mode)
    print_agreement(steps, chains)
    if steps:
        print_steps(steps, verdicts)
        print_memory(steps, rss, verdicts)
    if chains:
        print_chains(chains, verdicts)
    print("Targets (issue 23), on the median per-round ratio:")
    for v in verdicts:
        print(f"  {v}")
    if busy:
        print(
            "  (the machine was busy during this run: the load average above was over 0.5; times are noisy)"
        )
    print(f"\ntotal {time.perf_counter() - started:.0f} s")

    if args.json:
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(
            json.dumps(
                {"mode": mode, "environment": env, "steps": steps, "chains": chains, "rss": rss}, indent=1
            )
        )
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main(sys.argv[1:])
