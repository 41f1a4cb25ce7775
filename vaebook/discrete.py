"""Discrete latent variables: gradient estimators and the binary / categorical VAEs (notes 2).

Shapes: S samples, B batch, D = 784 pixels, K latent variables, C classes.

Estimators are registered by name. A **Bernoulli estimator** maps
``(logits (..., K), params) -> z (..., K)``, a differentiable stand-in for
z ~ Bernoulli(sigmoid(logits)); a **categorical estimator** maps
``(logits (..., K, C), params) -> z (..., K, C)``, one-hot or relaxed. ``params``
holds the current (already annealed) hyperparameters, e.g.
``{"temperature": 0.7, "smoothing_beta": 5.0, "base": e}``; each estimator reads
what it needs.

- ``naive``: the step function z = 1[u >= 1 - p] of uniform noise (notes 2): the
  right distribution, but dz/dlogits = 0 almost everywhere, so no gradient reaches
  the encoder through the reconstruction term.
- ``straight-through`` (Bengio et al. 2013; notes 2.1): forward a discrete sample,
  backward the identity dz/dp = 1 (p = q(z=1|x), or the class probabilities).
- ``gumbel-softmax`` (Jang et al. 2016; Maddison et al. 2017, notes 2.2):
  y = softmax((logits + g) / tau), g ~ Gumbel(0, 1); for Bernoulli latents the
  binary concrete sigmoid((logits + log u - log(1 - u)) / tau).
- ``straight-through-gumbel``: forward the one-hot arg max of the same noise (an
  exact sample from q), backward the Gumbel-softmax gradient.
- ``score-function`` (REINFORCE, Williams 1992): forward a discrete sample with no
  pathwise gradient; the model adds the surrogate (f(z) - b).detach() * log q(z|x),
  b a baseline, whose gradient is the score-function estimate.
  Estimators flagged ``score_function = True`` get that treatment.
- ``smoothing-f1``, ``smoothing-f2``, ``smoothing-f3`` and the published
  ``dvae-spike-exp``, ``dvaepp-overlapping-exp``, ``dvae-sharp-power`` (notes 2.3;
  :mod:`vaebook.smoothing`): zeta = f(beta, p, u), continuous in [0, 1].

Estimators flagged ``relaxed = True`` (Gumbel-softmax, smoothers) return values
strictly inside [0, 1]; the others return exact discrete samples in the forward pass.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from . import smoothing

ESTIMATORS: dict[str, Callable] = {}  # Bernoulli estimators: logits (..., K) -> z (..., K)
CATEGORICAL_ESTIMATORS: dict[str, Callable] = {}  # logits (..., K, C) -> z (..., K, C)


def register_estimator(name: str, categorical: bool = False, relaxed: bool = False,
                       score_function: bool = False):
    """Decorator: add a Bernoulli (default) or categorical estimator under ``name``."""
    table = CATEGORICAL_ESTIMATORS if categorical else ESTIMATORS

    def add(fn: Callable) -> Callable:
        if name in table:
            raise ValueError(f"an estimator is already registered as {name!r}")
        table[name] = fn
        fn.estimator_name, fn.relaxed, fn.score_function = name, relaxed, score_function
        return fn
    return add


def get_estimator(name: str, categorical: bool = False) -> Callable:
    table = CATEGORICAL_ESTIMATORS if categorical else ESTIMATORS
    if name not in table:
        kind = "categorical" if categorical else "Bernoulli"
        raise KeyError(f"no {kind} estimator {name!r}; registered: {sorted(table)}")
    return table[name]


# --- noise and small helpers ---------------------------------------------------------------

def _uniform(shape, like: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    return torch.rand(shape, device=like.device, dtype=like.dtype).clamp(eps, 1 - eps)


def gumbel_noise(like: torch.Tensor) -> torch.Tensor:
    """g = -log(-log u), u ~ U(0, 1): standard Gumbel noise of ``like``'s shape."""
    return -torch.log(-torch.log(_uniform(like.shape, like)))


def logistic_noise(like: torch.Tensor) -> torch.Tensor:
    """log u - log(1 - u): the difference of two Gumbels, standard logistic."""
    u = _uniform(like.shape, like)
    return torch.log(u) - torch.log1p(-u)


def straight_through_value(hard: torch.Tensor, soft: torch.Tensor) -> torch.Tensor:
    """Forward ``hard``, backward the gradient of ``soft`` (the identity onto it)."""
    return soft + (hard - soft).detach()


def one_hot_argmax(y: torch.Tensor) -> torch.Tensor:
    """(..., C) -> the one-hot vector of the arg max along the last axis."""
    return F.one_hot(y.argmax(-1), y.shape[-1]).to(y.dtype)


def _temperature(params: dict) -> float:
    tau = params.get("temperature")
    if tau is None or tau <= 0:
        raise ValueError(f"the Gumbel-softmax needs a positive params['temperature'], got {tau!r}")
    return tau


# --- Bernoulli estimators: logits (..., K) -> z (..., K) ------------------------------------

