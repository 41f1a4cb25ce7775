"""Elliptical location-scale families (notes 1.6): z = loc + L (r u).

A spherical variable is a radius times a direction: eps = r u with u uniform
on the unit sphere S^{d-1} (a normalized standard Gaussian) and r >= 0 drawn
independently from a *radial* distribution without trainable parameters. An
elliptical variable stretches it, z = loc + L eps with L lower-triangular, so
it is a location-scale family in d dimensions: rsample needs no gradient
through r or u, only through the affine map.

Its density follows from the change of variables (notes 1.7), twice: polar
coordinates give p(eps) = p_R(|eps|) / (|eps|^{d-1} A_{d-1}) with A_{d-1} =
2 pi^{d/2} / Gamma(d/2) the area of the unit sphere, and the affine map
subtracts sum_k log L_kk.

- radius chi_d (r^2 ~ chi-squared(d)): the multivariate Gaussian N(loc, L L^T);
- radius sqrt(d F(d, df)) (r^2 / d ~ F(d, df)): the multivariate Student's t
  with df degrees of freedom, covariance df / (df - 2) L L^T for df > 2.
"""

from __future__ import annotations

import math

import torch
from torch import distributions as D
from torch.distributions import constraints


def log_sphere_area(d: int) -> float:
    """log area of the unit sphere S^{d-1} in R^d: log(2 pi^{d/2} / Gamma(d/2))."""
    return math.log(2) + d / 2 * math.log(math.pi) - math.lgamma(d / 2)


def chi_radius(d: int, dtype=torch.float32) -> D.Distribution:
    """r with r^2 ~ chi-squared(d): the radius of a standard d-dimensional Gaussian."""
    _check_dim(d)
    chi2 = D.Chi2(torch.tensor(float(d), dtype=dtype))
    return D.TransformedDistribution(
        chi2, [D.PowerTransform(torch.tensor(0.5, dtype=dtype))]
    )


def student_t_radius(d: int, df: float, dtype=torch.float32) -> D.Distribution:
    """r with r^2 / d ~ F(d, df): the radius of a standard d-dimensional Student's t."""
    _check_dim(d)
    if not df > 0:
        raise ValueError(f"df (degrees of freedom) must be positive, got {df}")
    f = D.FisherSnedecor(
        torch.tensor(float(d), dtype=dtype), torch.tensor(float(df), dtype=dtype)
    )
    return D.TransformedDistribution(
        f,
        [
            D.AffineTransform(0.0, float(d)),
            D.PowerTransform(torch.tensor(0.5, dtype=dtype)),
        ],
    )


def _event_dim(loc: torch.Tensor) -> int:
    if loc.dim() < 1:
        raise ValueError("loc must have a last dimension d (a vector), got a scalar")
    return loc.shape[-1]


def _check_dim(d: int) -> None:
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"the dimension d must be a positive integer, got {d!r}")


class Elliptical(D.Distribution):
    """z = loc + scale_tril @ (r u): u uniform on the sphere, r ~ ``radius`` (r > 0).

    ``loc`` is (..., d), ``scale_tril`` (..., d, d) lower-triangular with a
    positive diagonal. ``radius`` has no trainable parameters: ``rsample``
    differentiates loc and scale_tril only.
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: torch.Tensor,
        scale_tril: torch.Tensor,
        radius: D.Distribution,
        validate_args=None,
    ):
        d = _event_dim(loc)
        if scale_tril.dim() < 2 or scale_tril.shape[-2:] != (d, d):
            raise ValueError(
                f"scale_tril must be (..., {d}, {d}) to match loc's last dimension "
                f"{d}, "
                f"got {tuple(scale_tril.shape)}"
            )
        if radius.batch_shape != torch.Size() or radius.event_shape != torch.Size():
            raise ValueError(
                f"radius must be a scalar distribution, got batch "
                f"{tuple(radius.batch_shape)}, event {tuple(radius.event_shape)}"
            )
        batch = torch.broadcast_shapes(loc.shape[:-1], scale_tril.shape[:-2])
        self.loc = loc.expand(*batch, d)
        self.scale_tril = scale_tril.expand(*batch, d, d)
        self.radius = radius
        super().__init__(batch, torch.Size([d]), validate_args=validate_args)

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            g = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
            u = g / g.norm(dim=-1, keepdim=True)  # uniform on the sphere
            r = self.radius.sample(shape[:-1]).to(self.loc)
            eps = r.unsqueeze(-1) * u
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        if self._validate_args:
            self._validate_sample(value)
        d = self.event_shape[0]
        diff = (value - self.loc).unsqueeze(-1)
        tril = self.scale_tril.expand(*diff.shape[:-2], d, d)
        eps = torch.linalg.solve_triangular(tril, diff, upper=False).squeeze(-1)
        r = eps.norm(dim=-1)
        log_p_eps = self.radius.log_prob(r) - (d - 1) * r.log() - log_sphere_area(d)
        return log_p_eps - self.scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def multivariate_gaussian(loc: torch.Tensor, scale_tril: torch.Tensor) -> Elliptical:
    """N(loc, L L^T) built as radius chi_d times a uniform direction."""
    return Elliptical(loc, scale_tril, chi_radius(_event_dim(loc), loc.dtype))


def multivariate_student_t(
    loc: torch.Tensor, scale_tril: torch.Tensor, df: float
) -> Elliptical:
    """The multivariate Student's t: df degrees of freedom, location loc, scale LL^T."""
    return Elliptical(loc, scale_tril, student_t_radius(_event_dim(loc), df, loc.dtype))


def multivariate_t_log_prob(z, loc, scale_tril, df: float) -> torch.Tensor:
    """The closed-form log-density of the multivariate t (a reference for the tests):
    log G((df + d)/2) - log G(df/2) - d/2 log(df pi) - sum log L_kk
    - (df + d)/2 log(1 + m/df), with m = |L^-1 (z - loc)|^2 (squared Mahalanobis)."""
    d = loc.shape[-1]
    eps = torch.linalg.solve_triangular(
        scale_tril, (z - loc).unsqueeze(-1), upper=False
    )
    m = eps.squeeze(-1).pow(2).sum(-1)
    return (
        math.lgamma((df + d) / 2)
        - math.lgamma(df / 2)
        - d / 2 * math.log(df * math.pi)
        - scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        - (df + d) / 2 * torch.log1p(m / df)
    )
