"""The distributions of a VAE as ``torch.distributions`` objects.

Shapes: S samples, B batch, D data dimensions, K latent dimensions.
Encoders return q(z|x), decoders p(x|z) and models their prior p(z) as
distribution objects with ``rsample``/``sample``, ``log_prob``, ``batch_shape``
and ``event_shape``, so the objectives never see ``(mu, logvar)`` tuples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import distributions as D


def diagonal_gaussian(loc: torch.Tensor, scale: torch.Tensor) -> D.Independent:
    """N(loc, diag(scale^2)) over the last axis: batch_shape (..., ), event_shape
    (K,)."""
    return D.Independent(D.Normal(loc, scale), 1)


def standard_normal(
    latent_dim: int, device: torch.device | str = "cpu"
) -> D.Independent:
    """The prior p(z) = N(0, I_K), event_shape (K,)."""
    zeros = torch.zeros(latent_dim, device=device)
    return D.Independent(D.Normal(zeros, torch.ones_like(zeros)), 1)


def bernoulli_pixels(logits: torch.Tensor) -> D.Independent:
    """p(x|z) = prod_d Bernoulli(x_d; sigmoid(logits_d)), event_shape (D,).

    ``log_prob(x)`` is the notes' sum_d x_d log p_d + (1 - x_d) log(1 - p_d),
    computed from logits for stability.
    """
    return D.Independent(D.Bernoulli(logits=logits), 1)


def closed_form_kl(q: D.Distribution, p: D.Distribution) -> torch.Tensor | None:
    """KL(q || p) where torch registers a closed form (``register_kl``), else None."""
    try:
        return D.kl_divergence(q, p)
    except NotImplementedError:
        return None


def has_analytic_kl(q: D.Distribution, p: D.Distribution) -> bool:
    """Whether torch has a registered closed form for KL(q || p)."""
    return closed_form_kl(q, p) is not None


def kl_divergence(
    q: D.Distribution,
    p: D.Distribution,
    z: torch.Tensor | None = None,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """KL(q || p) per batch element, shape batch_shape: closed form, else Monte Carlo.

    The closed form where torch registers one; otherwise the estimate
    mean_s [log q(z_s) - log p(z_s)] from the samples ``z`` (S, *batch_shape,
    *event_shape) of q, which must then be given; ``log_q`` (S, *batch_shape) is
    log q(z) where the caller has it already (a flow computes it while sampling).
    """
    kl = closed_form_kl(q, p)
    if kl is not None:
        return kl
    if z is None:
        raise ValueError(
            f"KL({type(q).__name__} || {type(p).__name__}) has no closed form in "
            "torch; "
            "pass samples z from q for a Monte Carlo estimate"
        )
    return ((q.log_prob(z) if log_q is None else log_q) - p.log_prob(z)).mean(0)


def kl_per_dimension(q: D.Distribution, p: D.Distribution) -> torch.Tensor:
    """KL of each latent dimension for factorized q and p: (B, K).

    Summing over K gives KL(q || p). Active units (Burda et al. 2016) are the
    dimensions whose KL stays clearly above zero.
    """
    q_base = q.base_dist if isinstance(q, D.Independent) else q
    p_base = p.base_dist if isinstance(p, D.Independent) else p
    return D.kl_divergence(q_base, p_base)


def log_prob_matrix(
    dist: D.Distribution, x: torch.Tensor, chunk_size: int = 64
) -> torch.Tensor:
    """log p_m(x_n) for every value x_n (N, *event) and every member m of ``dist``'s
    batch (M,): (N, M).

    For independent Bernoulli or one-hot categorical variables the log-probability is
    linear in x, so this is one matrix product: sum_d x_d l_md - softplus(l_md) with
    logits l (Bernoulli), or sum_kc x_kc log p_mkc (one-hot). Otherwise the values are
    broadcast against the batch ``chunk_size`` at a time.
    """
    base = dist.base_dist if isinstance(dist, D.Independent) else dist
    whole = isinstance(dist, D.Independent) and len(dist.event_shape) + 1 == x.dim()
    if whole and isinstance(base, D.Bernoulli):
        logits = base.logits.flatten(1)  # (M, D)
        return x.flatten(1) @ logits.T - F.softplus(logits).sum(-1)
    if whole and isinstance(base, D.OneHotCategorical):
        # torch's categorical logits are normalized: log-probabilities
        return x.flatten(1) @ base.logits.flatten(1).T
    lead = (slice(None), None) + (slice(None),) * (x.dim() - 1)
    return torch.cat([dist.log_prob(chunk[lead]) for chunk in x.split(chunk_size)])
