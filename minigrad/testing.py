"""Property-testing helpers: hypothesis strategies for arrays and Tensors, and a gradient assertion.

For users who check their own functions' gradients against a derivative worked out by hand, as the
lab does for its network::

    import numpy as np
    from hypothesis import given
    from minigrad.testing import assert_grads_match, tensors

    @given(tensors(shape=(3, 4)))
    def test_tanh(Z):
        assert_grads_match(lambda Z: Z.tanh(), [Z], lambda dA, Z: [dA * (1 - np.tanh(Z) ** 2)])

This module needs hypothesis (`pip install "minigrad[dev]"`); `import minigrad` does not import it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.tensor import Tensor

__all__ = ["arrays", "assert_grads_match", "broadcastable_shapes", "shapes", "tensors"]

Shape = tuple[int, ...]


def shapes(
    *, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[Shape]:
    """Array shapes of `min_dims` to `max_dims` axes, each `min_side` to `max_side` long."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(
    num_shapes: int = 2, *, min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """`num_shapes` shapes that broadcast together, as NumPy's rules say (`(3, 1)` and `(4,)`, ...)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    ).map(lambda drawn: tuple(drawn.input_shapes))


def arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    *,
    min_value: float = -3.0,
    max_value: float = 3.0,
    min_magnitude: float = 0.0,
    dtype: Any = np.float64,
) -> st.SearchStrategy[np.ndarray]:
    """Float arrays with every element in `[min_value, max_value]` and `|element| >= min_magnitude`.

    `shape` is a fixed shape, a strategy for shapes, or None for any shape from `shapes()`.
    `min_magnitude` keeps values away from 0, where `1/x`, `log|x|` or `relu`'s kink would need care:
    `arrays(min_magnitude=0.1)` draws from `[-3, -0.1]` and `[0.1, 3]`. For a domain like `log`'s, move
    the bounds instead: `arrays(min_value=0.5)`.
    """
    if not min_value <= max_value:
        raise ValueError(f"arrays: min_value {min_value} is greater than max_value {max_value}")
    if min_magnitude < 0:
        raise ValueError(f"arrays: min_magnitude must be >= 0, got {min_magnitude}")
    parts = []
    if min_value < 0 and min_value <= -min_magnitude:
        parts.append(_floats(min_value, min(max_value, -min_magnitude), dtype))
    if max_value >= min_magnitude:
        parts.append(_floats(max(min_value, min_magnitude), max_value, dtype))
    if not parts:
        raise ValueError(f"arrays: no value in [{min_value}, {max_value}] has magnitude >= {min_magnitude}")
    return hnp.arrays(dtype, shapes() if shape is None else shape, elements=st.one_of(parts))


def _floats(low: float, high: float, dtype: Any) -> st.SearchStrategy[float]:
    """Floats of `dtype` in [low, high]: hypothesis wants bounds the dtype holds exactly, so round inwards."""
    float_type = np.dtype(dtype).type
    inner_low, inner_high = float_type(low), float_type(high)
    if inner_low < low:
        inner_low = np.nextafter(inner_low, float_type(np.inf))
    if inner_high > high:
        inner_high = np.nextafter(inner_high, float_type(-np.inf))
    return st.floats(
        float(inner_low),
        float(inner_high),
        width=np.dtype(dtype).itemsize * 8,
        allow_nan=False,
        allow_infinity=False,
    )


def tensors(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    *,
    requires_grad: bool = True,
    name: str | None = None,
    **array_options: Any,
) -> st.SearchStrategy[Tensor]:
    """Tensors around `arrays(shape, **array_options)`; they require a gradient unless told otherwise."""
    return arrays(shape, **array_options).map(lambda a: Tensor(a, requires_grad=requires_grad, name=name))


def assert_grads_match(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    analytic: Callable[..., Sequence[np.ndarray | None]],
    upstream: Any = None,
    *,
    atol: float | None = None,
    rtol: float | None = None,
) -> None:
    """Assert that the backward pass through `fn` gives the gradients that `analytic` says.

    `fn(*inputs)` is run and back-propagated with the gradient `upstream` flowing into its output (an
    array of the output's shape; None draws one from a fixed seed, the same every run). Then for every
    Tensor input that requires a gradient, its `.grad` must equal the matching entry of
    `analytic(upstream, *arrays)`, where `arrays` are the inputs' values (Tensors as their `.data`,
    anything else as it was given). `analytic` returns one gradient per input, None for inputs that
    need none.

    The check runs on fresh copies of the Tensor inputs, so their `.grad` is left as it was.
    Tolerances default to `rtol=1e-6, atol=1e-9` for float64 and `rtol=1e-3, atol=1e-4` when an input
    has a smaller float type. On a mismatch, raises `AssertionError` naming the input (position and
    name), the first element that differs, both values and the shapes involved.
    """
    copies = [
        Tensor(np.array(x.data), requires_grad=x.requires_grad, name=x.name) if isinstance(x, Tensor) else x
        for x in inputs
    ]
    atol, rtol = _tolerances(copies, atol, rtol)

    out = _output_of(fn, copies)
    upstream = _upstream_for(out, upstream)
    out.backward(upstream.copy())

    values = [np.array(x.data) if isinstance(x, Tensor) else x for x in copies]
    expected = list(analytic(upstream.copy(), *values))
    _compare_all(copies, expected, out.shape, atol, rtol)


def _compare_all(copies: list[Any], expected: list[Any], out_shape: Shape, atol: float, rtol: float) -> None:
    if len(expected) != len(copies):
        raise ValueError(
            f"assert_grads_match: analytic returned {len(expected)} gradients for {len(copies)} inputs"
        )
    for i, (x, want) in enumerate(zip(copies, expected)):
        if isinstance(x, Tensor) and x.requires_grad:
            which = f"input {i}" + (f" ({x.name!r})" if x.name else "") + f" of shape {x.shape}"
            _assert_close(which, x, want, out_shape, atol, rtol)


def _tolerances(inputs: list[Any], atol: float | None, rtol: float | None) -> tuple[float, float]:
    """The defaults: tight for float64, looser when an input has a smaller float type."""
    low_precision = any(isinstance(x, Tensor) and x.dtype.itemsize < 8 for x in inputs)
    atol = (1e-4 if low_precision else 1e-9) if atol is None else atol
    rtol = (1e-3 if low_precision else 1e-6) if rtol is None else rtol
    return atol, rtol


def _output_of(fn: Callable[..., Tensor], inputs: list[Any]) -> Tensor:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"assert_grads_match: fn must return a Tensor, got {type(out).__name__}")
    if not out.requires_grad:
        raise ValueError("assert_grads_match: fn's output does not require a gradient; nothing to compare")
    return out


def _upstream_for(out: Tensor, upstream: Any) -> np.ndarray:
    """The gradient flowing into `out`: the caller's, or one drawn from a fixed seed (the same every run)."""
    if upstream is None:
        upstream = np.random.default_rng(0).standard_normal(out.shape).astype(out.dtype)
    upstream = np.array(upstream, dtype=out.dtype)
    if upstream.shape != out.shape:
        raise ValueError(
            f"assert_grads_match: upstream has shape {upstream.shape} but fn's output has shape {out.shape}"
        )
    return upstream


