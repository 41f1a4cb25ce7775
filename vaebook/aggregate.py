"""The aggregate posterior q(z) = E_x q(z|x) and the ELBO's decomposition around it.

Shapes: N images, S samples per image, K latent dimensions, G grid points.

Over N images the aggregate posterior is the mixture q(z) = (1/N) sum_n q(z|x_n), and
the average KL of the ELBO splits (Hoffman & Johnson 2016, "ELBO surgery") into

    (1/N) sum_n KL(q(z|x_n) || p(z)) = I_q(x; z) + KL(q(z) || p(z)),

the mutual information between the image index and its code under
q(n, z) = q(z|x_n) / N (at most log N), and how far the codes' aggregate lies from
the prior. A prior that matched q(z) would zero the second term: the learned priors
of :mod:`vaebook.priors` aim at it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import distributions as D

from .distributions import kl_divergence
from .priors import GaussianMixture
from .runs import ACTIVE_THRESHOLD, count_above


@torch.no_grad()
def aggregate_posterior(model, x: torch.Tensor) -> GaussianMixture:
    """q(z) = (1/N) sum_n q(z|x_n) for the images ``x`` (N, D): a mixture of N
    diagonal Gaussians, event_shape (K,)."""
    qz = model.encode(x)
    base = qz.base_dist
    return GaussianMixture(base.loc.new_zeros(len(x)), base.loc, base.scale)


@torch.no_grad()
def log_density_ratio(model, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """log q(z) - log p(z) at the points ``z`` (G, K), with q(z) over the images
    ``x``: (G,). Far below 0 where the prior puts mass that no image uses."""
    return aggregate_posterior(model, x).log_prob(z) - model.prior().log_prob(z)


@torch.no_grad()
def prior_hole_mass(
    model, x: torch.Tensor, ratio: float = 0.1, num_samples: int = 100_000
) -> tuple[float, float, torch.Tensor]:
    """The prior's mass where q(z) < ``ratio`` p(z), estimated from ``num_samples``
    draws of p(z): (mass, its standard error, the draws that fell in the hole)."""
    z = model.prior().sample((num_samples,))  # (G, K)
    inside = log_density_ratio(model, x, z) < math.log(ratio)
    mass = inside.float().mean().item()
    return mass, math.sqrt(mass * (1 - mass) / num_samples), z[inside]


class Decomposition(NamedTuple):
    """Per-image means (nats) of -ELBO = reconstruction + I(x; z) + KL(q(z) || p(z)),
    with the Monte Carlo standard errors (``*_se``) over the N images."""

    reconstruction: float  # -E_q[log p(x|z)]
    mutual_information: float  # I_q(x; z), at most log N
    marginal_kl: float  # KL(q(z) || p(z))
    average_kl: (
        float  # (1/N) sum_n KL(q(z|x_n) || p(z)) (closed form where torch has it)
    )
    neg_elbo: float  # reconstruction + average_kl
    reconstruction_se: float
    mutual_information_se: float
    marginal_kl_se: float
    identity_gap: float  # I + marginal KL - average KL: zero up to Monte Carlo error
    identity_gap_se: float
    num_images: int


@torch.no_grad()
def elbo_decomposition(model, x: torch.Tensor, num_samples: int = 10) -> Decomposition:
    """Hoffman & Johnson's decomposition of the mean -ELBO over the images ``x`` (N,
    D), with ``num_samples`` draws of z ~ q(z|x_n) per image (module text)."""
    if num_samples < 1 or len(x) < 2:
        raise ValueError("need num_samples >= 1 and at least 2 images")
    qz = model.encode(x)
    z = qz.sample((num_samples,))  # (S, N, K)
    log_q_cond = qz.log_prob(z)  # (S, N): log q(z|x_n)
    log_q_agg = aggregate_posterior(model, x).log_prob(z)  # (S, N)
    log_p = model.prior().log_prob(z)
    rec = -model.decode(z).log_prob(x).mean(0)  # (N,)
    info = (log_q_cond - log_q_agg).mean(0)  # (N,)
    marginal = (log_q_agg - log_p).mean(0)
    kl = kl_divergence(qz, model.prior(), z)  # (N,)
    gap = info + marginal - kl

    def se(v: torch.Tensor) -> float:
        return (v.std() / math.sqrt(len(v))).item()

    return Decomposition(
        rec.mean().item(),
        info.mean().item(),
        marginal.mean().item(),
        kl.mean().item(),
        (rec + kl).mean().item(),
        se(rec),
        se(info),
        se(marginal),
        gap.mean().item(),
        se(gap),
        len(x),
    )


@torch.no_grad()
def grid_log_densities(
    model, x: torch.Tensor, limit: float = 4.0, points: int = 121
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For a 2-D latent space: the grid (G,) of each axis on [-limit, limit] and
    log q(z), log p(z) at the points: ((G,), (G, G), (G, G)), rows along z_2."""
    if model.latent_dim != 2:
        raise ValueError(f"a 2-D latent space is needed, got {model.latent_dim}")
    axis = torch.linspace(-limit, limit, points)
    zz = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)
    log_q = aggregate_posterior(model, x).log_prob(zz).reshape(points, points)
    log_p = model.prior().log_prob(zz).reshape(points, points)
    return axis, log_q, log_p


def unit_activity(
    history: list[dict], threshold: float = ACTIVE_THRESHOLD
) -> list[int]:
    """Active units per history row from Burda et al.'s activity Cov_x(E_q[z_k|x])
    recorded by the trainer (``test_activity``), or from the per-dimension KL
    (``test_kl_per_dim``) where the history has only that (the older checkpoints).
    A record without weights (:mod:`vaebook.runs`) keeps only the count at the
    default threshold (``test_active_units``)."""
    if "test_active_units" in history[0] and "test_activity" not in history[0]:
        if threshold != ACTIVE_THRESHOLD:
            raise ValueError(
                f"this record keeps the active units at the threshold "
                f"{ACTIVE_THRESHOLD} only, not {threshold}"
            )
        return [int(row["test_active_units"]) for row in history]
    key = "test_activity" if "test_activity" in history[0] else "test_kl_per_dim"
    if key not in history[0]:
        raise ValueError("the history records neither test_activity nor KL per dim")
    return [count_above(row[key], threshold) for row in history]


def mixture_weights(prior: D.MixtureSameFamily) -> torch.Tensor:
    """The mixture's weights pi_c, (C,)."""
    return prior.mixture_distribution.probs
