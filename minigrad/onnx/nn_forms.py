"""The ONNX forms of `minigrad.nn`'s fused operations, and of the masks that the rules build.

    linear                             MatMul(x, Transpose(W)) + b
    binary_cross_entropy_with_logits   ReduceMean(max(z, 0) + log1p(e^-|z|) - y z)
    cross_entropy                      -sum(target * LogSoftmax(z)) / m, or GatherElements of class indices
    mse_loss                           ReduceMean((a - b)²)
    is_less, is_equal, ...             Cast(Less(a, b)): 1.0 where the relation holds

The masks are what makes `gradients=True` work for relu, abs, maximum, max, clip and the logistic cost:
their rules compare inputs with these operations, which the exported graph computes again each run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.onnx.emitter import Emitter, Value, element_type
from minigrad.onnx.forms import BUILT_IN, built_in
from minigrad.onnx.numpy_forms import log1p_of


def _comparison(op_type: str) -> Any:
    """A mask form: the ONNX comparison, cast to the output's float dtype (NaN compares false, as NumPy)."""

    def mask(g: Emitter, a: Value, b: Value) -> str:
        return g.node("Cast", g.node(op_type, a, b), to=element_type(g.out.dtype, "a mask"))

    return mask


for _name, _op_type in {
    "is_less": "Less",
    "is_less_equal": "LessOrEqual",
    "is_equal": "Equal",
    "is_greater_equal": "GreaterOrEqual",
}.items():
    BUILT_IN[_name] = (_comparison(_op_type), "minigrad.ops")


@built_in("linear", module="minigrad.nn")
def linear(g: Emitter, x: Value, weight: Value, bias: Value) -> str:
    return g.node("Add", g.node("MatMul", x, g.node("Transpose", weight, perm=[1, 0])), bias)


@built_in("binary_cross_entropy_with_logits", module="minigrad.nn")
def binary_cross_entropy_with_logits(g: Emitter, z: Value, y: Value) -> str:
    # logaddexp(0, z) - y z, as np.logaddexp computes it: max(z, 0) + log1p(e^-|z|).
    e = g.node("Exp", g.node("Neg", g.node("Abs", z)))
    softplus = g.node("Add", g.node("Relu", z), log1p_of(g, e))
    return g.node("ReduceMean", g.node("Sub", softplus, g.node("Mul", y, z)), keepdims=0)


@built_in("cross_entropy", module="minigrad.nn")
def cross_entropy(g: Emitter, logits: Value, target: Value, axis: int = -1) -> str:
    axis = int(axis) % logits.ndim
    log_p = g.node("LogSoftmax", logits, axis=axis)
    examples = logits.shape[axis] and int(np.prod(logits.shape)) // logits.shape[axis]
    if target.ndim == logits.ndim - 1:  # class indices: the log-probability of each example's class
        indices = g.node("Unsqueeze", g.node("Cast", target, to=7), g.ints([axis]))  # 7: int64
        picked = g.node("GatherElements", log_p, indices, axis=axis)
    else:  # probabilities of the logits' shape
        picked = g.node("Mul", target, log_p)
    total = g.node("ReduceSum", picked, keepdims=0)
    return g.node("Div", g.node("Neg", total), g.like(examples))


@built_in("mse_loss", module="minigrad.nn")
def mse_loss(g: Emitter, a: Value, b: Value) -> str:
    d = g.node("Sub", a, b)
    return g.node("ReduceMean", g.node("Mul", d, d), keepdims=0)
