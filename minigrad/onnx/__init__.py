"""`minigrad.onnx`: a function or a module traced once and written as an ONNX model.

    import minigrad.onnx
    proto = mg.onnx.export(predict, (X,), "model.onnx")              # the forward pass
    proto = mg.onnx.export(loss, (W1, b1, W2, b2), "step.onnx", gradients=True)   # and its gradients

Needs the `onnx` package (`pip install "minigrad[onnx]"`); `import minigrad` never imports it.
Each operation's ONNX form sits in one table (`forms.py`); declare your own operation's with
`@mg.onnx.form(my_op)`, or without importing onnx as `my_op.onnx_form = ...`, beside its `defvjp`.
"""

try:
    import onnx  # noqa: F401  (checked here, so that the error is one line that says what to install)
except ImportError:
    raise ImportError('minigrad.onnx needs the onnx package: pip install "minigrad[onnx]"') from None

from minigrad.onnx import nn_forms, numpy_forms  # noqa: F401  (they fill the table of forms)
from minigrad.onnx.emitter import OPSET, Emitter, ExportError, Value
from minigrad.onnx.forms import form, register
from minigrad.onnx.model import export

__all__ = ["OPSET", "Emitter", "ExportError", "Value", "export", "form", "register"]
