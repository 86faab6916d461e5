"""Contractions: einsum, and dot, tensordot, inner, outer, vdot, trace, kron written as einsums.

One operation has a rule here, `einsum`; the others are einsums with subscripts they work out from the
shapes, so there is one rule to trust. Its rule is the einsum itself: the gradient of one operand is the
contraction of the output's gradient with the other operands, back onto that operand's subscripts.
"""

from __future__ import annotations

import builtins
import string
from typing import Any

import numpy as np

from minigrad.op import op
from minigrad.ops.arithmetic import mul
from minigrad.ops.assembly import diagonal
from minigrad.ops.common import Operand, array_of, whole_number
from minigrad.ops.linalg import matmul
from minigrad.ops.reductions import sum
from minigrad.ops.shape import reshape
from minigrad.tensor import Tensor

_LETTERS = string.ascii_letters


@op(name="einsum")
def _einsum(*operands, subscripts):
    """`np.einsum` on explicit subscripts (`"ij,jk->ik"`: no ellipsis, the output written out)."""
    return np.einsum(subscripts, *operands)


def _einsum_vjp(g, out, *operands, subscripts):
    inputs, output = subscripts.split("->")
    terms = inputs.split(",")
    return tuple(_operand_gradient(g, output, terms, operands, i) for i in range(len(operands)))


def _operand_gradient(g: Any, output: str, terms: list[str], operands: tuple[Any, ...], i: int) -> Any:
    """d out / d operand i, applied to g: einsum(g, the other operands -> operand i's subscripts).

    Two of its subscripts need an operand of their own. One that appears nowhere else was summed over:
    a ones vector puts it back (its gradient is g broadcast along it). One repeated (`ii`, a diagonal) is
    renamed, and an identity matrix joins the name to the original, so the gradient lands on the diagonal.
    """
    own = terms[i]
    elsewhere = set(output).union(*(t for k, t in enumerate(terms) if k != i))
    extra_terms, extra = [], []
    renamed = ""
    unused = iter(c for c in _LETTERS if c not in set("".join(terms)) | set(output))
    for axis, letter in enumerate(own):
        n = array_of(operands[i]).shape[axis]
        if letter in renamed:  # a repeat: a fresh name, tied to the first by the identity
            fresh = next(unused)
            extra_terms.append(letter + fresh)
            extra.append(np.eye(n, dtype=array_of(g).dtype))
            letter = fresh
        elif letter not in elsewhere:
            extra_terms.append(letter)
            extra.append(np.ones(n, dtype=array_of(g).dtype))
        renamed += letter
    others = [t for k, t in enumerate(terms) if k != i]
    rest = [x for k, x in enumerate(operands) if k != i]
    spec = ",".join([output, *others, *extra_terms]) + "->" + renamed
    return _einsum(g, *rest, *extra, subscripts=spec)


_einsum.defvjp(_einsum_vjp)


def einsum(*args: Any, optimize: Any = False) -> Tensor:
    """Einstein summation, as `np.einsum`: `einsum("ij,jk->ik", A, B)`, ellipses (`"...ij,...jk"`),
    implicit output (`"ij,jk"`), and the sublist form `einsum(A, [0, 1], B, [1, 2], [0, 2])`."""
    if optimize not in (False, None, True, "greedy", "optimal") and not isinstance(optimize, list):
        raise ValueError(f"einsum: optimize={optimize!r} is not one of NumPy's values")
    subscripts, operands = _subscripts_and_operands(args)
    return _einsum(
        *operands, subscripts=explicit_subscripts(subscripts, [np.ndim(array_of(x)) for x in operands])
    )


def _subscripts_and_operands(args: tuple[Any, ...]) -> tuple[str, list[Any]]:
    if not args:
        raise TypeError("einsum: give the subscripts and at least one operand")
    if isinstance(args[0], str):
        return args[0].replace(" ", ""), list(args[1:])
    # The sublist form: operand, its axes (ints or Ellipsis), ..., and the output's axes last if odd.
    output = args[-1] if len(args) % 2 else None
    operands, lists = list(args[0 : len(args) - len(args) % 2 : 2]), list(args[1::2])
    if output is not None:
        lists = lists[: len(operands)]

    def letters(sublist: Any) -> str:
        return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sublist)

    spec = ",".join(letters(s) for s in lists)
    return (spec + ("->" + letters(output) if output is not None else "")), operands


