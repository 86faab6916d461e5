"""mg.save / mg.load: the safetensors format as its specification writes it, read and written by the
`safetensors` package as an independent party, and every damaged or lying file refused in one line."""

import json
import os
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.saving import SafetensorsError, load_metadata

safetensors_numpy = pytest.importorskip("safetensors.numpy")

ARRAYS = {
    "f16": np.arange(6, dtype=np.float16).reshape(2, 3) / 3,
    "f32": np.linspace(-1, 1, 5, dtype=np.float32),
    "f64": np.random.default_rng(0).normal(size=(3, 2, 2)),
    "i64": np.array([-(2**40), 0, 7], dtype=np.int64),
    "i32": np.array([[1, -2]], dtype=np.int32),
    "u8": np.array([0, 255], dtype=np.uint8),
    "i8": np.array([-128], dtype=np.int8),
    "bool": np.array([True, False]),
    "scalar": np.float64(2.5),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def assert_same(got, expected):
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert got[name].dtype == np.asarray(value).dtype, name
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_a_round_trip_keeps_names_dtypes_shapes_and_values(tmp_path):
    mg.save(ARRAYS, tmp_path / "a.safetensors")
    assert_same(mg.load(tmp_path / "a.safetensors"), ARRAYS)


@settings(max_examples=40)
@given(
    arrays=st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8).filter(
            lambda name: name != "__metadata__"
        ),
        hnp.arrays(
            st.sampled_from(["<f2", "<f4", "<f8", ">f8", "<i2", "<i4", ">i8", "u1", "<u4", "?"]),
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
        ),
        max_size=4,
    )
)
def test_any_arrays_round_trip_and_the_package_reads_them_alike(arrays, tmp_path_factory):
    path = tmp_path_factory.mktemp("any") / "a.safetensors"
    mg.save(arrays, path)
    expected = {name: a.astype(a.dtype.newbyteorder("=")) for name, a in arrays.items()}
    for read in (mg.load(path), safetensors_numpy.load_file(str(path))):
        assert sorted(read) == sorted(expected)
        for name, a in expected.items():
            assert read[name].dtype == a.dtype and read[name].shape == a.shape
            np.testing.assert_array_equal(read[name], a)  # NaNs in the same places count as equal


def test_the_safetensors_package_reads_our_files_and_we_read_its(tmp_path):
    mg.save(ARRAYS, tmp_path / "ours.safetensors", metadata={"format": "np", "note": "é"})
    theirs = safetensors_numpy.load_file(str(tmp_path / "ours.safetensors"))
    assert_same({k: theirs[k] for k in ARRAYS}, ARRAYS)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "ours.safetensors"), framework="numpy") as f:
        assert f.metadata() == {"format": "np", "note": "é"}
    arrays = {k: np.asarray(v) for k, v in ARRAYS.items()}  # the package takes arrays, not NumPy scalars
    safetensors_numpy.save_file(arrays, str(tmp_path / "theirs.safetensors"), metadata={"a": "b"})
    read = mg.load(tmp_path / "theirs.safetensors")  # in the package's order: by alignment, then name
    assert_same({k: read[k] for k in ARRAYS}, ARRAYS)
    assert load_metadata(tmp_path / "theirs.safetensors") == {"a": "b"}


def test_the_file_is_the_specifications_layout(tmp_path):
    mg.save({"W": np.array([[1.0, 2.0]], dtype=">f4"), "b": np.array([3], dtype=np.int16)}, tmp_path / "s")
    raw = (tmp_path / "s").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header == {
        "W": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]},
        "b": {"dtype": "I16", "shape": [1], "data_offsets": [8, 10]},
    }
    assert (8 + n) % 8 == 0  # the data starts aligned; the header is padded with spaces
    data = raw[8 + n :]
    assert data == struct.pack("<2f", 1.0, 2.0) + struct.pack(
        "<h", 3
    )  # little-endian, from a big-endian array


def test_tensors_and_a_state_dict_are_saved_as_their_data(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2, seed=0), nn.ReLU(), nn.Linear(2, 1, seed=1))
    mg.save(model.state_dict(), tmp_path / "m.safetensors")
    mg.save({"t": mg.Tensor([1.0, 2.0], requires_grad=True)}, tmp_path / "t.safetensors")
    assert_same(mg.load(tmp_path / "t.safetensors"), {"t": np.array([1.0, 2.0])})
    other = nn.Sequential(nn.Linear(3, 2, seed=5), nn.ReLU(), nn.Linear(2, 1, seed=6))
    other.load_state_dict(mg.load(tmp_path / "m.safetensors"))
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(other(x).data, model(x).data)


def test_a_sequentials_names_and_shapes_are_pytorchs_without_torch(tmp_path):
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    mg.save(model.state_dict(), tmp_path / "d.safetensors")
    read = safetensors_numpy.load_file(str(tmp_path / "d.safetensors"))
    assert {k: v.shape for k, v in read.items()} == {
        "0.weight": (32, 64),
        "0.bias": (32,),
        "2.weight": (10, 32),
        "2.bias": (10,),
    }


