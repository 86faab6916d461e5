"""minigrad.nn: modules register their parameters as PyTorch's do, and a Sequential MLP's values and gradients
are the closed forms written out by hand in NumPy."""

import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(3, 4, seed=0)
        self.scale = nn.Parameter(np.ones(4))
        self.out = nn.Linear(4, 2, seed=1)
        self.note = "not registered"

    def forward(self, x):
        return self.out(mg.relu(self.hidden(x)) * self.scale)


# ----- registration ---------------------------------------------------------------------------------------


def test_parameters_and_modules_are_registered_in_assignment_order_with_dotted_names():
    model = TwoLayers()
    names = [name for name, _ in model.named_parameters()]
    # a module's own parameters come before its children's, as PyTorch's named_parameters() gives them
    assert names == ["scale", "hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert [type(m).__name__ for m in model.children()] == ["Linear", "Linear"]
    assert [name for name, _ in model.named_modules()] == ["", "hidden", "out"]
    assert list(model.parameters()) == [p for _, p in model.named_parameters()]
    assert all(isinstance(p, mg.Tensor) and p.requires_grad for p in model.parameters())


def test_reassigning_an_attribute_unregisters_what_it_held():
    model = TwoLayers()
    model.scale = np.ones(4)  # now a plain array: no longer a parameter
    model.out = None
    assert [name for name, _ in model.named_parameters()] == ["hidden.weight", "hidden.bias"]
    del model.hidden
    assert list(model.parameters()) == []


def test_a_shared_parameter_is_yielded_once_but_named_in_the_state_under_each_name():
    a, b = nn.Linear(3, 3, seed=0), nn.Linear(3, 3, seed=1)
    b.weight = a.weight
    model = nn.Sequential(a, nn.Tanh(), b)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert len(list(model.parameters())) == 3
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # PyTorch's keys
    shared = nn.Sequential(a, a)
    assert len(list(shared.parameters())) == 2 and len(list(shared.modules())) == 2


def test_assigning_before_super_init_is_an_error_that_says_so():
    class Forgot(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgot()


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        nn.Module()(np.ones(2))


def test_zero_grad_train_and_eval_reach_every_module():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.Tanh(), nn.Linear(4, 2)))
    F.mse_loss(model(np.ones((5, 3))), np.zeros((5, 2))).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_repr_shows_the_tree_with_sizes():
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.25), nn.Linear(32, 10, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=64, out_features=32, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.25)\n"
        "  (3): Linear(in_features=32, out_features=10, bias=False)\n"
        ")"
    )


def test_sequential_is_a_list_of_modules():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[-1] is layers[2]
    assert list(model[:2]) == layers[:2]
    with pytest.raises(IndexError, match="no module 3"):
        model[3]
    with pytest.raises(TypeError, match="argument 1 is a function"):
        nn.Sequential(nn.Linear(2, 2), lambda x: x)


# ----- state ------------------------------------------------------------------------------------------------


def test_state_dict_holds_copies():
    model = TwoLayers()
    state = model.state_dict()
    state["hidden.weight"][...] = 7.0
    assert not np.any(model.hidden.weight.data == 7.0)
    before = {k: v.copy() for k, v in state.items()}
    model.hidden.weight.data = model.hidden.weight.data + 1
    assert np.array_equal(state["hidden.bias"], before["hidden.bias"])


