"""The lab's network and the digits network, exported: onnxruntime predicts what minigrad predicts.

Also the lab's training step exported with `gradients=True`: its gradients are the eager engine's and
the lab's closed-form formulas (`backward_propagation`), and `--export` on both commands.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

if os.environ.get("CI"):
    import onnxruntime
else:
    pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")

import minigrad as mg
import minigrad.onnx  # mg.onnx
from nets import datasets, metrics
from nets import digits as dg
from nets import twolayer as tl
from nets.commandline import UsageError
from nets.digits.command import main as digits_main
from nets.export import check_export
from nets.twolayer.command import load_parameters
from nets.twolayer.command import main as twolayer_main


def outputs(path_or_proto, **feeds):
    model = path_or_proto if isinstance(path_or_proto, str) else path_or_proto.SerializeToString()
    return onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)


def lab_problem(activation="sigmoid", m=60, seed=3):
    X, Y = datasets.load("moons", seed=seed)
    X, Y = X[:, :m], Y[:, :m]
    parameters = tl.initialize_parameters(X.shape[0], 5, 1, seed=seed)
    return tl.update_parameters(parameters, tl.autograd_gradients(parameters, X, Y, activation), 1.0), X, Y


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_the_labs_network_exported_predicts_as_minigrad_for_any_number_of_examples(activation):
    parameters, X, _ = lab_problem(activation)
    W = {k: mg.Tensor(v, name=k) for k, v in parameters.items()}
    proto = mg.onnx.export(
        lambda X: tl.forward_propagation(X, W, activation)[0],
        mg.Tensor(X, name="X"),
        dynamic_axes={"X": {1: "m"}},
    )
    assert {"W1", "b1", "W2", "b2"} <= {i.name for i in proto.graph.initializer}
    for columns in (slice(None), slice(0, 1), slice(5, 42)):
        (A2,) = outputs(proto, X=X[:, columns])
        want, _ = tl.forward_propagation(X[:, columns], parameters, activation)
        np.testing.assert_allclose(A2, want.data, rtol=1e-12, atol=0)
        assert np.array_equal(metrics.predictions(want.data), metrics.predictions(A2))
    if activation == "sigmoid":  # the lab's own predict, which knows only the sigmoid
        assert np.array_equal(tl.predict(parameters, X), metrics.predictions(outputs(proto, X=X)[0]))


def test_the_labs_training_step_exports_the_engines_and_the_closed_form_gradients():
    parameters, X, Y = lab_problem()
    args = [mg.Tensor(parameters[k], requires_grad=True, name=k) for k in ("W1", "b1", "W2", "b2")]

    def cost(W1, b1, W2, b2, X, Y):
        A2, _ = tl.forward_propagation(X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2})
        return tl.compute_cost(A2, Y)

    proto = mg.onnx.export(cost, (*args, mg.Tensor(X, name="X"), mg.Tensor(Y, name="Y")), gradients=True)
    assert [o.name for o in proto.graph.output] == ["J", "grad_W1", "grad_b1", "grad_W2", "grad_b2"]
    J, *grads = outputs(proto, **parameters, X=X, Y=Y)
    np.testing.assert_allclose(
        J, tl.compute_cost(tl.forward_propagation(X, parameters)[0], Y).data, rtol=1e-12
    )
    engine = tl.autograd_gradients(parameters, X, Y)
    _, cache = tl.forward_propagation(X, parameters)
    closed = tl.backward_propagation(parameters, cache, X, Y)
    for name, g in zip(("W1", "b1", "W2", "b2"), grads):
        np.testing.assert_allclose(g, engine["d" + name], rtol=1e-12, atol=1e-15, err_msg=name)
        # The lab's dW and db are the gradients of J themselves (its 1/m is in them); other rounding.
        np.testing.assert_allclose(g, closed["d" + name], rtol=1e-9, atol=1e-12, err_msg=name)
    # A step taken with the exported gradients is the lab's step.
    stepped = {k: parameters[k] - 1.0 * g for k, g in zip(("W1", "b1", "W2", "b2"), grads)}
    lab_step = tl.update_parameters(parameters, closed, 1.0)
    for k in stepped:
        np.testing.assert_allclose(stepped[k], lab_step[k], rtol=1e-9, atol=1e-12)


def test_the_digits_network_exported_predicts_as_minigrad():
    X, _ = dg.load_digits()
    X = X[:, :200]
    parameters = dg.initialize_parameters([X.shape[0], 16, 10], "he", seed=0)
    W = {k: mg.Tensor(v, name=k) for k, v in parameters.items()}
    proto = mg.onnx.export(lambda X: dg.forward_propagation(X, W)[0], mg.Tensor(X, name="X"))
    (probabilities,) = outputs(proto, X=X)
    np.testing.assert_allclose(probabilities, dg.probabilities(parameters, X), rtol=1e-12, atol=0)
    assert np.array_equal(probabilities.argmax(axis=0), dg.predict(parameters, X))


def test_twolayer_export_writes_a_predictor_that_answers_as_the_saved_parameters(tmp_path, capsys):
    model, saved = tmp_path / "model.onnx", tmp_path / "model.npz"
    argv = ["--iterations", "3000", "--export", str(model), "--save", str(saved), "--activation", "relu"]
    assert twolayer_main(argv) == 0
    assert f"written to {model}" in capsys.readouterr().out
    parameters, mean, std, activation = load_parameters(saved)
    X, _ = datasets.load("moons", seed=0)  # in the data's units: the model standardises
    (A2,) = outputs(str(model), X=X)
    want, _ = tl.forward_propagation(datasets.standardise(X, mean, std), parameters, activation)
    np.testing.assert_allclose(A2, want.data, rtol=1e-12, atol=0)
    assert np.array_equal(metrics.predictions(A2), metrics.predictions(want.data))


def test_digits_export_writes_a_predictor_that_answers_as_the_saved_parameters(tmp_path):
    from nets.digits.command import load_examples
    from nets.digits.command import load_parameters as load_digits_parameters

    model, saved = tmp_path / "digits.onnx", tmp_path / "digits.npz"
    argv = ["--limit", "300", "--epochs", "1", "--quiet", "--export", str(model), "--save", str(saved)]
    assert digits_main(argv) == 0
    parameters, mean, std, activation = load_digits_parameters(saved)
    X, _ = load_examples("digits")
    (probabilities,) = outputs(str(model), X=X[:, :500])
    want = dg.probabilities(parameters, datasets.standardise(X[:, :500], mean, std), activation)
    np.testing.assert_allclose(probabilities, want, rtol=1e-12, atol=0)
    assert np.array_equal(probabilities.argmax(axis=0), want.argmax(axis=0))


def test_export_refuses_a_wrong_file_name_and_says_what_to_install_without_onnx(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"\.onnx"):
        check_export(tmp_path / "model.npz")
    for name in [m for m in sys.modules if m == "onnx" or m.startswith(("onnx.", "minigrad.onnx"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if it were not installed
    with pytest.raises(UsageError, match=r'pip install "minigrad\[onnx\]"'):
        check_export(tmp_path / "model.onnx")


def _node_counts(proto):
    counts = {}
    for node in proto.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def test_the_digits_training_step_with_relu_exports_the_engines_gradients():
    # relu's mask is an operation now: the exported step holds at other parameters and examples too.
    X, labels = dg.load_digits()
    parameters = dg.initialize_parameters([X.shape[0], 16, 10], "he", seed=0)
    names = sorted(parameters)
    step = dg.make_step("relu")

    def cost(*args):
        *weights, X, Y = args
        return step(dict(zip(names, weights)), X, Y)

    def eager(parameters, X, Y):
        leaves = {k: mg.Tensor(v, requires_grad=True) for k, v in parameters.items()}
        J = step(leaves, X, Y)
        J.backward()
        return [J.data, *(leaves[k].grad for k in names)]

    args = [mg.Tensor(parameters[k], requires_grad=True, name=k) for k in names]
    Y = dg.one_hot(labels, 10)
    proto = mg.onnx.export(
        cost, (*args, mg.Tensor(X[:, :64], name="X"), mg.Tensor(Y[:, :64], name="Y")), gradients=True
    )
    assert [o.name for o in proto.graph.output][1:] == [f"grad_{k}" for k in names]
    assert _node_counts(proto).get("LessOrEqual", 0) >= 1  # relu's mask, computed in the graph
    flipped = {k: -v for k, v in parameters.items()}
    for params, columns in ((parameters, slice(0, 64)), (flipped, slice(64, 128))):
        got = outputs(proto, **params, X=X[:, columns], Y=Y[:, columns])
        want = eager(params, X[:, columns], Y[:, columns])
        for k, (g, w) in enumerate(zip(got, want)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"output {k}")


def test_the_labs_relu_step_from_logits_exports_the_engines_gradients():
    parameters, X, Y = lab_problem("relu")
    keys = ("W1", "b1", "W2", "b2")

    def cost(W1, b1, W2, b2, X, Y):
        _, cache = tl.forward_propagation(X, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, "relu")
        return tl.compute_cost_from_logits(cache["Z2"], Y)

    args = [mg.Tensor(parameters[k], requires_grad=True, name=k) for k in keys]
    proto = mg.onnx.export(cost, (*args, mg.Tensor(X, name="X"), mg.Tensor(Y, name="Y")), gradients=True)
    _, *grads = outputs(proto, **parameters, X=X, Y=Y)
    engine = tl.autograd_gradients(parameters, X, Y, "relu")
    for name, g in zip(keys, grads):
        np.testing.assert_allclose(g, engine["d" + name], rtol=1e-12, atol=1e-15, err_msg=name)
