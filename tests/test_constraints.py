"""vaebook.constraints: the one place that checks estimators', smoothers' and
schedules' numbers."""

import math
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch

from vaebook.constraints import (
    ABOVE_ONE,
    POSITIVE,
    UNIT_INTERVAL,
    Interval,
    check,
    check_args,
)


def test_intervals_describe_themselves_and_refuse_nan_and_inf():
    assert str(POSITIVE) == "a finite number > 0"
    assert str(ABOVE_ONE) == "a finite number > 1"
    assert str(UNIT_INTERVAL) == "in [0, 1]"
    assert str(Interval(0.0, 1.0)) == "in (0, 1)"
    values = torch.tensor([math.nan, math.inf, -math.inf, 0.0, 0.5, 1.0, 2.0])
    assert POSITIVE.check(values).tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert UNIT_INTERVAL.check(values).tolist() == [0, 0, 0, 1, 1, 1, 0]
    assert ABOVE_ONE.check(values).tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_check_returns_floats_and_tensors_or_names_the_problem():
    assert check("tau", 2, POSITIVE) == 2.0 and isinstance(
        check("tau", 2, POSITIVE), float
    )
    p = torch.tensor([0.0, 1.0], requires_grad=True)
    assert check("p", p, UNIT_INTERVAL) is p  # gradients still flow
    with pytest.raises(ValueError, match=r"^tau must be a finite number > 0, got nan$"):
        check("tau", math.nan, POSITIVE)
    with pytest.raises(
        ValueError, match=r"^tau must be a finite number > 0, got None$"
    ):
        check("tau", None, POSITIVE)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got \[1.5\]"):
        check("p", torch.tensor([0.5, 1.5]), UNIT_INTERVAL)


def test_check_args_reads_the_table_once_and_skips_what_is_not_given():
    @dataclass(frozen=True)
    class Thing:
        arg_constraints: ClassVar[dict] = {"rate": POSITIVE, "p": UNIT_INTERVAL}
        rate: float
        p: float | None = None

        def __post_init__(self):
            check_args(self)

    assert Thing(3).rate == 3.0 and Thing(3).p is None
    with pytest.raises(ValueError, match="rate must be a finite number > 0, got -1"):
        Thing(-1)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got 2"):
        Thing(1.0, 2)
    thing = Thing(1.0)
    object.__setattr__(thing, "rate", -5.0)
    check_args(thing, validate=False)  # torch's validate_args=False: the caller checked
