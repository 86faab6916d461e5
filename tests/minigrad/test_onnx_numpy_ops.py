"""The operations that joined with `minigrad.nn` and the NumPy families, exported and run in onnxruntime.

Each is compared with minigrad's own values: float64 within 1e-12 relative (elementwise ones without an
absolute floor, so that a tail of 1e-300 must be right to 12 digits), float32 within 1e-5. Several have
no ONNX operator that onnxruntime runs in float64 (Tan, Atan, Sinh, ...): their subgraphs are tested at
the points where a naive formula loses its digits (near 0, near ±1, far out).
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx_check import assert_same, check, onnx, run

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.onnx import ExportError
from minigrad.onnx.forms import form_of
from minigrad.testing import arrays, broadcastable_shapes, shapes

DTYPES = st.sampled_from([np.float64, np.float32])
# name -> (function, the interval its inputs are drawn from)
UNARY = {
    "sin": (mg.sin, (-6, 6)),
    "cos": (mg.cos, (-6, 6)),
    "tan": (mg.tan, (-1.5, 1.5)),
    "arcsin": (mg.arcsin, (-1, 1)),
    "arccos": (mg.arccos, (-1, 1)),
    "arctan": (mg.arctan, (-50, 50)),
    "sinh": (mg.sinh, (-5, 5)),
    "cosh": (mg.cosh, (-5, 5)),
    "arcsinh": (mg.arcsinh, (-50, 50)),
    "arccosh": (mg.arccosh, (1, 50)),
    "arctanh": (mg.arctanh, (-0.999, 0.999)),
    "sinc": (mg.sinc, (-4, 4)),
    "deg2rad": (mg.deg2rad, (-400, 400)),
    "rad2deg": (mg.rad2deg, (-7, 7)),
    "floor": (mg.floor, (-5, 5)),
    "ceil": (mg.ceil, (-5, 5)),
    "trunc": (mg.trunc, (-5, 5)),
    "rint": (mg.rint, (-5, 5)),
    "round": (mg.round, (-5, 5)),
    "round to 2 places": (lambda x: mg.round(x, 2), (-5, 5)),
    "round to tens": (lambda x: mg.round(x, -1), (-500, 500)),
    "sign": (mg.sign, (-2, 2)),
    "reciprocal": (mg.reciprocal, (0.1, 5)),
    "log1p": (mg.log1p, (-0.99, 5)),
    "expm1": (mg.expm1, (-5, 5)),
    "log2": (mg.log2, (0.01, 50)),
    "log10": (mg.log10, (0.01, 50)),
    "exp2": (mg.exp2, (-20, 20)),
    "square": (mg.square, (-5, 5)),
    "cbrt": (mg.cbrt, (-50, 50)),
    "real": (mg.real, (-5, 5)),
    "conj": (mg.conj, (-5, 5)),
    "imag": (mg.imag, (-5, 5)),
    "angle": (mg.angle, (-5, 5)),
    "copy": (mg.copy, (-5, 5)),
}
BINARY = {
    "arctan2": (mg.arctan2, (-3, 3)),
    "hypot": (mg.hypot, (-3, 3)),
    "logaddexp": (mg.logaddexp, (-30, 30)),
    "logaddexp2": (mg.logaddexp2, (-30, 30)),
    "power": (mg.power, (0.1, 3)),
    "fmod": (mg.fmod, (-5, 5)),
    "remainder": (mg.remainder, (-5, 5)),
}
# Where a naive formula loses digits: near 0 and ±1, tiny and huge values, infinities, NaN.
EDGES = [0.0, -0.0, 1e-300, -1e-300, 1e-10, -1e-10, 0.5, -0.5, 1 - 1e-9, -1 + 1e-9, 1.0, -1.0]
EDGES += [30.0, -30.0, 1e10, -1e10, 1e300, -1e300, np.inf, -np.inf, np.nan]
# Their exported values at infinities (and some far out) are not NumPy's: said in docs/guides/onnx.md.
# sinc(k) = sin(πk) / (πk) is 0 at whole k, where NumPy's is sin's rounding error (3.9e-17 at k = -1) and
# onnxruntime's another: compared within 1e-12 of the largest value there, not relatively.
ROUNDED_AT_ZEROS = {"sinc"}
FINITE_ONLY = {"sinh", "cosh", "expm1", "exp2", "tan", "sin", "cos", "sinc", "deg2rad", "rad2deg", "square"}


@settings(max_examples=6)
@pytest.mark.parametrize("name", UNARY)
@given(data=st.data(), shape=shapes(), dtype=DTYPES)
def test_elementwise_operations(name, data, shape, dtype):
    fn, (low, high) = UNARY[name]
    draw = arrays(shape, min_value=low, max_value=high, dtype=dtype)
    x, x2 = data.draw(draw), data.draw(draw)
    with np.errstate(all="ignore"):
        check(fn, x, others=(x2,), relative=name not in ROUNDED_AT_ZEROS)


@pytest.mark.parametrize("name", sorted(set(UNARY) - FINITE_ONLY))
def test_elementwise_operations_at_the_edges_to_the_last_digits(name):
    fn, _ = UNARY[name]
    x = np.array(EDGES)
    with np.errstate(all="ignore"):
        check(fn, x, relative=True)


@pytest.mark.parametrize("name", sorted(FINITE_ONLY & set(UNARY)))
def test_elementwise_operations_near_zero_and_one_to_the_last_digits(name):
    fn, _ = UNARY[name]
    relative = name not in ROUNDED_AT_ZEROS
    x = np.array(
        [0.0, -0.0, 1e-300, -1e-300, 1e-10, -1e-10, 0.5, -0.5, 1 - 1e-9, -1 + 1e-9, 1.0, 20.0, -20.0]
    )
    check(fn, x, relative=relative)


@settings(max_examples=8)
@pytest.mark.parametrize("name", BINARY)
@given(data=st.data(), shapes=broadcastable_shapes(2), dtype=DTYPES)
def test_binary_operations_broadcast(name, data, shapes, dtype):
    fn, (low, high) = BINARY[name]
    a, b = (data.draw(arrays(s, min_value=low, max_value=high, dtype=dtype)) for s in shapes)
    if name in {"fmod", "remainder"}:  # a divisor near 0 makes the quotient's last digits decide
        b = np.where(np.abs(b) < 0.5, dtype(1.5), b)
    with np.errstate(all="ignore"):
        check(fn, a, b, relative=name not in {"fmod", "remainder"})


@pytest.mark.parametrize("name", ["arctan2", "hypot", "logaddexp", "logaddexp2", "remainder", "fmod"])
def test_binary_operations_at_signed_zeros_ties_and_far_values(name):
    values = [0.0, -0.0, 1.0, -1.0, 2.5, -1e-300, 700.0, -700.0]
    a, b = (np.array(v) for v in zip(*itertools.product(values, values)))
    with np.errstate(all="ignore"):
        check(BINARY[name][0], a, b, relative=True)


@settings(max_examples=10)
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_scans_products_and_norms_over_any_axis(data, shape, dtype):
    x, x2 = (data.draw(arrays(shape, min_value=-2, max_value=2, dtype=dtype)) for _ in range(2))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    check(lambda x: mg.cumsum(x, axis=axis), x, others=(x2,))
    check(lambda x: mg.cumprod(x, axis=axis), x, others=(x2,))
    check(lambda x: mg.prod(x, axis=axis, keepdims=keepdims), x, others=(x2,))
    check(lambda x: mg.linalg.norm(x, axis=axis, keepdims=keepdims), x, others=(x2,))
    check(mg.cumsum, x, others=(x2,))
    check(mg.prod, x, others=(x2,))


@settings(max_examples=10)
@given(data=st.data(), shape=shapes(min_dims=1, max_dims=3), dtype=DTYPES)
def test_constant_padding_and_astype(data, shape, dtype):
    x = data.draw(arrays(shape, dtype=dtype))
    widths = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in shape)
    value = data.draw(st.sampled_from([0.0, 1.5, -2.0]))
    check(lambda x: mg.pad(x, widths, constant_values=value), x, others=(x[..., ::-1].copy(),))
    other = np.float32 if dtype == np.float64 else np.float64
    check(lambda x: x.astype(other) * 2, x)


@pytest.mark.parametrize(
    "subscripts, shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("ii->", [(4, 4)]),
        ("ij->ji", [(3, 5)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij,ij->i", [(3, 4), (3, 4)]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_einsum_for_the_usual_subscripts(subscripts, shapes, dtype):
    rng = np.random.default_rng(0)
    operands = [rng.normal(size=s).astype(dtype) for s in shapes]
    check(lambda *xs: mg.einsum(subscripts, *xs), *operands, others=[-x for x in operands])


def test_determinants_run_in_float32_and_say_why_not_in_float64():
    a = np.random.default_rng(1).normal(size=(2, 4, 4)) + 4 * np.eye(4)
    check(mg.linalg.det, a.astype(np.float32), others=(-a.astype(np.float32),))
    check(lambda a: mg.linalg.slogdet(a)[1], a.astype(np.float32))
    with pytest.raises(ExportError, match=r"det of a float64 matrix.*float32 only"):
        mg.onnx.export(mg.linalg.det, a)


NOT_EXPORTABLE = {
    "cholesky",
    "eigenvalues",
    "eigenvectors",
    "inv",
    "pinv",
    "qr_q",
    "qr_r",
    "singular_values",
    "solve",
    "svd_u",
    "svd_vh",
}


def _built_in_operations():
    modules = [f"minigrad.ops.{m.name}" for m in pkgutil.iter_modules(mg.ops.__path__)]
    found = {}
    for name in [*modules, "minigrad.nn.functional", "nets.costs"]:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, mg.Op):
                found[value.name] = value
    return found


def test_every_built_in_operation_has_a_form_but_the_decompositions_and_solvers():
    operations = _built_in_operations()
    missing = set()
    for name, operation in operations.items():
        try:
            form_of(operation)
        except ExportError:
            missing.add(name)
    assert missing == NOT_EXPORTABLE
    a = np.eye(3) * 2.0
    with pytest.raises(ExportError, match="'inv'"):
        mg.onnx.export(mg.linalg.inv, a)


# ----- minigrad.nn ---------------------------------------------------------------------------------


@settings(max_examples=10)
@given(data=st.data(), dtype=DTYPES, batch=st.sampled_from([(), (1,), (3,), (2, 3)]))
def test_linear_for_any_batch_shape(data, dtype, batch):
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x, w, b = (data.draw(arrays(s, dtype=dtype)) for s in [(*batch, n_in), (n_out, n_in), (n_out,)])
    check(F.linear, x, w, b, others=(-x, w[::-1].copy(), b * 2))


@settings(max_examples=10)
@given(data=st.data(), shape=shapes(min_dims=1), dtype=DTYPES)
def test_the_losses(data, shape, dtype):
    z, z2 = (data.draw(arrays(shape, min_value=-30, max_value=30, dtype=dtype)) for _ in range(2))
    y = data.draw(arrays(shape, min_value=0, max_value=1, dtype=dtype))
    check(F.binary_cross_entropy_with_logits, z, y, others=(z2, y[::-1].copy()))
    check(F.mse_loss, z, y, others=(z2, y))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    p = np.exp(y) / np.exp(y).sum(axis=axis, keepdims=True)
    check(lambda z, p: F.cross_entropy(z, p, axis=axis), z, p.astype(dtype), others=(z2, p.astype(dtype)))
    classes = data.draw(
        arrays(
            tuple(int(n) for n in np.delete(shape, axis % len(shape))), min_value=0, max_value=shape[axis] - 1
        )
    )
    target = np.floor(classes).astype(dtype)
    check(lambda z, t: F.cross_entropy(z, t, axis=axis), z, target, others=(z2, target))


def test_a_sequential_module_is_exported_with_its_dotted_parameter_names():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = rng.normal(size=(5, 4))
    proto = check(model, x, others=(rng.normal(size=(5, 4)),))
    names = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= names
    for name, p in model.named_parameters():
        (stored,) = [i for i in proto.graph.initializer if i.name == name]
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(stored), p.data)


def test_a_sequential_modules_training_step_with_relu_and_cross_entropy():
    rng = np.random.default_rng(1)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    weights = [p for _, p in model.named_parameters()]
    x, labels = rng.normal(size=(7, 4)), rng.integers(0, 3, 7)
    onehot = np.eye(3)[labels]

    def loss(w0, b0, w1, b1, x, y):
        hidden = mg.relu(F.linear(x, w0, b0))
        return F.cross_entropy(F.linear(hidden, w1, b1), y)

    args = [mg.Tensor(p.data, requires_grad=True) for p in weights]
    proto = mg.onnx.export(loss, (*args, x, onehot), gradients=True)
    for xs in (x, -x):
        tensors = [mg.Tensor(p.data, requires_grad=True) for p in weights]
        J = loss(*tensors, mg.Tensor(xs), mg.Tensor(onehot))
        J.backward()
        assert_same(run(proto, *(p.data for p in weights), xs, onehot), [J.data, *(t.grad for t in tensors)])


@pytest.mark.parametrize(
    "mask, numpy",
    [
        (mg.ops.is_less, np.less),
        (mg.ops.is_less_equal, np.less_equal),
        (mg.ops.is_equal, np.equal),
        (mg.ops.is_greater_equal, np.greater_equal),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_mask_operations_are_numpys_comparisons_with_no_gradient(mask, numpy, dtype):
    a = np.array([-1.0, 0.0, -0.0, 2.0, np.nan, np.inf], dtype=dtype)
    b = np.array([0.0, 0.0, 0.0, 1.0, 0.0, np.inf], dtype=dtype)
    x = mg.Tensor(a, requires_grad=True)
    out = mask(x, b)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.data, numpy(a, b).astype(dtype))
    (dx,) = mg.grad((out * x).sum(), [x])  # the mask is a constant factor: d(mask x) = mask
    np.testing.assert_array_equal(dx, numpy(a, b).astype(dtype))
    with np.errstate(invalid="ignore"):
        check(lambda a, b: mask(a, b), a, b, others=(b, a))
