"""The ONNX forms of the NumPy families (trigonometric, exponential, rounding, scans, assembly, linalg).

One ONNX operator where onnxruntime runs it in the output's dtype; where it does not (onnxruntime has
Tan, Asin, Acos, Atan, Sinh, Cosh and the inverse hyperbolics for float32 only) or where ONNX has no
such operator (log1p, expm1, cbrt, hypot, logaddexp, cumprod, ...), a small subgraph written to keep
the last digits: float64 results agree with NumPy's to 1e-12 relative, not merely to a few digits.

    log1p(x)     u = 1 + x; x where u == 1, else log(u) x / (u - 1)         (Goldberg's trick)
    expm1(x)     u = e^x;   x where u == 1, else (u - 1) x / log(u)         (Kahan's)
    arctan(x)    float32 Atan as the start, then two Newton steps on sin y - x cos y = 0, in float64

Not exportable (an ExportError names them): det and slogdet in float64 (onnxruntime's Det is float32
only); the decompositions and solvers of `linalg` (inv, solve,
pinv, cholesky, qr, svd, eigh): ONNX has no operator for them, and a subgraph would be an iterative
algorithm unrolled to a fixed count, not NumPy's LAPACK result.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from onnx import helper

from minigrad.onnx.emitter import Emitter, ExportError, Value, element_type
from minigrad.onnx.forms import BUILT_IN, built_in, reduce_form

Ref = Value | str


def _operator(op_type: str) -> Any:
    return lambda g, *inputs: g.node(op_type, *inputs)


for _name, _op_type in {
    "sin": "Sin",
    "cos": "Cos",
    "floor": "Floor",
    "ceil": "Ceil",
    "rint": "Round",  # half to even, as np.rint
    "sign": "Sign",
    "reciprocal": "Reciprocal",
    "power": "Pow",
    "real": "Identity",
    "conj": "Identity",
    "copy": "Identity",
}.items():
    BUILT_IN[_name] = (_operator(_op_type), "minigrad.ops")

BUILT_IN["prod"] = (reduce_form("ReduceProd"), "minigrad.ops")


def _where(g: Emitter, condition: str, a: Ref, b: Ref) -> str:
    return g.node("Where", condition, a, b)


# ----- exponentials and logarithms -----------------------------------------------------------------


def log1p_of(g: Emitter, x: Ref) -> str:
    """log(1 + x), exact to rounding for small x too (Goldberg): log(u) x / (u - 1) with u = 1 + x."""
    u = g.node("Add", g.like(1), x)
    ratio = g.node("Div", g.node("Mul", g.node("Log", u), x), g.node("Sub", u, g.like(1)))
    infinite = g.node("IsInf", u, detect_negative=0)  # log1p(inf) = inf; log1p(-inf) stays NaN
    exact = g.node("Or", g.node("Equal", u, g.like(1)), infinite)
    return _where(g, exact, g.node("Where", infinite, u, x), ratio)


def expm1_of(g: Emitter, x: Ref) -> str:
    """e^x - 1, exact to rounding for small x too (Kahan): (u - 1) x / log(u) with u = e^x."""
    u = g.node("Exp", x)
    u1 = g.node("Sub", u, g.like(1))
    ratio = g.node("Div", g.node("Mul", u1, x), g.node("Log", u))
    ratio = _where(g, g.node("Or", g.node("Equal", u1, g.like(-1)), g.node("IsInf", u)), u1, ratio)
    return _where(g, g.node("Equal", u, g.like(1)), x, ratio)


@built_in("log1p")
def log1p(g: Emitter, x: Value) -> str:
    return log1p_of(g, x)


@built_in("expm1")
def expm1(g: Emitter, x: Value) -> str:
    return expm1_of(g, x)


@built_in("log2")
def log2(g: Emitter, x: Value) -> str:
    return g.node("Div", g.node("Log", x), g.like(math.log(2)))


@built_in("log10")
def log10(g: Emitter, x: Value) -> str:
    return g.node("Div", g.node("Log", x), g.like(math.log(10)))


@built_in("exp2")
def exp2(g: Emitter, x: Value) -> str:
    return g.node("Pow", g.like(2.0), x)


@built_in("square")
def square(g: Emitter, x: Value) -> str:
    return g.node("Mul", x, x)


@built_in("cbrt")
def cbrt(g: Emitter, x: Value) -> str:
    return g.node("Mul", g.node("Sign", x), g.node("Pow", g.node("Abs", x), g.like(1 / 3)))


def _logaddexp(g: Emitter, a: Value, b: Value, base2: bool) -> str:
    """max + log1p(e^-|a - b|), as NumPy's; where a == b (infinities too), a + log(2)."""
    d = g.node("Neg", g.node("Abs", g.node("Sub", a, b)))
    if base2:
        tail = g.node("Div", log1p_of(g, g.node("Pow", g.like(2.0), d)), g.like(math.log(2)))
    else:
        tail = log1p_of(g, g.node("Exp", d))
    tie = g.node("Add", a, g.like(1.0 if base2 else math.log(2)))
    return _where(g, g.node("Equal", a, b), tie, g.node("Add", g.node("Max", a, b), tail))


