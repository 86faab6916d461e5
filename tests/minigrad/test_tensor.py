"""The Tensor itself: what it holds, what dtypes it accepts, and how it shows itself."""

import numpy as np
import pytest
from hypothesis import given

from minigrad import Tensor
from minigrad.testing import arrays

# ----- construction and dtypes --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floating_dtypes_are_kept(dtype):
    t = Tensor(np.ones((2, 2), dtype=dtype), requires_grad=True)
    assert t.dtype == dtype and t.data.dtype == dtype


@pytest.mark.parametrize(
    "data",
    [3, True, [1, 2, 3], [[True, False]], np.arange(4, dtype=np.int32), np.array([1, 2], dtype=np.uint8)],
    ids=["int", "bool", "int list", "bool list", "int32 array", "uint8 array"],
)
def test_integers_and_bools_become_float64(data):
    t = Tensor(data)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data).astype(np.float64))


def test_python_floats_and_lists_become_float64_arrays():
    assert Tensor(1.5).dtype == np.float64 and Tensor(1.5).shape == ()
    assert Tensor([[1.0, 2.0]]).shape == (1, 2)


@pytest.mark.parametrize(
    ("data", "dtype_text"),
    [
        ("abc", "<U3"),
        (["a", "b"], "<U1"),
        (np.array([1, None], dtype=object), "object"),
        ([1 + 2j], "complex128"),
        (np.ones(2, dtype=np.complex64), "complex64"),
    ],
    ids=["str", "str list", "object", "complex list", "complex64"],
)
def test_strings_objects_and_complex_are_type_errors_naming_the_dtype(data, dtype_text):
    with pytest.raises(TypeError, match=dtype_text):
        Tensor(data)


def test_float32_combined_with_a_python_number_stays_float32():
    t = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for out in (t + 1, 2.5 * t, t / 3, 1 - t, t**2):
        assert out.dtype == np.float32


def test_a_tensor_from_a_tensor_is_a_new_leaf_with_the_same_values():
    a = Tensor([1.0, 2.0], requires_grad=True) * 2.0
    b = Tensor(a)
    np.testing.assert_array_equal(b.data, a.data)
    assert b.parents == () and not b.requires_grad


def test_a_new_tensor_has_no_gradient_and_no_graph():
    t = Tensor([1.0, 2.0], requires_grad=True, name="W1")
    assert t.grad is None and t.parents == () and t.op == ""
    assert t.requires_grad is True and t.name == "W1"
    assert Tensor(1.0).requires_grad is False and Tensor(1.0).name is None


# ----- attributes and small methods ---------------------------------------------------------------


@given(arrays())
def test_shape_ndim_size_dtype_numpy_follow_the_data(a):
    t = Tensor(a)
    assert t.shape == a.shape and t.ndim == a.ndim and t.size == a.size and t.dtype == a.dtype
    np.testing.assert_array_equal(t.numpy(), a)
    assert isinstance(t.numpy(), np.ndarray)


@given(arrays())
def test_T_reverses_the_axes(a):
    np.testing.assert_array_equal(Tensor(a).T.data, a.T)


def test_item_gives_a_python_float_for_one_element():
    assert Tensor([[2.5]]).item() == 2.5
    assert type(Tensor(3).item()) is float
    with pytest.raises(ValueError):
        Tensor([1.0, 2.0]).item()


def test_detach_shares_the_data_and_leaves_the_graph():
    W = Tensor([1.0, 2.0], requires_grad=True)
    Z = W * 3.0
    D = Z.detach()
    assert not D.requires_grad and D.parents == () and D.grad is None
    assert np.shares_memory(D.data, Z.data)
    with pytest.raises(RuntimeError):
        (D * 2.0).sum().backward()


def test_zero_grad_sets_the_gradient_back_to_none():
    t = Tensor([1.0], requires_grad=True)
    t.sum().backward()
    assert t.grad is not None
    t.zero_grad()
    assert t.grad is None


# ----- repr ---------------------------------------------------------------------------------------


def test_repr_shows_values_and_shape():
    text = repr(Tensor([[1.5, -2.0]]))
    assert "1.5" in text and "-2." in text and "(1, 2)" in text
    assert "requires_grad" not in text and "name" not in text


def test_repr_shows_name_and_requires_grad_where_set():
    text = repr(Tensor([0.25], requires_grad=True, name="b1"))
    assert "0.25" in text and "(1,)" in text and "b1" in text and "requires_grad=True" in text


def test_repr_of_a_large_tensor_is_summarised_with_its_shape():
    text = repr(Tensor(np.zeros((100, 100))))
    assert "..." in text and "(100, 100)" in text and len(text) < 1000


def test_a_python_bool_keeps_a_float32_tensor_float32_as_numpy_does():
    t = Tensor(np.ones(3, dtype=np.float32))
    assert (t * True).dtype == (np.ones(3, dtype=np.float32) * True).dtype == np.float32


def test_a_grad_of_strings_is_refused_naming_grad_and_the_dtype():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(TypeError, match=r"backward\(\): grad .*dtype <U2"):
        y.backward(np.array(["ab", "cd"]))
