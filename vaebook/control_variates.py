"""Unbiased gradients of E_q[f(z)] for discrete z: the score function with control
variates (notes 1.5, and what the literature since 2014 added to it).

Shapes: S samples of z, B batch, K latent variables, C classes (one-hot z: the
score-function estimators take ``categorical=True``; DisARM is for Bernoulli z).

Every function here builds a **surrogate**: a (B,) tensor whose *value* is the Monte
Carlo estimate of the objective and whose *gradient* (in the encoder's logits and in
whatever ``f`` depends on, e.g. the decoder) is the estimator's gradient. The pattern
is ``value + signal.detach() * (log_q - log_q.detach())``: the second term is zero in
value and contributes signal * grad log q to the gradient.

- REINFORCE with a baseline b (Williams 1992): (f(z) - b) grad log q(z); unbiased for
  any b that does not depend on z, because E_q[grad log q] = 0.
- Leave-one-out (RLOO; Kool et al. 2019): S samples, b_s = the mean of the other
  S - 1 values of f; unbiased, no extra network. Averaged over s the estimate is
  (1 / (S - 1)) sum_s (f_s - mean f) grad log q(z_s).
- VIMCO (Mnih & Rezende 2016): the gradient of the S-sample bound
  L = log (1/S) sum_s w_s, log w_s = f(z_s) + log p(z_s) - log q(z_s), with the
  per-sample signal L - L_{-s}, where L_{-s} replaces w_s by the geometric mean of
  the other weights.
- DisARM (Dong, Mnih & Tucker 2020) for Bernoulli z: an antithetic pair
  b = 1[u < sigmoid(a)], b' = 1[1 - u < sigmoid(a)] from one u ~ U(0, 1)^K; the
  gradient in the logits a_k is
  (1/2) (f(b) - f(b')) (-1)^{b'_k} 1[b_k != b'_k] sigmoid(|a_k|).

The estimator classes that use these (``rloo``, ``vimco``, ``disarm``, ``nvil``, and
``score-function``) are in :mod:`vaebook.discrete`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

Reward = Callable[[torch.Tensor], torch.Tensor]  # z (S, B, K) -> f(z) (S, B)


class Surrogate(NamedTuple):
    """What an unbiased estimator hands the model: ``objective`` (B,), the estimate of
    the objective in value, the estimator's gradient in its gradient; ``values`` f at
    the samples (S, B), detached; ``z`` the samples (S, B, K)."""

    objective: torch.Tensor
    values: torch.Tensor
    z: torch.Tensor


def latent_log_prob(
    logits: torch.Tensor, z: torch.Tensor, categorical: bool = False
) -> torch.Tensor:
    """log q(z), summed over the independent latents, stable for any logits: Bernoulli
    z (S, B, K) with logits (B, K), or one-hot z (S, B, K, C) with logits (B, K, C)
    -> (S, B)."""
    if categorical:
        return (z * torch.log_softmax(logits, -1)).sum((-2, -1))
    return -F.binary_cross_entropy_with_logits(
        logits.expand_as(z), z, reduction="none"
    ).sum(-1)


def score_term(signal: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """signal * (log q - log q), held apart: value 0, gradient signal * grad log q."""
    return signal.detach() * (log_q - log_q.detach())


def leave_one_out(values: torch.Tensor) -> torch.Tensor:
    """b_s = the mean of the other S - 1 values along dim 0: (S, B) -> (S, B)."""
    s = values.shape[0]
    if s < 2:
        raise ValueError(f"a leave-one-out baseline needs at least 2 samples, got {s}")
    return (values.sum(0, keepdim=True) - values) / (s - 1)


def reinforce(
    logits: torch.Tensor,
    f: Reward,
    z: torch.Tensor,
    baseline: torch.Tensor | float = 0.0,
    scale: torch.Tensor | float = 1.0,
    categorical: bool = False,
) -> Surrogate:
    """REINFORCE at the given samples z (S, B, K) with a baseline b that does not
    depend on z (a number, or (B,) / (S, B), e.g. NVIL's b(x)), the signal divided by
    ``scale`` (NVIL's variance normalization; any positive constant keeps the
    direction of the expected gradient)."""
    fz = f(z)
    log_q = latent_log_prob(logits, z, categorical)
    signal = (fz.detach() - baseline) / scale
    return Surrogate((fz + score_term(signal, log_q)).mean(0), fz.detach(), z)


def rloo(
    logits: torch.Tensor, f: Reward, z: torch.Tensor, categorical: bool = False
) -> Surrogate:
    """REINFORCE leave-one-out at S >= 2 samples z (S, B, K)."""
    fz = f(z)
    log_q = latent_log_prob(logits, z, categorical)
    signal = fz.detach() - leave_one_out(fz.detach())
    return Surrogate((fz + score_term(signal, log_q)).mean(0), fz.detach(), z)


def vimco_signals(log_w: torch.Tensor) -> torch.Tensor:
    """L - L_{-s} for each sample (S, B): L = log mean_s w_s, and L_{-s} the same with
    log w_s replaced by the mean of the other log weights (their geometric mean)."""
    s = log_w.shape[0]
    if s < 2:
        raise ValueError(f"VIMCO needs at least 2 samples, got {s}")
    bound = torch.logsumexp(log_w, 0) - math.log(s)
    others = leave_one_out(log_w)  # log of the geometric mean of the others
    # replace sample s by `others[s]` in the sum: a (S, S, B) table, diagonal swapped
    table = log_w.unsqueeze(0).expand(s, *log_w.shape).clone()
    index = torch.arange(s, device=log_w.device)
    table[index, index] = others
    held_out = torch.logsumexp(table, 1) - math.log(s)
    return bound - held_out


def vimco(
    logits: torch.Tensor,
    f: Reward,
    z: torch.Tensor,
    log_prior: Callable[[torch.Tensor], torch.Tensor],
    beta: float = 1.0,
    categorical: bool = False,
) -> Surrogate:
    """The S-sample bound log mean_s w_s with VIMCO's gradient, log w_s = f(z_s) +
    beta (log p(z_s) - log q(z_s)) (beta = 1: the importance-weighted bound of Burda
    et al.; beta < 1 during a KL warm-up)."""
    fz = f(z)
    log_q = latent_log_prob(logits, z, categorical)
    log_w = fz + beta * (log_prior(z) - log_q)
    bound = torch.logsumexp(log_w, 0) - math.log(z.shape[0])
    signal = vimco_signals(log_w.detach())
    return Surrogate(bound + score_term(signal, log_q).sum(0), fz.detach(), z)


def antithetic_pair(logits: torch.Tensor) -> torch.Tensor:
    """(b, b') (2, B, K) from one u ~ U(0, 1)^K: b = 1[u < p], b' = 1[1 - u < p],
    p = sigmoid(logits); each is an exact Bernoulli(p) sample."""
    u = torch.rand_like(logits)
    p = torch.sigmoid(logits.detach())
    return torch.stack([(u < p), (1 - u < p)]).to(logits.dtype)


def disarm_weight(logits: torch.Tensor, pair: torch.Tensor) -> torch.Tensor:
    """(-1)^{b'_k} 1[b_k != b'_k] sigmoid(|a_k|): (B, K), the DisARM weight that
    multiplies (f(b) - f(b')) / 2."""
    b, b_anti = pair
    sign = 1 - 2 * b_anti
    return sign * (b != b_anti).to(logits.dtype) * torch.sigmoid(logits.abs())


def disarm(logits: torch.Tensor, f: Reward, pair: torch.Tensor) -> Surrogate:
    """DisARM at an antithetic pair (2, B, K) (:func:`antithetic_pair`): the value is
    (f(b) + f(b')) / 2, unbiased for E_q[f]; the gradient in the logits
    (1/2) (f(b) - f(b')) * :func:`disarm_weight`; f's own parameters get the mean of
    the two gradients."""
    fz = f(pair)
    weight = disarm_weight(logits.detach(), pair)
    coefficient = 0.5 * (fz[0] - fz[1]).detach().unsqueeze(-1) * weight  # (B, K)
    logit_term = (coefficient * (logits - logits.detach())).sum(-1)
    return Surrogate(fz.mean(0) + logit_term, fz.detach(), pair)
