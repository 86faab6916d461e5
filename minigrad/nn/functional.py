"""The fused operations of `minigrad.nn`: a linear layer and three losses, each ONE operation of the graph.

Each loss's rule is its closed form, the one the lab derives by hand, found again:

    binary_cross_entropy_with_logits(z, y)   dJ/dz = (sigmoid(z) - y) / n     the lab's dZ2 = A2 - Y
    cross_entropy(logits, target)            dJ/dz = (softmax(z) - one_hot) / m
    mse_loss(a, b)                           dJ/da = 2 (a - b) / n

(`/ n`, `/ m`: the mean, PyTorch's default reduction; the lab's `dZ` leaves the `1/m` to `dW` and `db`.)
A loss composed from `log`, `sigmoid` and `sum` would reach the same gradient through a chain of rules that
overflows or divides by zero at large logits; the fused forward is written stably (`logaddexp`, a shifted
`log_softmax`), and the rule never divides. The rules are written with minigrad's functions, which take
arrays on an ordinary pass and Tensors under `create_graph=True`: second derivatives come from the rules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops import log_softmax, matmul, sigmoid, softmax
from minigrad.tensor import Tensor

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "linear", "mse_loss"]


# ----- linear: x @ weight.T + bias, with the lab's dW = dZ Aᵀ, db = sum dZ ------------------------------


@op(name="linear")
def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return x @ weight.T + bias


def _rows(a: Any, width: int) -> Any:
    """`a` as a 2-D stack of rows `(-1, width)`: the leading axes of a batch, flattened."""
    return a.reshape((-1, width))


_linear.defvjp(
    lambda g, out, x, weight, bias: g @ weight,
    lambda g, out, x, weight, bias: _rows(g, weight.shape[0]).T @ _rows(x, weight.shape[1]),
    lambda g, out, x, weight, bias: _rows(g, weight.shape[0]).sum(axis=0),
)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """`x @ weight.T + bias` for `x` of shape `(..., in_features)`, `weight (out_features, in_features)`,
    `bias (out_features,)`: PyTorch's `F.linear`, one operation of the graph when there is a bias."""
    width = weight.shape[1] if weight.ndim == 2 else None
    if width is None or np.ndim(x) == 0 or np.shape(x)[-1] != width:
        raise ValueError(
            f"linear: input of shape {np.shape(x)} does not fit weight of shape {weight.shape}: "
            f"the input's last axis must be the weight's in_features ({width})"
        )
    if bias is None:
        return matmul(x, weight.T)
    return _linear(x, weight, bias)


# ----- binary cross-entropy from logits -------------------------------------------------------------------


