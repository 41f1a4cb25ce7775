"""Smoothing transformations for binary latents (notes 2.3; DVAE, DVAE++, DVAE#).

Shapes: any; ``p`` = q(z=1|x) and ``u`` ~ U(0, 1) broadcast together. kappa (code:
``sharpness``) is the notes' beta, renamed so that beta stays the KL weight.

Instead of the step z = 1[u >= 1 - p], a binary latent is replaced by a continuous
zeta = f(kappa, p, u) in [0, 1] that is increasing in u with f(0) = 0 and f(1) = 1,
tends to the step as kappa grows, and is differentiable in p, so the pathwise
gradient flows through p.

The notes' formulas are garbled by OCR; ``f1``, ``f2`` and ``f3`` are the
reconstructions of ``DESIGN.md`` section 5 (f1 is exactly DVAE's spike-and-exponential
inverse CDF for a = e; f2 and f3 are candidates consistent with the notes' text):

- f1(kappa, p, u) = 0 on [0, 1-p], (1/kappa) log_a(((u-1+p)/p)(a^kappa - 1) + 1)
  on [1-p, 1];
- f2(kappa, p, u) = 0 on [0, 1-p], 1 - ((1-u)/p)^kappa on [1-p, 1];
- f3(kappa, p, u) = (1-p)(u/(1-p))^kappa on [0, 1-p], 1 - p((1-u)/p)^kappa on (1-p, 1].

Published smoothers (inverse CDFs of mixtures r(zeta) = (1-q) r(zeta|0) + q r(zeta|1)):

- DVAE (Rolfe 2017) spike-and-exponential: r(.|0) = delta_0,
  r(zeta|1) = kappa e^(kappa zeta)/(e^kappa - 1);
- DVAE++ (Vahdat et al. 2018) overlapping exponentials:
  r(zeta|0) = kappa e^(-kappa zeta)/(1 - e^(-kappa)), r(zeta|1) = r(1 - zeta|0);
- DVAE# (Vahdat et al. 2018) power function: r(zeta|0) = lambda zeta^(lambda-1),
  lambda = 1/kappa, r(zeta|1) = r(1 - zeta|0); the inverse CDF is found by bisection
  and differentiated implicitly,
  dzeta/dq = (R(zeta|0) - R(zeta|1)) / (q r(zeta|1) + (1-q) r(zeta|0)).

Each smoother is a distribution on [0, 1] in the style of ``torch.distributions``
(:class:`F1`, :class:`F2`, :class:`F3`, :class:`SpikeExp`, :class:`OverlappingExp`,
:class:`PowerFunction`, and the hard :class:`Step`): ``icdf(u)`` is the transformation
itself, ``rsample`` draws zeta = icdf(u) differentiably in p, ``sample`` without a
gradient, ``cdf``, ``log_prob`` and ``mean`` in closed form. ``log_prob`` of the
smoothers with an atom at 0 (f1, f2, spike-and-exponential) is the density on (0, 1]
and the atom's log mass log(1 - p) at 0. Build one from ``probs`` (a reader's p, checked
to lie in [0, 1]) or ``logits``; ``SMOOTHERS`` maps the estimators' names to the
classes. The functions ``f1`` ... ``power_function``, ``smooth`` and
``expected_value`` are the same formulas called with numbers.

Every smoother here returns zeta in [0, 1] and finite gradients in float32 for logits
in [-30, 30], u in [0, 1] and kappa from 0.01 to 1e3 (tests/test_smoothing.py).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch.distributions import constraints

from .constraints import ABOVE_ONE, POSITIVE, UNIT_INTERVAL, check_args

EPS = 1e-6  # keeps p away from 0 and 1 where the formulas divide by p or 1 - p
# DVAE++'s d zeta / d q is (R0 - R1) / r(zeta): where the mixture density r(zeta)
# underflows (zeta in the flat middle at a large kappa, reached only by u within about
# e^(-kappa/2) of 1 - q) it exceeds what float32 holds. It is capped there:
# d zeta / d logit = q (1-q) d zeta / d q and d zeta / d u = 1 / r(zeta) are at most
# GRAD_MAX.
GRAD_MAX = 1e6


def _clip(p: torch.Tensor) -> torch.Tensor:
    return p.clamp(EPS, 1 - EPS)


def _below_one(x: torch.Tensor) -> torch.Tensor:
    """min(x, 1) whose gradient passes at x = 1 itself (``clamp`` blocks it there)."""
    return torch.where(x <= 1, x, torch.ones_like(x))


def _power(x: torch.Tensor, sharpness: float) -> torch.Tensor:
    """x ** kappa for x in [0, 1], with a finite gradient at x = 0 (where kappa < 1
    makes the true one infinite: it is 0 there, the usual choice at a single point)."""
    positive = x > 0
    safe = torch.where(positive, x, torch.ones_like(x))
    return torch.where(positive, safe.pow(sharpness), torch.zeros_like(x))


def _overlapping_log_t(
    sharpness: float, q: torch.Tensor, u: torch.Tensor
) -> torch.Tensor:
    """log t, t = e^(-kappa zeta) the positive root of (1-q) t^2 - c t - q b = 0,
    b = e^(-kappa), in log space: b enters as log b = -kappa (it underflows in float32
    from kappa = 104), and neither root formula subtracts (the one for c < 0 has the
    rationalized form)."""
    b = math.exp(-sharpness)  # only in c, where its underflow costs nothing
    c = (1 - q) - q * b - u * (1 - b)
    log_c = torch.log(c.abs())  # -inf at c = 0: fine, logaddexp absorbs it
    log_4qb = (
        math.log(4.0) + torch.log(q) + torch.log1p(-q) - sharpness
    )  # log(4 (1-q) q b)
    log_disc = 0.5 * torch.logaddexp(2 * log_c, log_4qb)  # log sqrt(c^2 + 4 (1-q) q b)
    positive = torch.logaddexp(log_c, log_disc) - math.log(2.0) - torch.log1p(-q)
    negative = (
        math.log(2.0) + torch.log(q) - sharpness - torch.logaddexp(log_disc, log_c)
    )
    return torch.where(c >= 0, positive, negative)


def power_mixture_cdf(zeta: torch.Tensor, q: torch.Tensor, lam: float) -> torch.Tensor:
    """F(zeta) = (1-q) zeta^lam + q (1 - (1-zeta)^lam): DVAE#'s mixture CDF."""
    return (1 - q) * zeta.pow(lam) + q * (1 - (1 - zeta).pow(lam))


