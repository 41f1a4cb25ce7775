"""The ELBO and the importance-weighted bound, per example.

Shapes: S samples, B batch. Every function returns per-example values (B,);
the caller chooses the reduction (the trainer takes the batch mean, so the KL
weight ``beta`` is never scaled by the dataset size).

- ELBO (notes 1.4; Kingma & Welling 2014):
  L(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)), a lower bound on log p(x).
- Importance-weighted bound (Burda et al. 2016):
  L_S(x) = E[log (1/S) sum_s p(x, z_s) / q(z_s|x)], z_s ~ q(z|x);
  L_1 = ELBO <= L_S <= L_{S+1} <= log p(x), and L_S -> log p(x) as S grows.
  With S = 5000 it is the test log-likelihood estimate of the IWAE paper.
  Trained on directly (``TrainConfig.objective = "iwae"``), with the S samples' log
  weights split into log p(x|z_s) and log p(z_s) - log q(z_s|x) (:class:`IWTerms`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .distributions import kl_divergence


class ELBOTerms(NamedTuple):
    """Per-example pieces of the ELBO, each (B,)."""

    log_px_given_z: torch.Tensor  # reconstruction term E_q[log p(x|z)] (Monte Carlo)
    kl: torch.Tensor  # KL(q(z|x) || p(z)), analytic where torch has it

    @property
    def elbo(self) -> torch.Tensor:
        return self.log_px_given_z - self.kl

    def weighted(self, beta: float) -> torch.Tensor:
        """The beta-weighted objective log p(x|z) - beta KL (Higgins et al. 2017)."""
        return self.log_px_given_z - beta * self.kl


def training_metrics(
    loss: torch.Tensor,
    log_px_given_z: torch.Tensor,
    kl: torch.Tensor,
    **extra: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """The dict every training objective returns (:mod:`vaebook.training`): the scalar
    ``"loss"`` and per-example (B,) ``neg_elbo`` = KL - log p(x|z), ``log_px_given_z``,
    ``kl`` and any ``extra`` per-example metrics."""
    return {
        "loss": loss,
        "neg_elbo": kl - log_px_given_z,
        "log_px_given_z": log_px_given_z,
        "kl": kl,
        **extra,
    }


def elbo(model, x: torch.Tensor, num_samples: int = 1) -> ELBOTerms:
    """ELBO terms of ``model`` at ``x`` (B, D), with ``num_samples`` pathwise samples of
    z (a model with its own ``elbo_terms(x, num_samples)`` computes them itself)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    if hasattr(model, "elbo_terms"):  # a model with several latent layers
        return model.elbo_terms(x, num_samples)
    qz = model.encode(x)
    z = qz.rsample((num_samples,))  # (S, B, K), differentiable in q's parameters
    log_px_given_z = model.decode(z).log_prob(x).mean(0)  # (B,)
    return ELBOTerms(log_px_given_z, kl_divergence(qz, model.prior(), z))


def log_importance_weights(model, x: torch.Tensor, num_samples: int) -> torch.Tensor:
    """log w_s = log p(x|z_s) + log p(z_s) - log q(z_s|x), z_s ~ q(z|x): (S, B).

    A model whose q has no cheap ``log_prob`` of its own samples (a planar flow
    has no analytic inverse) supplies its own ``log_importance_weights``.
    """
    if hasattr(model, "log_importance_weights"):
        return model.log_importance_weights(x, num_samples)
    terms = _sampled_terms(model, x, num_samples)
    return terms.log_px_given_z + terms.log_ratio


def iw_bound(
    model, x: torch.Tensor, num_samples: int, chunk_size: int | None = None
) -> torch.Tensor:
    """The importance-weighted bound L_S(x), (B,): logsumexp_s log w_s - log S.

    Samples are drawn ``chunk_size`` at a time and combined with a running
    logsumexp, so S = 5000 fits in memory. Differentiable when grad is enabled
    (the gradient is then the self-normalized importance-weighted one).
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    if chunk_size is None:
        chunk_size = max(1, min(num_samples, 65536 // max(len(x), 1)))
    total = None
    for start in range(0, num_samples, chunk_size):
        chunk = log_importance_weights(model, x, min(chunk_size, num_samples - start))
        lse = torch.logsumexp(chunk, dim=0)  # (B,)
        total = lse if total is None else torch.logaddexp(total, lse)
    return total - math.log(num_samples)


class IWTerms(NamedTuple):
    """The two parts of the log importance weights log w_s = log p(x|z_s) +
    [log p(z_s) - log q(z_s|x)], z_s ~ q(z|x), each (S, B)."""

    log_px_given_z: torch.Tensor
    log_ratio: torch.Tensor  # log p(z_s) - log q(z_s|x)

    def bound(self, beta: float = 1.0) -> torch.Tensor:
        """L_S(x) with the weights w_s = p(x|z_s) [p(z_s) / q(z_s|x)]^beta, (B,):
        at beta = 1 the IWAE bound; with S = 1 and any beta a single-sample
        beta-ELBO."""
        log_w = self.log_px_given_z + beta * self.log_ratio
        return torch.logsumexp(log_w, dim=0) - math.log(len(log_w))

    def elbo_terms(self) -> ELBOTerms:
        """The ELBO's parts estimated from the same S samples: E_q[log p(x|z)] and
        KL(q || p) = E_q[log q - log p], both as Monte Carlo means."""
        return ELBOTerms(self.log_px_given_z.mean(0), -self.log_ratio.mean(0))


def iw_terms(model, x: torch.Tensor, num_samples: int) -> IWTerms:
    """``num_samples`` pathwise samples z_s ~ q(z|x) and their log weights' parts, for
    a model with ``encode``, ``decode`` and ``prior`` (one latent layer)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    if hasattr(model, "log_importance_weights") or hasattr(model, "elbo_terms"):
        raise ValueError(
            f"the IWAE objective needs a model with one latent layer and q's own "
            f"log_prob (encode, decode, prior); {type(model).__name__} computes its "
            "weights itself"
        )
    return _sampled_terms(model, x, num_samples)


def _sampled_terms(model, x: torch.Tensor, num_samples: int) -> IWTerms:
    qz = model.encode(x)
    z = qz.rsample((num_samples,))  # (S, B, K)
    log_ratio = model.prior().log_prob(z) - qz.log_prob(z)
    return IWTerms(model.decode(z).log_prob(x), log_ratio)
