"""Comparing the discrete-latent gradient estimators (book/comparing_estimators).

Two kinds of evidence, kept apart:

- **Trained models**: the same binary VAE (784-512-256-200, 200 Bernoulli latents)
  trained with each estimator for the same wall-clock budget. :func:`training_summary`
  reads what a checkpoint's history says (epochs, seconds per epoch, first and last test
  -ELBO), :func:`final_params` the estimator's hyperparameters at the end of training,
  and :func:`test_bounds` recomputes the hard (exact discrete) and relaxed test -ELBO.
- **A small enumerable model**: E_q[f(z)] over K Bernoulli latents (2^K states), whose
  exact gradient :func:`vaebook.experiments.enumeration.exact_gradient` gives by
  enumeration; :func:`gradient_table` measures each estimator's bias and variance
  against it from S single-sample estimates.

Shapes: S samples, B batch, D pixels, K latents.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import distributions as D

from ..evaluation import mean_and_se
from .enumeration import bias_and_variance, exact_gradient, gradient_samples


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator at fixed hyperparameters: a name of
    :data:`vaebook.discrete.ESTIMATORS` and its params."""

    label: str
    estimator: str
    params: dict = field(default_factory=dict)


# --- the small enumerable model -------------------------------------------------------


def toy_problem(
    num_latents: int = 8,
    data_dim: int = 24,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, Callable]:
    """Encoder logits (K,) and f(z) = log p(x|z) of a tiny random decoder, for a fixed
    binary x.

    The decoder is p(x|z) = prod_d Bernoulli(x_d; sigmoid(W z + b)_d) with W (D, K) and
    b (D,) standard normal, and x (D,) one draw from it at a random binary z*; the
    logits of q are N(0, 1). f is defined for any real z, so relaxed estimators can
    evaluate it between 0 and 1, as the decoder of a trained VAE does. ``f`` maps z
    (..., K) -> (...,).
    """
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(data_dim, num_latents, generator=g, dtype=dtype)
    b = torch.randn(data_dim, generator=g, dtype=dtype)
    z_star = torch.randint(0, 2, (num_latents,), generator=g).to(dtype)
    x = torch.bernoulli(torch.sigmoid(w @ z_star + b), generator=g)
    logits = torch.randn(num_latents, generator=g, dtype=dtype)

    def f(z: torch.Tensor) -> torch.Tensor:
        pixel_logits = z @ w.T + b  # (..., D)
        return -F.binary_cross_entropy_with_logits(
            pixel_logits, x.expand_as(pixel_logits), reduction="none"
        ).sum(-1)

    return logits, f


def score_function_no_baseline(
    logits: torch.Tensor, f: Callable, num_samples: int
) -> torch.Tensor:
    """Single-sample REINFORCE estimates f(z) d log q(z) / dlogits = f(z) (z -
    sigmoid(logits)), with no baseline: (S, K). Unbiased; its variance is what baselines
    are for."""
    return gradient_samples("score-function", logits, f, {}, num_samples, baseline=None)


def gradient_table(
    specs: list[EstimatorSpec],
    logits: torch.Tensor,
    f: Callable,
    num_samples: int = 4000,
    seed: int = 0,
) -> list[dict]:
    """One row per estimator: bias and variance of its single-sample estimate of
    d/dlogits E_q[f(z)].

    The exact gradient comes from enumerating all 2^K states. Each row holds the
    ``label``, ``estimator``, ``params``, ``bias_norm`` = ||mean - exact||, its Monte
    Carlo noise level ``mean_se_norm`` = sqrt(trace Cov / S) (what ``bias_norm`` is for
    an unbiased estimator, up to chance), their ratio ``bias_in_se``, ``relative_bias``
    = bias_norm / ||exact||, ``variance`` = trace of the covariance of one estimate,
    ``cosine`` between mean and exact gradient, and ``mse`` = ||bias||^2 + variance (the
    expected squared error of one estimate). The estimator
    ``"score-function-no-baseline"`` is REINFORCE without a baseline;
    ``"score-function"`` uses the leave-one-out baseline of
    :func:`vaebook.experiments.enumeration.gradient_samples`.
    """
    exact = exact_gradient(logits, f)
    rows = []
    for i, spec in enumerate(specs):
        torch.manual_seed(seed + i)
        if spec.estimator == "score-function-no-baseline":
            samples = score_function_no_baseline(logits, f, num_samples)
        else:
            samples = gradient_samples(
                spec.estimator, logits, f, spec.params, num_samples
            )
        stats = bias_and_variance(samples.detach(), exact)
        rows.append(
            {
                "label": spec.label,
                "estimator": spec.estimator,
                "params": dict(spec.params),
                **stats,
                "bias_in_se": stats["bias_norm"] / stats["mean_se_norm"]
                if stats["mean_se_norm"] > 0
                else math.inf,
                "relative_bias": stats["bias_norm"] / float(exact.norm()),
                "mse": stats["bias_sq"] + stats["variance"],
                "num_samples": num_samples,
            }
        )
    return rows


