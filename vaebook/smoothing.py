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

Every smoother here returns zeta in [0, 1] and finite gradients in float32 for logits
in [-30, 30], u in [0, 1] and kappa from 0.01 to 1e3 (tests/test_smoothing.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

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


def f1(
    sharpness: float, p: torch.Tensor, u: torch.Tensor, base: float = math.e
) -> torch.Tensor:
    """Spike-and-exponential with base ``base`` (the notes' a): 0 on [0, 1-p], then a
    logarithmic rise.

    f1 = log_a(t (a^kappa - 1) + 1) / kappa with t = (u - 1 + p) / p. For a steep rise
    (kappa ln a > 30) it is evaluated as 1 + ln(t + (1 - t) a^-kappa) / (kappa ln a),
    which does not overflow.
    """
    p = _clip(p)
    t = ((u - 1 + p) / p).clamp(0.0, 1.0)  # 0 on the spike, in [0, 1] on [1-p, 1]
    rate = sharpness * math.log(base)  # log_a(y) / kappa = ln(y) / (kappa ln a)
    if rate <= 30:  # (rounding can give 1 + 1e-7 at t = 1)
        return _below_one(torch.log1p(t * math.expm1(rate)) / rate)
    inside = (t + (1 - t) * math.exp(-rate)).clamp_min(torch.finfo(t.dtype).tiny)
    return torch.where(t > 0, 1 + torch.log(inside) / rate, torch.zeros_like(t))


def f2(sharpness: float, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The power-type cousin: 0, then 1 - ((1-u)/p)^kappa on [1-p, 1].

    The branch is chosen by the ratio r = (1-u)/p itself (r <= 1 on [1-p, 1]), not by
    comparing u with a rounded 1 - p: so r^kappa <= 1 and zeta stays in [0, 1]
    (float32 rounds 1 - p for p near 1e-6 by up to 3 %, which gave r > 1 and zeta < 0).
    """
    p = _clip(p)
    ratio = (1 - u) / p
    above = ratio <= 1
    zeta = 1 - _power(_below_one(ratio), sharpness)
    return torch.where(above, zeta, torch.zeros_like(ratio))


def f3(sharpness: float, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The symmetric choice: power functions meeting at (1-p, 1-p) with slope kappa on
    both sides.

    Both ratios s = u/(1-p) and r = (1-u)/p are capped at 1 (they exceed it only in the
    branch not taken, or by rounding at the join, where both pieces equal 1 - p), so
    zeta stays in [0, 1] and no discarded branch overflows.
    """
    p = _clip(p)
    s, r = u / (1 - p), (1 - u) / p
    lower = (1 - p) * _power(_below_one(s), sharpness)
    upper = 1 - p * _power(_below_one(r), sharpness)
    return torch.where(s <= 1, lower, upper)


def step(p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The hard sample z = 1[u >= 1 - p], the limit of every smoother as kappa grows."""
    return (u >= 1 - p).to(u.dtype)


def spike_exp(sharpness: float, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """DVAE's spike-and-exponential inverse CDF (= f1 with a = e)."""
    return f1(sharpness, p, u, base=math.e)


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


def overlapping_exp(sharpness: float, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """DVAE++'s mixture of two overlapping exponentials, inverted in closed form.

    With t = e^(-kappa zeta) and b = e^(-kappa), F(zeta) = u is the quadratic
    (1-q) t^2 - c t - q b = 0, c = (1-q) - q b - u (1-b); t is its positive root,
    computed in log space (``_overlapping_log_t``). The gradient is the implicit one,
    d zeta / d q = (R0(zeta) - R1(zeta)) / r(zeta) and d zeta / d u = 1 / r(zeta), with
    the mixture density r(zeta) = (1-q) r(zeta|0) + q r(zeta|1) in log space and the
    derivatives capped (``GRAD_MAX``) where r underflows: differentiating the root
    formula instead divided 0 by 0 in float32 from kappa = 10 on.
    """
    q = _clip(p)
    with torch.no_grad():
        qd, ud = q.detach(), u.detach()
        zeta = (-_overlapping_log_t(sharpness, qd, ud) / sharpness).clamp(0.0, 1.0)
        norm = -math.expm1(-sharpness)  # 1 - e^(-kappa)
        r0_cdf = -torch.expm1(-sharpness * zeta) / norm
        r1_cdf = (torch.exp(sharpness * (zeta - 1)) - math.exp(-sharpness)) / norm
        log_r = math.log(
            sharpness / norm
        ) + torch.logaddexp(  # log of the mixture density
            torch.log1p(-qd) - sharpness * zeta, torch.log(qd) + sharpness * (zeta - 1)
        )
        inv_r = torch.exp(-log_r).clamp(max=GRAD_MAX)  # d zeta / d u
        log_dq = torch.log((r0_cdf - r1_cdf).clamp_min(0)) - log_r  # R0 >= R1 on [0, 1]
        dzeta_dq = torch.minimum(torch.exp(log_dq), GRAD_MAX / (qd * (1 - qd)))
    out = zeta + dzeta_dq * (q - qd)  # value zeta, gradient d zeta / d q
    if u.requires_grad:
        out = out + inv_r * (u - ud)
    return out


def power_mixture_cdf(zeta: torch.Tensor, q: torch.Tensor, lam: float) -> torch.Tensor:
    """F(zeta) = (1-q) zeta^lam + q (1 - (1-zeta)^lam): DVAE#'s mixture CDF."""
    return (1 - q) * zeta.pow(lam) + q * (1 - (1 - zeta).pow(lam))


def power_function(
    sharpness: float, p: torch.Tensor, u: torch.Tensor, iterations: int = 40
) -> torch.Tensor:
    """DVAE#'s power-function mixture (lambda = 1/kappa): bisection, implicit gradient
    in p. Values and gradients are finite in float32 over the tests' grid (kappa 0.01 to
    1e3) without a cap: zeta is clamped to [1e-12, 1 - 1e-12] (1 in float32), where
    r(zeta | 1) = inf only makes the gradient 0.
    """
    q = _clip(p)
    lam = 1.0 / sharpness
    with torch.no_grad():
        lo, hi = torch.zeros_like(u + q), torch.ones_like(u + q)
        for _ in range(iterations):
            mid = (lo + hi) / 2
            below = power_mixture_cdf(mid, q, lam) < u
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        zeta = ((lo + hi) / 2).clamp(1e-12, 1 - 1e-12)
        r0, r1 = lam * zeta.pow(lam - 1), lam * (1 - zeta).pow(lam - 1)
        big_r0, big_r1 = zeta.pow(lam), 1 - (1 - zeta).pow(lam)
        dzeta_dq = (big_r0 - big_r1) / (q * r1 + (1 - q) * r0)
    return zeta + dzeta_dq * (q - q.detach())  # value zeta, gradient dzeta/dq


SMOOTHERS: dict[str, Callable] = {
    "smoothing-f1": f1,
    "smoothing-f2": f2,
    "smoothing-f3": f3,
    "dvae-spike-exp": spike_exp,
    "dvaepp-overlapping-exp": overlapping_exp,
    "dvae-sharp-power": power_function,
}


def smooth(
    name: str, logits: torch.Tensor, sharpness: float, **options
) -> torch.Tensor:
    """zeta = f(kappa, sigmoid(logits), u) with fresh u ~ U(0, 1): a differentiable
    stand-in for z ~ Bernoulli(sigmoid(logits)), same shape as ``logits``. ``options``:
    e.g. ``base`` of f1."""
    if name not in SMOOTHERS:
        raise KeyError(f"unknown smoother {name!r}; known: {sorted(SMOOTHERS)}")
    if sharpness <= 0:
        raise ValueError(f"smoothing sharpness must be positive, got {sharpness}")
    # u kept off 0 and 1: the power smoothers are steepest there
    u = torch.rand_like(logits).clamp(EPS, 1 - EPS)
    return SMOOTHERS[name](sharpness, torch.sigmoid(logits), u, **options)


def expected_value(
    name: str, sharpness: float, p: torch.Tensor, base: float = math.e
) -> torch.Tensor:
    """E[zeta] over u ~ U(0, 1) for the smoother ``name`` (a SMOOTHERS key).

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
    p = _clip(torch.as_tensor(p))
    if name not in SMOOTHERS:
        raise KeyError(f"unknown smoother {name!r}; known: {sorted(SMOOTHERS)}")
    if name in ("smoothing-f1", "dvae-spike-exp"):
        rate = sharpness * math.log(base if name == "smoothing-f1" else math.e)
        return p * (1 / -math.expm1(-rate) - 1 / rate)
    if name == "smoothing-f2":
        return p * sharpness / (sharpness + 1)
    if name in ("smoothing-f3", "dvae-sharp-power"):
        return p + (1 - 2 * p) / (sharpness + 1)
    m0 = 1 / sharpness - 1 / math.expm1(sharpness)  # dvaepp-overlapping-exp
    return p + (1 - 2 * p) * m0