def step(t: torch.Tensor) -> torch.Tensor:
    """The unit step 1[t >= 0] written as (1 + sign t) / 2 (1/2 at t = 0, a null event), so autograd
    sees it: its derivative is 0 wherever it exists, which is what the notes' argument is about."""
    return (1 + torch.sign(t)) / 2


@register_estimator("naive")
def naive_bernoulli(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """z = 1[u >= 1 - p], u ~ U(0, 1) (notes 2): exact samples, dz/dlogits = 0 almost everywhere."""
    u = _uniform(logits.shape, logits)
    return step(u - (1 - torch.sigmoid(logits)))


@register_estimator("straight-through")
def straight_through_bernoulli(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """Forward z ~ Bernoulli(p), backward dz/dp = 1 (so dz/dlogits = p(1 - p))."""
    p = torch.sigmoid(logits)
    return straight_through_value(torch.bernoulli(p.detach()), p)


@register_estimator("gumbel-softmax", relaxed=True)
def binary_concrete(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """The binary concrete relaxation sigmoid((logits + logistic noise) / tau), in (0, 1)."""
    return torch.sigmoid((logits + logistic_noise(logits)) / _temperature(params))


@register_estimator("straight-through-gumbel")
def straight_through_binary_concrete(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """Forward 1[y > 1/2] (an exact Bernoulli sample), backward the binary concrete gradient."""
    y = binary_concrete(logits, params)
    return straight_through_value((y > 0.5).to(y.dtype), y)


@register_estimator("score-function", score_function=True)
def score_function_bernoulli(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """A discrete sample with no pathwise gradient; the model adds the REINFORCE surrogate."""
    return torch.bernoulli(torch.sigmoid(logits).detach())


def _smoothing_estimator(name: str) -> Callable:
    def estimator(logits: torch.Tensor, params: dict) -> torch.Tensor:
        extra = {"base": params["base"]} if name == "smoothing-f1" and "base" in params else {}
        return smoothing.smooth(name, logits, float(params["smoothing_beta"]), **extra)
    estimator.__doc__ = f"zeta = {name}(beta, sigmoid(logits), u), u ~ U(0, 1) (vaebook.smoothing)."
    return estimator


for _name in smoothing.SMOOTHERS:
    register_estimator(_name, relaxed=True)(_smoothing_estimator(_name))


# --- categorical estimators: logits (..., K, C) -> z (..., K, C) ---------------------------

@register_estimator("naive", categorical=True)
def naive_categorical(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """Inverse-CDF sampling z = e_j for u in [p_1 + ... + p_{j-1}, p_1 + ... + p_j) (notes 2):
    z_j = step(u - P_{j-1}) - step(u - P_j), exact one-hot samples with zero gradient a.e."""
    cdf = torch.softmax(logits, -1).cumsum(-1)  # P_1 .. P_C (P_C = 1 up to rounding)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf[..., :-1], torch.full_like(cdf[..., :1], 2.0)], -1)
    u = _uniform(logits.shape[:-1] + (1,), logits)
    above = step(u - cdf)  # (..., C + 1): 1, ..., 1, 0, ..., 0
    return above[..., :-1] - above[..., 1:]


@register_estimator("straight-through", categorical=True)
def straight_through_categorical(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """Forward a one-hot sample from softmax(logits), backward dz/dp = identity."""
    p = torch.softmax(logits, -1)
    hard = F.one_hot(torch.multinomial(p.detach().reshape(-1, p.shape[-1]), 1).squeeze(-1), p.shape[-1])
    return straight_through_value(hard.reshape(p.shape).to(p.dtype), p)


@register_estimator("gumbel-softmax", categorical=True, relaxed=True)
def gumbel_softmax(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """y = softmax((logits + g) / tau), g ~ Gumbel(0, 1): a point inside the simplex."""
    return torch.softmax((logits + gumbel_noise(logits)) / _temperature(params), -1)


@register_estimator("straight-through-gumbel", categorical=True)
def straight_through_gumbel(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """Forward one_hot(argmax(logits + g)) (an exact sample), backward the Gumbel-softmax gradient."""
    y = gumbel_softmax(logits, params)
    return straight_through_value(one_hot_argmax(y), y)


@register_estimator("score-function", categorical=True, score_function=True)
def score_function_categorical(logits: torch.Tensor, params: dict) -> torch.Tensor:
    """A one-hot sample with no pathwise gradient; the model adds the REINFORCE surrogate."""
    return D.OneHotCategorical(logits=logits.detach()).sample()


# --- the distributions of discrete latents ---------------------------------------------------

class DiscreteLatents(D.Independent):
    """Independent discrete latents (Bernoulli or one-hot categorical) as one distribution.

    There is no reparameterization gradient: ``rsample`` returns a plain sample
    and is allowed only where no gradient is recorded (evaluation: the ELBO and
    the importance-weighted bound of :mod:`vaebook.evaluation`); training goes
    through an estimator instead.
    """

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        if torch.is_grad_enabled():
            raise RuntimeError("discrete latents have no reparameterization gradient; train with an estimator "
                               f"from vaebook.discrete.ESTIMATORS ({sorted(ESTIMATORS)})")
        return self.sample(sample_shape)


def kl_per_latent(q: DiscreteLatents, p: DiscreteLatents) -> torch.Tensor:
    """KL(q(z_k) || p(z_k)) for each latent variable, closed form, broadcasting p over q's batch: (..., K)."""
    shape = torch.broadcast_shapes(q.base_dist.batch_shape, p.base_dist.batch_shape)
    return D.kl_divergence(q.base_dist.expand(shape), p.base_dist.expand(shape))


@D.register_kl(DiscreteLatents, DiscreteLatents)
def _kl_discrete_latents(q: DiscreteLatents, p: DiscreteLatents) -> torch.Tensor:
    return kl_per_latent(q, p).sum(-1)  # torch's own KLs need equal batch shapes; this broadcasts the prior


def bernoulli_latents(logits: torch.Tensor) -> DiscreteLatents:
    """q(z|x) = prod_k Bernoulli(z_k; sigmoid(logits_k)): batch (...,), event (K,)."""
    return DiscreteLatents(D.Bernoulli(logits=logits), 1)


def categorical_latents(logits: torch.Tensor) -> DiscreteLatents:
    """q(z|x) = prod_k OneHotCategorical(z_k; softmax(logits_k)): batch (...,), event (K, C)."""
    return DiscreteLatents(D.OneHotCategorical(logits=logits), 1)


def log_prob_of(logits: torch.Tensor, z: torch.Tensor, categorical: bool) -> torch.Tensor:
    """log q(z) for independent latents, summed over them: (...,). z may be any sample shape."""
    if categorical:
        return (z * torch.log_softmax(logits, -1)).sum((-2, -1))
    return -F.binary_cross_entropy_with_logits(logits.expand_as(z), z, reduction="none").sum(-1)


# --- exact gradients on small models and per-sample estimates ------------------------------

def enumerate_states(num_latents: int, num_classes: int | None = None, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> torch.Tensor:
    """Every z: (2^K, K) binary vectors, or (C^K, K, C) one-hot tuples when ``num_classes`` is given."""
    if num_classes is None:
        states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=num_latents)))
    else:
        idx = torch.tensor(list(itertools.product(range(num_classes), repeat=num_latents)))
        states = F.one_hot(idx, num_classes)
    return states.to(dtype=dtype, device=device)


def exact_expectation(logits: torch.Tensor, f: Callable, categorical: bool = False) -> torch.Tensor:
    """E_{z ~ q(logits)}[f(z)] by enumeration, differentiable in ``logits`` ((K,) or (K, C))."""
    shape = logits.shape if categorical else logits.shape[-1:]
    states = enumerate_states(*shape, dtype=logits.dtype, device=logits.device)
    weights = log_prob_of(logits, states, categorical).exp()  # (N,)
    return (weights * f(states)).sum()


def exact_gradient(logits: torch.Tensor, f: Callable, categorical: bool = False) -> torch.Tensor:
    """d/dlogits E_q[f(z)], by enumeration of every z (small K only)."""
    logits = logits.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(exact_expectation(logits, f, categorical), logits)
    return grad


def gradient_samples(name: str, logits: torch.Tensor, f: Callable, params: dict, num_samples: int,
                     categorical: bool = False) -> torch.Tensor:
    """``num_samples`` independent single-sample estimates of d/dlogits E_q[f(z)]: (S, *logits.shape).

    ``f`` maps z (S, ...) to (S,) and must be differentiable in z for the pathwise
    estimators. The score-function estimate is f(z) d log q(z) / dlogits with a
    leave-one-out baseline (the mean of f over the other S - 1 samples), which
    keeps it unbiased.
    """
    estimator = get_estimator(name, categorical)
    copies = logits.detach().expand(num_samples, *logits.shape).clone().requires_grad_(True)
    z = estimator(copies, params)
    fz = f(z)  # (S,)
    surrogate = fz
    if estimator.score_function:
        baseline = (fz.sum() - fz) / max(num_samples - 1, 1) if num_samples > 1 else torch.zeros_like(fz)
        surrogate = fz + (fz - baseline).detach() * log_prob_of(copies, z.detach(), categorical)
    (grad,) = torch.autograd.grad(surrogate.sum(), copies, allow_unused=True)
    return grad if grad is not None else torch.zeros_like(copies)


def bias_and_variance(samples: torch.Tensor, exact: torch.Tensor) -> dict[str, float]:
    """Squared bias ||mean - exact||^2, its standard error, and the total variance (sum over coordinates)."""
    n = len(samples)
    mean = samples.mean(0)
    var = samples.var(0)
    return {"bias_norm": float((mean - exact).norm()), "bias_sq": float(((mean - exact) ** 2).sum()),
            "variance": float(var.sum()), "mean_se_norm": float((var.sum() / n).sqrt()),
            "cosine": float(F.cosine_similarity(mean.flatten(), exact.flatten(), dim=0))}
