"""Reparameterizable distributions (notes 1.6) and a VAE with a non-Gaussian posterior.

The trick needs z = g(theta, eps) with eps from a distribution without
parameters; then grad_theta E_q[f(z)] = E_eps[grad_theta f(g(theta, eps))].
Three ways to get such a g, each family a ``torch.distributions`` object with
``rsample`` (the differentiable g) and ``log_prob``:

- **location-scale** (:class:`LocationScale`): z = loc + scale * eps, eps from
  the standard member of the family: Gaussian, Laplace, Logistic, Student's t
  (df fixed), Uniform, Triangular.
- **transformations** of reparameterizable variables: LogNormal = exp(Normal)
  (an explicit g). Gamma's sampler is a rejection loop (Marsaglia & Tsang), so
  g has no closed form: torch differentiates it with the *implicit*
  reparameterization gradient dz/dalpha = -(dF(z; alpha)/dalpha) / q(z; alpha)
  (Figurnov et al. 2018), and so does everything built from Gammas:
  chi-squared = Gamma(df/2, rate 1/2), Beta = G1/(G1 + G2),
  Dirichlet = G/sum(G), F = (X1/d1)/(X2/d2) with chi-squared X1, X2.
- **inverse CDFs** (:class:`InverseCDFSampling`): z = F^-1(u), u ~ U(0, 1):
  Exponential, Cauchy, Kumaraswamy.

:data:`FAMILIES` lists them for the chapter; :class:`ReparamVAE` is a VAE
whose q(z|x) is Gaussian, Laplace or Logistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all

from .distributions import closed_form_kl, kl_divergence
from .models import MIN_SCALE, GaussianVAE, VAEConfig
from .registry import register


def uniform_open(shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
    """u ~ U(0, 1) kept off 0 (``torch.rand`` can return exactly 0, where inverse CDFs
    are infinite)."""
    u = torch.rand(shape, dtype=like.dtype, device=like.device)
    return u.clamp_(min=torch.finfo(like.dtype).tiny)


# --- location-scale families ----------------------------------------------------------


class StandardLogistic(D.Distribution):
    """The standard logistic, eps = log(u / (1 - u)): density e^-t / (1 + e^-t)^2,
    variance pi^2/3."""

    arg_constraints: dict = {}
    support = constraints.real
    has_rsample = True

    def __init__(self, like: torch.Tensor | None = None, validate_args=None):
        self._like = (
            torch.zeros(())
            if like is None
            else torch.zeros((), dtype=like.dtype, device=like.device)
        )
        super().__init__(torch.Size(), validate_args=validate_args)

    def rsample(self, sample_shape=torch.Size()):
        return self.icdf(uniform_open(self._extended_shape(sample_shape), self._like))

    def log_prob(self, value):
        return -value - 2 * F.softplus(-value)

    def cdf(self, value):
        return torch.sigmoid(value)

    def icdf(self, value):
        return torch.logit(value)

    @property
    def mean(self):
        return self._like

    @property
    def variance(self):
        return self._like + math.pi**2 / 3

    def entropy(self):
        return self._like + 2.0


class StandardTriangular(D.Distribution):
    """The symmetric triangle on (-1, 1), eps = u1 + u2 - 1: density 1 - |t|, variance
    1/6."""

    arg_constraints: dict = {}
    support = constraints.interval(-1.0, 1.0)
    has_rsample = True

    def __init__(self, like: torch.Tensor | None = None, validate_args=None):
        self._like = (
            torch.zeros(())
            if like is None
            else torch.zeros((), dtype=like.dtype, device=like.device)
        )
        super().__init__(torch.Size(), validate_args=validate_args)

    def rsample(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        return (
            torch.rand(shape, dtype=self._like.dtype, device=self._like.device)
            + torch.rand(shape, dtype=self._like.dtype, device=self._like.device)
            - 1
        )

    def log_prob(self, value):
        t = value.abs()
        return torch.where(
            t < 1, torch.log1p(-t.clamp(max=1)), torch.full_like(t, -math.inf)
        )

    def cdf(self, value):
        t = value.clamp(-1, 1)
        return torch.where(t < 0, (1 + t) ** 2 / 2, 1 - (1 - t) ** 2 / 2)

    def icdf(self, value):
        return torch.where(
            value < 0.5, torch.sqrt(2 * value) - 1, 1 - torch.sqrt(2 * (1 - value))
        )

    @property
    def mean(self):
        return self._like

    @property
    def variance(self):
        return self._like + 1 / 6

    def entropy(self):
        return self._like + 0.5


class LocationScale(D.Distribution):
    """z = loc + scale * eps with eps ~ ``standard``, a scalar distribution without
    parameters.

    The pathwise sample needs only eps, not a differentiable sampler for it:
    ``rsample`` draws eps with ``standard.sample`` and differentiates the
    affine map. log q(z) = log p_eps((z - loc) / scale) - log scale (notes 1.7).
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    has_rsample = True

    def __init__(self, standard: D.Distribution, loc, scale, validate_args=None):
        if standard.batch_shape != torch.Size() or standard.event_shape != torch.Size():
            raise ValueError(
                "the standard distribution must be scalar, got batch "
                f"{tuple(standard.batch_shape)}, event {tuple(standard.event_shape)}"
            )
        self.standard = standard
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        inner = self.standard.support
        if isinstance(inner, constraints.interval):
            return constraints.interval(
                self.loc + self.scale * inner.lower_bound,
                self.loc + self.scale * inner.upper_bound,
            )
        return constraints.real

    def rsample(self, sample_shape=torch.Size()):
        eps = self.standard.sample(self._extended_shape(sample_shape))
        return self.loc + self.scale * eps

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (
            self.standard.log_prob((value - self.loc) / self.scale) - self.scale.log()
        )

    def cdf(self, value):
        return self.standard.cdf((value - self.loc) / self.scale)

    def icdf(self, value):
        return self.loc + self.scale * self.standard.icdf(value)

    @property
    def mean(self):
        return self.loc + self.scale * self.standard.mean

    @property
    def variance(self):
        return self.scale**2 * self.standard.variance

    def entropy(self):
        return self.standard.entropy() + self.scale.log()


