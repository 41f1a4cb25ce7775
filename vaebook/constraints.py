"""Argument checks in one place: the allowed range of every number a reader or a config
hands to an estimator, a smoother or a schedule.

A class declares its arguments' ranges in a table, as ``torch.distributions`` does,

    arg_constraints = {"temperature": POSITIVE}

and :func:`check_args` checks them once, when the object is built: a bad value is a
ValueError that names the argument, the value and the allowed range. An
:class:`Interval` is a ``torch.distributions.constraints.Constraint``, so torch's own
validation understands the same tables.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import constraints


class Interval(constraints.Constraint):
    """Finite numbers between ``low`` and ``high``, each end open or closed."""

    def __init__(
        self,
        low: float,
        high: float = math.inf,
        low_closed: bool = False,
        high_closed: bool = False,
    ):
        self.low, self.high = low, high
        self.low_closed, self.high_closed = low_closed, high_closed
        super().__init__()

    def check(self, value):
        """Elementwise: finite and in the interval (nan is outside every interval)."""
        value = torch.as_tensor(value)
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return torch.isfinite(value) & above & below

    def holds(self, number: float) -> bool:
        """The same test for one Python number, without building a tensor."""
        above = number >= self.low if self.low_closed else number > self.low
        below = number <= self.high if self.high_closed else number < self.high
        return math.isfinite(number) and above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"a finite number {'>=' if self.low_closed else '>'} {self.low:g}"
        left, right = "[" if self.low_closed else "(", "]" if self.high_closed else ")"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


class IntegerInterval(Interval):
    """Whole numbers between ``low`` and ``high`` (both ends closed)."""

    def __init__(self, low: int, high: float = math.inf):
        super().__init__(low, high, True, True)

    def check(self, value):
        value = torch.as_tensor(value)
        return super().check(value) & (value == torch.round(value))

    def holds(self, number: float) -> bool:
        return super().holds(number) and float(number).is_integer()

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"an integer >= {self.low:g}"
        return f"an integer in [{self.low:g}, {self.high:g}]"


POSITIVE = Interval(0.0)  # temperatures, sharpnesses: nan, inf and 0 refused
ABOVE_ONE = Interval(1.0)  # the base a of the f1 smoother
UNIT_INTERVAL = Interval(0.0, 1.0, True, True)  # probabilities p
AT_LEAST_TWO = IntegerInterval(2)  # samples of a leave-one-out or multi-sample bound


def check(name: str, value, constraint: Interval):
    """``value`` if it satisfies ``constraint`` (a float for a number, a tensor for a
    tensor, all of whose entries must), else a ValueError naming ``name``, the value
    and the allowed range."""
    if isinstance(value, torch.Tensor):
        if not bool(constraint.check(value.detach()).all()):
            bad = value.detach()[~constraint.check(value.detach())].flatten()[:3]
            raise ValueError(f"{name} must be {constraint}, got {bad.tolist()}")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not constraint.holds(number):
        raise ValueError(f"{name} must be {constraint}, got {value!r}")
    return int(number) if isinstance(constraint, IntegerInterval) else number


def check_args(obj, validate: bool | None = True) -> None:
    """Check each argument of ``obj`` that its ``arg_constraints`` table names (a
    None value means "not given" and is skipped), storing the checked value back.
    ``validate=False`` skips the checks (torch's ``validate_args=False``: the caller
    has checked the same values already)."""
    if validate is False:
        return
    for name, constraint in type(obj).arg_constraints.items():
        value = getattr(obj, name)
        if value is not None:
            object.__setattr__(obj, name, check(name, value, constraint))