@op(name="binary_cross_entropy_with_logits")
def _bce_with_logits(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    _same_shape("binary_cross_entropy_with_logits", "logits", z, "target", y)
    # -[y log(sigmoid z) + (1 - y) log(1 - sigmoid z)] = log(1 + e^z) - y z; logaddexp(0, z) never overflows
    return np.asarray(np.mean(np.logaddexp(0, z) - y * z), dtype=z.dtype)


_bce_with_logits.defvjp(
    lambda g, out, z, y: g * (sigmoid(z) - y) / z.size,
    lambda g, out, z, y: g * -z / z.size,
)


def binary_cross_entropy_with_logits(z: Any, y: Any) -> Tensor:
    """The mean over all elements of `-[y log(sigmoid z) + (1-y) log(1 - sigmoid z)]`, from logits `z`.

    One operation, whose rule is the closed form `(sigmoid(z) - y) / n`: the lab's `dZ2 = A2 - Y` (up to
    the mean's `1/n`). Stable at any logit (no overflow, no NaN at ±1e4). `y` has `z`'s shape; values in
    [0, 1] (labels 0/1, or probabilities).
    """
    return _bce_with_logits(z, y)


# ----- cross-entropy over classes ---------------------------------------------------------------------------


@op(name="cross_entropy")
def _cross_entropy(logits: np.ndarray, target: np.ndarray, axis: int = -1) -> np.ndarray:
    log_p = _log_softmax(logits, axis)
    if _are_indices(target, logits):
        picked = np.take_along_axis(log_p, np.expand_dims(_indices(target, logits, axis), axis), axis)
        total = np.sum(picked)
    else:
        total = np.sum(_probabilities(target, logits) * log_p)
    return np.asarray(-total / _examples(logits, axis), dtype=logits.dtype)


def _cross_entropy_logits_rule(g: Any, out: Any, logits: Any, target: Any, axis: int = -1) -> Any:
    if _are_indices(target, logits):  # the forward pass has checked them
        indices = _values(target).astype(np.intp)
        p_target = np.moveaxis(np.eye(logits.shape[axis], dtype=logits.dtype)[indices], -1, axis)
    else:
        p_target = target
    return g * (softmax(logits, axis=axis) - p_target) / _examples(logits, axis)


def _cross_entropy_target_rule(g: Any, out: Any, logits: Any, target: Any, axis: int = -1) -> Any:
    if _are_indices(target, logits):
        return None  # class indices are not a differentiable quantity
    return g * -log_softmax(logits, axis=axis) / _examples(logits, axis)


_cross_entropy.defvjp(_cross_entropy_logits_rule, _cross_entropy_target_rule)


def cross_entropy(logits: Any, target: Any, axis: int = -1) -> Tensor:
    """The cross-entropy of `softmax(logits, axis)` against `target`, averaged over the examples.

    `target` is either class indices, of `logits`' shape without `axis` (whole numbers 0 ... K-1; any
    integer dtype, or floats holding whole numbers), or probabilities of `logits`' own shape (one-hot
    labels, or soft ones). The classes are on `axis`: -1 as in PyTorch (`(batch, K)`), 0 in the lab's
    layout (`(K, m)`). One operation, whose rule is the closed form `(softmax(logits) - one_hot) / m`:
    the lab's `dZ = A - Y`, found again. Stable at logits of ±1e4.
    """
    logits_shape = np.shape(logits)
    if not isinstance(axis, int | np.integer) or not -len(logits_shape) <= axis < len(logits_shape):
        raise ValueError(f"cross_entropy: axis {axis!r} is not an axis of logits of shape {logits_shape}")
    return _cross_entropy(logits, target, axis=int(axis) % len(logits_shape))


def _examples(logits: Any, axis: int) -> int:
    """How many examples the logits hold: every element but those along the classes' axis."""
    return logits.size // max(logits.shape[axis], 1)


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    shifted = z - np.max(z, axis=axis, keepdims=True)  # the largest logit becomes 0: exp cannot overflow
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _are_indices(target: Any, logits: Any) -> bool:
    """Class indices (one axis fewer than the logits), or probabilities (the logits' shape)."""
    return target.ndim == logits.ndim - 1


def _probabilities(target: np.ndarray, logits: np.ndarray) -> np.ndarray:
    if target.shape != logits.shape:
        _neither(target, logits, "?")
    return target


def _neither(target: np.ndarray, logits: np.ndarray, indices_shape: Any) -> None:
    raise ValueError(
        f"target of shape {target.shape} fits neither logits of shape {logits.shape} as class indices "
        f"(shape {indices_shape}) nor as probabilities (the same shape)"
    )


def _indices(target: np.ndarray, logits: np.ndarray, axis: int) -> np.ndarray:
    """The class indices as integers, checked: the logits' shape without `axis`, whole numbers 0 ... K-1."""
    classes = logits.shape[axis]
    expected = logits.shape[:axis] + logits.shape[axis + 1 :]
    if target.shape != expected:
        _neither(target, logits, expected)
    indices = target.astype(np.intp)
    if target.size and (np.any(indices != target) or indices.min() < 0 or indices.max() >= classes):
        wrong = target[(indices != target) | (indices < 0) | (indices >= classes)]
        listed = ", ".join(f"{v:g}" for v in wrong[:5])
        raise ValueError(f"class indices must be whole numbers 0 to {classes - 1}; got {listed}")
    return indices


def _values(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else x


# ----- mean squared error --------------------------------------------------------------------------------


@op(name="mse_loss")
def _mse_loss(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _same_shape("mse_loss", "input", a, "target", b)
    return np.asarray(np.mean(np.square(a - b)), dtype=np.result_type(a, b))


_mse_loss.defvjp(
    lambda g, out, a, b: g * 2 * (a - b) / a.size,
    lambda g, out, a, b: g * 2 * (b - a) / a.size,
)


def mse_loss(a: Any, b: Any) -> Tensor:
    """The mean over all elements of `(a - b)²`; one operation, whose rule is `2 (a - b) / n`.

    `a` and `b` must have the same shape: a prediction of `(m, 1)` against targets of `(m,)` would
    broadcast to an `(m, m)` table of every difference, a silent mistake PyTorch only warns about.
    """
    return _mse_loss(a, b)


def _same_shape(operation: str, a_name: str, a: np.ndarray, b_name: str, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{operation}: {a_name} of shape {a.shape} and {b_name} of shape {b.shape} differ")
