"""Hyperparameter schedules for the discrete-latent estimators.

- Temperature of the Gumbel-softmax (Jang et al. 2016, section 4):
  tau(t) = max(tau_min, tau_0 * exp(-r * t)), with t the training step rounded
  down to a multiple of ``every`` (the paper updates tau every N = 500 or 1000
  steps, r in {1e-5, 1e-4}, tau_min = 0.5).
- The smoothing transformations' sharpness kappa (DVAE and successors, notes 2.3,
  where it is written beta): fixed, or moved from
  ``start`` to ``end`` over the first ``fraction`` of training, linearly or
  geometrically.

A schedule that is meant to anneal but cannot change (a floor equal to its start,
a zero rate) is refused at construction: that mistake trains at a constant
temperature while the text claims annealing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHARPNESS_ANNEALS = ("none", "linear", "geometric")


def positive_finite(name: str, value) -> float:
    """``value`` as a float if it is a finite number > 0, else a ValueError naming
    ``name``.

    Temperatures and sharpnesses: nan would make every sample nan, inf a uniform
    (temperature) or a step (sharpness) without saying so, 0 a division by zero.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


@dataclass(frozen=True)
class ExponentialDecay:
    """tau(step) = max(minimum, start * exp(-rate * N * floor(step / N))), N =
    ``every``.

    ``rate = 0`` means a fixed temperature ``start`` (then ``minimum`` is ignored).
    """

    start: float = 1.0
    minimum: float = 0.5
    rate: float = 1e-4
    every: int = 500

    def __post_init__(self) -> None:
        positive_finite("temperature (start)", self.start)
        positive_finite("temperature minimum", self.minimum)
        if not (math.isfinite(self.rate) and self.rate >= 0) or self.every < 1:
            raise ValueError(
                f"rate must be >= 0 and every >= 1 step, got rate={self.rate}, "
                f"every={self.every}"
            )
        if self.rate > 0 and self.minimum >= self.start:
            raise ValueError(
                "an annealed temperature needs minimum < start (got "
                f"start={self.start}, minimum={self.minimum}): "
                "with the floor at or above the start the temperature never changes; "
                "use rate=0 for a fixed one"
            )

    @property
    def annealed(self) -> bool:
        return self.rate > 0

    def __call__(self, step: int) -> float:
        if not self.annealed:
            return self.start
        t = (step // self.every) * self.every
        return max(self.minimum, self.start * math.exp(-self.rate * t))

    def steps_to_floor(self) -> int:
        """First step at which the floor is reached (0 when fixed), as ``__call__``
        rounds it."""
        if not self.annealed:
            return 0
        k = max(
            0, int(math.log(self.start / self.minimum) / self.rate / self.every) - 1
        )
        while (
            self(k * self.every) > self.minimum
        ):  # the closed form's rounding can be one update off
            k += 1
        return k * self.every


@dataclass(frozen=True)
class SharpnessSchedule:
    """kappa(progress): ``end`` throughout (``how="none"``), or from ``start`` to
    ``end`` over the first ``fraction`` of training (``"linear"`` or
    ``"geometric"``), then ``end``."""

    end: float
    start: float | None = None
    how: str = "none"
    fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.how not in SHARPNESS_ANNEALS:
            raise ValueError(
                f"sharpness_anneal must be one of {SHARPNESS_ANNEALS}, got {self.how!r}"
            )
        positive_finite("sharpness (end)", self.end)
        if self.start is not None:
            positive_finite("sharpness_start", self.start)
        if not 0 < self.fraction <= 1:
            raise ValueError(
                f"fraction is a part of training in (0, 1], got {self.fraction}"
            )
        if self.how != "none":
            if self.start is None or self.start == self.end:
                raise ValueError(
                    "annealing the sharpness needs a start different from its end, "
                    f"got start={self.start}, end={self.end}; use how='none' for a "
                    "fixed sharpness"
                )
        if self.end <= 0 or (self.how != "none" and self.start <= 0):
            raise ValueError(
                f"the sharpness must be positive at both ends, got "
                f"start={self.start}, end={self.end}"
            )

    def __call__(self, progress: float) -> float:
        if self.how == "none":
            return self.end
        s = min(1.0, max(0.0, progress) / self.fraction)
        if self.how == "linear":
            return self.start + s * (self.end - self.start)
        return self.start * (self.end / self.start) ** s