# --- the smoothers as distributions on [0, 1] -----------------------------------------


class Smoother(D.Distribution):
    """zeta = icdf(u), u ~ U(0, 1), for Bernoulli(p) latents: ``probs`` p (a
    reader's, checked to lie in [0, 1]) or ``logits`` (p = sigmoid(logits)).
    Subclasses define ``icdf``, ``cdf``, ``log_prob`` and ``mean``."""

    arg_constraints = {"probs": UNIT_INTERVAL}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None):
        if (probs is None) == (logits is None):
            raise ValueError("give either probs or logits, not both")
        self.probs, self.logits = probs, logits
        check_args(self, validate_args)  # probs if given; sigmoid(logits) is in [0, 1]
        self.probs = torch.sigmoid(logits) if probs is None else torch.as_tensor(probs)
        super().__init__(self.probs.shape, validate_args=False)

    @property
    def p(self) -> torch.Tensor:
        """p kept EPS away from 0 and 1, where the formulas divide by p or 1 - p."""
        return _clip(self.probs)

    def rsample(self, sample_shape=()) -> torch.Tensor:
        """icdf(u) at fresh u ~ U(0, 1) (kept EPS off 0 and 1: the power smoothers are
        steepest there), differentiable in p."""
        like = self.probs.expand(*sample_shape, *self.probs.shape)
        return self.icdf(torch.rand_like(like).clamp(EPS, 1 - EPS))

    def sample(self, sample_shape=()) -> torch.Tensor:
        with torch.no_grad():
            return self.rsample(sample_shape)


