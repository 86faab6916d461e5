"""`mg.onnx.export`'s contract beyond each operation: names, modules, your own operations, symbolic batch
axes, files, and the errors that keep an export from being silently wrong."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from onnx_check import assert_same, check, eager, onnx, run

import minigrad as mg
from minigrad.onnx import ExportError


@mg.op
def softplus(x):
    return np.logaddexp(0, x)


@softplus.defvjp
def softplus_vjp(g, out, x):
    return (g * mg.sigmoid(x),)


X = np.linspace(-3, 3, 12).reshape(3, 4)


def test_an_operation_without_a_form_is_an_error_that_names_it():
    with pytest.raises(ExportError, match=r"'softplus'.*no ONNX form.*mg\.onnx\.form\(softplus\)"):
        mg.onnx.export(lambda x: softplus(x).sum(), X)


def test_a_declared_form_is_exported_and_equal(monkeypatch):
    @mg.op(name="softplus")
    def mine(x):
        return np.logaddexp(0, x)

    mine.defvjp(lambda g, out, x: g * mg.sigmoid(x))

    @mg.onnx.form(mine)
    def mine_form(g, x):
        return g.node("Softplus", x)

    proto = check(lambda x: mine(x) * 2, X, others=(X[::-1] * 3,))
    assert "Softplus" in [n.op_type for n in proto.graph.node]
    with pytest.raises(ExportError, match="softplus"):  # the form is this operation's, not its name's
        mg.onnx.export(softplus, X)


def test_a_form_given_as_an_attribute_or_by_name_is_used():
    @mg.op(name="cube_plus_one")
    def cube_plus_one(x):
        return x**3 + 1

    cube_plus_one.defvjp(lambda g, out, x: g * 3 * x * x)
    cube_plus_one.onnx_form = lambda g, x: g.node("Add", g.node("Pow", x, g.like(3.0)), g.like(1.0))
    check(cube_plus_one, X)

    @mg.op(name="twice_by_name")
    def twice(x):
        return 2 * x

    twice.defvjp(lambda g, out, x: 2 * g)
    mg.onnx.register("twice_by_name", lambda g, x: g.node("Add", x, x))
    check(twice, X)


def test_a_form_that_makes_a_wrong_shape_is_caught_at_export_naming_its_operation():
    @mg.op
    def row_sums(x):
        return x.sum(axis=1)

    row_sums.defvjp(lambda g, out, x: mg.broadcast_to(mg.expand_dims(g, 1), x.shape))
    mg.onnx.register(row_sums, lambda g, x: g.node("Identity", x))  # forgot the sum
    with pytest.raises(ExportError, match=r"(?s)checker refused.*the forms of row_sums"):
        mg.onnx.export(lambda x: row_sums(x) * 2, X)


def test_a_users_operation_named_as_a_built_in_one_is_not_exported_as_it():
    @mg.op(name="add")
    def add(a, b):
        return a - b  # not minigrad's add

    add.defvjp(lambda g, out, a, b: g, lambda g, out, a, b: -g)
    with pytest.raises(ExportError, match="'add'"):
        mg.onnx.export(add, (X, X))


def test_an_operation_without_a_rule_cannot_be_traced_and_says_so():
    @mg.op
    def ruleless(x):
        return x

    with pytest.raises(ExportError, match="ruleless has no rule"):
        mg.onnx.export(ruleless, X)


def test_register_refuses_what_is_not_an_operation_or_a_form():
    with pytest.raises(TypeError, match=r"mg\.op"):
        mg.onnx.register(np.exp, lambda g, x: x)
    with pytest.raises(TypeError, match="function"):
        mg.onnx.register("exp", "Exp")


def test_inputs_take_the_tensors_names_and_closed_over_tensors_are_initializers():
    W = mg.Tensor(np.ones((2, 3)), requires_grad=True, name="W")
    proto = mg.onnx.export(lambda x, b: (W @ x + b).named("Z"), (mg.Tensor(X[:, :2], name="x"), X[0, :2]))
    assert [i.name for i in proto.graph.input] == ["x", "arg1"]
    assert [i.name for i in proto.graph.initializer] == ["W"]
    assert [o.name for o in proto.graph.output] == ["Z"]


class TinyModule:
    """What minigrad.nn's modules offer the exporter: named_parameters() and a call."""

    def __init__(self):
        rng = np.random.default_rng(0)
        self.weight = mg.Tensor(rng.normal(size=(3, 4)), requires_grad=True)
        self.bias = mg.Tensor(rng.normal(size=(3,)), requires_grad=True)

    def named_parameters(self):
        return [("hidden.weight", self.weight), ("hidden.bias", self.bias)]

    def __call__(self, x):
        return mg.relu(x @ self.weight.T + self.bias)