def _standardize(loc, scale) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loc, scale, zero): broadcast tensors and a scalar 0 of their dtype and device
    for eps."""
    loc, scale = broadcast_all(loc, scale)
    return loc, scale, loc.new_zeros(())


def gaussian(loc, scale) -> LocationScale:
    """N(loc, scale^2): eps ~ N(0, 1)."""
    loc, scale, zero = _standardize(loc, scale)
    return LocationScale(D.Normal(zero, zero + 1), loc, scale)


def laplace(loc, scale) -> LocationScale:
    """Laplace(loc, scale), density exp(-|z - loc| / scale) / (2 scale): eps ~
    Laplace(0, 1)."""
    loc, scale, zero = _standardize(loc, scale)
    return LocationScale(D.Laplace(zero, zero + 1), loc, scale)


def logistic(loc, scale) -> LocationScale:
    """Logistic(loc, scale): eps = log(u / (1 - u))."""
    loc, scale, zero = _standardize(loc, scale)
    return LocationScale(StandardLogistic(zero), loc, scale)


def student_t(loc, scale, df: float = 4.0) -> LocationScale:
    """Student's t with ``df`` degrees of freedom (fixed: a gradient in df would need
    implicit gradients)."""
    if df <= 0:
        raise ValueError(f"df must be positive, got {df}")
    loc, scale, zero = _standardize(loc, scale)
    return LocationScale(D.StudentT(zero + df, zero, zero + 1), loc, scale)


def uniform(loc, scale) -> LocationScale:
    """U(loc - scale, loc + scale): eps ~ U(-1, 1)."""
    loc, scale, zero = _standardize(loc, scale)
    return LocationScale(D.Uniform(zero - 1, zero + 1, validate_args=False), loc, scale)


def triangular(loc, scale) -> LocationScale:
    """The symmetric triangle on (loc - scale, loc + scale): eps = u1 + u2 - 1."""
    loc, scale, zero = _standardize(loc, scale)
    return LocationScale(StandardTriangular(zero), loc, scale)


# --- transformations ------------------------------------------------------------------


def lognormal(loc, scale) -> D.TransformedDistribution:
    """LogNormal = exp(N(loc, scale^2)): an explicit g, log q by the change of
    variables."""
    return D.TransformedDistribution(gaussian(loc, scale), [D.ExpTransform()])


class Beta(D.Beta):
    """Beta(a, b) sampled as G1 / (G1 + G2), G1 ~ Gamma(a, 1), G2 ~ Gamma(b, 1)
    (implicit gradients)."""

    def rsample(self, sample_shape=torch.Size()):
        g1 = D.Gamma(self.concentration1, torch.ones_like(self.concentration1)).rsample(
            sample_shape
        )
        g0 = D.Gamma(self.concentration0, torch.ones_like(self.concentration0)).rsample(
            sample_shape
        )
        tiny = torch.finfo(g1.dtype).tiny
        return (g1 / (g1 + g0).clamp(min=tiny)).clamp(
            tiny, 1 - torch.finfo(g1.dtype).eps
        )


class Dirichlet(D.Dirichlet):
    """Dirichlet(alpha) sampled as G / sum_k G_k with G_k ~ Gamma(alpha_k, 1) (implicit
    gradients)."""

    def rsample(self, sample_shape=torch.Size()):
        c = self.concentration.expand(self._extended_shape(sample_shape))
        g = D.Gamma(c, torch.ones_like(c)).rsample()
        return g / g.sum(-1, keepdim=True).clamp(min=torch.finfo(g.dtype).tiny)


# --- inverse CDFs ---------------------------------------------------------------------


class InverseCDFSampling:
    """Mixin: ``rsample`` is z = F^-1(u) with u ~ U(0, 1), differentiable through
    ``icdf``."""

    has_rsample = True

    def rsample(self, sample_shape=torch.Size()):
        like = getattr(
            self, next(iter(self.arg_constraints))
        )  # a parameter: dtype and device
        return self.icdf(uniform_open(self._extended_shape(sample_shape), like))


class Exponential(InverseCDFSampling, D.Exponential):
    """Exponential(rate): z = -log(1 - u) / rate."""

    def icdf(self, value):
        return -torch.log1p(-value) / self.rate


class Cauchy(InverseCDFSampling, D.Cauchy):
    """Cauchy(loc, scale): z = loc + scale tan(pi (u - 1/2)). No mean, no variance."""

    def icdf(self, value):
        return self.loc + self.scale * torch.tan(math.pi * (value - 0.5))


class Kumaraswamy(InverseCDFSampling, D.Kumaraswamy):
    """Kumaraswamy(a, b) on (0, 1), a Beta look-alike with F(z) = 1 - (1 - z^a)^b:
    z = (1 - (1 - u)^(1/b))^(1/a) (Nalisnick & Smyth 2017 use it for stick-breaking
    VAEs)."""

    def cdf(self, value):
        return -torch.expm1(
            self.concentration0
            * torch.log1p(-(value.clamp(0, 1) ** self.concentration1))
        )

    def icdf(self, value):
        inner = -torch.expm1(
            torch.log1p(-value) / self.concentration0
        )  # 1 - (1 - u)^(1/b)
        return inner.clamp(min=torch.finfo(inner.dtype).tiny) ** (
            1 / self.concentration1
        )


# --- the families, for the chapter ----------------------------------------------------


class Family(NamedTuple):
    """One reparameterizable family: how to build it, default parameters, how it is
    sampled."""

    make: Callable
    params: dict  # name -> a default value (float)
    kind: str  # "location-scale", "transformation" or "inverse CDF"
    # "explicit" (a closed-form g) or "implicit" (torch differentiates a rejection
    # sampler)
    gradient: str
    how: str  # the sampling path, in words


FAMILIES: dict[str, Family] = {
    "Gaussian": Family(
        gaussian,
        {"loc": 0.5, "scale": 1.2},
        "location-scale",
        "explicit",
        "loc + scale * eps, eps ~ N(0, 1)",
    ),
    "Laplace": Family(
        laplace,
        {"loc": 0.5, "scale": 1.2},
        "location-scale",
        "explicit",
        "loc + scale * eps, eps ~ Laplace(0, 1)",
    ),
    "Logistic": Family(
        logistic,
        {"loc": 0.5, "scale": 0.8},
        "location-scale",
        "explicit",
        "loc + scale * log(u / (1 - u))",
    ),
    "Student's t (df=4)": Family(
        student_t,
        {"loc": 0.5, "scale": 1.2},
        "location-scale",
        "explicit",
        "loc + scale * eps, eps ~ t(4)",
    ),
    "Uniform": Family(
        uniform,
        {"loc": 0.5, "scale": 1.5},
        "location-scale",
        "explicit",
        "loc + scale * eps, eps ~ U(-1, 1)",
    ),
    "Triangular": Family(
        triangular,
        {"loc": 0.5, "scale": 1.5},
        "location-scale",
        "explicit",
        "loc + scale * (u1 + u2 - 1)",
    ),
    "LogNormal": Family(
        lognormal,
        {"loc": 0.0, "scale": 0.5},
        "transformation",
        "explicit",
        "exp(loc + scale * eps), eps ~ N(0, 1)",
    ),
    "Gamma": Family(
        D.Gamma,
        {"concentration": 2.5, "rate": 1.5},
        "transformation",
        "implicit",
        "Marsaglia-Tsang rejection sampler, then / rate",
    ),
    "Chi-squared": Family(
        D.Chi2, {"df": 3.0}, "transformation", "implicit", "Gamma(df/2, rate 1/2)"
    ),
    "Beta": Family(
        Beta,
        {"concentration1": 2.0, "concentration0": 3.0},
        "transformation",
        "implicit",
        "G1 / (G1 + G2), G ~ Gamma",
    ),
    "F": Family(
        D.FisherSnedecor,
        {"df1": 5.0, "df2": 8.0},
        "transformation",
        "implicit",
        "(X1 / d1) / (X2 / d2), X ~ chi-squared",
    ),
    "Exponential": Family(
        Exponential, {"rate": 1.5}, "inverse CDF", "explicit", "-log(1 - u) / rate"
    ),
    "Cauchy": Family(
        Cauchy,
        {"loc": 0.5, "scale": 0.7},
        "inverse CDF",
        "explicit",
        "loc + scale * tan(pi (u - 1/2))",
    ),
    "Kumaraswamy": Family(
        Kumaraswamy,
        {"concentration1": 2.0, "concentration0": 3.0},
        "inverse CDF",
        "explicit",
        "(1 - (1 - u)^(1/b))^(1/a)",
    ),
}


def implicit_gradient(
    q: D.Distribution, z: torch.Tensor, param: str, step: float = 1e-4
) -> torch.Tensor:
    """dz/dtheta = -(dF(z; theta)/dtheta) / q(z; theta) at fixed z (Figurnov et al.
    2018).

    dF/dtheta by central differences of ``q.cdf`` (float64); needs a family
    whose ``cdf`` torch implements (e.g. Gamma). The reference for the
    gradient torch's ``rsample`` returns.
    """
    params = {k: getattr(q, k).detach().double() for k in q.arg_constraints}
    if param not in params:
        raise ValueError(
            f"{type(q).__name__} has no parameter {param!r}; it has {sorted(params)}"
        )
    z = z.detach().double()
    up = type(q)(**{**params, param: params[param] + step}).cdf(z)
    down = type(q)(**{**params, param: params[param] - step}).cdf(z)
    density = type(q)(**params).log_prob(z).exp()
    return -(up - down) / (2 * step) / density


# --- a VAE with a non-Gaussian posterior ----------------------------------------------

POSTERIORS = {"gaussian": D.Normal, "laplace": D.Laplace, "logistic": logistic}
PRIORS = ("matching", "gaussian")


@register("reparam-vae")
@dataclass
class ReparamVAEConfig(VAEConfig):
    """A VAE whose q(z|x) is a Gaussian, Laplace or Logistic location-scale family.

    ``prior``: ``"matching"`` (the same family with loc 0, scale 1) or ``"gaussian"``
    (N(0, I)). The KL is in closed form where torch registers one (Gaussian-Gaussian,
    Laplace-Laplace, Laplace-Gaussian), otherwise a Monte Carlo estimate from the
    samples of the ELBO (:func:`vaebook.distributions.kl_divergence`).
    """

    posterior: str = "laplace"
    prior: str = "matching"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.posterior not in POSTERIORS:
            raise ValueError(
                f"posterior must be one of {sorted(POSTERIORS)}, got {self.posterior!r}"
            )
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")

    def build(self) -> "ReparamVAE":
        return ReparamVAE(self)


class ReparamVAE(GaussianVAE):
    """q(z|x) = prod_k Family(loc_k(x), scale_k(x)), the same networks as
    :class:`GaussianVAE`."""

    KL_SAMPLES = (
        64  # Monte Carlo samples for the per-dimension KL where there is no closed form
    )

    def encode(self, x: torch.Tensor) -> D.Independent:
        """x (B, D) -> q(z|x) with batch_shape (B,), event_shape (K,)."""
        loc, raw_scale = self.encoder(x).chunk(2, dim=-1)
        return D.Independent(
            POSTERIORS[self.config.posterior](loc, F.softplus(raw_scale) + MIN_SCALE), 1
        )

    def prior(self) -> D.Independent:
        zeros = torch.zeros(self.latent_dim, device=next(self.parameters()).device)
        family = (
            POSTERIORS[self.config.posterior]
            if self.config.prior == "matching"
            else D.Normal
        )
        return D.Independent(family(zeros, torch.ones_like(zeros)), 1)

    def kl_per_dimension(self, x: torch.Tensor) -> torch.Tensor:
        """KL(q(z_k|x) || p(z_k)) per latent dimension, (B, K): closed form, else Monte
        Carlo."""
        q, p = self.encode(x).base_dist, self.prior().base_dist
        kl = closed_form_kl(q, p)
        if kl is None:
            kl = kl_divergence(q, p, q.rsample((self.KL_SAMPLES,)))
        return kl
