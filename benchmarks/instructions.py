"""Instructions per call of the engine's hot paths, counted by callgrind: a figure load leaves alone.

    git worktree add ../base 4520993 && git worktree add ../cut 30e7f1c
    OPENBLAS_NUM_THREADS=1 python benchmarks/instructions.py ../base ../cut .

Each argument is a folder holding a `minigrad` package (the base before the core cut, the cut, this
tree). For each case, callgrind counts a run of n calls and a run of 0 calls (the same start-up and
warm-up), and the difference over n is the cost of one call: Python's start-up, NumPy's import and the
first calls' caches cancel out. The cases:

- `chain`: the eager 1,000-op chain at 1 x 1 (`(x * c + d).exp().log()`, 250 times), forward + backward;
- `chain_nograd`: its forward alone under `no_grad()`;
- `lab`: the eager tiny lab step (2 x 4 x 400 examples), as `benchmarks/bench.py` writes it;
- `compiled`: the same step through `mg.compile`, traced once and replayed.

`python benchmarks/instructions.py --case chain --calls 3` runs one case in this process (what callgrind
runs).
Needs valgrind (`apt-get install valgrind`). It runs two counts at a time, on two cores.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CALLS = {"chain": 4, "chain_nograd": 4, "lab": 40, "compiled": 40}
WARM_UP = 3
CHAIN_C = 0.99999
CHAIN_D = 0.5 * (1 - CHAIN_C)


def _chain_case(mg: Any, no_grad: bool) -> Callable[[], Any]:
    x = mg.Tensor(np.full((1, 1), 0.5), requires_grad=True)

    def forward() -> Any:
        y = x
        for _ in range(250):
            y = (y * CHAIN_C + CHAIN_D).exp().log()
        return y

    def both() -> Any:
        x.zero_grad()
        y = forward()
        y.backward(np.ones_like(y.data))
        return x.grad

    def forward_only() -> Any:
        with mg.no_grad():
            return forward()

    return forward_only if no_grad else both


def _lab_problem(mg: Any) -> tuple[list[Any], Any, Any]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 400))
    Y = (rng.random((1, 400)) < 0.5).astype(np.float64)
    shapes = [(4, 2), (4, 1), (1, 4), (1, 1)]
    params = [mg.Tensor(rng.uniform(-0.5, 0.5, s), requires_grad=True) for s in shapes]
    return params, mg.Tensor(X), mg.Tensor(Y)


def _lab_loss(W1: Any, b1: Any, W2: Any, b2: Any, X: Any, Y: Any) -> Any:
    m = X.shape[1]
    A1 = (W1 @ X + b1).sigmoid()
    A2 = (W2 @ A1 + b2).sigmoid()
    return -(Y * A2.log() + (1 - Y) * (1 - A2).log()).sum() / m


def _lab_case(mg: Any, compiled: bool) -> Callable[[], Any]:
    params, X, Y = _lab_problem(mg)
    step = mg.compile(_lab_loss)

    def eager() -> Any:
        for p in params:
            p.zero_grad()
        J = _lab_loss(*params, X, Y)
        J.backward()
        for p in params:
            p.data -= 0.01 * p.grad
        return J

    def replayed() -> Any:
        J, grads = step(*params, X, Y)
        for p, g in zip(params, grads):
            p.data -= 0.01 * g
        return J

    return replayed if compiled else eager


def run_case(case: str, calls: int) -> None:
    """Warm up, then call the case `calls` times: what callgrind counts."""
    import minigrad as mg

    if case in ("chain", "chain_nograd"):
        fn = _chain_case(mg, case == "chain_nograd")
    else:
        fn = _lab_case(mg, case == "compiled")
    for _ in range(WARM_UP + calls):
        fn()


def count(folder: Path, case: str, calls: int) -> int:
    """Instructions callgrind counts for a run of `calls` calls with `folder`'s minigrad."""
    env = dict(os.environ, PYTHONPATH=str(folder), OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--case", case, "--calls", str(calls)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind on {case} with {folder} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_call(folder: Path, case: str, pool: concurrent.futures.Executor) -> float:
    """Instructions of one call: (n calls - 0 calls) / n."""
    n = CALLS[case]
    many, none = pool.submit(count, folder, case, n), pool.submit(count, folder, case, 0)
    return (many.result() - none.result()) / n


def main() -> None:
    """Count every case for every folder given, and print a table (instructions per call)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--case", choices=sorted(CALLS))
    parser.add_argument("--calls", type=int, default=1)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.calls)
        return
    if not args.folders:
        parser.error("give the folders whose minigrad to count, or --case to run one case")
    rows = {}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        for case in CALLS:
            rows[case] = [per_call(folder.resolve(), case, pool) for folder in args.folders]
    print("case".ljust(14) + "".join(str(f)[-24:].rjust(26) for f in args.folders))
    for case, figures in rows.items():
        print(case.ljust(14) + "".join(f"{v / 1e3:>25,.0f}k" for v in figures))


if __name__ == "__main__":
    main()
