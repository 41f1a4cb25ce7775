"""Exact expectations and gradients over every state of a few discrete latents, and the
bias and variance of single-sample gradient estimates against them (notes 2; the
discrete-latent chapters and book/comparing_estimators).

Shapes: S samples, N = 2^K (or C^K) states, K latents, C classes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..discrete import Estimator, log_prob_of
from ..gradients import score_function_surrogate


def enumerate_states(
    num_latents: int,
    num_classes: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Every z: (2^K, K) binary vectors, or (C^K, K, C) one-hot tuples when
    ``num_classes`` is given."""
    if num_classes is None:
        states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=num_latents)))
    else:
        idx = torch.tensor(
            list(itertools.product(range(num_classes), repeat=num_latents))
        )
        states = F.one_hot(idx, num_classes)
    return states.to(dtype=dtype, device=device)


def exact_expectation(
    logits: torch.Tensor, f: Callable, categorical: bool = False
) -> torch.Tensor:
    """E_{z ~ q(logits)}[f(z)] by enumeration, differentiable in ``logits`` ((K,) or (K,
    C))."""
    shape = logits.shape if categorical else logits.shape[-1:]
    states = enumerate_states(*shape, dtype=logits.dtype, device=logits.device)
    weights = log_prob_of(logits, states, categorical).exp()  # (N,)
    return (weights * f(states)).sum()


def exact_gradient(
    logits: torch.Tensor, f: Callable, categorical: bool = False
) -> torch.Tensor:
    """d/dlogits E_q[f(z)], by enumeration of every z (small K only)."""
    logits = logits.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(exact_expectation(logits, f, categorical), logits)
    return grad


def gradient_samples(
    estimator: Estimator,
    logits: torch.Tensor,
    f: Callable,
    num_samples: int,
    baseline: str | float | None = "auto",
) -> torch.Tensor:
    """``num_samples`` independent single-sample estimates of d/dlogits E_q[f(z)]: (S,
    *logits.shape), from ``estimator`` (e.g. ``ESTIMATORS["gumbel-softmax"](0.5)``;
    a categorical one for logits (K, C)).

    ``f`` maps z (S, ...) to (S,) and must be differentiable in z for the pathwise
    estimators. The score-function estimate is (f(z) - b) d log q(z) / dlogits with
    the ``baseline`` b of :func:`vaebook.gradients.score_function_surrogate`;
    ``"auto"`` is the leave-one-out baseline (the mean of f over the other S - 1
    samples, which keeps it unbiased) for S > 1, none for S = 1.
    """
    copies = (
        logits.detach().expand(num_samples, *logits.shape).clone().requires_grad_(True)
    )
    z = estimator(copies)
    fz = f(z)  # (S,)
    surrogate = fz
    if estimator.score_function:
        if baseline == "auto":
            baseline = "leave-one-out" if num_samples > 1 else None
        log_q = log_prob_of(copies, z.detach(), estimator.categorical)
        surrogate = fz + score_function_surrogate(fz, log_q, baseline)
    (grad,) = torch.autograd.grad(surrogate.sum(), copies, allow_unused=True)
    return grad if grad is not None else torch.zeros_like(copies)


def bias_and_variance(samples: torch.Tensor, exact: torch.Tensor) -> dict[str, float]:
    """Squared bias ||mean - exact||^2, its standard error, and the total variance (sum
    over coordinates)."""
    n = len(samples)
    mean = samples.mean(0)
    var = samples.var(0)
    return {
        "bias_norm": float((mean - exact).norm()),
        "bias_sq": float(((mean - exact) ** 2).sum()),
        "variance": float(var.sum()),
        "mean_se_norm": float((var.sum() / n).sqrt()),
        "cosine": float(F.cosine_similarity(mean.flatten(), exact.flatten(), dim=0)),
    }


def exact_straight_through(
    logits: torch.Tensor, f, categorical: bool = False
) -> torch.Tensor:
    """The mean of the straight-through estimate, E_q[(df/dz)(z)] dp/dlogits, by
    enumeration of every z.

    Straight-through (Bengio et al. 2013; notes 2.1) forwards a discrete z ~ q and
    backpropagates as if dz/dlogits = dp/dlogits (p = sigmoid or softmax of ``logits``).
    Its expectation, computed here with no Monte Carlo error, minus
    :func:`exact_gradient` is its bias. ``logits`` (K,) or (K, C);
    ``f`` maps z (N, K) or (N, K, C) to (N,), differentiable in z.
    """
    shape = logits.shape if categorical else logits.shape[-1:]
    states = enumerate_states(
        *shape, dtype=logits.dtype, device=logits.device
    ).requires_grad_(True)
    (df_dz,) = torch.autograd.grad(
        f(states).sum(), states
    )  # (N, *shape): df/dz at every z
    weights = log_prob_of(
        logits.detach(), states.detach(), categorical
    ).exp()  # q(z): (N,)
    mean_df_dz = torch.einsum("n,n...->...", weights, df_dz)  # E_q[df/dz]
    logits = logits.detach().requires_grad_(True)
    p = torch.softmax(logits, -1) if categorical else torch.sigmoid(logits)
    (grad,) = torch.autograd.grad(
        (p * mean_df_dz).sum(), logits
    )  # the vector-Jacobian product with dp/dlogits
    return grad