@built_in("logaddexp")
def logaddexp(g: Emitter, a: Value, b: Value) -> str:
    return _logaddexp(g, a, b, base2=False)


@built_in("logaddexp2")
def logaddexp2(g: Emitter, a: Value, b: Value) -> str:
    return _logaddexp(g, a, b, base2=True)


# ----- trigonometric and hyperbolic ------------------------------------------------------------------


def _native(g: Emitter, op_type: str, x: Value) -> str | None:
    """The ONNX operator where onnxruntime has it in this dtype (these: float32 only), else None."""
    return g.node(op_type, x) if x.dtype == np.float32 else None


@built_in("tan")
def tan(g: Emitter, x: Value) -> str:
    return _native(g, "Tan", x) or g.node("Div", g.node("Sin", x), g.node("Cos", x))


def atan_of(g: Emitter, x: Ref) -> str:
    """arctan in float64: float32's Atan, then two Newton steps on f(y) = sin y - x cos y."""
    start = g.node("Cast", g.node("Atan", g.node("Cast", x, to=1)), to=11)  # 1: float32, 11: float64
    y = start
    for _ in range(2):
        sin, cos = g.node("Sin", y), g.node("Cos", y)
        f = g.node("Sub", sin, g.node("Mul", x, cos))
        slope = g.node("Add", cos, g.node("Mul", x, sin))
        y = g.node("Sub", y, g.node("Div", f, slope))
    infinite = g.node("Mul", g.node("Sign", x), g.like(math.pi / 2))
    return _where(g, g.node("IsInf", x), infinite, y)


@built_in("arctan")
def arctan(g: Emitter, x: Value) -> str:
    return _native(g, "Atan", x) or atan_of(g, x)


@built_in("arcsin")
def arcsin(g: Emitter, x: Value) -> str:
    # arctan(x / sqrt((1 - x)(1 + x))): the product keeps its digits near |x| = 1.
    if x.dtype == np.float32:
        return g.node("Asin", x)
    cos = g.node("Sqrt", g.node("Mul", g.node("Sub", g.like(1), x), g.node("Add", g.like(1), x)))
    return atan_of(g, g.node("Div", x, cos))


@built_in("arccos")
def arccos(g: Emitter, x: Value) -> str:
    # 2 arctan(sqrt((1 - x) / (1 + x))): no cancellation near x = 1, where arccos is small.
    if x.dtype == np.float32:
        return g.node("Acos", x)
    half = g.node("Sqrt", g.node("Div", g.node("Sub", g.like(1), x), g.node("Add", g.like(1), x)))
    return g.node("Mul", g.like(2), atan_of(g, half))


def _negative(g: Emitter, x: Value) -> str:
    """x < 0, or x = -0.0 (whose reciprocal is -inf): the sign that np.arctan2 reads off a zero too."""
    return g.node("Or", g.node("Less", x, g.like(0)), g.node("Less", g.node("Reciprocal", x), g.like(0)))


@built_in("arctan2")
def arctan2(g: Emitter, y: Value, x: Value) -> str:
    # arctan(y / x), turned by ±π (the sign of y's) where x is negative; on the vertical axis ±π/2; at
    # the origin ±0 or ±π by the signs of the zeros, as C's atan2.
    ratio = g.node("Div", y, x)
    angle = g.node("Atan", ratio) if y.dtype == np.float32 else atan_of(g, ratio)
    turn = _where(g, _negative(g, y), g.like(-math.pi), g.like(math.pi))
    angle = _where(g, g.node("Less", x, g.like(0)), g.node("Add", angle, turn), angle)
    vertical = g.node("Mul", g.node("Sign", y), g.like(math.pi / 2))
    origin = _where(g, _negative(g, x), turn, y)
    on_axis = _where(g, g.node("Equal", y, g.like(0)), origin, vertical)
    return _where(g, g.node("Equal", x, g.like(0)), on_axis, angle)