def test_a_sequential_goes_to_pytorch_and_back(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = nn.Sequential(nn.Linear(64, 32, seed=0), nn.ReLU(), nn.Linear(32, 10, seed=1))
    model[0].bias.data = np.linspace(-1, 1, 32)
    mg.save(model.state_dict(), tmp_path / "ours.safetensors")
    theirs = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)).double()
    theirs.load_state_dict(safetensors_torch.load_file(str(tmp_path / "ours.safetensors")), strict=True)
    x = np.random.default_rng(2).normal(size=(5, 64))
    np.testing.assert_allclose(
        theirs(torch.tensor(x)).detach().numpy(), model(x).data, rtol=1e-12, atol=1e-14
    )

    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(-0.5)
    safetensors_torch.save_file(theirs.state_dict(), str(tmp_path / "theirs.safetensors"))
    model.load_state_dict(mg.load(tmp_path / "theirs.safetensors"), strict=True)
    np.testing.assert_allclose(
        model(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-14
    )


# ----- what is refused --------------------------------------------------------------------------------------


def file_with(tmp_path, header, data=b"", n=None, name="bad.safetensors"):
    text = json.dumps(header).encode()
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(text) if n is None else n) + text + data)
    return path


def refused(path, why):
    with pytest.raises(SafetensorsError) as error:
        mg.load(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    assert why in message, message


def test_every_truncation_of_a_file_is_refused(tmp_path):
    mg.save({"a": np.arange(3.0), "b": np.ones((2, 2), dtype=np.float32)}, tmp_path / "whole")
    raw = (tmp_path / "whole").read_bytes()
    for length in range(len(raw)):
        (tmp_path / "cut").write_bytes(raw[:length])
        with pytest.raises(SafetensorsError, match=f"^{tmp_path / 'cut'}: not a safetensors file"):
            mg.load(tmp_path / "cut")
        with pytest.raises(SafetensorsError):
            load_metadata(tmp_path / "cut")


F64_OF_2 = {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}


@pytest.mark.parametrize(
    "header, data, n, why",
    [
        ({"a": F64_OF_2}, b"\0" * 16, 2**62, "its header claims 4611686018427387904 bytes"),
        (
            {"a": {"dtype": "F64", "shape": [2**40, 2**30], "data_offsets": [0, 2**73]}},
            b"",
            None,
            "hold 9444732965739290427392 bytes",
        ),
        (
            {"a": {"dtype": "F64", "shape": [2**20], "data_offsets": [0, 2**23]}},
            b"\0" * 16,
            None,
            "hold 8388608 bytes of data; the file has 16",
        ),
        (
            {"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "do not hold its 16 bytes",
        ),
        ({"a": F64_OF_2}, b"\0" * 24, None, "its tensors hold 16 bytes of data; the file has 24"),
        (
            {"a": F64_OF_2, "b": {"dtype": "F64", "shape": [2], "data_offsets": [8, 24]}},
            b"\0" * 24,
            None,
            "starts at byte 8 of the data; the one before ends at 16",
        ),
        (
            {"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}},
            b"\0\0",
            None,
            "dtype 'BF16' is not one",
        ),
        (
            {"a": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 0]}},
            b"",
            None,
            "is not a list of whole numbers",
        ),
        ({"a": {"dtype": "F64", "shape": [1]}}, b"", None, "exactly dtype, shape and data_offsets"),
        ({"__metadata__": {"a": 1}}, b"", None, "__metadata__ is not a map of text to text"),
        ([1, 2], b"", None, "not a JSON object"),
    ],
)
def test_a_header_that_lies_is_refused_before_anything_is_allocated(tmp_path, header, data, n, why):
    path = file_with(tmp_path, header, data, n)
    tracemalloc.start()
    try:
        refused(path, why)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # bytes: nothing of the declared size was allocated


def test_a_header_that_is_not_json_or_names_a_tensor_twice_is_refused(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", 4) + b"\xff{}}")
    refused(path, "its header is not JSON")
    entry = b'{"dtype":"U8","shape":[],"data_offsets":[0,1]}'
    text = b'{"a":' + entry + b',"a":' + entry + b"}"
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\0")
    refused(path, "a name is given twice: ['a']")


def test_what_is_not_a_file_is_refused_naming_it(tmp_path):
    refused(tmp_path, "a folder, not a safetensors file")
    if os.path.exists("/dev/zero"):
        refused("/dev/zero", "not a regular file")
    with pytest.raises(FileNotFoundError, match=r"nothing\.safetensors"):
        mg.load(tmp_path / "nothing.safetensors")
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    refused(tmp_path / "pickled.npy", "not a safetensors file")


def test_what_cannot_be_saved_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "keep.safetensors"
    path.write_bytes(b"the previous file")
    for tensors, why in [
        ({"a": np.array(["text"])}, "a has dtype <U4"),
        ({"a": np.ones(2, dtype=np.complex128)}, "complex128"),
        ({"__metadata__": np.ones(2)}, "name must be text"),
        ({1: np.ones(2)}, "got 1"),
        ([np.ones(2)], "give a mapping"),
    ]:
        with pytest.raises(SafetensorsError, match=why):
            mg.save(tensors, path)
    with pytest.raises(SafetensorsError, match="metadata must map text to text"):
        mg.save({"a": np.ones(1)}, path, metadata={"n": 1})
    assert path.read_bytes() == b"the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.safetensors"]