class _Sharp(Smoother):
    """A smoother with a sharpness kappa > 0: the step is its limit as kappa grows."""

    arg_constraints = {"sharpness": POSITIVE, **Smoother.arg_constraints}

    def __init__(self, sharpness: float, probs=None, logits=None, validate_args=None):
        self.sharpness = sharpness
        super().__init__(probs, logits, validate_args)


class Step(Smoother):
    """The hard sample z = 1[u >= 1 - p] (Bernoulli(p)): every smoother's limit. Its
    derivative in p is 0 almost everywhere, so it has no ``rsample``."""

    has_rsample = False
    support = constraints.boolean

    def icdf(self, u: torch.Tensor) -> torch.Tensor:
        return (u >= 1 - self.probs).to(u.dtype)

    def rsample(self, sample_shape=()):
        raise NotImplementedError("the step has no pathwise gradient: use sample()")

    def sample(self, sample_shape=()) -> torch.Tensor:
        like = self.probs.expand(*sample_shape, *self.probs.shape)
        with torch.no_grad():
            return self.icdf(torch.rand_like(like).clamp(EPS, 1 - EPS))

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        return torch.where(value >= 1, torch.ones_like(value), 1 - self.probs)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return -F.binary_cross_entropy(
            self.probs.expand_as(value), value, reduction="none"
        )

    @property
    def mean(self) -> torch.Tensor:
        return self.probs


class F1(_Sharp):
    """Spike-and-exponential with base ``base`` (the notes' a): 0 on [0, 1-p], then a
    logarithmic rise (:func:`f1`). An atom 1 - p at 0, then the density
    p r e^(r zeta) / (e^r - 1), r = kappa ln a."""

    arg_constraints = {"base": ABOVE_ONE, **_Sharp.arg_constraints}

    def __init__(
        self, sharpness: float, probs=None, logits=None, base=math.e, validate_args=None
    ):
        self.base = base
        super().__init__(sharpness, probs, logits, validate_args)

    @property
    def rate(self) -> float:
        return self.sharpness * math.log(self.base)  # log_a(y) / kappa = ln y / rate

    def icdf(self, u: torch.Tensor) -> torch.Tensor:
        """log_a(t (a^kappa - 1) + 1) / kappa with t = (u - 1 + p) / p. For a steep rise
        (rate > 30) it is evaluated as 1 + ln(t + (1 - t) a^-kappa) / rate, which does
        not overflow."""
        p, rate = self.p, self.rate
        t = ((u - 1 + p) / p).clamp(0.0, 1.0)  # 0 on the spike, in [0, 1] on [1-p, 1]
        if rate <= 30:  # (rounding can give 1 + 1e-7 at t = 1)
            return _below_one(torch.log1p(t * math.expm1(rate)) / rate)
        inside = (t + (1 - t) * math.exp(-rate)).clamp_min(torch.finfo(t.dtype).tiny)
        return torch.where(t > 0, 1 + torch.log(inside) / rate, torch.zeros_like(t))

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        t = torch.expm1(self.rate * value) / math.expm1(self.rate)
        return 1 - self.p + self.p * t

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        rate, p = self.rate, self.p
        log_norm = math.log(rate) - (rate + math.log(-math.expm1(-rate)))
        density = torch.log(p) + log_norm + rate * value
        return torch.where(value > 0, density, torch.log1p(-p))

    @property
    def mean(self) -> torch.Tensor:
        return self.p * (1 / -math.expm1(-self.rate) - 1 / self.rate)


class SpikeExp(F1):
    """DVAE's spike-and-exponential (Rolfe 2017): f1 with a = e."""

    arg_constraints = _Sharp.arg_constraints

    def __init__(self, sharpness: float, probs=None, logits=None, validate_args=None):
        super().__init__(sharpness, probs, logits, math.e, validate_args)


