"""Tests for ganedu.checks: the rule (a wrong type is a TypeError, a wrong value of the right type a
ValueError), the messages (argument, what is expected, what was given) and the values returned."""
import math

import numpy as np
import pytest
import torch

from ganedu.checks import check_choice, check_fields, check_int, check_number, check_tensor, check_type


def test_check_type_names_argument_expectation_and_given_type():
    assert check_type("module", torch.nn.Linear(2, 2), torch.nn.Module, "a torch.nn.Module") is not None
    with pytest.raises(TypeError, match=r"^module must be a torch.nn.Module, got function$"):
        check_type("module", lambda x: x, torch.nn.Module, "a torch.nn.Module")
    with pytest.raises(TypeError, match=r"^n must be an int, got '3' \(str\)$"):
        check_type("n", "3", int, "an int")


def test_a_bool_is_not_a_number_but_is_a_bool():
    assert check_type("download", False, bool, "a bool") is False
    for kind in (int, float, (int, float)):
        with pytest.raises(TypeError, match=r"got True \(bool\)"):
            check_type("x", True, kind, "a number")
    with pytest.raises(TypeError, match="download must be a bool, got 1 "):
        check_type("download", 1, bool, "a bool")


@pytest.mark.parametrize("value", [1, 5, np.int64(5), np.int32(1)])
def test_check_int_accepts_whole_numbers_and_returns_an_int(value):
    out = check_int("n", value, min=1)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("value, error", [(0, ValueError), (-3, ValueError), (11, ValueError),
                                          (2.5, TypeError), (2.0, TypeError), ("2", TypeError),
                                          (True, TypeError), (None, TypeError), (torch.tensor(2), TypeError)])
def test_check_int_rule(value, error):
    with pytest.raises(error, match=r"n_critic must be an integer >= 1 and <= 10, got "):
        check_int("n_critic", value, min=1, max=10)


def test_check_int_messages_show_the_value_and_the_wording_can_be_given():
    with pytest.raises(ValueError, match=r"^n_critic must be an integer >= 1, got 0$"):
        check_int("n_critic", 0, min=1)
    with pytest.raises(TypeError, match=r"^width must be an integer >= 1, got 2\.5 \(float\)$"):
        check_int("width", 2.5, min=1)
    with pytest.raises(ValueError, match=r"^k must be a member index in 0\.\.2, got 3$"):
        check_int("k", 3, min=0, max=2, expected="a member index in 0..2")
    assert check_int("anything", -7) == -7  # no bounds: any whole number


@pytest.mark.parametrize("value, error", [(0.0, ValueError), (-1, ValueError), (math.nan, ValueError),
                                          (math.inf, ValueError), ("0.1", TypeError), (True, TypeError),
                                          (None, TypeError), (torch.tensor(0.5), TypeError)])
def test_check_number_rule(value, error):
    with pytest.raises(error, match=r"lr_g must be a finite number > 0, got "):
        check_number("lr_g", value, gt=0)


def test_check_number_bounds_and_returned_types():
    assert check_number("b", 0.0, ge=0, lt=1) == 0.0
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"^b must be a finite number >= 0 and < 1, got "):
            check_number("b", bad, ge=0, lt=1)
    assert check_number("floor", 1, ge=0, le=1) == 1
    with pytest.raises(ValueError, match="floor must be a finite number >= 0 and <= 1"):
        check_number("floor", 1.5, ge=0, le=1)
    assert check_number("theta", -1e300) == -1e300            # no bounds: any finite number
    one = check_number("x", 1, gt=0)
    assert one == 1 and type(one) is int                      # an int stays an int
    half = check_number("x", np.float32(0.5), gt=0)
    assert half == 0.5 and type(half) is float                # a NumPy scalar becomes a float
    with pytest.raises(ValueError, match=r"^c must be > 0 \(such as 0\.01\), got 0$"):
        check_number("c", 0, gt=0, expected="> 0 (such as 0.01)")


def test_check_choice_rule():
    assert check_choice("loss", "hinge", ("wasserstein", "hinge")) == "hinge"
    with pytest.raises(ValueError, match=r"^loss must be one of 'wasserstein', 'hinge', got 'hinj'$"):
        check_choice("loss", "hinj", ("wasserstein", "hinge"))
    with pytest.raises(TypeError, match=r"^loss must be one of 'wasserstein', 'hinge', got None \(NoneType\)$"):
        check_choice("loss", None, ("wasserstein", "hinge"))
    # whole-number choices, e.g. image sizes: a str or a float is a wrong type, 28 a wrong value
    assert check_choice("size", np.int64(16), (8, 16, 32)) == 16
    with pytest.raises(ValueError, match=r"size must be one of 8, 16, 32, got 28"):
        check_choice("size", 28, (8, 16, 32))
    for bad in ("16", 16.0, True):
        with pytest.raises(TypeError, match="size must be one of 8, 16, 32"):
            check_choice("size", bad, (8, 16, 32))


def test_check_tensor_rule():
    x = torch.zeros(3, 2)
    assert check_tensor("x", x, ndim=2, floating=True) is x
    assert check_tensor("labels", torch.zeros(3, dtype=torch.long)) is not None  # any dtype by default
    cases = [([[0.0, 1.0]], TypeError, r"^x must be a torch.Tensor, got \[\[0\.0, 1\.0\]\] \(list\)$"),
             (np.zeros((3, 2)), TypeError, r"^x must be a torch.Tensor, got ndarray$"),
             (torch.zeros(3, 2, dtype=torch.long), TypeError, r"^x must be a floating-point tensor, got dtype torch.int64$"),
             (torch.zeros(3, dtype=torch.bool), TypeError, "floating-point"),
             (torch.zeros(3), ValueError, r"^x must have 2 dims, got shape \(3,\)$"),
             (torch.zeros(0, 2), ValueError, r"^x must be a non-empty batch \(B, \.\.\.\), got shape \(0, 2\)$"),
             (torch.zeros(3, 0), ValueError, r"non-empty batch .* got shape \(3, 0\)")]
    for value, error, match in cases:
        with pytest.raises(error, match=match):
            check_tensor("x", value, ndim=2, floating=True)
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        check_tensor("scores", torch.tensor(1.0))                # 0-d: no batch dim


def test_check_fields_is_a_type_error_with_a_hint():
    check_fields("Recipe", ["gp_lambda"], ["gp_lambda", "clip"])  # no error
    with pytest.raises(TypeError, match=r"^unknown field 'gp_lamda': Recipe has no field 'gp_lamda' "
                                        r"\(did you mean 'gp_lambda'\?\); its fields are: gp_lambda, clip$"):
        check_fields("Recipe", ["clip", "gp_lamda"], ["gp_lambda", "clip"])
    with pytest.raises(TypeError, match=r"no field 'zzz'; its fields"):  # nothing close: no hint
        check_fields("Recipe", ["zzz"], ["gp_lambda", "clip"])
