"""The ELBO's regularizer and the notes' alternative to it (notes 1.4).

For q(z|x) = N(mu, diag(sigma^2)) and p(z) = N(0, I) the ELBO's regularizer is
KL(q || p) = sum_k (mu_k^2 + sigma_k^2 - 1) / 2 - log sigma_k, zero exactly when
mu = 0 and sigma = 1. The notes mention mu^2 + (sigma - 1)^2 instead: the squared
distance between the parameters of q and of p. It is also zero exactly when q = p,
but it does not make the objective a bound on log p(x), and it barely punishes a
collapsing scale: at sigma -> 0 it costs 1, the KL costs -log sigma -> infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import distributions as D

from .distributions import kl_divergence
from .models import GaussianVAE, VAEConfig
from .objectives import training_metrics
from .registry import register


def gaussian_kl(loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """KL(N(loc, scale^2) || N(0, 1)) = (loc^2 + scale^2 - 1) / 2 - log scale,
    elementwise."""
    return 0.5 * (loc**2 + scale**2 - 1) - torch.log(scale)


def parameter_l2(loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """The notes' alternative mu^2 + (sigma - 1)^2, elementwise."""
    return loc**2 + (scale - 1) ** 2


def monte_carlo_kl(
    qz: D.Distribution, pz: D.Distribution, num_samples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """KL(q || p) by sampling, mean_s log q(z_s) - log p(z_s): (estimate, standard
    error), each batch_shape."""
    if num_samples < 2:
        raise ValueError(
            f"a standard error needs at least 2 samples, got {num_samples}"
        )
    z = qz.sample((num_samples,))
    terms = qz.log_prob(z) - pz.log_prob(z)
    return terms.mean(0), terms.std(0) / num_samples**0.5


@register("l2-regularized-vae")
@dataclass
class L2RegularizedVAEConfig(VAEConfig):
    """A Gaussian VAE trained on E_q[log p(x|z)] - beta sum_k mu_k^2 + (sigma_k - 1)^2
    (notes 1.4)."""

    def build(self) -> "L2RegularizedVAE":
        return L2RegularizedVAE(self)


class L2RegularizedVAE(GaussianVAE):
    """Same networks as :class:`GaussianVAE`; only the regularizer it is trained with
    differs.

    Its history still records the true KL and ELBO, so both models are compared on
    the same bound.
    """

    def objective(self, x: torch.Tensor, state) -> dict[str, torch.Tensor]:
        qz = self.encode(x)
        z = qz.rsample((state.config.num_samples,))  # (S, B, K)
        log_px_given_z = self.decode(z).log_prob(x).mean(0)  # (B,)
        base = qz.base_dist
        penalty = parameter_l2(base.loc, base.scale).sum(-1)  # (B,)
        kl = kl_divergence(qz, self.prior())
        loss = -(log_px_given_z - state.beta * penalty).mean()
        return training_metrics(loss, log_px_given_z, kl, l2_penalty=penalty)
