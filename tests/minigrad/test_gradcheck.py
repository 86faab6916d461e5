"""gradcheck: it passes right rules, catches wrong ones, and says where."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import GradcheckError, Tensor, gradcheck


def square_with(rule):
    """x ** 2 as a custom operation whose backward rule is `rule(g, x)`: right or deliberately wrong."""

    @mg.op
    def square(x):
        return x**2

    square.defvjp(lambda g, out, x: rule(g, x))
    return square


right_square = square_with(lambda g, x: 2 * g * x)
wrong_square = square_with(lambda g, x: g * x)  # forgot the 2


def reverse_with(rule):
    """x[::-1] as a custom operation with backward `rule(g)`."""

    @mg.op
    def reverse(x):
        return x[::-1].copy()

    reverse.defvjp(lambda g, out, x: rule(g))
    return reverse


def test_a_right_rule_passes_for_every_output_shape():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    assert gradcheck(right_square, x) is True
    assert gradcheck(lambda x: right_square(x).sum(), x) is True
    W = Tensor(np.arange(6.0).reshape(2, 3) / 7, requires_grad=True)
    b = Tensor(np.ones((2, 1)), requires_grad=True)
    assert gradcheck(lambda W, b: (W @ W.T + b).sigmoid(), W, b) is True


def test_a_wrong_rule_raises_naming_input_element_analytic_and_numeric():
    x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x")
    with pytest.raises(GradcheckError) as caught:
        gradcheck(lambda x: wrong_square(x).sum(), x)
    message = str(caught.value)
    assert "input 0" in message and "'x'" in message
    assert "(0,)" in message  # the first element that differs
    analytic = re.search(r"analytic[^0-9-]*(-?[0-9.e+-]+)", message)
    numeric = re.search(r"numeric[^0-9-]*(-?[0-9.e+-]+)", message)
    assert analytic and numeric, message
    assert float(analytic.group(1)) == pytest.approx(1.0)  # g * x at x = 1
    assert float(numeric.group(1)) == pytest.approx(2.0, rel=1e-6)  # d(x^2)/dx at x = 1


def test_the_message_names_the_input_that_is_wrong_among_several():
    a = Tensor([0.5, 1.5], requires_grad=True, name="a")
    b = Tensor([2.0, -1.0], requires_grad=True, name="b")
    with pytest.raises(GradcheckError, match=r"input 1 \('b'\).*\(0,\)"):
        gradcheck(lambda a, b: a * 3.0 + wrong_square(b), a, b)


def test_the_message_names_the_element_that_is_wrong():
    def rule(g, x):
        d = 2 * g * x
        d[1, 2] += 0.5  # wrong at one element only
        return d

    x = Tensor(np.full((2, 3), 0.5), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"\(1, 2\)"):
        gradcheck(square_with(rule), x)


def test_the_whole_jacobian_is_compared_not_only_the_gradient_of_the_sum():
    # Not reversing g gives the right gradient for the sum (all ones) and the wrong Jacobian.
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert gradcheck(reverse_with(lambda g: g[::-1].copy()), x)
    assert gradcheck(lambda x: reverse_with(lambda g: g.copy())(x).sum(), x)
    with pytest.raises(GradcheckError):
        gradcheck(reverse_with(lambda g: g.copy()), x)


def test_tolerances_are_the_callers_to_choose():
    slightly_wrong = square_with(lambda g, x: 2 * g * x * (1 + 1e-4))
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert gradcheck(slightly_wrong, x)  # within the default rtol of 1e-3
    with pytest.raises(GradcheckError):
        gradcheck(slightly_wrong, x, rtol=1e-6, atol=0.0)


def test_float32_inputs_are_checked_in_float64():
    x = Tensor(np.linspace(-2, 2, 7, dtype=np.float32), requires_grad=True)
    assert gradcheck(lambda x: (x.tanh() * x.exp()).sum(), x)


def test_the_callers_tensors_data_and_grad_are_left_as_they_were():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([7.0, 8.0])
    data = x.data.copy()
    gradcheck(lambda x: (x * x).sum(), x)
    np.testing.assert_array_equal(x.data, data)
    np.testing.assert_array_equal(x.grad, [7.0, 8.0])


def test_inputs_that_need_no_gradient_are_passed_through_unchecked():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    assert gradcheck(lambda x, c, k: x * c * k, x, c, 2.0)


def test_nothing_to_check_is_a_value_error():
    with pytest.raises(ValueError, match="requires a gradient"):
        gradcheck(lambda x: x * 2.0, Tensor([1.0]))


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="Tensor"):
        gradcheck(lambda x: x.data.sum(), Tensor([1.0], requires_grad=True))


def test_gradcheck_error_is_importable_from_the_package():
    assert mg.GradcheckError is GradcheckError and issubclass(GradcheckError, Exception)


def test_the_grad_of_tensors_fn_closes_over_is_left_as_it_was():
    W = Tensor([[1.0, 2.0]], requires_grad=True)
    x = Tensor([[0.5], [0.25]], requires_grad=True)
    (W @ x).sum().backward()
    before = W.grad.copy()
    assert gradcheck(lambda x: (W @ x).sum(), x)
    np.testing.assert_array_equal(W.grad, before)


def test_a_nan_gradient_fails_even_where_the_numeric_one_is_nan():
    # log of a negative number: the function, its slope and the rule's answer are all nan there
    with np.errstate(invalid="ignore"), pytest.raises(GradcheckError, match="nan"):
        gradcheck(lambda x: x.log(), Tensor([-1.0], requires_grad=True))