class F2(_Sharp):
    """The power-type cousin (:func:`f2`): 0, then 1 - ((1-u)/p)^kappa on [1-p, 1].
    An atom 1 - p at 0, then the density (p / kappa) (1 - zeta)^(1/kappa - 1)."""

    def icdf(self, u: torch.Tensor) -> torch.Tensor:
        """The branch is chosen by the ratio r = (1-u)/p itself (r <= 1 on [1-p, 1]),
        not by comparing u with a rounded 1 - p: so r^kappa <= 1 and zeta stays in
        [0, 1] (float32 rounds 1 - p for p near 1e-6 by up to 3 %, which gave r > 1 and
        zeta < 0)."""
        ratio = (1 - u) / self.p
        zeta = 1 - _power(_below_one(ratio), self.sharpness)
        return torch.where(ratio <= 1, zeta, torch.zeros_like(ratio))

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        return 1 - self.p * (1 - value).pow(1 / self.sharpness)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        lam, p = 1 / self.sharpness, self.p
        density = torch.log(p) + math.log(lam) + (lam - 1) * torch.log1p(-value)
        return torch.where(value > 0, density, torch.log1p(-p))

    @property
    def mean(self) -> torch.Tensor:
        return self.p * self.sharpness / (self.sharpness + 1)


class F3(_Sharp):
    """The symmetric choice (:func:`f3`): power functions meeting at (1-p, 1-p) with
    slope kappa on both sides; no atom."""

    def icdf(self, u: torch.Tensor) -> torch.Tensor:
        """Both ratios s = u/(1-p) and r = (1-u)/p are capped at 1 (they exceed it only
        in the branch not taken, or by rounding at the join, where both pieces equal
        1 - p), so zeta stays in [0, 1] and no discarded branch overflows."""
        p = self.p
        s, r = u / (1 - p), (1 - u) / p
        lower = (1 - p) * _power(_below_one(s), self.sharpness)
        upper = 1 - p * _power(_below_one(r), self.sharpness)
        return torch.where(s <= 1, lower, upper)

    def _ratios(self, value: torch.Tensor):
        p = self.p
        return value <= 1 - p, value / (1 - p), (1 - value) / p

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        lower, s, r = self._ratios(value)
        lam, p = 1 / self.sharpness, self.p
        return torch.where(
            lower, (1 - p) * _below_one(s).pow(lam), 1 - p * _below_one(r).pow(lam)
        )

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        lower, s, r = self._ratios(value)
        lam = 1 / self.sharpness
        return math.log(lam) + (lam - 1) * torch.log(torch.where(lower, s, r))

    @property
    def mean(self) -> torch.Tensor:
        return self.p + (1 - 2 * self.p) / (self.sharpness + 1)


