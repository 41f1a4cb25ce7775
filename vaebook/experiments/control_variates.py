"""Control variates measured where everything is exact (book/control_variates).

A batch of B inputs x_b, each with its own encoder logits (B, K) over K Bernoulli (or
one-hot categorical) latents and f(z) = log p(x_b | z) of one tiny decoder: small
enough that every expectation over q is a sum over its N = 2^K (or C^K) states.

- :func:`moments`, :func:`exact_gradient`, :func:`mean_baseline`,
  :func:`optimal_baseline`, :func:`reinforce_variance`: REINFORCE with a baseline,
  exactly: its mean, the variance-optimal constant b* = E[f |s|^2] / E[|s|^2] with
  s = grad log q(z), and the variance at any baseline.
- :func:`disarm_exact_mean`: DisARM's expectation over the joint law of its
  antithetic pair, with no Monte Carlo error.
- :func:`vimco_bound`, :func:`vimco_exact_gradient`: the S-sample bound
  E log (1/S) sum_s w_s and its gradient, summed over every multiset of S states
  (the bound is symmetric in the samples, so counts with multinomial weights suffice).
- :func:`surrogate_estimates`: R independent estimates from any estimator with a
  ``surrogate`` (:mod:`vaebook.discrete`), each one call: S decoder passes.
- :func:`estimates` and :func:`error_table`: every method at the same number of
  decoder passes, and its squared bias, variance and mean squared error to the
  exact gradient (the biased straight-through and Gumbel-softmax included).

Shapes: R estimates, S samples (decoder passes), B inputs, K latents, C classes,
N states, D pixels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import pandas as pd
import torch
import torch.nn.functional as F
from torch import distributions as D

from .. import control_variates as cv
from ..discrete import get_estimator
from ..threads import one_thread
from .enumeration import enumerate_states, gradient_samples

BASELINES = ("none", "running mean c", "NVIL b(x) = E[f|x]", "optimal b*(x)")
METHODS = (
    "REINFORCE",
    "RLOO",
    "VIMCO",
    "DisARM",
    "straight-through",
    "Gumbel-softmax tau 0.5",
)
BIASED = ("straight-through", "Gumbel-softmax tau 0.5")


class Toy(NamedTuple):
    """The enumerable problem: ``logits`` (B, K) (or (B, K, C)), ``f`` mapping z
    (..., M, K) -> (..., M) for any M that is a multiple of B (the inputs repeat
    along that axis), ``log_prior`` the uniform prior's log p(z) (..., M)."""

    logits: torch.Tensor
    f: Callable[[torch.Tensor], torch.Tensor]
    log_prior: Callable[[torch.Tensor], torch.Tensor]
    categorical: bool