def _assert_close(
    which: str, x: Tensor, want: Any, out_shape: tuple[int, ...], atol: float, rtol: float
) -> None:
    if want is None:
        raise ValueError(f"assert_grads_match: analytic gave None for {which}, which requires a gradient")
    want = np.asarray(want, dtype=np.float64)
    # An input the output does not depend on is never reached by backward(); its gradient is zero.
    got = np.zeros(x.shape) if x.grad is None else np.asarray(x.grad, dtype=np.float64)
    if got.shape != x.shape:
        raise AssertionError(
            f"{which}: backward() gave a gradient of shape {got.shape} (output shape {out_shape})"
        )
    if want.shape != x.shape:
        raise AssertionError(f"{which}: the analytic gradient has shape {want.shape}, not the input's shape")
    close = np.isclose(got, want, atol=atol, rtol=rtol)
    if not close.all():
        index = tuple(int(k) for k in np.argwhere(~close)[0])
        raise AssertionError(
            f"{which}, element {index}: backward() gives {got[index]:.10g}, the analytic gradient "
            f"{want[index]:.10g} (difference {abs(got[index] - want[index]):.3g}; "
            f"{int((~close).sum())} of {close.size} elements differ; output shape {out_shape}; "
            f"atol={atol:g}, rtol={rtol:g})"
        )
