"""Gradients of an expectation, grad_theta E_{q_theta}[f(z)] (notes 1.5 and 1.6).

Shapes: R repeats, S samples, B batch, K latent dimensions.

- Score function / REINFORCE / log-derivative trick (Williams 1992):
  grad E_q[f] = E_q[f(z) grad log q(z)], z ~ q. Only ``log_prob`` is
  differentiated; f can be a black box. Subtracting a baseline b that does
  not depend on z keeps it unbiased, because E_q[grad log q] = 0:
  grad E_q[f] = E_q[(f(z) - b) grad log q(z)]. The leave-one-out baseline
  b_s = mean of the other S - 1 values of f (Kool et al. 2019, "Buy 4
  REINFORCE samples, get a baseline for free") is independent of z_s.
- Pathwise / reparameterization (Kingma & Welling 2014): z = g(theta, eps),
  eps ~ p(eps) without parameters, so grad E_q[f] = E_eps[grad_theta f(g(theta, eps))].
  Needs ``rsample`` and a differentiable f.

Every estimator here has one call shape,
``(make, params, f, num_samples, estimator, baseline)``: ``make(**params)``
builds q from a dict of parameter tensors, ``f`` maps samples to values of
shape ``q.batch_shape``. :func:`per_sample_gradients` returns the S terms
whose mean is the estimate, :func:`estimate_gradient` their mean and
:func:`gradient_variance` the variance of the S-sample estimate over repeats.

:class:`ScoreFunctionVAE` is a Gaussian VAE whose encoder learns from the
score function (with the leave-one-out baseline) instead of the pathwise gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Callable

import torch
from torch import distributions as D

from .models import GaussianVAE, VAEConfig
from .objectives import training_metrics
from .registry import register

ESTIMATORS = ("pathwise", "score")
BASELINES = ("none", "leave-one-out")


def leave_one_out_baseline(values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """b_s = mean of the other S - 1 values along ``dim``: independent of sample s, so
    unbiased."""
    s = values.shape[dim]
    if s < 2:
        raise ValueError(f"a leave-one-out baseline needs at least 2 samples, got {s}")
    return (values.sum(dim, keepdim=True) - values) / (s - 1)


def score_function_surrogate(
    values: torch.Tensor,
    log_q: torch.Tensor,
    baseline: str | float | torch.Tensor | None = None,
    dim: int = 0,
) -> torch.Tensor:
    """(f(z) - b) log q(z) with f(z) - b held constant: its gradient is the
    score-function
    (REINFORCE) estimate (f(z) - b) grad log q(z), elementwise (the caller reduces).

    ``values`` f(z) and ``log_q`` log q(z) have the same shape. ``baseline`` b: None
    (b = 0), a number or a tensor broadcastable to ``values`` (e.g. a running mean),
    or ``"leave-one-out"``: the mean of the other samples along ``dim``. Any b that
    does not depend on z_s keeps the estimate unbiased.
    """
    values = values.detach()
    if isinstance(baseline, str):
        if baseline != "leave-one-out":
            raise ValueError(
                "baseline must be None, a number, a tensor or "
                "'leave-one-out', "
                f"got {baseline!r}"
            )
        advantage = values - leave_one_out_baseline(values, dim)
    elif baseline is None:
        advantage = values
    else:
        advantage = (
            values
            - torch.as_tensor(
                baseline, dtype=values.dtype, device=values.device
            ).detach()
        )
    return advantage * log_q


def _check(params: dict, num_samples: int, estimator: str, baseline) -> None:
    if not params:
        raise ValueError(
            "params must name at least one parameter tensor, e.g. "
            "{'loc': ..., 'scale': ...}"
        )
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    if estimator == "pathwise" and baseline is not None:
        raise ValueError(
            "a baseline is a control variate for the score function; the pathwise "
            "estimator takes none"
        )
    if (
        baseline is not None
        and baseline != "leave-one-out"
        and not isinstance(baseline, Real)
    ):
        raise ValueError(
            f"baseline must be None, a number or 'leave-one-out', got {baseline!r}"
        )
    if baseline == "leave-one-out" and num_samples < 2:
        raise ValueError("the leave-one-out baseline needs num_samples >= 2")


def _gradients(
    make: Callable,
    params: dict,
    f: Callable,
    sample_shape: tuple[int, ...],
    estimator: str,
    baseline,
) -> dict[str, torch.Tensor]:
    """Per-sample gradient terms, each (*sample_shape, *param.shape).

    Every sample gets its own copy of the parameters, so one backward pass of
    the summed surrogate yields all per-sample gradients at once.
    """
    copies = _per_sample_copies(params, sample_shape)
    q = make(**copies)
    surrogate = _surrogate(q, f, sample_shape, estimator, baseline)
    if surrogate.shape != q.batch_shape:
        raise ValueError(
            f"f(z) must have q's batch shape {tuple(q.batch_shape)} (one value per "
            f"sample), got {tuple(surrogate.shape)}"
        )
    grads = torch.autograd.grad(
        surrogate.sum(), list(copies.values()), allow_unused=True
    )
    return {
        k: torch.zeros_like(c) if g is None else g
        for (k, c), g in zip(copies.items(), grads)
    }


def _per_sample_copies(params: dict, sample_shape: tuple[int, ...]) -> dict:
    """{name: a leaf tensor (*sample_shape, *param.shape), one copy per sample}."""
    return {
        k: torch.as_tensor(v)
        .detach()
        .expand(*sample_shape, *torch.as_tensor(v).shape)
        .clone()
        .requires_grad_(True)
        for k, v in params.items()
    }


def _surrogate(q, f: Callable, sample_shape, estimator: str, baseline):
    """One sample from ``q`` per copy and the surrogate whose gradient is the
    estimate: f(z) for the pathwise estimator, the score-function surrogate else."""
    if estimator == "pathwise":
        if not q.has_rsample:
            raise ValueError(
                f"{type(q).__name__} has no pathwise sampler (rsample); use "
                "estimator='score'"
            )
        z = q.rsample()
        return f(z)
    z = q.sample()
    return score_function_surrogate(
        f(z), q.log_prob(z), baseline, dim=len(sample_shape) - 1
    )


def per_sample_gradients(
    make: Callable,
    params: dict,
    f: Callable,
    num_samples: int,
    estimator: str = "pathwise",
    baseline: str | float | None = None,
) -> dict[str, torch.Tensor]:
    """The S per-sample terms of an estimate of grad E_{q}[f(z)]: {name: (S,
    *param.shape)}.

    ``estimator``: ``"pathwise"`` (grad f(g(theta, eps))) or ``"score"``
    ((f(z) - b) grad log q(z)). ``baseline`` (score only): None, a number, or
    ``"leave-one-out"`` (then the terms are not independent of each other).
    """
    _check(params, num_samples, estimator, baseline)
    return _gradients(make, params, f, (num_samples,), estimator, baseline)


def estimate_gradient(
    make: Callable,
    params: dict,
    f: Callable,
    num_samples: int,
    estimator: str = "pathwise",
    baseline: str | float | None = None,
) -> dict[str, torch.Tensor]:
    """The S-sample Monte Carlo estimate of grad E_{q}[f(z)]: {name: param.shape}."""
    grads = per_sample_gradients(make, params, f, num_samples, estimator, baseline)
    return {k: g.mean(0) for k, g in grads.items()}


def gradient_variance(
    make: Callable,
    params: dict,
    f: Callable,
    num_samples: int,
    estimator: str = "pathwise",
    baseline: str | float | None = None,
    repeats: int = 200,
) -> dict[str, torch.Tensor]:
    """Variance of the S-sample estimate over ``repeats`` independent draws: {name:
    param.shape}.

    Measured directly (all R x S samples in one pass), so it is right also for
    the leave-one-out baseline, whose S terms are correlated.
    """
    _check(params, num_samples, estimator, baseline)
    if repeats < 2:
        raise ValueError(f"a variance needs at least 2 repeats, got {repeats}")
    grads = _gradients(make, params, f, (repeats, num_samples), estimator, baseline)
    return {k: g.mean(1).var(0) for k, g in grads.items()}


# --- a VAE whose encoder learns from the score function -------------------------------


@register("score-function-vae")
@dataclass
class ScoreFunctionVAEConfig(VAEConfig):
    """A Gaussian VAE (same networks as ``gaussian-vae``) whose encoder is trained with
    REINFORCE.

    ``baseline``: ``"leave-one-out"`` (needs ``TrainConfig.num_samples >= 2``) or
    ``"none"``.
    """

    baseline: str = "leave-one-out"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.baseline not in BASELINES:
            raise ValueError(
                f"baseline must be one of {BASELINES}, got {self.baseline!r}"
            )

    def build(self) -> "ScoreFunctionVAE":
        return ScoreFunctionVAE(self)


class ScoreFunctionVAE(GaussianVAE):
    """Same model as :class:`GaussianVAE`; only the encoder's gradient estimator
    differs.

    With S = ``TrainConfig.num_samples`` draws z_s ~ q(z|x) that carry no path
    to phi, the surrogate loss is

        -( mean_s [log p(x|z_s) + (r_s - b_s) log q(z_s|x)] - beta KL(q(z|x) || p(z)) ),

    r_s = log p(x|z_s) held constant: its gradient is the pathwise-free
    decoder gradient, the score-function estimate of the reconstruction
    term's gradient in phi, and the exact gradient of the closed-form KL.
    """

    def objective(self, x: torch.Tensor, state) -> dict[str, torch.Tensor]:
        num_samples = state.config.num_samples
        if self.config.baseline == "leave-one-out" and num_samples < 2:
            raise ValueError(
                "the leave-one-out baseline needs TrainConfig.num_samples >= 2 "
                "(--num-samples 4)"
            )
        qz = self.encode(x)
        z = qz.sample((num_samples,))  # (S, B, K), no gradient path to the encoder
        log_px_given_z = self.decode(z).log_prob(
            x
        )  # (S, B); gradient to the decoder only
        reward = log_px_given_z.detach()
        baseline = "leave-one-out" if self.config.baseline == "leave-one-out" else None
        score = score_function_surrogate(reward, qz.log_prob(z), baseline)  # (S, B)
        kl = D.kl_divergence(
            qz, self.prior()
        )  # (B,), closed form: differentiable in phi
        surrogate = (log_px_given_z + score).mean(0) - state.beta * kl
        reconstruction, kl = reward.mean(0), kl.detach()
        return training_metrics(-surrogate.mean(), reconstruction, kl)
