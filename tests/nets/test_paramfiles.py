"""`nets.paramfiles`: parameter files written whole, read without pickle, refused before anything is
allocated where a field, text included, is not what --save writes."""

import zipfile

import numpy as np
import pytest

import nets.checks
from nets import paramfiles
from nets.digits import command as digits_command
from nets.paramfiles import ParameterFileError


def test_what_save_arrays_writes_load_arrays_reads_back(tmp_path):
    path = tmp_path / "p.npz"
    W = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    paramfiles.save_arrays(path, {"W": W, "std": np.ones((3, 1))}, {"activation": "relu"})
    arrays, texts = paramfiles.load_arrays(path, ("W", "std"), ("activation",))
    np.testing.assert_array_equal(arrays["W"], W)
    assert arrays["W"].dtype == np.float64 and texts == {"activation": "relu"}
    assert sorted(paramfiles.array_names(path)) == ["W", "activation", "std"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]  # no temporary file left


def test_save_arrays_never_leaves_a_half_written_file(tmp_path):
    path = tmp_path / "p.npz"
    with pytest.raises(TypeError):
        paramfiles.save_arrays(path, {"W": np.ones((2, 2))}, {"bad": object()})  # not a plain array
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: p.write_bytes(b"not a zip"), "not an .npz archive"),
        (
            lambda p: np.save(p.with_suffix(".npy"), np.ones(2)) or p.with_suffix(".npy").rename(p),
            "single .npy",
        ),
        (lambda p: np.savez(p, W=np.ones((2, 2))), "it has no std"),
        (lambda p: np.savez(p, W=np.ones((2, 2)), std=np.ones(3)), "std is not a finite 2-D array of floats"),
        (lambda p: np.savez(p, W=np.ones((2, 2)), std=np.full((2, 1), np.nan)), "std is not a finite 2-D"),
        (lambda p: np.savez(p, W=np.ones((2, 2), dtype=np.int64), std=np.ones((2, 1))), "W is not a finite"),
    ],
)
def test_a_file_save_arrays_did_not_write_is_refused_naming_it(tmp_path, write, message):
    path = tmp_path / "p.npz"
    write(path)
    with pytest.raises(ParameterFileError, match=message) as info:
        paramfiles.load_arrays(path, ("W", "std"))
    assert str(path) in str(info.value)


def test_missing_files_and_folders_are_refused_in_one_line(tmp_path):
    with pytest.raises(ParameterFileError, match="no such file"):
        paramfiles.load_arrays(tmp_path / "nope.npz", ("W",))
    with pytest.raises(ParameterFileError, match="is a folder"):
        paramfiles.load_arrays(tmp_path, ("W",))


def npz_with_header(path, key, header, data=b""):
    """An .npz whose member `key` declares `header` (descr, shape) and holds only `data`: what a tampered
    file can claim without holding it."""
    with zipfile.ZipFile(path, "w") as archive, archive.open(f"{key}.npy", "w") as member:
        descr, shape = header
        np.lib.format.write_array_header_1_0(member, {"descr": descr, "fortran_order": False, "shape": shape})
        member.write(data)


def test_an_array_header_declaring_more_than_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "p.npz"
    npz_with_header(path, "W", ("<f8", (100_000, 100_000)))
    with pytest.raises(ParameterFileError, match=r"W is an array of \(100000, 100000\), which would take"):
        paramfiles.load_arrays(path, ("W",))


@pytest.mark.parametrize(
    "header",
    [("<U1", (100_000, 100_000)), ("<U1", (3,)), ("<U100000000", ()), ("<f8", ()), ("|S5", ())],
)
def test_a_text_whose_header_is_not_one_short_string_is_refused_before_it_is_read(tmp_path, header):
    # Issue 22: a header declaring a (1e5, 1e5) text array allocated 37 GiB before anything was checked.
    path = tmp_path / "p.npz"
    npz_with_header(path, "activation", header)
    with pytest.raises(ParameterFileError, match="activation is not one text of at most 64 characters"):
        paramfiles.load_arrays(path, (), ("activation",))


def test_a_standard_deviation_of_zero_or_below_names_the_feature():
    with pytest.raises(ParameterFileError, match="a standard deviation of -1 for feature 2"):
        paramfiles.check_standard_deviations(np.array([[1.0], [-1.0], [0.0]]), "it holds a network")
    paramfiles.check_standard_deviations(np.array([[1e-300], [2.0]]), "it holds a network")


def digits_file(path, layers, sizes=(2, 4, 3)):
    """A parameter file as nets.digits --save writes it, but for its `layers` text."""
    arrays = {}
    for c in range(1, len(sizes)):
        arrays[f"W{c}"] = np.ones((sizes[c], sizes[c - 1]))
        arrays[f"b{c}"] = np.zeros((sizes[c], 1))
    arrays["mean"], arrays["std"] = np.zeros((sizes[0], 1)), np.ones((sizes[0], 1))
    np.savez(path, **arrays, hidden_activation=np.array("relu"), layers=np.array(layers))


@pytest.mark.parametrize("layers", ["99999999999999999999", "²", "3", "0", "-1", " 2", "2.0", "1" * 60])
def test_a_layer_count_the_file_does_not_hold_is_refused_before_any_name_is_made(
    tmp_path, layers, monkeypatch
):
    # Issue 22: "99999999999999999999" made predict allocate until the kernel killed it; "²" passed
    # isdigit() and then failed in int(). The count must be ASCII digits, 1 to the W arrays in the file.
    made = []
    real = digits_command.load_arrays
    monkeypatch.setattr(
        digits_command, "load_arrays", lambda p, keys, *a: made.append(len(keys)) or real(p, keys, *a)
    )
    path = tmp_path / "model.npz"
    digits_file(path, layers)
    with pytest.raises(ParameterFileError, match=rf"layers {layers!r}"):
        digits_command.load_parameters(path)
    assert max(made) <= 4  # no list of names longer than the file's arrays was ever made


def test_the_layer_count_save_writes_is_read_back(tmp_path):
    path = tmp_path / "model.npz"
    digits_file(path, "2")
    parameters, mean, std, activation = digits_command.load_parameters(path)
    assert sorted(parameters) == ["W1", "W2", "b1", "b2"] and activation == "relu"
    assert mean.shape == std.shape == (2, 1)


def test_the_memory_check_uses_the_machines_memory(monkeypatch):
    monkeypatch.setattr(nets.checks, "memory_limit", lambda: 1024)
    with pytest.raises(
        ParameterFileError, match=r"x would take about 2\.0 KiB of memory; this machine has 1\.0 KiB"
    ):
        nets.checks.check_memory("x", 2048, ParameterFileError)
    nets.checks.check_memory("x", 1024, ParameterFileError)
