"""The marginal likelihood p(x) = int p(x|z) p(z) dz, where it can be computed (notes
1.2, 1.3).

Shapes: N images, G grid points, D pixels, K latent dimensions (1 or 2 here).

- On a grid: for a 1-D or 2-D latent space the integral is a sum over a fine
  grid of cells of area dA, log p(x) ~= logsumexp_j [log p(x|z_j) + log p(z_j)] + log
  dA. The same grid gives the true posterior p(z_j|x) = p(x|z_j) p(z_j) dA / p(x), and
  with it the gap KL(q(z|x) || p(z|x)) of any encoder.
- Naive Monte Carlo: p(x) = E_{p(z)}[p(x|z)] ~= (1/S) sum_s p(x|z_s), z_s ~ p(z).
  Unbiased for p(x), but almost every prior sample explains x badly, so the
  estimate of log p(x) needs astronomically many samples in high dimension.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import distributions as D

from .distributions import log_prob_matrix


class LatentGrid(NamedTuple):
    """A regular grid on [-limit, limit]^K: points (G, K), cell area, and the axis
    values."""

    points: torch.Tensor
    cell_area: float
    axis: torch.Tensor


def latent_grid(
    latent_dim: int, limit: float = 4.0, steps: int = 201, device=None
) -> LatentGrid:
    """Cell centres of a regular grid covering [-limit, limit]^latent_dim (latent_dim 1
    or 2)."""
    if latent_dim not in (1, 2):
        raise ValueError(
            "grid integration is for 1-D or 2-D latent spaces, got "
            f"latent_dim={latent_dim}"
        )
    if limit <= 0 or steps < 2:
        raise ValueError(
            f"need limit > 0 and steps >= 2, got limit={limit}, steps={steps}"
        )
    width = 2 * limit / steps
    axis = torch.linspace(-limit + width / 2, limit - width / 2, steps, device=device)
    if latent_dim == 1:
        return LatentGrid(axis[:, None], width, axis)
    z1, z2 = torch.meshgrid(axis, axis, indexing="xy")  # rows: z2, columns: z1
    return LatentGrid(torch.stack([z1.reshape(-1), z2.reshape(-1)], -1), width**2, axis)


def log_likelihood_matrix(
    px_given_z: D.Distribution, x: torch.Tensor, chunk_size: int = 64
) -> torch.Tensor:
    """log p(x_n | z_j) for every image and grid point: (N, G).

    ``px_given_z`` has batch_shape (G,); for Bernoulli pixels this is one matrix
    product (:func:`vaebook.distributions.log_prob_matrix`).
    """
    return log_prob_matrix(px_given_z, x, chunk_size)


@torch.no_grad()
def log_joint_on_grid(model, x: torch.Tensor, grid: LatentGrid) -> torch.Tensor:
    """log p(x_n, z_j) = log p(x_n|z_j) + log p(z_j) on the grid: (N, G)."""
    if model.latent_dim != grid.points.shape[-1]:
        raise ValueError(
            f"the model has {model.latent_dim} latent dimensions, the grid "
            f"{grid.points.shape[-1]}"
        )
    z = grid.points.to(x.device)
    return log_likelihood_matrix(model.decode(z), x) + model.prior().log_prob(z)


def log_marginal_grid(
    model, x: torch.Tensor, limit: float = 4.0, steps: int = 201
) -> torch.Tensor:
    """log p(x) by integrating p(x|z) p(z) over a grid of the 1-D or 2-D latent space:
    (N,).

    Exact up to quadrature error: the prior mass outside [-limit, limit]^K
    (6e-5 for limit 4 in 1-D, 1.3e-4 in 2-D) and the grid's resolution.
    """
    grid = latent_grid(model.latent_dim, limit, steps, x.device)
    return torch.logsumexp(log_joint_on_grid(model, x, grid), dim=-1) + math.log(
        grid.cell_area
    )


def posterior_on_grid(
    model, x: torch.Tensor, limit: float = 4.0, steps: int = 201
) -> tuple[torch.Tensor, LatentGrid]:
    """The true posterior p(z_j|x_n) as probabilities of the grid cells, (N, G), and the
    grid."""
    grid = latent_grid(model.latent_dim, limit, steps, x.device)
    return torch.softmax(log_joint_on_grid(model, x, grid), dim=-1), grid


@torch.no_grad()
def posterior_gap_on_grid(
    model,
    x: torch.Tensor,
    limit: float = 4.0,
    steps: int = 201,
    local_steps: int = 81,
    local_width: float = 6.0,
) -> torch.Tensor:
    """KL(q(z|x) || p(z|x)) for each image, by quadrature instead of sampling: (N,).

    KL = int q(z) [log q(z) - log p(x, z) + log p(x)] dz, with log p(x) from the
    global grid and the integral over a fine local grid covering q
    (mean +- ``local_width`` standard deviations per axis), so a q much narrower
    than the global grid's cells is still resolved. It checks the identity
    ELBO = log p(x) - KL(q(z|x) || p(z|x)) independently of the Monte Carlo ELBO.
    """
    log_px = log_marginal_grid(model, x, limit, steps)
    qz = model.encode(x)
    loc, scale = qz.mean, qz.stddev  # (N, K)
    unit = latent_grid(model.latent_dim, 1.0, local_steps, x.device)
    gaps = []
    for n in range(len(x)):
        half = local_width * scale[n]  # (K,)
        z = loc[n] + unit.points * half  # (G, K)
        log_q = model.encode(x[n : n + 1]).log_prob(z[:, None, :])[:, 0]  # (G,)
        log_joint = log_likelihood_matrix(model.decode(z), x[n : n + 1])[
            0
        ] + model.prior().log_prob(z)
        q_mass = torch.softmax(
            log_q, dim=0
        )  # q(z_j) dA, renormalized over the local grid
        gaps.append((q_mass * (log_q - log_joint)).sum() + log_px[n])
    return torch.stack(gaps)


@torch.no_grad()
def naive_log_marginal(
    model, x: torch.Tensor, num_samples: int, chunk_size: int = 4096
) -> torch.Tensor:
    """log (1/S) sum_s p(x|z_s) with z_s ~ p(z): the prior-sampling estimate of log
    p(x), (N,).

    Unbiased for p(x) but not for log p(x) (it underestimates it, by Jensen),
    and its variance is enormous unless p(z) resembles p(z|x).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    total = None
    for start in range(0, num_samples, chunk_size):
        z = model.prior().sample((min(chunk_size, num_samples - start),))  # (S, K)
        lse = torch.logsumexp(log_likelihood_matrix(model.decode(z), x), dim=-1)  # (N,)
        total = lse if total is None else torch.logaddexp(total, lse)
    return total - math.log(num_samples)
