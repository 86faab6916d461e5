"""Linear algebra: the matrix product and `np.linalg`, each forward beside its rule.

`inv`, `det`, `slogdet`, `solve`, `cholesky`, `eigh`, `svd` and `pinv` are batched over leading axes as
NumPy's are. An operation with several results (`eigh`'s values and vectors, `svd`'s three factors) is
one operation per result, each with its own rule, each rule calling the others for what it reads: so
every rule is written with minigrad's functions and serves second order. The formulas are the textbook
ones autograd and PyTorch use; where they assume something (distinct eigenvalues, a full-rank matrix)
the docstring says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.assembly import moveaxis, tril
from minigrad.ops.common import Operand, array_of, normalise_axes
from minigrad.ops.elementwise import abs, where
from minigrad.ops.reductions import max, min, sum
from minigrad.ops.shape import reshape
from minigrad.tensor import Tensor


@op(name="matmul")
def _matmul(a, b):
    """`a @ b`, the matrix product (`mg.matmul` checks the shapes and names both on a mismatch)."""
    return a @ b


_matmul.defvjp(
    lambda g, out, a, b: g @ b.mT,  # d(A B) = dA B + A dB  ->  dA = g Bᵀ, dB = Aᵀ g
    lambda g, out, a, b: a.mT @ g,
)


def matmul(a: Operand, b: Operand) -> Tensor:
    """`a @ b` as `np.matmul`; a 1-D operand is a row (on the left) or a column (on the right)."""
    sa, sb = np.shape(array_of(a)), np.shape(array_of(b))
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError(f"matmul: {sa} @ {sb}: operands must have at least one dimension")
    inner = sb[-2] if len(sb) > 1 else sb[0]
    if sa[-1] != inner:
        raise ValueError(f"matmul: {sa} @ {sb}: the inner dimensions {sa[-1]} and {inner} differ")
    if len(sa) > 1 and len(sb) > 1:
        return _matmul(a, b)
    out = _matmul(
        reshape(a, (1, sa[0])) if len(sa) == 1 else a, reshape(b, (sb[0], 1)) if len(sb) == 1 else b
    )
    shape = out.shape[:-2] + out.shape[-1:] if len(sa) == 1 else out.shape
    return reshape(out, shape[:-1] if len(sb) == 1 else shape)


def _square(a: np.ndarray, name: str) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: needs square matrices in the last two axes, got shape {a.shape}")


def _eye(x: Any) -> np.ndarray:
    return np.eye(array_of(x).shape[-1], dtype=array_of(x).dtype)


@op
def inv(a):
    """The inverse of each matrix, as `np.linalg.inv`."""
    _square(a, "inv")
    return np.linalg.inv(a)


inv.defvjp(lambda g, out, a: -(out.mT @ g @ out.mT))  # d inv(A) = -inv(A) dA inv(A)


@op
def det(a):
    """The determinant of each matrix, as `np.linalg.det`."""
    _square(a, "det")
    return np.linalg.det(a)


# d det(A) = det(A) tr(inv(A) dA): the gradient is det(A) inv(A)ᵀ (undefined at a singular A, as autograd).
det.defvjp(lambda g, out, a: g[..., None, None] * out[..., None, None] * inv(a).mT)


@op
def logabsdet(a):
    """log |det A| of each matrix, the second result of `np.linalg.slogdet`."""
    _square(a, "slogdet")
    return np.linalg.slogdet(a)[1]


logabsdet.defvjp(lambda g, out, a: g[..., None, None] * inv(a).mT)  # d log|det A| = tr(inv(A) dA)


def slogdet(a: Operand) -> tuple[np.ndarray, Tensor]:
    """(sign, log |det|) of each matrix, as `np.linalg.slogdet`; the sign is a constant (no gradient)."""
    return np.linalg.slogdet(array_of(a))[0], logabsdet(a)


@op(name="solve")
def _solve(a, b):
    try:
        return np.linalg.solve(a, b)
    except ValueError:
        raise ValueError(
            f"solve: cannot solve with matrices {a.shape} for right-hand sides {b.shape}"
        ) from None


# X = inv(A) B: dB = inv(A)ᵀ g, and dA = -dB Xᵀ.
_solve.defvjp(
    lambda g, out, a, b: -_solve(a.mT, g) @ out.mT,
    lambda g, out, a, b: _solve(a.mT, g),
)


def solve(a: Operand, b: Operand) -> Tensor:
    """X with A X = B, as `np.linalg.solve`: B a vector when it is 1-D, else matrices of columns."""
    sa, sb = np.shape(array_of(a)), np.shape(array_of(b))
    _square(np.empty(sa), "solve")
    if len(sb) == 1:
        return reshape(_solve(a, reshape(b, (sb[0], 1))), (*sa[:-2], sb[0]))
    return _solve(a, b)


@op
def cholesky(a):
    """The lower-triangular L with L Lᵀ = A, as `np.linalg.cholesky` (which reads A's lower triangle)."""
    _square(a, "cholesky")
    return np.linalg.cholesky(a)


def _cholesky_vjp(g, out, a):
    """Iain Murray's formula (arXiv:1602.07527), as autograd and PyTorch: the gradient is symmetrised,
    a gradient for a symmetric A (the input is one; NumPy reads only its lower triangle)."""
    L = out
    phi = tril(L.mT @ g) * (1 - 0.5 * _eye(L))  # the lower triangle, its diagonal halved
    S = _solve(L.mT, _solve(L.mT, phi.mT).mT)  # L⁻ᵀ phi L⁻¹
    return (S + S.mT) / 2


cholesky.defvjp(_cholesky_vjp)


def _fold(temp: Any, uplo: str) -> Any:
    """A gradient for the triangle `eigh` reads: off the diagonal each element gets both mirror images."""
    n = array_of(temp).shape[-1]
    strict = np.tril(np.ones((n, n)), -1) if uplo == "L" else np.triu(np.ones((n, n)), 1)
    return temp * np.eye(n) + (temp + temp.mT) * strict


@op
def eigenvalues(a, UPLO="L"):
    """The eigenvalues of each symmetric matrix, ascending: `np.linalg.eigh(a)[0]` (`np.linalg.eigvalsh`)."""
    _square(a, "eigh")
    return np.linalg.eigh(a, UPLO)[0]


@op
def eigenvectors(a, UPLO="L"):
    """The unit eigenvectors of each symmetric matrix, as columns: `np.linalg.eigh(a)[1]`."""
    _square(a, "eigh")
    return np.linalg.eigh(a, UPLO)[1]


# dλ_i = v_iᵀ dA v_i.
eigenvalues.defvjp(
    lambda g, out, a, UPLO="L": _fold(
        (eigenvectors(a, UPLO) * g[..., None, :]) @ eigenvectors(a, UPLO).mT, UPLO
    )
)


def _eigenvectors_vjp(g, out, a, UPLO="L"):
    """dV = V (F ∘ Vᵀ dA V), F_ij = 1 / (λ_j - λ_i) off the diagonal: the eigenvalues must be distinct,
    as in autograd and PyTorch (each eigenvector is then determined up to its sign)."""
    w, v = eigenvalues(a, UPLO), out
    eye = _eye(out)
    F = (1 - eye) / (w[..., None, :] - w[..., :, None] + eye)
    return _fold(v @ (F * (v.mT @ g)) @ v.mT, UPLO)


eigenvectors.defvjp(_eigenvectors_vjp)


def eigh(a: Operand, UPLO: str = "L") -> tuple[Tensor, Tensor]:
    """(eigenvalues, eigenvectors) of each symmetric matrix, as `np.linalg.eigh`."""
    if UPLO not in ("L", "U"):
        raise ValueError(f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return eigenvalues(a, UPLO), eigenvectors(a, UPLO)


@op
def singular_values(a):
    """The singular values of each matrix, descending: `np.linalg.svd(a, compute_uv=False)`."""
    return np.linalg.svd(a, compute_uv=False)


@op(name="svd_u")
def _svd_u(a, *, full_matrices):
    return np.linalg.svd(a, full_matrices=full_matrices)[0]


@op(name="svd_vh")
def _svd_vh(a, *, full_matrices):
    return np.linalg.svd(a, full_matrices=full_matrices)[2]


def _reduced(a: Any) -> tuple[Any, Any, Any]:
    return _svd_u(a, full_matrices=False), singular_values(a), _svd_vh(a, full_matrices=False)


singular_values.defvjp(lambda g, out, a: (_reduced(a)[0] * g[..., None, :]) @ _reduced(a)[2])  # dσ = uᵀ dA v


def _f(s: Any) -> Any:
    """F_ij = 1 / (σ_j² - σ_i²) off the diagonal (the singular values must be distinct)."""
    eye = np.eye(array_of(s).shape[-1])
    return (1 - eye) / (s[..., None, :] ** 2 - s[..., :, None] ** 2 + eye)


def _svd_u_vjp(g, out, a, *, full_matrices):
    """autograd's rule for U; with full_matrices the columns past min(m, n) are not determined by A and
    their gradient is dropped, as PyTorch does."""
    u, s, vh = _reduced(a)
    m, k = array_of(u).shape[-2:]
    g = g[..., :k]
    utg = u.mT @ g
    grad = u @ ((_f(s) * (utg - utg.mT)) * s[..., None, :]) @ vh
    if m > k:  # the part of g outside the span of U
        grad = grad + (_eye(u @ u.mT) - u @ u.mT) @ g @ (vh / s[..., :, None])
    return grad


def _svd_vh_vjp(g, out, a, *, full_matrices):
    """autograd's rule for Vᵀ, the rows past min(m, n) dropped as for U."""
    u, s, vh = _reduced(a)
    k, n = array_of(vh).shape[-2:]
    g = g[..., :k, :]
    vtg = vh @ g.mT
    grad = u @ (s[..., :, None] * (_f(s) * (vtg - vtg.mT))) @ vh
    if n > k:  # the part of g outside the span of V
        grad = grad + (u / s[..., None, :]) @ g @ (_eye(vh.mT @ vh) - vh.mT @ vh)
    return grad


_svd_u.defvjp(_svd_u_vjp)
_svd_vh.defvjp(_svd_vh_vjp)


def svd(a: Operand, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    """(U, S, Vh) with A = U diag(S) Vh, or S alone with compute_uv=False, as `np.linalg.svd`."""
    if hermitian:
        raise ValueError("svd: hermitian=True is not supported; use eigh for a symmetric matrix")
    if np.ndim(array_of(a)) < 2:
        raise ValueError(f"svd: needs at least 2 dimensions, got shape {np.shape(array_of(a))}")
    if not compute_uv:
        return singular_values(a)
    full = bool(full_matrices)
    return _svd_u(a, full_matrices=full), singular_values(a), _svd_vh(a, full_matrices=full)


@op
def pinv(a, rcond=None):
    """The Moore-Penrose pseudo-inverse of each matrix, as `np.linalg.pinv`."""
    return np.linalg.pinv(a) if rcond is None else np.linalg.pinv(a, rcond)


def _pinv_vjp(g, out, a, rcond=None):
    """Golub and Pereyra's derivative, for a matrix whose rank does not change near A (full rank):
    -P⁺ᵀ g P⁺ᵀ + (I - A P⁺) gᵀ P⁺ P⁺ᵀ + P⁺ᵀ P⁺ gᵀ (I - P⁺ A), with P⁺ = pinv(A)."""
    p = out
    left, right = _eye(a @ p) - a @ p, _eye(p @ a) - p @ a
    return -(p.mT @ g @ p.mT) + left @ g.mT @ p @ p.mT + p.mT @ p @ g.mT @ right


pinv.defvjp(_pinv_vjp)


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@op(name="vector_norm")
def _vector_norm(x, *, axis, keepdims):
    return np.sqrt(np.add.reduce(x * x, axis=axis, keepdims=keepdims))


def _vector_norm_vjp(g, out, x, *, axis, keepdims):
    """d ‖x‖ = xᵀ dx / ‖x‖; at x = 0 the gradient is 0, the subgradient PyTorch takes."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    out, g = reshape(out, _kept_shape(x.shape, axes)), reshape(g, _kept_shape(x.shape, axes))
    zero = array_of(out) == 0
    return g * where(zero, 0.0, x / where(zero, 1.0, out))


_vector_norm.defvjp(_vector_norm_vjp)


def _vector_ord(x: Operand, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    if ord is None or ord == 2:
        return _vector_norm(x, axis=axes, keepdims=keepdims)
    if ord == np.inf:
        return max(abs(x), axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axes, keepdims=keepdims)
    if ord == 0:  # how many are not zero: a count, with gradient 0
        return sum(abs(x) * 0, axis=axes, keepdims=keepdims) + np.sum(
            array_of(x) != 0, axis=axes, keepdims=keepdims
        )
    if ord == 1:
        return sum(abs(x), axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord {ord!r} is for matrices; a vector norm takes a number")
    return sum(abs(x) ** ord, axis=axes, keepdims=keepdims) ** (1 / ord)


def _matrix_ord(x: Operand, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    row, col = axes
    if ord is None or ord == "fro":
        result = _vector_norm(x, axis=axes, keepdims=False)
    elif ord in ("nuc", 2, -2):
        s = singular_values(moveaxis(x, axes, (-2, -1)))
        result = {"nuc": sum, 2: max, -2: min}[ord](s, axis=-1)
    elif ord in (1, -1, np.inf, -np.inf):
        summed, over = (row, col) if ord in (1, -1) else (col, row)
        extreme = max if ord in (1, np.inf) else min
        result = extreme(sum(abs(x), axis=summed), axis=over - (over > summed))
    else:
        raise ValueError(
            f"norm: ord {ord!r} is not a matrix norm (None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf)"
        )
    return reshape(result, _kept_shape(np.shape(array_of(x)), axes)) if keepdims else result


def norm(x: Operand, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The vector or matrix norm, as `np.linalg.norm`: vector orders, 'fro', 'nuc', matrix orders, `axis`."""
    shape = np.shape(array_of(x))
    if axis is None:
        if ord is None:  # the 2-norm of all the elements, whatever the shape
            return (
                _vector_norm(x, axis=None, keepdims=False)
                if not keepdims
                else reshape(_vector_norm(x, axis=None, keepdims=False), (1,) * len(shape))
            )
        if len(shape) not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} needs a 1-D or 2-D input or an axis; got shape {shape}")
        axis = tuple(range(len(shape)))
    axes = normalise_axes(np.empty(shape), axis, "norm")
    if len(axes) == 1:
        return _vector_ord(x, ord, axes, keepdims)
    if len(axes) == 2:
        return _matrix_ord(x, ord, axes, keepdims)
    raise ValueError(f"norm: axis {axis!r} names {len(axes)} axes; a norm takes 1 or 2")


def matrix_power(a: Operand, n: int) -> Tensor:
    """`a` multiplied by itself `n` times (the inverse's powers for n < 0, I for 0), as NumPy's."""
    if not isinstance(n, int | np.integer) or isinstance(n, bool):
        raise TypeError(f"matrix_power: the exponent must be an int, got {type(n).__name__}")
    _square(np.empty(np.shape(array_of(a))), "matrix_power")
    if n == 0:  # the identity, whose gradient is 0
        return a * 0.0 + _eye(a)
    base, result = (inv(a) if n < 0 else a), None
    n = int(np.abs(n))
    while n:  # by squaring: log2(n) products
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def multi_dot(arrays: Any) -> Tensor:
    """The product of the matrices in order, as `np.linalg.multi_dot` (a 1-D first or last is a vector)."""
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: needs at least two arrays, got {len(arrays)}")
    result = arrays[0]
    for x in arrays[1:]:
        result = matmul(result, x)
    return result


def lstsq(a: Operand, b: Operand, rcond: Any = None) -> tuple[Tensor, Any, int, Tensor]:
    """(x, residuals, rank, s): the least-squares solution of A x = b, as `np.linalg.lstsq`, as pinv(A) b.

    Its gradient is pinv's: for a matrix of full rank, whose rank does not change nearby."""
    data = array_of(a)
    m, n = data.shape
    x = matmul(pinv(a), b)
    rank = int(np.linalg.matrix_rank(data))
    if rank == n and m > n:
        r = matmul(a, x) - b
        residuals = sum(r * r, axis=0) if np.ndim(array_of(b)) > 1 else reshape(sum(r * r), (1,))
    else:
        residuals = np.empty((0,), dtype=data.dtype)
    return x, residuals, rank, singular_values(a)


def cond(x: Operand, p: Any = None) -> Tensor:
    """The condition number in the norm `p`, as `np.linalg.cond`: σmax / σmin for None and 2."""
    if p in (None, 2, -2):
        s = singular_values(x)
        ratio = max(s, axis=-1) / min(s, axis=-1)
        return ratio if p != -2 else 1 / ratio
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


@op(name="qr_q")
def _qr_q(a):
    return np.linalg.qr(a)[0]


@op(name="qr_r")
def _qr_r(a):
    return np.linalg.qr(a)[1]


def _qr_vjp(dQ: Any, dR: Any, a: Any) -> Any:
    """TensorFlow's QrGrad (Walter and Lehmann), for m >= n and A of full rank:
    Q (dR + tril(Qᵀ dQ - dQᵀ Q + R dRᵀ - dR Rᵀ) R⁻ᵀ) + (dQ - Q Qᵀ dQ) R⁻ᵀ."""
    q, r = _qr_q(a), _qr_r(a)
    qdq, rdr = q.mT @ dQ, r @ dR.mT
    inner = tril(qdq - qdq.mT + rdr - rdr.mT)
    return q @ (dR + _solve(r, inner.mT).mT) + _solve(r, (dQ - q @ qdq).mT).mT


def _zeros(shape: tuple[int, ...], like: Any) -> np.ndarray:
    return np.zeros(shape, dtype=array_of(like).dtype)


# Each factor's rule is the joint rule with the other factor's gradient 0.
_qr_q.defvjp(lambda g, out, a: _qr_vjp(g, _zeros(a.shape[:-2] + (a.shape[-1],) * 2, g), a))
_qr_r.defvjp(lambda g, out, a: _qr_vjp(_zeros(a.shape, g), g, a))


def qr(a: Operand, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    """(Q, R) with A = Q R, Q's columns orthonormal and R upper triangular, as `np.linalg.qr` (reduced), for
    matrices of at least as many rows as columns (beyond that R is not square and its gradient not unique)."""
    shape = np.shape(array_of(a))
    if len(shape) < 2 or shape[-2] < shape[-1]:
        raise ValueError(f"qr: needs matrices with at least as many rows as columns, got shape {shape}")
    if mode != "reduced":
        raise ValueError(f"qr: only mode='reduced' is supported, got {mode!r}")
    return _qr_q(a), _qr_r(a)


__all__ = [
    "cholesky",
    "cond",
    "det",
    "eigenvalues",
    "eigenvectors",
    "eigh",
    "inv",
    "logabsdet",
    "lstsq",
    "matmul",
    "matrix_power",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "singular_values",
    "slogdet",
    "solve",
    "svd",
]
