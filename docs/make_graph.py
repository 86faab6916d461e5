"""Draw the computation graph of the lab's two-layer network: one forward and one backward pass.

    python -m docs.make_graph docs/twolayer_graph.svg      (from the repository root)

The network is built here from minigrad operations, with the lab's names and formulas:
Z1 = W1 X + b1, A1 = sigmoid(Z1), Z2 = W2 A1 + b2, A2 = sigmoid(Z2), and the cross-entropy cost J.
"""

from __future__ import annotations

import sys

import numpy as np

import minigrad as mg
from minigrad import Tensor


def named(t: Tensor, name: str) -> Tensor:
    t.name = name
    return t


def twolayer_cost(n_x: int = 2, n_h: int = 4, m: int = 200, seed: int = 0) -> Tensor:
    """The lab's cost J after one forward and one backward pass, at the lab's initialisation."""
    rng = np.random.default_rng(seed)
    # Two classes in the plane: inside or outside a circle.
    X = rng.uniform(-1, 1, size=(n_x, m))
    Y = (np.sum(X**2, axis=0, keepdims=True) < 0.5).astype(np.float64)

    def xavier(n_out: int, n_in: int) -> np.ndarray:  # the lab's bound, sqrt(1 / n[c-1])
        return rng.uniform(-np.sqrt(1 / n_in), np.sqrt(1 / n_in), size=(n_out, n_in))

    W1 = Tensor(xavier(n_h, n_x), requires_grad=True, name="W1")
    b1 = Tensor(np.zeros((n_h, 1)), requires_grad=True, name="b1")
    W2 = Tensor(xavier(1, n_h), requires_grad=True, name="W2")
    b2 = Tensor(np.zeros((1, 1)), requires_grad=True, name="b2")
    X, Y = Tensor(X, name="X"), Tensor(Y, name="Y")

    # Every tensor gets a name, so that the picture reads like the lab's formulas.
    Z1 = named(named(W1 @ X, "W1 X") + b1, "Z1")
    A1 = named(mg.sigmoid(Z1), "A1")
    Z2 = named(named(W2 @ A1, "W2 A1") + b2, "Z2")
    A2 = named(mg.sigmoid(Z2), "A2")
    # J = -(1/m) sum[Y log A2 + (1 - Y) log(1 - A2)]
    log_A2 = named(mg.log(A2), "log A2")
    log_1_A2 = named(mg.log(named(1 - A2, "1 - A2")), "log(1 - A2)")
    one_minus_Y = Tensor(1 - Y.data, name="1 - Y")
    terms = named(
        named(Y * log_A2, "Y log A2") + named(one_minus_Y * log_1_A2, "(1 - Y) log(1 - A2)"),
        "Y log A2 + (1 - Y) log(1 - A2)",
    )
    J = named(Tensor(-1 / m, name="-1/m") * named(mg.sum(terms), "sum"), "J")
    J.backward()
    return J


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m docs.make_graph PATH  (.svg, .png, .pdf or .dot)", file=sys.stderr)
        return 2
    J = twolayer_cost()
    written = mg.save_graph(
        J, argv[0], title="The lab's two-layer network: J after one forward and backward pass"
    )
    print(f"wrote {written}")
    if str(written) != argv[0]:
        print(f"the Graphviz programs are missing, so this is the DOT text; {mg.graph.INSTALL_HINT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
