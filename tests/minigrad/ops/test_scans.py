"""prod, cumsum, cumprod, var, std, average, ptp, nansum, nanmean: values as NumPy's, gradients against
the derivative written out by hand and finite differences, both orders, over shapes and axes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opcheck import check_both_orders, leaf

import minigrad as mg
from minigrad.testing import arrays, assert_grads_match, shapes


@st.composite
def array_and_axis(draw, min_magnitude=0.0):
    a = draw(arrays(shapes(min_dims=1, max_dims=3, max_side=4), min_magnitude=min_magnitude))
    axis = draw(st.one_of(st.none(), st.integers(-a.ndim, a.ndim - 1)))
    return a, axis


def _kept(g, a, axis):
    return g if axis is None else np.expand_dims(g, axis)


@settings(max_examples=20)
@given(array_and_axis())
def test_prod_gradient_is_the_product_of_the_others_even_at_zeros(case):
    a, axis = case
    a = np.where(np.abs(a) < 1, 0.0, a)  # zeros on purpose: the rule must not divide by them
    np.testing.assert_allclose(mg.prod(mg.Tensor(a), axis=axis).data, np.prod(a, axis=axis))

    def by_hand(g, a):
        flat = np.moveaxis(a, axis, -1) if axis is not None else a.reshape(-1)
        others = np.stack([np.prod(np.delete(flat, j, axis=-1), axis=-1) for j in range(flat.shape[-1])], -1)
        others = np.moveaxis(others, -1, axis) if axis is not None else others.reshape(a.shape)
        return [_kept(g, a, axis) * others]

    assert_grads_match(lambda x: mg.prod(x, axis=axis), [leaf(a)], by_hand)


@settings(max_examples=20)
@given(array_and_axis())
def test_cumsum_gradient_is_the_sum_of_g_from_each_place_on(case):
    a, axis = case
    np.testing.assert_allclose(mg.cumsum(mg.Tensor(a), axis=axis).data, np.cumsum(a, axis=axis))

    def by_hand(g, a):
        if axis is None:
            return [np.cumsum(g[::-1])[::-1].reshape(a.shape)]
        return [np.flip(np.cumsum(np.flip(g, axis), axis), axis)]

    assert_grads_match(lambda x: mg.cumsum(x, axis=axis), [leaf(a)], by_hand)


@settings(max_examples=20)
@given(array_and_axis(min_magnitude=0.2))
def test_cumprod_matches_finite_differences(case):
    a, axis = case
    np.testing.assert_allclose(mg.cumprod(mg.Tensor(a), axis=axis).data, np.cumprod(a, axis=axis))
    mg.gradcheck(lambda x: mg.cumprod(x, axis=axis), leaf(a))


@settings(max_examples=20)
@given(array_and_axis(), st.integers(0, 1))
def test_var_and_std_with_ddof_against_the_formula(case, ddof):
    a, axis = case
    n = a.size if axis is None else a.shape[axis]
    if n - ddof <= 0:
        with pytest.raises(ValueError, match="degrees of freedom"):
            mg.var(leaf(a), axis=axis, ddof=ddof)
        return
    np.testing.assert_allclose(
        mg.var(mg.Tensor(a), axis=axis, ddof=ddof).data, np.var(a, axis=axis, ddof=ddof)
    )
    np.testing.assert_allclose(np.std(leaf(a), axis=axis, ddof=ddof).data, np.std(a, axis=axis, ddof=ddof))

    def by_hand(g, a):  # d var = 2 (x - mean) / (n - ddof)
        centred = a - np.mean(a, axis=axis, keepdims=True)
        return [_kept(g, a, axis) * 2 * centred / (n - ddof)]

    assert_grads_match(lambda x: mg.var(x, axis=axis, ddof=ddof), [leaf(a)], by_hand)


def test_std_at_zero_spread_gives_nan_as_pytorch():
    x = leaf([2.0, 2.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        mg.std(x).backward()
    assert np.isnan(x.grad).all()


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("prod", lambda m, x: m.prod(x, axis=1)),
        ("cumsum", lambda m, x: m.cumsum(x, axis=0)),
        ("cumprod", lambda m, x: m.cumprod(x, axis=1)),
        ("var", lambda m, x: m.var(x, axis=0, ddof=1)),
        ("std", lambda m, x: m.std(x)),
        ("average", lambda m, x: m.average(x, axis=1, weights=np.array([1.0, 2.0, 3.0]))),
        ("ptp", lambda m, x: m.ptp(x, axis=1)),
        ("nansum", lambda m, x: m.nansum(x, axis=0)),
        ("nanmean", lambda m, x: m.nanmean(x, axis=1)),
    ],
)
def test_each_scan_is_numpys_and_has_second_derivatives(name, call):
    a = np.array([[0.5, -1.2, 2.0], [1.5, 0.7, -0.4]])
    np.testing.assert_allclose(call(np, leaf(a)).data, call(np, a))
    check_both_orders(lambda x: call(mg, x), leaf(a))


def test_average_with_tensor_weights_differentiates_the_weights():
    a, w = leaf([1.0, 2.0, 4.0]), leaf([1.0, 1.0, 2.0])
    mg.average(a, weights=w).backward()
    total = 4.0
    mean = (1 + 2 + 8) / total
    np.testing.assert_allclose(a.grad, np.array([1.0, 1.0, 2.0]) / total)
    np.testing.assert_allclose(w.grad, (np.array([1.0, 2.0, 4.0]) - mean) / total)  # d/dw sum(aw)/sum(w)


def test_nansum_reads_nan_as_zero_with_no_gradient():
    x = leaf([1.0, np.nan, 3.0])
    y = np.nansum(x)
    y.backward()
    assert y.item() == 4.0
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 1.0])