@built_in("sinh")
def sinh(g: Emitter, x: Value) -> str:
    # Near 0, (E + E / (E + 1)) / 2 with E = expm1(x) (no cancellation); beyond, (e^x - e^-x) / 2.
    if x.dtype == np.float32:
        return g.node("Sinh", x)
    e = expm1_of(g, x)
    near = g.node("Mul", g.like(0.5), g.node("Add", e, g.node("Div", e, g.node("Add", e, g.like(1)))))
    far = g.node("Mul", g.like(0.5), g.node("Sub", g.node("Exp", x), g.node("Exp", g.node("Neg", x))))
    return _where(g, g.node("Less", g.node("Abs", x), g.like(1)), near, far)


@built_in("cosh")
def cosh(g: Emitter, x: Value) -> str:
    if x.dtype == np.float32:
        return g.node("Cosh", x)
    return g.node("Mul", g.like(0.5), g.node("Add", g.node("Exp", x), g.node("Exp", g.node("Neg", x))))


@built_in("arcsinh")
def arcsinh(g: Emitter, x: Value) -> str:
    # sign(x) log1p(a + a² / (1 + sqrt(1 + a²))), a = |x|; far out, log(a) + log(2) (a² would overflow).
    if x.dtype == np.float32:
        return g.node("Asinh", x)
    a = g.node("Abs", x)
    a2 = g.node("Mul", a, a)
    inner = g.node(
        "Add", a, g.node("Div", a2, g.node("Add", g.like(1), g.node("Sqrt", g.node("Add", g.like(1), a2))))
    )
    far = g.node("Add", g.node("Log", a), g.like(math.log(2)))
    magnitude = _where(g, g.node("Greater", a, g.like(1e8)), far, log1p_of(g, inner))
    return g.node("Mul", g.node("Sign", x), magnitude)


@built_in("arccosh")
def arccosh(g: Emitter, x: Value) -> str:
    # log1p(t + sqrt(2t + t²)), t = x - 1 (exact near 1); far out, log(x) + log(2).
    if x.dtype == np.float32:
        return g.node("Acosh", x)
    t = g.node("Sub", x, g.like(1))
    root = g.node("Sqrt", g.node("Add", g.node("Mul", g.like(2), t), g.node("Mul", t, t)))
    far = g.node("Add", g.node("Log", x), g.like(math.log(2)))
    value = _where(g, g.node("Greater", x, g.like(1e8)), far, log1p_of(g, g.node("Add", t, root)))
    return _where(g, g.node("Less", x, g.like(1)), g.like(math.nan), value)  # below 1 (and -inf): NaN


@built_in("arctanh")
def arctanh(g: Emitter, x: Value) -> str:
    # sign(x) log1p(2a / (1 - a)) / 2, a = |x|: no cancellation near 0, nor near -1 (by symmetry).
    if x.dtype == np.float32:
        return g.node("Atanh", x)
    a = g.node("Abs", x)
    ratio = g.node("Div", g.node("Mul", g.like(2), a), g.node("Sub", g.like(1), a))
    return g.node("Mul", g.node("Mul", g.like(0.5), g.node("Sign", x)), log1p_of(g, ratio))


@built_in("sinc")
def sinc(g: Emitter, x: Value) -> str:
    # sin(πx) / (πx) as np.sinc computes it, x = 0 read as 1e-20.
    y = g.node("Mul", g.like(math.pi), _where(g, g.node("Equal", x, g.like(0)), g.like(1e-20), x))
    return g.node("Div", g.node("Sin", y), y)


@built_in("deg2rad")
def deg2rad(g: Emitter, x: Value) -> str:
    return g.node("Mul", x, g.like(math.pi / 180))


@built_in("rad2deg")
def rad2deg(g: Emitter, x: Value) -> str:
    return g.node("Mul", x, g.like(180 / math.pi))


@built_in("hypot")
def hypot(g: Emitter, a: Value, b: Value) -> str:
    # m sqrt(1 + (n / m)²), m = max(|a|, |b|): no overflow of a², as NumPy's; 0 at the origin.
    a, b = g.node("Abs", a), g.node("Abs", b)
    m, n = g.node("Max", a, b), g.node("Min", a, b)
    r = g.node("Div", n, m)
    value = g.node("Mul", m, g.node("Sqrt", g.node("Add", g.like(1), g.node("Mul", r, r))))
    return _where(g, g.node("Equal", m, g.like(0)), m, value)


# ----- rounding and remainders ------------------------------------------------------------------------


@built_in("trunc")
def trunc(g: Emitter, x: Value) -> str:
    return _where(g, g.node("Less", x, g.like(0)), g.node("Ceil", x), g.node("Floor", x))