# --- the trained models ---------------------------------------------------------------


def final_params(config, history: list[dict]) -> dict:
    """The estimator's hyperparameters at the end of training, as the last epoch's test
    pass used them."""
    last = history[-1]
    return {
        "temperature": float(last.get("test_temperature", config.temperature)),
        "smoothing_beta": float(last.get("test_smoothing_beta", config.smoothing_beta)),
        "base": config.smoothing_base,
    }


def spec_for(label: str, config, history: list[dict]) -> EstimatorSpec:
    """The :class:`EstimatorSpec` of a trained model: its estimator at its
    end-of-training params."""
    return EstimatorSpec(label, config.estimator, final_params(config, history))


def training_summary(history: list[dict]) -> dict:
    """What a history says about a run: epochs, median seconds per epoch, total training
    seconds (the test passes excluded), the first and the last epoch's test -ELBO and
    relaxed -ELBO."""
    seconds = sorted(row["seconds"] for row in history)
    first, last = history[0], history[-1]
    return {
        "epochs": len(history),
        "seconds_per_epoch": seconds[len(seconds) // 2],
        "train_seconds": sum(seconds),
        "first_neg_elbo": first["test_neg_elbo"],
        "last_neg_elbo": last["test_neg_elbo"],
        "last_relaxed_neg_elbo": last.get("test_relaxed_neg_elbo"),
    }


@torch.no_grad()
def test_bounds(
    model, x: torch.Tensor, params: dict, num_samples: int = 1, batch_size: int = 1000
) -> dict:
    """Test -ELBO of a discrete VAE on ``x`` (N, D), per image averaged over
    ``num_samples`` draws.

    ``hard``: the decoder sees exact discrete samples z ~ q(z|x), a true bound on -log
    p(x) whatever estimator trained the model. ``relaxed``: it sees the estimator's z at
    ``params`` (the objective a relaxed estimator trains on; for exact-sample estimators
    the two coincide in distribution). Both use the closed-form KL(q(z|x) || p(z)).
    Returns means and standard errors over the N images.
    """
    model.eval()
    hard, relaxed = [], []
    for b in x.split(batch_size):
        logits = model.encoder_logits(b)
        qz = model.latents(logits)
        kl = D.kl_divergence(qz, model.prior())  # (B,)
        z_hard = qz.sample((num_samples,))  # (S, B, K)
        z_soft = model.estimator(logits.expand(num_samples, *logits.shape), params)
        hard.append(-(model.decode(z_hard).log_prob(b).mean(0) - kl))
        relaxed.append(-(model.decode(z_soft).log_prob(b).mean(0) - kl))
    hard, relaxed = torch.cat(hard), torch.cat(relaxed)
    return {**mean_and_se(hard=hard, relaxed=relaxed), "num_images": len(hard)}


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """A plain-text table: ``columns`` are (header, key, format spec); None prints as a
    dash."""
    cells = [[h for h, _, _ in columns]]
    for row in rows:
        cells.append(
            [
                "-" if row.get(k) is None else format(row[k], fmt)
                for _, k, fmt in columns
            ]
        )
    widths = [max(len(r[j]) for r in cells) for j in range(len(columns))]
    lines = [
        "  ".join(
            c.ljust(w) if j == 0 else c.rjust(w)
            for j, (c, w) in enumerate(zip(r, widths))
        )
        for r in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