def explicit_subscripts(subscripts: str, ndims: list[int]) -> str:
    """The subscripts with every ellipsis spelled out in letters and the output written after `->`.

    An implicit output is NumPy's: the broadcast ellipsis axes, then the letters seen once, in order.
    """
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands, given {len(ndims)}")
    named = set(inputs.replace(".", "").replace(",", "")) | set(output.replace(".", ""))
    if not named <= set(_LETTERS):
        raise ValueError(f"einsum: subscripts {subscripts!r} must be letters, commas, '...' and '->'")
    free = [c for c in _LETTERS if c not in named]
    widest = builtins.max(
        [n - len(t.replace("...", "")) for t, n in zip(terms, ndims) if "..." in t], default=0
    )
    if widest < 0:
        raise ValueError(f"einsum: subscripts {subscripts!r} have more letters than axes of the operands")
    dots = "".join(free[:widest])
    spelled = []
    for term, n in zip(terms, ndims):
        width = n - len(term.replace("...", ""))
        term = term.replace("...", dots[len(dots) - width :] if width else "")
        if len(term) != n:
            raise ValueError(f"einsum: subscripts {term!r} for an operand of {n} dimensions")
        spelled.append(term)
    if arrow:
        output = output.replace("...", dots)
    else:
        letters = "".join(spelled)
        output = dots + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in dots))
    return ",".join(spelled) + "->" + output


def _letters(n: int, start: int = 0) -> str:
    return _LETTERS[start : start + n]


def tensordot(a: Operand, b: Operand, axes: Any = 2) -> Tensor:
    """`np.tensordot`: the last `axes` axes of `a` against the first of `b`, or the axes listed in pairs."""
    na, nb = np.ndim(array_of(a)), np.ndim(array_of(b))
    if whole_number(axes):
        if not 0 <= axes <= builtins.min(na, nb):
            raise ValueError(f"tensordot: axes={axes} for operands of {na} and {nb} dimensions")
        summed_a, summed_b = list(range(na - axes, na)), list(range(axes))
    else:
        summed_a, summed_b = ([x] if whole_number(x) else list(x) for x in axes)
        if len(summed_a) != len(summed_b):
            raise ValueError(f"tensordot: axes {axes!r} pair {len(summed_a)} axes with {len(summed_b)}")
        summed_a, summed_b = (
            [x % builtins.max(na, 1) for x in summed_a],
            [x % builtins.max(nb, 1) for x in summed_b],
        )
    sa, sb = _letters(na), list(_letters(nb, na))
    for i, j in zip(summed_a, summed_b):
        sb[j] = sa[i]
    kept = "".join(c for k, c in enumerate(sa) if k not in summed_a)
    kept += "".join(c for k, c in enumerate(sb) if k not in summed_b)
    return _einsum(a, b, subscripts=f"{sa},{''.join(sb)}->{kept}")


def dot(a: Operand, b: Operand) -> Tensor:
    """`np.dot` for every rank: a product for a scalar, `matmul` for vectors and matrices (the lab's
    `np.dot(W1, X)`, drawn as matmul), else the last axis of `a` against the second-to-last of `b`."""
    na, nb = np.ndim(array_of(a)), np.ndim(array_of(b))
    if na == 0 or nb == 0:
        return mul(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [builtins.max(nb - 2, 0)]))


def inner(a: Operand, b: Operand) -> Tensor:
    """`np.inner`: the last axes of `a` and `b` against each other."""
    na, nb = np.ndim(array_of(a)), np.ndim(array_of(b))
    if na == 0 or nb == 0:
        return dot(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a: Operand, b: Operand) -> Tensor:
    """`np.outer`: every element of `a` (flattened) times every element of `b` (flattened)."""
    return _einsum(reshape(a, -1), reshape(b, -1), subscripts="i,j->ij")


def vdot(a: Operand, b: Operand) -> Tensor:
    """`np.vdot`: the sum of the products of the flattened operands (real data)."""
    return _einsum(reshape(a, -1), reshape(b, -1), subscripts="i,i->")


def kron(a: Operand, b: Operand) -> Tensor:
    """`np.kron`: blocks of `b` scaled by each element of `a`."""
    sa, sb = np.shape(array_of(a)), np.shape(array_of(b))
    n = builtins.max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    left, right = _letters(n), _letters(n, n)
    interleaved = "".join(x + y for x, y in zip(left, right))
    product = _einsum(reshape(a, sa), reshape(b, sb), subscripts=f"{left},{right}->{interleaved}")
    return reshape(product, tuple(x * y for x, y in zip(sa, sb)))


def trace(x: Operand, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The sum along diagonal `offset` of the axes `axis1`, `axis2`, as `np.trace`."""
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


__all__ = ["dot", "einsum", "explicit_subscripts", "inner", "kron", "outer", "tensordot", "trace", "vdot"]