@built_in("round")
def round(g: Emitter, x: Value, decimals: int = 0) -> str:
    # As np.round: rint(x * 10^d) / 10^d, or for d < 0 rint(x / 10^-d) * 10^-d. ONNX's Round is half to even.
    if decimals == 0:
        return g.node("Round", x)
    if decimals > 0:
        scale = g.like(10.0**decimals)
        return g.node("Div", g.node("Round", g.node("Mul", x, scale)), scale)
    scale = g.like(10.0**-decimals)
    return g.node("Mul", g.node("Round", g.node("Div", x, scale)), scale)


@built_in("fmod")
def fmod(g: Emitter, a: Value, b: Value) -> str:
    return g.node("Mod", a, b, fmod=1)


@built_in("remainder")
def remainder(g: Emitter, a: Value, b: Value) -> str:
    # C's fmod, then b added where it is not 0 and its sign is not b's, as NumPy's divmod.
    r = g.node("Mod", a, b, fmod=1)
    signs_differ = g.node("Xor", g.node("Less", r, g.like(0)), g.node("Less", b, g.like(0)))
    move = g.node("And", signs_differ, g.node("Not", g.node("Equal", r, g.like(0))))
    return _where(g, move, g.node("Add", r, b), r)


def _zeros(g: Emitter, x: Value) -> str:
    zero = helper.make_tensor("value", element_type(g.out.dtype, "zeros"), [1], [0])
    return g.node("ConstantOfShape", g.node("Shape", x), value=zero)


@built_in("imag")
def imag(g: Emitter, x: Value) -> str:
    return _zeros(g, x)


@built_in("angle")
def angle(g: Emitter, x: Value) -> str:
    # π below 0 and at -0.0, else 0 (NaN stays NaN), as np.angle.
    turned = _where(g, _negative(g, x), g.like(math.pi), _zeros(g, x))
    return _where(g, g.node("IsNaN", x), x, turned)


# ----- scans, assembly, contractions, norms --------------------------------------------------------


@built_in("astype")
def astype(g: Emitter, x: Value, *, dtype: Any) -> str:
    return g.node("Identity", x)  # the model casts each input to its operation's output dtype first


@built_in("cumsum")
def cumsum(g: Emitter, x: Value, *, axis: int) -> str:
    return g.node("CumSum", x, g.constant(np.int64(int(axis) % x.ndim)))


@built_in("cumprod")
def cumprod(g: Emitter, x: Value, *, axis: int) -> str:
    # No ONNX operator: the running product, one slice at a time, in NumPy's order.
    axis = int(axis) % x.ndim
    n = x.shape[axis]
    if n == 0:
        return g.node("Identity", x)
    parts = [g.node("Slice", x, g.ints([k]), g.ints([k + 1]), g.ints([axis])) for k in range(n)]
    running = [parts[0]]
    for part in parts[1:]:
        running.append(g.node("Mul", running[-1], part))
    return g.node("Concat", *running, axis=axis) if n > 1 else g.node("Identity", running[0])


@built_in("pad")
def pad(g: Emitter, x: Value, *, pad_width: Any, constant_values: float) -> str:
    widths = [int(w[0]) for w in pad_width] + [int(w[1]) for w in pad_width]
    return g.node("Pad", x, g.ints(widths), g.like(constant_values), mode="constant")


@built_in("einsum")
def einsum(g: Emitter, *operands: Value, subscripts: str) -> str:
    return g.node("Einsum", *operands, equation=subscripts.replace(" ", ""))


def _det(g: Emitter, a: Value, what: str) -> str:
    if a.dtype != np.float32:
        raise ExportError(
            f"export: {what} of a {a.dtype} matrix has no ONNX form that onnxruntime runs: its Det is "
            "float32 only (export the model in float32, or compute the determinant outside it)"
        )
    return g.node("Det", a)


@built_in("det")
def det(g: Emitter, a: Value) -> str:
    return _det(g, a, "det")


@built_in("logabsdet")
def logabsdet(g: Emitter, a: Value) -> str:
    return g.node("Log", g.node("Abs", _det(g, a, "slogdet")))


@built_in("vector_norm")
def vector_norm(g: Emitter, x: Value, *, axis: Any, keepdims: bool) -> str:
    squares = g.node("Mul", x, x)
    if axis is None:
        return g.node("Sqrt", g.node("ReduceSum", squares, keepdims=int(keepdims)))
    axes = [int(a) % x.ndim for a in (axis if isinstance(axis, tuple | list) else (axis,))]
    return g.node("Sqrt", g.node("ReduceSum", squares, g.ints(axes), keepdims=int(keepdims)))