def test_a_module_is_exported_with_its_parameters_under_their_dotted_names():
    module = TinyModule()
    proto = check(module, X[:2], others=(X[1:],))
    assert sorted(i.name for i in proto.graph.initializer) == ["hidden.bias", "hidden.weight"]


def test_tuples_of_outputs_an_argument_returned_and_one_tensor_returned_twice():
    def fn(x, y):
        z = x * y
        return z, x, z.sum(), z

    proto = check(fn, X, X + 1)
    assert len(proto.graph.output) == 4


def test_a_symbolic_batch_axis_serves_any_batch_size():
    W = mg.Tensor(np.arange(8.0).reshape(2, 4) / 7, name="W")

    def predict(x):
        return mg.softmax(x @ W.T + x.mean(axis=1, keepdims=True), axis=1).reshape(-1, 2)

    proto = mg.onnx.export(predict, mg.Tensor(X, name="x"), dynamic_axes={"x": {0: "batch"}})
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (1, 3, 7):
        x = np.random.default_rng(batch).normal(size=(batch, 4))
        assert_same(run(proto, x), eager(predict, x))


def test_a_size_fixed_by_the_trace_is_refused_for_a_symbolic_axis():
    with pytest.raises(ExportError, match="reshape"):
        mg.onnx.export(lambda x: x.reshape(3, 2, 2), X, dynamic_axes={0: {0: "batch"}})
    with pytest.raises(ValueError, match="not an argument"):
        mg.onnx.export(lambda x: x, X, dynamic_axes={"y": {0: "batch"}})


def test_a_value_read_while_tracing_is_refused_not_frozen():
    with pytest.raises(ExportError, match="reads the value"):
        mg.onnx.export(lambda x: x * float(x.sum()), X)
    with pytest.raises(ExportError, match="read off the traced values"):
        mg.onnx.export(lambda x: x[x.data > 0], X)  # a mask made from the data: not caught by the trace


@pytest.mark.parametrize(
    "fn",
    [
        lambda W: mg.relu(W).sum(),
        lambda W: mg.abs(W).sum(),
        lambda W: (mg.maximum(W, 0.5) * W).sum(),
        lambda W: mg.minimum(W, W.T.sum(axis=1)).sum(),
        lambda W: (mg.max(W, axis=1) ** 2).sum(),
        lambda W: mg.min(W).sum(),
        lambda W: (mg.clip(W, -0.5, 0.7) * W).sum(),
    ],
    ids=["relu", "abs", "maximum", "minimum", "max", "min", "clip"],
)
def test_gradients_through_a_rules_mask_are_exported_and_hold_at_other_values(fn):
    # The masks are operations (is_less_equal, is_equal, ...): computed again from each run's values,
    # ties included (rounded values tie at 0 and among themselves), not frozen at the traced ones.
    W = X.reshape(3, 4)
    proto = mg.onnx.export(fn, mg.Tensor(W, requires_grad=True), gradients=True)
    for values in (W, -W, np.round(W), np.zeros_like(W)):
        t = mg.Tensor(values, requires_grad=True)
        J = fn(t)
        J.backward()
        assert_same(run(proto, values), [J.data, t.grad])


def test_gradients_need_one_element_and_an_argument_that_requires_one():
    W = mg.Tensor(X, requires_grad=True)
    with pytest.raises(ExportError, match="one-element"):
        mg.onnx.export(lambda W: W * 2, W, gradients=True)
    with pytest.raises(ExportError, match="requires_grad=True"):
        mg.onnx.export(lambda W: W.sum(), X, gradients=True)


def test_gradients_for_every_argument_that_requires_one_in_order_zeros_where_unused():
    W, V = (mg.Tensor(X * k, requires_grad=True, name=n) for k, n in ((1, "W"), (2, "V")))

    def loss(W, x, V):
        return (W.tanh() * x).sum()

    proto = mg.onnx.export(loss, (W, X[0], V), gradients=True)
    assert [o.name for o in proto.graph.output] == ["output", "grad_W", "grad_V"]
    J, grads = mg.compile(loss)(W, X[0], V)
    assert_same(run(proto, W.data, X[0], V.data), [J, *grads])


def test_the_model_is_written_to_the_path_whole_and_reads_back(tmp_path):
    path = tmp_path / "model.onnx"
    proto = mg.onnx.export(mg.tanh, X, path)
    assert onnx.load(str(path)) == proto
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # no temporary file left
    onnx.checker.check_model(str(path), full_check=True)


def test_importing_minigrad_never_imports_onnx():
    code = "import sys, minigrad, nets.twolayer; print('onnx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_without_onnx_the_import_says_in_one_line_what_to_install():
    code = "import sys; sys.modules['onnx'] = None\nimport minigrad.onnx"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == 'ImportError: minigrad.onnx needs the onnx package: pip install "minigrad[onnx]"'