def toy_batch(
    num_inputs: int = 4,
    num_latents: int = 3,
    data_dim: int = 24,
    num_classes: int | None = None,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Toy:
    """B = ``num_inputs`` binary x_b drawn from p(x | z*_b) of a random decoder
    p(x|z) = prod_d Bernoulli(x_d; sigmoid(W z + b)_d) (W, b standard normal), their
    encoder logits N(0, 1), and f(z) = log p(x_b | z): defined for any real z, so the
    relaxed estimators can evaluate it inside [0, 1]. Categorical (``num_classes``
    C): z is one-hot (K, C) and W acts on its flattening."""
    g = torch.Generator().manual_seed(seed)
    width = num_latents * (num_classes or 1)
    w = torch.randn(data_dim, width, generator=g, dtype=dtype)
    bias = torch.randn(data_dim, generator=g, dtype=dtype)
    z_star = torch.randint(0, 2, (num_inputs, width), generator=g).to(dtype)
    x = torch.bernoulli(torch.sigmoid(z_star @ w.T + bias), generator=g)  # (B, D)
    shape = (num_inputs, num_latents) + ((num_classes,) if num_classes else ())
    logits = torch.randn(shape, generator=g, dtype=dtype)
    event = 2 if num_classes else 1  # the trailing axes of one input's z

    def f(z: torch.Tensor) -> torch.Tensor:
        flat = z.flatten(-event) if num_classes else z  # (..., M, K C)
        pixel_logits = flat @ w.T + bias  # (..., M, D)
        targets = x.repeat(pixel_logits.shape[-2] // num_inputs, 1)
        return -F.binary_cross_entropy_with_logits(
            pixel_logits, targets.expand_as(pixel_logits), reduction="none"
        ).sum(-1)

    def log_prior(z: torch.Tensor) -> torch.Tensor:  # uniform: Bernoulli(1/2)^K
        states = num_classes or 2
        value = -num_latents * math.log(states)
        return torch.full(z.shape[: z.dim() - event], value, dtype=z.dtype)

    return Toy(logits, f, log_prior, num_classes is not None)


# --- exact moments by enumeration -----------------------------------------------------


class Moments(NamedTuple):
    """Every state of every input: ``q`` (N, B) its probability, ``f`` (N, B),
    ``score`` (N, B, K[, C]) = grad_logits log q(z) = z - probs."""

    q: torch.Tensor
    f: torch.Tensor
    score: torch.Tensor


def all_states(toy: Toy) -> torch.Tensor:
    """(N, B, K[, C]): every state, for each input."""
    b, *shape = toy.logits.shape
    states = enumerate_states(*shape, dtype=toy.logits.dtype)
    return states.unsqueeze(1).expand(-1, b, *shape)


def moments(toy: Toy) -> Moments:
    """q, f and the score at every state (exact, no sampling)."""
    z = all_states(toy)
    q = cv.latent_log_prob(toy.logits, z, toy.categorical).exp()
    probs = (
        torch.softmax(toy.logits, -1) if toy.categorical else torch.sigmoid(toy.logits)
    )
    return Moments(q, toy.f(z), z - probs)


def _sum_latents(t: torch.Tensor, toy: Toy) -> torch.Tensor:
    """Sum over the latent axes of one input: (..., B, K[, C]) -> (..., B)."""
    return t.sum((-2, -1)) if toy.categorical else t.sum(-1)


def exact_gradient(toy: Toy) -> torch.Tensor:
    """d/dlogits of sum_b E_q[f], (B, K[, C]): the score-function identity
    E[f s] summed over the states (equal to autograd through the enumeration)."""
    m = moments(toy)
    return torch.einsum("nb,nb...->b...", m.q * m.f, m.score)


def mean_baseline(toy: Toy) -> torch.Tensor:
    """E_q[f | x_b] (B,): what NVIL's least-squares baseline b(x) fits."""
    m = moments(toy)
    return (m.q * m.f).sum(0)


def optimal_baseline(toy: Toy) -> torch.Tensor:
    """The variance-optimal constant baseline for each input (B,):
    b* = E[f |s|^2] / E[|s|^2], s = grad log q(z)."""
    m = moments(toy)
    norm2 = _sum_latents(m.score**2, toy)  # (N, B)
    return (m.q * m.f * norm2).sum(0) / (m.q * norm2).sum(0)


def reinforce_variance(toy: Toy, baseline: torch.Tensor | float) -> torch.Tensor:
    """The exact trace of the covariance of one REINFORCE estimate
    (f(z) - b) grad log q(z), for each input (B,): E[(f - b)^2 |s|^2] - |grad|^2."""
    m = moments(toy)
    norm2 = _sum_latents(m.score**2, toy)
    second = (m.q * (m.f - baseline) ** 2 * norm2).sum(0)
    return second - _sum_latents(exact_gradient(toy) ** 2, toy)


def fit_baselines(
    toy: Toy, steps: int = 400, lr: float = 0.05, num_samples: int = 16, seed: int = 0
) -> torch.Tensor:
    """NVIL's least squares, one parameter per input: SGD on
    mean_s (f(z_s) - b(x))^2, z_s ~ q(z | x), ``num_samples`` fresh samples a step;
    the minimizer is E_q[f | x] (:func:`mean_baseline`). Returns b (B,)."""
    torch.manual_seed(seed)
    b = torch.zeros(toy.logits.shape[0], dtype=toy.logits.dtype, requires_grad=True)
    optimizer = torch.optim.SGD([b], lr=lr)
    q = (D.OneHotCategorical if toy.categorical else D.Bernoulli)(logits=toy.logits)
    with one_thread():
        for _ in range(steps):
            loss = (toy.f(q.sample((num_samples,))) - b).pow(2).mean(0).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return b.detach()


def baseline_values(toy: Toy) -> dict[str, torch.Tensor]:
    """The baselines the chapter compares, one value per input (B,): none, one
    running mean c for every input (the mean of E[f | x] over the inputs), NVIL's
    least-squares optimum b(x) = E[f | x], and the variance-optimal b*(x)."""
    mean = mean_baseline(toy)
    return dict(
        zip(
            BASELINES,
            (
                torch.zeros_like(mean),
                mean.mean().expand_as(mean),
                mean,
                optimal_baseline(toy),
            ),
        )
    )


def straight_through_mean(toy: Toy) -> torch.Tensor:
    """The expectation of the straight-through estimate, E_q[(df/dz)(z)] dp/dlogits
    (B, K[, C]), by enumeration (as
    :func:`vaebook.experiments.enumeration.exact_straight_through`, for each input):
    minus :func:`exact_gradient` it is the bias, with no Monte Carlo error."""
    z = all_states(toy).requires_grad_(True)
    (df_dz,) = torch.autograd.grad(toy.f(z).sum(), z)  # (N, B, K[, C])
    q = cv.latent_log_prob(toy.logits, z.detach(), toy.categorical).exp()  # (N, B)
    mean_df_dz = torch.einsum("nb,nb...->b...", q, df_dz)
    logits = toy.logits.detach().requires_grad_(True)
    p = torch.softmax(logits, -1) if toy.categorical else torch.sigmoid(logits)
    (grad,) = torch.autograd.grad((p * mean_df_dz).sum(), logits)
    return grad


# --- DisARM, exactly ------------------------------------------------------------------


def pair_law(logits: torch.Tensor) -> torch.Tensor:
    """The joint law of one latent's antithetic pair (b_k, b'_k), b = 1[u < p],
    b' = 1[1 - u < p]: (..., 2, 2) indexed [b_k, b'_k]:
    P(1, 1) = max(0, 2p - 1), P(1, 0) = P(0, 1) = min(p, 1 - p),
    P(0, 0) = max(0, 1 - 2p)."""
    p = torch.sigmoid(logits)
    low = torch.minimum(p, 1 - p)
    row0 = torch.stack([(1 - 2 * p).clamp(min=0), low], -1)
    row1 = torch.stack([low, (2 * p - 1).clamp(min=0)], -1)
    return torch.stack([row0, row1], -2)


def disarm_exact_mean(toy: Toy) -> torch.Tensor:
    """E[DisARM's gradient] (B, K): the sum over all 4^K antithetic pairs of their
    probability (:func:`pair_law`, independent over the latents) times
    (1/2) (f(b) - f(b')) (-1)^{b'_k} 1[b_k != b'_k] sigmoid(|a_k|)."""
    b_count, k = toy.logits.shape
    bits = enumerate_states(2 * k, dtype=toy.logits.dtype)  # (4^K, 2K)
    b, b_anti = bits[:, :k], bits[:, k:]  # (P, K) each
    law = pair_law(toy.logits)  # (B, K, 2, 2)
    i, j = b.long(), b_anti.long()
    prob = law[:, torch.arange(k), i, j].prod(-1).T  # (P, B)
    pair = torch.stack([b, b_anti]).unsqueeze(2).expand(2, -1, b_count, k)
    fz = toy.f(pair)  # (2, P, B)
    weight = cv.disarm_weight(toy.logits, pair)  # (P, B, K)
    return torch.einsum("pb,pbk->bk", prob * 0.5 * (fz[0] - fz[1]), weight)


# --- VIMCO's S-sample bound, exactly --------------------------------------------------


def multisets(num_states: int, num_samples: int) -> torch.Tensor:
    """Every multiset of S states as counts (M, N), M = C(N + S - 1, S)."""
    combos = itertools.combinations_with_replacement(range(num_states), num_samples)
    index = torch.tensor(list(combos))  # (M, S)
    return F.one_hot(index, num_states).sum(1)


def vimco_bound(toy: Toy, num_samples: int, logits: torch.Tensor | None = None):
    """E_{z_1..S ~ q} log (1/S) sum_s w_s, w = exp(f + log p - log q), summed over the
    inputs: a scalar, differentiable in ``logits`` (default the toy's). The bound is a
    function of the counts c_n of each state, whose probability is multinomial:
    S! / prod c_n! prod q_n^{c_n}."""
    logits = toy.logits if logits is None else logits
    z = all_states(toy)  # (N, B, K)
    log_q = cv.latent_log_prob(logits, z, toy.categorical)  # (N, B)
    log_w = toy.f(z) + toy.log_prior(z) - log_q
    counts = multisets(len(z), num_samples).to(log_q.dtype)  # (M, N)
    log_coef = math.lgamma(num_samples + 1) - torch.lgamma(counts + 1).sum(-1)
    log_prob = log_coef.unsqueeze(-1) + counts @ log_q  # (M, B)
    # log sum_n c_n w_n, with log 0 = -inf where c_n = 0
    log_sum = torch.logsumexp(counts.log().unsqueeze(-1) + log_w, 1)  # (M, B)
    return (log_prob.exp() * (log_sum - math.log(num_samples))).sum()


def vimco_exact_gradient(toy: Toy, num_samples: int) -> torch.Tensor:
    """d/dlogits of :func:`vimco_bound`: (B, K[, C])."""
    logits = toy.logits.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(vimco_bound(toy, num_samples, logits), logits)
    return grad


# --- Monte Carlo estimates ------------------------------------------------------------


def _copies(toy: Toy, num_estimates: int) -> torch.Tensor:
    """The logits repeated R times along the batch axis: (R B, K[, C]), a leaf."""
    return toy.logits.detach().repeat(num_estimates, *[1] * (toy.logits.dim() - 1))


def _gradient(objective: torch.Tensor, logits: torch.Tensor, toy: Toy):
    (grad,) = torch.autograd.grad(objective.sum(), logits)
    return grad.unflatten(0, (-1, toy.logits.shape[0]))  # (R, B, K[, C])


def surrogate_estimates(
    estimator, toy: Toy, num_estimates: int, baseline=0.0, **kwargs
) -> torch.Tensor:
    """R independent estimates of d/dlogits E_q[f] (or, for VIMCO, of its bound)
    (R, B, K[, C]) from ``estimator.surrogate``: each one call, S = its
    ``num_samples`` decoder passes. ``baseline`` per input (B,) or a number."""
    logits = _copies(toy, num_estimates).requires_grad_(True)
    if torch.is_tensor(baseline):
        baseline = baseline.repeat(num_estimates)
    s = estimator.surrogate(
        logits, toy.f, baseline=baseline, log_prior=toy.log_prior, **kwargs
    )
    return _gradient(s.objective, logits, toy)


def reinforce_estimates(
    toy: Toy, num_estimates: int, num_samples: int, baseline=0.0
) -> torch.Tensor:
    """REINFORCE with a fixed baseline, the mean of S single-sample estimates
    (:func:`vaebook.control_variates.reinforce`): (R, B, K[, C])."""
    logits = _copies(toy, num_estimates).requires_grad_(True)
    q = (D.OneHotCategorical if toy.categorical else D.Bernoulli)(logits=logits)
    if torch.is_tensor(baseline):
        baseline = baseline.repeat(num_estimates)
    z = q.sample((num_samples,))
    s = cv.reinforce(logits, toy.f, z, baseline, categorical=toy.categorical)
    return _gradient(s.objective, logits, toy)


def estimates(
    method: str,
    toy: Toy,
    passes: int,
    num_estimates: int,
    baseline: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """R estimates (R, B, K[, C]) of ``method`` (one of :data:`METHODS`) at ``passes``
    decoder passes each: REINFORCE, straight-through and Gumbel-softmax average
    ``passes`` single-sample estimates, DisARM ``passes / 2`` pairs (``passes``
    even; a KeyError for categorical latents), RLOO and VIMCO use S = ``passes``
    samples."""
    r = num_estimates
    if method == "REINFORCE":
        return reinforce_estimates(toy, r, passes, baseline)
    if method in ("RLOO", "VIMCO"):
        estimator = get_estimator(method.lower(), toy.categorical)(num_samples=passes)
        return surrogate_estimates(estimator, toy, r)
    if method == "DisARM":
        if passes % 2:
            raise ValueError(f"DisARM uses pairs: passes must be even, got {passes}")
        disarm = get_estimator("disarm", toy.categorical)()  # Bernoulli only
        pairs = surrogate_estimates(disarm, toy, r * (passes // 2))
        return pairs.unflatten(0, (passes // 2, r)).mean(0)
    if method in BIASED:
        name = "straight-through" if method == "straight-through" else "gumbel-softmax"
        estimator = get_estimator(name, toy.categorical).at(temperature=0.5)
        one = gradient_samples(estimator, toy.logits, toy.f, r * passes)
        return one.unflatten(0, (passes, r)).mean(0)
    raise KeyError(f"unknown method {method!r}; known: {METHODS}")


def errors(samples: torch.Tensor, exact: torch.Tensor) -> dict[str, float]:
    """Squared bias |mean - exact|^2 (less its Monte Carlo part, trace Cov / R),
    the variance (trace of the covariance of one estimate, over every coordinate of
    every input) and their sum, the mean squared error of one estimate."""
    n = len(samples)
    variance = float(samples.var(0).sum())
    raw = float(((samples.mean(0) - exact) ** 2).sum())
    bias_sq = max(raw - variance / n, 0.0)
    return {"bias_sq": bias_sq, "variance": variance, "mse": bias_sq + variance}


def error_table(
    toy: Toy,
    passes: list[int],
    methods: tuple[str, ...] = METHODS,
    baselines: tuple[str, ...] = BASELINES,
    num_estimates: int = 2000,
    seed: int = 0,
    vimco_up_to: int = 16,
) -> pd.DataFrame:
    """One row per (method, baseline, passes): squared bias, variance and MSE to the
    exact gradient, and ``relative`` = MSE / |exact|^2. REINFORCE once per baseline
    of :func:`baseline_values`, the others with baseline "-". VIMCO's exact
    gradient is its own S-sample bound's (:func:`vimco_exact_gradient`), the
    others' that of E_q[f] (:func:`exact_gradient`); VIMCO only for S up to
    ``vimco_up_to`` (its enumeration grows as C(N + S - 1, S))."""
    torch.manual_seed(seed)
    with one_thread():
        return pd.DataFrame(
            _error_rows(toy, passes, methods, baselines, num_estimates, vimco_up_to)
        )


def _error_rows(toy, passes, methods, baselines, num_estimates, vimco_up_to):
    exact = exact_gradient(toy)
    values = baseline_values(toy)
    rows = []
    for s in passes:
        with_vimco = "VIMCO" in methods and s <= vimco_up_to
        vimco_exact = vimco_exact_gradient(toy, s) if with_vimco else None
        for method in methods:
            if method == "VIMCO" and not with_vimco:
                continue
            target = vimco_exact if method == "VIMCO" else exact
            for name in baselines if method == "REINFORCE" else ("-",):
                b = values[name] if method == "REINFORCE" else 0.0
                samples = estimates(method, toy, s, num_estimates, b)
                row = errors(samples.detach(), target)
                row["relative"] = row["mse"] / float((target**2).sum())
                rows.append({"method": method, "baseline": name, "S": s, **row})
    return rows