def test_load_state_dict_copies_values_in_and_keeps_the_parameters_dtype():
    source, target = TwoLayers(), TwoLayers()
    for p in source.parameters():
        p.data = p.data + 1.5
    state = {k: v.astype(np.float32) for k, v in source.state_dict().items()}
    assert target.load_state_dict(state) == ([], [])
    for (name, p), q in zip(target.named_parameters(), source.parameters()):
        assert p.dtype == np.float64, name
        np.testing.assert_array_equal(p.data, q.data.astype(np.float32))
    state["hidden.weight"][...] = 0  # the loaded values are copies
    assert np.all(target.hidden.weight.data != 0)


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda s: s.pop("out.bias"), ["missing key 'out.bias'"]),
        (lambda s: s.update({"extra": np.ones(1)}), ["unexpected key 'extra'"]),
        (
            lambda s: s.update({"hidden.weight": np.ones((3, 4))}),
            ["hidden.weight: shape (3, 4)", "(4, 3) here"],
        ),
        (
            lambda s: (s.pop("scale"), s.update({"scales": np.ones(4), "out.weight": np.ones(2)})),
            ["missing key 'scale'", "unexpected key 'scales'", "out.weight: shape (2,)"],
        ),
    ],
)
def test_load_state_dict_refuses_naming_every_key_and_changes_nothing(change, named):
    model = TwoLayers()
    before = model.state_dict()
    state = {k: v + 1 for k, v in before.items()}
    change(state)
    with pytest.raises(ValueError, match="load_state_dict into TwoLayers refused") as error:
        model.load_state_dict(state)
    for text in named:
        assert text in str(error.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_load_state_dict_not_strict_loads_what_fits_and_returns_the_rest():
    model = TwoLayers()
    state = {"hidden.bias": np.full(4, 2.0), "extra": np.ones(3)}
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["extra"]
    assert result.missing_keys == ["scale", "hidden.weight", "out.weight", "out.bias"]
    np.testing.assert_array_equal(model.hidden.bias.data, np.full(4, 2.0))
    with pytest.raises(ValueError, match=r"hidden.bias: shape \(5,\)"):  # a wrong shape, strict or not
        model.load_state_dict({"hidden.bias": np.ones(5)}, strict=False)


# ----- Linear ---------------------------------------------------------------------------------------------


def test_linear_draws_its_weight_within_the_labs_bound_and_its_bias_zero():
    layer = nn.Linear(50, 400, seed=3)
    bound = math.sqrt(1 / 50)
    assert layer.weight.shape == (400, 50) and layer.bias.shape == (400,)
    assert np.all(np.abs(layer.weight.data) <= bound)
    assert np.abs(layer.weight.data).max() > 0.99 * bound  # the whole interval is used, not a narrower one
    assert abs(layer.weight.data.mean()) < 0.01 and abs(layer.weight.data.var() - bound**2 / 3) < 0.001
    np.testing.assert_array_equal(layer.bias.data, np.zeros(400))
    np.testing.assert_array_equal(nn.Linear(50, 400, seed=3).weight.data, layer.weight.data)
    assert nn.Linear(2, 2, bias=False).bias is None


def test_linear_refuses_a_wrong_width_naming_the_layer_and_both_sizes():
    layer = nn.Linear(4, 3)
    with pytest.raises(
        ValueError, match=r"Linear\(in_features=4, out_features=3.*shape \(5, 6\).*6 features.*4"
    ):
        layer(np.ones((5, 6)))
    with pytest.raises(ValueError, match="in_features must be a positive whole number"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="out_features must be a positive whole number"):
        nn.Linear(3, 2.5)


@given(
    batch=st.tuples() | st.tuples(st.integers(1, 3)) | st.tuples(st.integers(1, 3), st.integers(1, 2)),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    seed=st.integers(0, 2**16),
)
def test_the_fused_linear_passes_the_finite_difference_check_for_any_leading_axes(batch, sizes, seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = sizes
    x = mg.Tensor(rng.normal(size=(*batch, n_in)), requires_grad=True)
    W = mg.Tensor(rng.normal(size=(n_out, n_in)), requires_grad=True)
    b = mg.Tensor(rng.normal(size=n_out), requires_grad=True)
    assert mg.gradcheck(lambda x, W, b: F.linear(x, W, b), x, W, b)
    assert mg.gradcheck(lambda x, W: F.linear(x, W), x, W)
    assert F.linear(x, W, b).op == "linear"  # one operation


def test_the_fused_linear_has_second_derivatives():
    rng = np.random.default_rng(0)
    x, W = (mg.Tensor(rng.normal(size=s), requires_grad=True) for s in ((3, 2), (4, 2)))
    b = mg.Tensor(rng.normal(size=4), requires_grad=True)
    # J = sum(tanh(x Wᵀ + b)); dJ/dW = (1 - tanh²(Z))ᵀ x; d/dx of sum(dJ/dW) checked by finite differences
    assert mg.gradcheck(
        lambda x, W, b: mg.grad(F.linear(x, W, b).tanh().sum(), W, create_graph=True)[0], x, W, b
    )


# ----- an MLP against the closed form ---------------------------------------------------------------------

ACTIVATIONS = {
    "relu": (nn.ReLU, lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(float)),
    "sigmoid": (nn.Sigmoid, lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (nn.Tanh, np.tanh, lambda z: 1 - np.tanh(z) ** 2),
}


@given(
    m=st.integers(1, 6),
    sizes=st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(2, 4)),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    seed=st.integers(0, 2**16),
)
def test_a_sequential_mlp_gives_the_closed_form_values_and_gradients(m, sizes, activation, seed):
    module, act, act_prime = ACTIVATIONS[activation]
    n_x, n_h, K = sizes
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(n_x, n_h, seed=rng), module(), nn.Linear(n_h, K, seed=rng))
    model[0].bias.data = rng.normal(size=n_h)
    X, labels = rng.normal(size=(m, n_x)), rng.integers(0, K, m)
    J = F.cross_entropy(model(X), labels)
    J.backward()

    W1, b1, W2, b2 = (p.data for p in model.parameters())
    Z1 = X @ W1.T + b1
    A1 = act(Z1)
    Z2 = A1 @ W2.T + b2
    P = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    Y = np.eye(K)[labels]
    dZ2 = (P - Y) / m  # the lab's dZ2 = A2 - Y, with the mean's 1/m
    dZ1 = dZ2 @ W2 * act_prime(Z1)
    expected = [dZ1.T @ X, dZ1.sum(axis=0), dZ2.T @ A1, dZ2.sum(axis=0)]
    np.testing.assert_allclose(J.item(), -np.mean(np.log(P[np.arange(m), labels])), rtol=1e-10)
    for p, dp in zip(model.parameters(), expected):
        np.testing.assert_allclose(p.grad, dp, rtol=1e-9, atol=1e-12)


def test_training_a_three_layer_network_on_two_moons_separates_them():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, 200)
    upper = rng.random(200) < 0.5
    X = np.where(upper[:, None], np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    y = upper.astype(float)[:, None]
    model = nn.Sequential(
        nn.Linear(2, 16, seed=0), nn.Tanh(), nn.Linear(16, 16, seed=1), nn.Tanh(), nn.Linear(16, 1, seed=2)
    )
    opt = mg.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.BCEWithLogitsLoss()
    for _epoch in range(40):
        for xb, yb in mg.data.batches(X, y, batch_size=32, shuffle=True, seed=rng):
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
    with mg.no_grad():
        accuracy = np.mean((model(X).data > 0) == (y > 0.5))
    assert accuracy > 0.97


# ----- dropout -------------------------------------------------------------------------------------------


def test_dropout_zeroes_a_share_p_and_scales_the_rest_in_training_and_is_the_identity_in_eval():
    layer = nn.Dropout(0.3, seed=0)
    x = mg.Tensor(np.ones((200, 100)), requires_grad=True)
    y = layer(x)
    kept = y.data != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # the gradient goes through the same mask, scaled
    assert not np.array_equal(layer(x).data, y.data)  # a new mask at each call
    np.testing.assert_array_equal(nn.Dropout(0.3, seed=0)(x).data, y.data)  # the same seed, the same mask
    assert layer.eval()(x) is x
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros((200, 100)))
    with pytest.raises(ValueError, match=r"p, the probability.*1.5"):
        nn.Dropout(1.5)


