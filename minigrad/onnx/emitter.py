"""The few calls an operation's ONNX form makes: a node, a constant, and what is known of its values.

A form is a small function that writes one minigrad operation as ONNX nodes, given an `Emitter` and
its inputs (each a `Value`: the name of an ONNX value, with the shape and dtype the trace gave it):

    def sigmoid(g, x):
        return g.node("Sigmoid", x)

Forms are read by the model builder (`model.py`), one traced equation at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto, helper, numpy_helper

# ONNX opset 18: every operator below runs in current onnxruntime, and from opset 18 on every
# reduction takes its axes as an input (ReduceSum since 13), so that all of them are written alike.
OPSET = 18
IR_VERSION = 8  # the IR version that introduced opset 18: readable by the widest range of runtimes

ELEMENT_TYPES = {
    np.dtype(np.float16): TensorProto.FLOAT16,
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
}


class ExportError(ValueError):
    """A function could not be written as ONNX: an operation without a form, or a value read in the trace."""


@dataclass(frozen=True)
class Value:
    """An ONNX value: its name, and the shape and dtype it had in the trace."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.shape)


def element_type(dtype: np.dtype, what: str) -> int:
    """The ONNX element type of a floating NumPy dtype, or an ExportError naming `what`."""
    try:
        return ELEMENT_TYPES[np.dtype(dtype)]
    except KeyError:
        raise ExportError(f"export: {what} has dtype {dtype}, which has no ONNX form here") from None


class Emitter:
    """Collects nodes and initializers; `out` is the traced output the form being run must produce."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.out: Value | None = None
        self._names: set[str] = set()

    def fresh(self, hint: str) -> str:
        """A value name not used yet, made from `hint`."""
        name, k = hint, 1
        while name in self._names:
            name, k = f"{hint}_{k}", k + 1
        self._names.add(name)
        return name

    def node(self, op_type: str, *inputs: Value | str, **attributes: Any) -> str:
        """Add one ONNX node; returns the name of its (first) output. An input "" is an omitted one."""
        names = [x.name if isinstance(x, Value) else x for x in inputs]
        output = self.fresh(f"{op_type.lower()}{len(self.nodes)}")
        self.nodes.append(helper.make_node(op_type, names, [output], **attributes))
        return output

    def constant(self, array: Any, dtype: Any = None, hint: str = "const") -> str:
        """An initializer holding `array` (in `dtype` where given); returns its name."""
        data = np.asarray(array, dtype=dtype)
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(data.copy(order="C"), name))
        return name

    def ints(self, values: Any) -> str:
        """A 1-D int64 constant: the axes, shapes, starts and ends that ONNX takes as inputs."""
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1), hint="ints")

    def like(self, array: Any, x: Value | None = None) -> str:
        """A constant in the dtype of `x` (of the output being made, by default)."""
        return self.constant(array, dtype=(x or self.out).dtype)

    def cast(self, x: Value, dtype: np.dtype) -> Value:
        """`x` in `dtype` (itself where it is already): ONNX operators take inputs of one element type."""
        if x.dtype == dtype:
            return x
        name = self.node("Cast", x, to=element_type(dtype, x.name))
        return Value(name, x.shape, np.dtype(dtype))
