"""What the ONNX tests share: export, run in onnxruntime, and compare with minigrad's own values.

Skipped where onnx or onnxruntime is missing, except under CI, where a missing package is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

if os.environ.get("CI"):
    import onnx
    import onnxruntime
else:
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")

import minigrad as mg
import minigrad.onnx  # mg.onnx


def session(proto: Any) -> Any:
    """An onnxruntime session of the model, on the CPU, after the checker has passed it."""
    onnx.checker.check_model(proto, full_check=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the machine is shared; one thread is also one summation order
    return onnxruntime.InferenceSession(
        proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run(proto: Any, *arrays: Any) -> list[np.ndarray]:
    """The model's outputs on `arrays`, given to its inputs in order."""
    names = [i.name for i in proto.graph.input]
    return session(proto).run(None, {n: np.asarray(a) for n, a in zip(names, arrays)})


def eager(fn: Callable[..., Any], *arrays: Any, requires_grad: bool = False) -> list[np.ndarray]:
    """minigrad's own outputs of `fn` on Tensors of `arrays`."""
    out = fn(*(mg.Tensor(a, requires_grad=requires_grad) for a in arrays))
    return [t.data for t in (out if isinstance(out, tuple | list) else (out,))]


def assert_same(got: Sequence[np.ndarray], want: Sequence[np.ndarray], relative: bool = False) -> None:
    """Same count, shapes and dtypes; float64 values within 1e-12 relative (float32: 1e-5).

    The absolute floor is as small, scaled by the largest value: a sum that cancels to near 0 is added
    in another order by onnxruntime, and its last bits differ relative to the result, not to the terms.
    `relative`: no floor, for elementwise operations, which have no sum to cancel (a tail of 1e-18 must
    be 1e-18 to 12 digits, not merely below 1e-12), down to the smallest normal number: a subnormal holds
    fewer digits than the rtol asks (onnxruntime's float32 tanh(-4.3649e-41) is -4.3526e-41).
    """
    assert len(got) == len(want)
    for k, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        assert g.shape == w.shape, (k, g.shape, w.shape)
        assert g.dtype == w.dtype, (k, g.dtype, w.dtype)
        rtol = 1e-12 if w.dtype == np.float64 else 1e-5
        finite = np.abs(w[np.isfinite(w)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        atol = float(np.finfo(w.dtype).tiny) if relative else rtol * scale
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"output {k}")


def check(
    fn: Callable[..., Any],
    *arrays: Any,
    others: Sequence[Any] | None = None,
    requires_grad: bool = False,
    relative: bool = False,
) -> Any:
    """Export `fn` traced on `arrays`; onnxruntime gives minigrad's values on them (and on `others`).

    `requires_grad`: minigrad's values are computed on Tensors that require a gradient (for a `fn` that
    takes gradients itself). `relative`: compared without an absolute floor (see `assert_same`)."""
    proto = mg.onnx.export(fn, tuple(arrays))
    assert_same(run(proto, *arrays), eager(fn, *arrays, requires_grad=requires_grad), relative)
    if others is not None:  # new values of the same shapes: the graph was not frozen at the traced ones
        assert_same(run(proto, *others), eager(fn, *others, requires_grad=requires_grad), relative)
    return proto
