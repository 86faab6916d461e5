"""Random programs over all operations, exported with and without their gradients, run in onnxruntime.

Programs are drawn as `tests/test_compile.py` draws them: leaves that broadcast to (2, 3), each step
an operation on earlier nodes (reused, so that gradients meet from several paths). The export must
give minigrad's value at the traced leaves and at new ones; with `gradients=True`, `mg.compile`'s
gradients too, at the traced leaves and at new ones: the rules that pass a gradient only where an
input won (relu, abs, clip, max, maximum, the logistic cost) build their masks from operations.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx_check import assert_same, run
from programs import FULL
from programs import program_loss as random_program_loss
from programs import programs as random_programs

import minigrad as mg
from minigrad.testing import arrays
from nets.costs import logistic_loss

UNARY = {
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "neg": lambda x: -x,
    "exp of tanh": lambda x: x.tanh().exp(),
    "cube": lambda x: x**3,
    "log of 1 + x^2": lambda x: (x * x + 1.0).log(),
    "sqrt of 1 + x^2": lambda x: (x * x + 1.0).sqrt(),
    "relu": mg.relu,
    "abs": mg.abs,
    "clip": lambda x: x.clip(-0.5, 0.7),
    "sum over the last axis": lambda x: x.sum(axis=-1, keepdims=True) if x.ndim else x.sum(),
    "mean of all": lambda x: x.mean(),
    "max over the first axis": lambda x: x.max(axis=0) if x.ndim else x.max(),
    "min of all": lambda x: x.min(),
    "logsumexp over the last axis": lambda x: x.logsumexp(axis=-1, keepdims=True) if x.ndim else x,
    "softmax": lambda x: _full(x).softmax(axis=1),
    "log_softmax": lambda x: _full(x).log_softmax(axis=0),
    "transpose twice": lambda x: x.T.T,
    "matrix_transpose and back": lambda x: mg.matrix_transpose(_full(x)).T,
    "cost from logits": lambda x: logistic_loss(_full(x) * 4, LABELS),
    "reshape": lambda x: _full(x).reshape(3, 2).reshape(FULL),
    "pick and put back": lambda x: mg.concatenate([_full(x)[:, 1:], _full(x)[:, :1]], axis=1),
    "pick with repeats": lambda x: _full(x)[np.array([1, 0, 1])].sum(axis=0),
    "stack and squeeze": lambda x: mg.squeeze(mg.stack([_full(x)], axis=0), axis=0),
    "expand_dims and sum": lambda x: mg.expand_dims(x, 0).sum(axis=0),
    "where": lambda x: mg.where(np.array([[True, False, True], [False, True, True]]), x, 0.5),
    "2 - x": lambda x: 2 - x,
    "sin": mg.sin,
    "arctan": mg.arctan,
    "square": mg.square,
    "log1p of x^2": lambda x: mg.log1p(x * x),
    "expm1 of tanh": lambda x: mg.expm1(x.tanh()),
    "cumsum over the last axis": lambda x: mg.cumsum(_full(x), axis=-1),
    "cosh": mg.cosh,
    "sign times x": lambda x: mg.sign(x) * x,
    "floor plus x": lambda x: mg.floor(x) + x,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div by 1 + b^2": lambda a, b: a / (b * b + 1.0),
    "maximum": mg.maximum,
    "minimum": mg.minimum,
    "matmul of the broadcast": lambda a, b: (_full(a) @ _full(b).T) @ _full(a) / 3.0,
    "hypot": mg.hypot,
    "logaddexp": mg.logaddexp,
    # y shifted off zero: onnxruntime's Where turns a selected -0.0 into +0.0 (docs/guides/onnx.md), and
    # arctan2(±0, x < 0) is ±π by that sign alone, so programs of signed zeros would differ by 2π there.
    "arctan2 of y + 2": lambda a, b: mg.arctan2(a + 2.0, b),
}
LABELS = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def _full(x):
    return mg.broadcast_to(x, FULL)


def programs(max_steps=8):
    return random_programs(UNARY, BINARY, max_steps)


def program_loss(steps):
    return random_program_loss(steps, UNARY, BINARY)


def new_values(data, leaves):
    return [data.draw(arrays(np.shape(v), min_value=-1.5, max_value=1.5)) for v in leaves]


@settings(max_examples=150)
@given(programs(), st.data())
def test_an_exported_program_gives_minigrads_value_at_any_values(program, data):
    leaves, _, steps = program
    loss = program_loss(steps)
    proto = mg.onnx.export(loss, leaves)
    for values in (leaves, new_values(data, leaves)):
        assert_same(run(proto, *values), [loss(*map(mg.Tensor, values)).data])


@settings(max_examples=150)
@given(programs(), st.data())
def test_an_exported_training_step_gives_the_compiled_steps_gradients(program, data):
    leaves, requires, steps = program
    if not any(requires):
        requires = [True, *requires[1:]]
    loss = program_loss(steps)
    step = mg.compile(loss)
    tensors = [mg.Tensor(v, requires_grad=r) for v, r in zip(leaves, requires)]
    proto = mg.onnx.export(loss, tensors, gradients=True)
    for values in (leaves, new_values(data, leaves)):  # the masks too are computed again from the values
        J, grads = step(*[mg.Tensor(v, requires_grad=r) for v, r in zip(values, requires)])
        assert_same(run(proto, *values), [J, *grads])
