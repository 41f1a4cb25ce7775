"""The distributions of a VAE as ``torch.distributions`` objects.

Shapes: S samples, B batch, D data dimensions, K latent dimensions.
Encoders return q(z|x), decoders p(x|z) and models their prior p(z) as
distribution objects with ``rsample``/``sample``, ``log_prob``, ``batch_shape``
and ``event_shape``, so the objectives never see ``(mu, logvar)`` tuples.
"""
from __future__ import annotations

import torch
from torch import distributions as D


def diagonal_gaussian(loc: torch.Tensor, scale: torch.Tensor) -> D.Independent:
    """N(loc, diag(scale^2)) over the last axis: batch_shape (..., ), event_shape (K,)."""
    return D.Independent(D.Normal(loc, scale), 1)


def standard_normal(latent_dim: int, device: torch.device | str = "cpu") -> D.Independent:
    """The prior p(z) = N(0, I_K), event_shape (K,)."""
    zeros = torch.zeros(latent_dim, device=device)
    return D.Independent(D.Normal(zeros, torch.ones_like(zeros)), 1)


def bernoulli_pixels(logits: torch.Tensor) -> D.Independent:
    """p(x|z) = prod_d Bernoulli(x_d; sigmoid(logits_d)), event_shape (D,).

    ``log_prob(x)`` is the notes' sum_d x_d log p_d + (1 - x_d) log(1 - p_d),
    computed from logits for stability.
    """
    return D.Independent(D.Bernoulli(logits=logits), 1)


def has_analytic_kl(q: D.Distribution, p: D.Distribution) -> bool:
    """Whether torch has a registered closed form for KL(q || p)."""
    try:
        D.kl_divergence(q, p)
    except NotImplementedError:
        return False
    return True


def kl_divergence(q: D.Distribution, p: D.Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q || p) per batch element, shape batch_shape.

    The closed form where torch registers one (``register_kl``); otherwise the
    Monte Carlo estimate mean_s [log q(z_s) - log p(z_s)] from the samples ``z``
    (S, *batch_shape, *event_shape), which must then be given.
    """
    try:
        return D.kl_divergence(q, p)
    except NotImplementedError:
        if z is None:
            raise ValueError(
                f"KL({type(q).__name__} || {type(p).__name__}) has no closed form in torch; "
                "pass samples z from q for a Monte Carlo estimate") from None
        return (q.log_prob(z) - p.log_prob(z)).mean(0)


def kl_per_dimension(q: D.Distribution, p: D.Distribution) -> torch.Tensor:
    """KL of each latent dimension for factorized q and p: (B, K).

    Summing over K gives KL(q || p). Active units (Burda et al. 2016) are the
    dimensions whose KL stays clearly above zero.
    """
    q_base = q.base_dist if isinstance(q, D.Independent) else q
    p_base = p.base_dist if isinstance(p, D.Independent) else p
    return D.kl_divergence(q_base, p_base)
