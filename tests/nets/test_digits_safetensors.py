"""`python -m nets.digits --save model.safetensors`: a file `predict` reads, and PyTorch loads as it is."""

import json
import struct

import numpy as np
import pytest

import minigrad as mg
from nets import digits as dg
from nets.digits.command import load_parameters, main
from nets.digits.modelfile import load_model, save_model
from nets.paramfiles import ParameterFileError

pytest.importorskip("sklearn", reason='the digits need scikit-learn: pip install -e ".[digits]"')
QUICK = ["--epochs", "2", "--hidden", "16,8", "--activation", "tanh", "--quiet"]


def test_predict_reads_the_safetensors_file_as_it_reads_the_npz_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for suffix in ("npz", "safetensors"):
        assert main([*QUICK, "--save", f"m.{suffix}"]) == 0
        assert main(["predict", f"m.{suffix}", "--data", "digits", "--out", f"{suffix}.csv"]) == 0
    out = capsys.readouterr().out
    assert "parameters  m.safetensors: 64 -> 16 tanh -> 8 tanh -> 10 softmax" in out
    assert (tmp_path / "npz.csv").read_text() == (tmp_path / "safetensors.csv").read_text()
    from_npz, from_safetensors = (
        load_parameters(tmp_path / "m.npz"),
        load_parameters(tmp_path / "m.safetensors"),
    )
    for a, b in zip(from_npz[:3], from_safetensors[:3]):
        for name in a if isinstance(a, dict) else [None]:
            np.testing.assert_array_equal(a[name] if name else a, b[name] if name else b)
    assert from_safetensors[3] == "tanh"


def test_the_file_is_pytorchs_state_dict_with_the_standardisation_as_metadata(tmp_path):
    parameters = dg.initialize_parameters([64, 16, 10], seed=0)
    mean, std = np.linspace(0, 1, 64)[:, None], np.linspace(1, 2, 64)[:, None]
    save_model(tmp_path / "m.safetensors", parameters, mean, std, "relu")
    tensors = mg.load(tmp_path / "m.safetensors")
    assert {k: v.shape for k, v in tensors.items()} == {
        "0.weight": (16, 64),
        "0.bias": (16,),
        "2.weight": (10, 16),
        "2.bias": (10,),
    }
    loaded, loaded_mean, loaded_std, activation = load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded_mean, mean)  # every bit, through the JSON of the metadata
    np.testing.assert_array_equal(loaded_std, std)
    assert activation == "relu" and list(loaded) == ["W1", "b1", "W2", "b2"]


def test_pytorch_gives_the_same_probabilities_from_the_file(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    monkeypatch.chdir(tmp_path)
    assert main([*QUICK, "--save", "m.safetensors"]) == 0
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 10),
    ).double()
    model.load_state_dict(safetensors_torch.load_file("m.safetensors"), strict=True)
    parameters, mean, std, _ = load_model(tmp_path / "m.safetensors")
    X = (dg.load_digits()[0] - mean) / std
    theirs = torch.softmax(model(torch.tensor(X.T)), dim=1).detach().numpy()
    np.testing.assert_allclose(theirs, dg.probabilities(parameters, X, "tanh").T, rtol=1e-10, atol=1e-14)


def write(path, tensors, metadata):
    header = {"__metadata__": metadata} if metadata is not None else {}
    offset, data = 0, b""
    for name, a in tensors.items():
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset, data = offset + a.nbytes, data + a.astype("<f8").tobytes()
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


GOOD = {
    "0.weight": np.ones((3, 2)),
    "0.bias": np.zeros(3),
    "2.weight": np.ones((2, 3)),
    "2.bias": np.zeros(2),
}
META = {"hidden_activation": "relu", "mean": "[0, 0]", "std": "[1, 1]"}


@pytest.mark.parametrize(
    "tensors, metadata, message",
    [
        (GOOD, None, "its metadata has no hidden_activation, mean, std"),
        (GOOD, {**META, "mean": "[0, nope"}, "its mean) is not a list of numbers"),
        (GOOD, {**META, "std": "[[1], [1]]"}, "its std) is not a list of finite numbers"),
        (GOOD, {**META, "hidden_activation": "gelu"}, "hidden_activation 'gelu'"),
        ({**GOOD, "extra": np.ones(1)}, META, "it holds 'extra', not a layer's weight or bias"),
        ({"0.weight": np.ones((3, 2))}, META, "it should hold 0.weight, 0.bias; it holds 0.weight"),
        ({**GOOD, "2.weight": np.ones((2, 4))}, META, "its layers do not chain"),
        ({**GOOD, "0.weight": np.full((3, 2), np.inf)}, META, "0.weight is not an array of finite floats"),
        (GOOD, {**META, "std": "[1, 0]"}, "a standard deviation of 0 for feature 2"),
    ],
)
def test_a_safetensors_file_that_save_could_not_have_written_is_refused(tmp_path, tensors, metadata, message):
    write(tmp_path / "bad.safetensors", tensors, metadata)
    with pytest.raises(
        ParameterFileError, match=r"bad\.safetensors: not a parameter file written by --save"
    ) as e:
        load_parameters(tmp_path / "bad.safetensors")
    assert message in str(e.value)


def test_a_damaged_or_missing_file_is_one_line_and_exit_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cut.safetensors").write_bytes(struct.pack("<Q", 500) + b"{}")
    assert main(["predict", "cut.safetensors", "--data", "digits"]) == 2
    assert main(["predict", "none.safetensors", "--data", "digits"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "error: cut.safetensors: not a safetensors file "
        "(its header claims 500 bytes; the file has 2 after the length)",
        "error: none.safetensors: no such file",
    ]