class OverlappingExp(_Sharp):
    """DVAE++'s mixture of two overlapping exponentials (Vahdat et al. 2018):
    r(zeta|0) = kappa e^(-kappa zeta) / (1 - e^-kappa), r(zeta|1) = r(1 - zeta|0)."""

    def icdf(self, u: torch.Tensor) -> torch.Tensor:
        """Inverted in closed form: with t = e^(-kappa zeta) and b = e^(-kappa),
        F(zeta) = u is the quadratic (1-q) t^2 - c t - q b = 0, c = (1-q) - q b -
        u (1-b); t is its positive root, computed in log space. The gradient is the
        implicit one, d zeta / d q = (R0(zeta) - R1(zeta)) / r(zeta) and
        d zeta / d u = 1 / r(zeta), capped (``GRAD_MAX``) where r underflows:
        differentiating the root formula instead divided 0 by 0 in float32 from
        kappa = 10 on."""
        q, kappa = self.p, self.sharpness
        with torch.no_grad():
            qd, ud = q.detach(), u.detach()
            zeta = (-_overlapping_log_t(kappa, qd, ud) / kappa).clamp(0.0, 1.0)
            r0_cdf, r1_cdf = self._component_cdfs(zeta)
            log_r = self._log_density(zeta, qd)
            inv_r = torch.exp(-log_r).clamp(max=GRAD_MAX)  # d zeta / d u
            log_dq = torch.log((r0_cdf - r1_cdf).clamp_min(0)) - log_r  # R0 >= R1
            dzeta_dq = torch.minimum(torch.exp(log_dq), GRAD_MAX / (qd * (1 - qd)))
        out = zeta + dzeta_dq * (q - qd)  # value zeta, gradient d zeta / d q
        if u.requires_grad:
            out = out + inv_r * (u - ud)
        return out

    def _component_cdfs(self, zeta: torch.Tensor):
        kappa = self.sharpness
        norm = -math.expm1(-kappa)  # 1 - e^(-kappa)
        r0 = -torch.expm1(-kappa * zeta) / norm
        r1 = (torch.exp(kappa * (zeta - 1)) - math.exp(-kappa)) / norm
        return r0, r1

    def _log_density(self, zeta: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        kappa = self.sharpness
        log_norm = math.log(kappa) - math.log(-math.expm1(-kappa))
        return log_norm + torch.logaddexp(
            torch.log1p(-q) - kappa * zeta, torch.log(q) + kappa * (zeta - 1)
        )

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        r0, r1 = self._component_cdfs(value)
        return (1 - self.p) * r0 + self.p * r1

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return self._log_density(value, self.p)

    @property
    def mean(self) -> torch.Tensor:
        m0 = 1 / self.sharpness - 1 / math.expm1(self.sharpness)  # the mean of r(.|0)
        return self.p + (1 - 2 * self.p) * m0


class PowerFunction(_Sharp):
    """DVAE#'s power-function mixture (Vahdat et al. 2018): r(zeta|0) = lambda
    zeta^(lambda - 1), lambda = 1/kappa, r(zeta|1) = r(1 - zeta|0)."""

    iterations = 40  # bisection steps of icdf

    def icdf(self, u: torch.Tensor) -> torch.Tensor:
        """Bisection, implicit gradient in p. Values and gradients are finite in float32
        over the tests' grid (kappa 0.01 to 1e3) without a cap: zeta is clamped to
        [1e-12, 1 - 1e-12] (1 in float32), where r(zeta | 1) = inf only makes the
        gradient 0."""
        q, lam = self.p, 1.0 / self.sharpness
        with torch.no_grad():
            lo, hi = torch.zeros_like(u + q), torch.ones_like(u + q)
            for _ in range(self.iterations):
                mid = (lo + hi) / 2
                below = power_mixture_cdf(mid, q, lam) < u
                lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
            zeta = ((lo + hi) / 2).clamp(1e-12, 1 - 1e-12)
            r0, r1 = lam * zeta.pow(lam - 1), lam * (1 - zeta).pow(lam - 1)
            big_r0, big_r1 = zeta.pow(lam), 1 - (1 - zeta).pow(lam)
            dzeta_dq = (big_r0 - big_r1) / (q * r1 + (1 - q) * r0)
        return zeta + dzeta_dq * (q - q.detach())  # value zeta, gradient dzeta/dq

    def cdf(self, value: torch.Tensor) -> torch.Tensor:
        return power_mixture_cdf(value, self.p, 1 / self.sharpness)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        lam, q = 1.0 / self.sharpness, self.p
        r0 = math.log(lam) + (lam - 1) * torch.log(value)
        r1 = math.log(lam) + (lam - 1) * torch.log1p(-value)
        return torch.logaddexp(torch.log1p(-q) + r0, torch.log(q) + r1)

    @property
    def mean(self) -> torch.Tensor:
        return self.p + (1 - 2 * self.p) / (self.sharpness + 1)


SMOOTHERS: dict[str, type[_Sharp]] = {  # the estimators' names (vaebook.discrete)
    "smoothing-f1": F1,
    "smoothing-f2": F2,
    "smoothing-f3": F3,
    "dvae-spike-exp": SpikeExp,
    "dvaepp-overlapping-exp": OverlappingExp,
    "dvae-sharp-power": PowerFunction,
}


# --- the same formulas as functions of numbers ----------------------------------------


def f1(sharpness: float, p, u: torch.Tensor, base: float = math.e) -> torch.Tensor:
    """zeta = f1(kappa, p, u) with the base a = ``base`` (:class:`F1`)."""
    return F1(sharpness, probs=p, base=base).icdf(u)


def f2(sharpness: float, p, u: torch.Tensor) -> torch.Tensor:
    """zeta = f2(kappa, p, u) (:class:`F2`)."""
    return F2(sharpness, probs=p).icdf(u)


def f3(sharpness: float, p, u: torch.Tensor) -> torch.Tensor:
    """zeta = f3(kappa, p, u) (:class:`F3`)."""
    return F3(sharpness, probs=p).icdf(u)


def spike_exp(sharpness: float, p, u: torch.Tensor) -> torch.Tensor:
    """DVAE's spike-and-exponential inverse CDF (= f1 with a = e; :class:`SpikeExp`)."""
    return SpikeExp(sharpness, probs=p).icdf(u)


def overlapping_exp(sharpness: float, p, u: torch.Tensor) -> torch.Tensor:
    """DVAE++'s overlapping exponentials' inverse CDF (:class:`OverlappingExp`)."""
    return OverlappingExp(sharpness, probs=p).icdf(u)


def power_function(sharpness: float, p, u: torch.Tensor) -> torch.Tensor:
    """DVAE#'s power-function mixture's inverse CDF (:class:`PowerFunction`)."""
    return PowerFunction(sharpness, probs=p).icdf(u)


def step(p, u: torch.Tensor) -> torch.Tensor:
    """The hard sample z = 1[u >= 1 - p], the limit of every smoother as kappa grows."""
    return Step(probs=p).icdf(u)


def smooth(
    name: str, logits: torch.Tensor, sharpness: float, **options
) -> torch.Tensor:
    """zeta of the smoother ``name`` (a ``SMOOTHERS`` key) at p = sigmoid(logits) and
    fresh u ~ U(0, 1): a differentiable stand-in for z ~ Bernoulli(p), the shape of
    ``logits``. ``options``: e.g. ``base`` of f1."""
    return smoother(name)(sharpness, logits=logits, **options).rsample()


def expected_value(name: str, sharpness: float, p, **options) -> torch.Tensor:
    """E[zeta] over u ~ U(0, 1) for the smoother ``name`` (its class's ``mean``).

    The hard sample has E[z] = p; the gap E[zeta] - p is the relaxation's bias of the
    mean, and vanishes as kappa grows for every smoother here. With t = (u - 1 + p) / p
    ~ U(0, 1) on the part u > 1 - p (probability p):

    - f1 (rate = kappa ln a; DVAE's spike-and-exponential for a = e):
      p (1 / (1 - e^-rate) - 1 / rate);
    - f2: p kappa / (kappa + 1);
    - f3: (1-p)^2 / (kappa + 1) + p - p^2 / (kappa + 1) = p + (1 - 2p) / (kappa + 1);
    - DVAE++ overlapping exponentials: q + (1 - 2q) m0 with
      m0 = 1/kappa - 1/(e^kappa - 1), the mean of r(.|0);
    - DVAE# power function: q + (1 - 2q) / (kappa + 1) (the mean of r(.|0) is
      lambda / (lambda + 1)).
    """
    return smoother(name)(sharpness, probs=p, **options).mean


def smoother(name: str) -> type[_Sharp]:
    """The smoother class registered as ``name``."""
    if name not in SMOOTHERS:
        raise KeyError(f"unknown smoother {name!r}; known: {sorted(SMOOTHERS)}")
    return SMOOTHERS[name]