# ----- subclasses of Tensor (needs the engine's fix: every operation treats a subclass as a Tensor) ----


def test_a_parameter_beside_a_plain_tensor_gets_its_gradient():
    p = nn.Parameter(np.ones(2))
    x = mg.Tensor(np.array([2.0, 3.0]))
    (x * p + p).sum().backward()
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


def test_a_module_of_its_own_gets_every_parameters_gradient():
    model = TwoLayers()  # its forward multiplies by a Parameter of its own: a subclass beside a Tensor
    F.mse_loss(model(np.ones((5, 3))), np.zeros((5, 2))).backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []


def test_a_deep_copy_is_a_model_of_its_own():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    best = copy.deepcopy(model)
    assert [name for name, _ in best.named_parameters()] == [name for name, _ in model.named_parameters()]
    assert all(
        isinstance(p, nn.Parameter) and p is not q for p, q in zip(best.parameters(), model.parameters())
    )
    best[0].weight.data[...] = 0
    assert np.all(model[0].weight.data != 0)


def test_a_pytorch_training_loop_ported_line_for_line_gives_pytorchs_losses():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 8)), rng.integers(0, 3, 100)
    theirs = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    ours = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # the same start

    torch_opt = torch.optim.AdamW(theirs.parameters(), lr=1e-2, weight_decay=0.1)
    opt = mg.optim.AdamW(ours.parameters(), lr=1e-2, weight_decay=0.1)
    torch_losses, losses = [], []
    for epoch in range(3):
        order = np.random.default_rng(epoch).permutation(100)
        for first in range(0, 100, 32):
            rows = order[first : first + 32]
            torch_opt.zero_grad()  # PyTorch
            loss = torch.nn.functional.cross_entropy(theirs(torch.tensor(X[rows])), torch.tensor(y[rows]))
            loss.backward()
            torch_opt.step()
            torch_losses.append(loss.item())
            opt.zero_grad()  # the same lines, here
            loss = F.cross_entropy(ours(X[rows]), y[rows])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-10)
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(
            ours.state_dict()[name], value.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )
