"""Discrete latent variables: gradient estimators and their distributions (notes 2).

Shapes: S samples, B batch, D = 784 pixels, K latent variables, C classes.

Every estimator is a distribution object in the style of ``torch.distributions``
(``rsample`` for the differentiable stand-in, ``sample`` for an exact discrete sample,
``log_prob`` where a density exists, argument checks): torch's own
``RelaxedBernoulli`` and ``RelaxedOneHotCategorical`` for the Gumbel-softmax, and
:class:`StraightThrough`, :class:`StepSample`, :class:`ScoreFunctionSample`,
:class:`StraightThroughGumbel` and :class:`Smoothed` where vaebook writes its own.
``get_estimator(name).distribution(logits, params)`` builds one; calling the
estimator, ``estimator(logits, params)``, is its ``rsample()``.

Estimators are registered by name. A **Bernoulli estimator** maps
``(logits (..., K), params) -> z (..., K)``, a differentiable stand-in for
z ~ Bernoulli(sigmoid(logits)); a **categorical estimator** maps
``(logits (..., K, C), params) -> z (..., K, C)``, one-hot or relaxed. ``params``
holds the current (already annealed) hyperparameters, e.g.
``{"temperature": 0.7, "sharpness": 5.0, "base": e}``; each estimator reads
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
  :mod:`vaebook.smoothing`): zeta = f(kappa, p, u), continuous in [0, 1], kappa the
  sharpness.

Enumeration, per-sample gradients and their bias and variance (what the chapters
measure) live in :mod:`vaebook.experiments.enumeration`.

Estimators flagged ``relaxed = True`` (Gumbel-softmax, smoothers) return values
strictly inside [0, 1]; the others return exact discrete samples in the forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch.distributions import constraints

from . import smoothing
from ._moved import forward_moved
from .annealing import positive_finite

ESTIMATORS: dict[str, Estimator] = {}  # Bernoulli: logits (..., K) -> z (..., K)
CATEGORICAL_ESTIMATORS: dict[str, Estimator] = {}  # logits (..., K, C) -> z (..., K, C)


class Estimator:
    """A named gradient estimator: ``distribution(logits, params)`` builds its
    distribution, and calling it, ``estimator(logits, params) -> z``, draws the
    differentiable z (``rsample``; a plain ``sample`` for the score function, whose
    gradient comes from a surrogate)."""

    def __init__(
        self,
        name: str,
        make: Callable,
        categorical: bool,
        relaxed: bool,
        score_function: bool,
    ):
        self.estimator_name, self.make, self.categorical = name, make, categorical
        self.relaxed, self.score_function = relaxed, score_function
        self.__doc__ = make.__doc__

    def distribution(self, logits: torch.Tensor, params: dict) -> D.Distribution:
        return self.make(logits, params)

    def __call__(self, logits: torch.Tensor, params: dict) -> torch.Tensor:
        q = self.make(logits, params)
        return q.rsample() if q.has_rsample else q.sample()

    def __repr__(self) -> str:
        kind = "categorical" if self.categorical else "Bernoulli"
        return f"<{kind} estimator {self.estimator_name!r}>"


def register_estimator(
    name: str,
    categorical: bool = False,
    relaxed: bool = False,
    score_function: bool = False,
):
    """Decorator: register ``make(logits, params) -> distribution`` as an estimator."""
    table = CATEGORICAL_ESTIMATORS if categorical else ESTIMATORS

    def add(make: Callable) -> Estimator:
        if name in table:
            raise ValueError(f"an estimator is already registered as {name!r}")
        table[name] = Estimator(name, make, categorical, relaxed, score_function)
        return table[name]

    return add


def get_estimator(name: str, categorical: bool = False) -> Estimator:
    table = CATEGORICAL_ESTIMATORS if categorical else ESTIMATORS
    if name not in table:
        kind = "categorical" if categorical else "Bernoulli"
        raise KeyError(f"no {kind} estimator {name!r}; registered: {sorted(table)}")
    return table[name]


# --- noise and small helpers ----------------------------------------------------------


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


def step(t: torch.Tensor) -> torch.Tensor:
    """The unit step 1[t >= 0] written as (1 + sign t) / 2 (1/2 at t = 0, a null
    event), so autograd sees it: its derivative is 0 wherever it exists (the notes'
    point)."""
    return (1 + torch.sign(t)) / 2


def _temperature(params: dict) -> float:
    return positive_finite(
        "the Gumbel-softmax temperature params['temperature']",
        params.get("temperature"),
    )


# --- the estimators' distributions ----------------------------------------------------


class _DiscreteSampler(D.Distribution):
    """q(z) = Bernoulli(sigmoid(logits)) (batch = logits.shape) or one-hot
    Categorical(softmax(logits)) (batch = logits.shape[:-1], event (C,)), sampled
    exactly by ``sample``; subclasses define how ``rsample`` passes gradients.
    ``log_prob`` is that of the discrete q (the forward values are exact samples)."""

    arg_constraints = {"logits": constraints.real}
    has_rsample = True

    def __init__(
        self, logits: torch.Tensor, categorical: bool = False, validate_args=None
    ):
        self.logits, self.categorical = logits, categorical
        self.exact = (D.OneHotCategorical if categorical else D.Bernoulli)(
            logits=logits, validate_args=validate_args
        )
        batch = logits.shape[:-1] if categorical else logits.shape
        event = logits.shape[-1:] if categorical else torch.Size()
        super().__init__(batch, event, validate_args=validate_args)

    @property
    def support(self):
        return self.exact.support

    @property
    def probs(self) -> torch.Tensor:
        return (
            torch.softmax(self.logits, -1)
            if self.categorical
            else torch.sigmoid(self.logits)
        )

    @property
    def mean(self) -> torch.Tensor:
        return self.probs

    def _logits(self, sample_shape) -> torch.Tensor:
        return self.logits.expand(*sample_shape, *self.logits.shape)

    def sample(self, sample_shape=()) -> torch.Tensor:
        return self.exact.sample(sample_shape)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return self.exact.log_prob(value)


class StepSample(_DiscreteSampler):
    """The naive sampler of the notes: z = 1[u >= 1 - p] (categorical: inverse CDF).
    Exact samples whose derivative in the logits is 0 almost everywhere."""

    def rsample(self, sample_shape=()) -> torch.Tensor:
        logits = self._logits(sample_shape)
        if not self.categorical:
            return step(_uniform(logits.shape, logits) - (1 - torch.sigmoid(logits)))
        # z_j = step(u - P_{j-1}) - step(u - P_j) with the CDF P_1 .. P_C
        cdf = torch.softmax(logits, -1).cumsum(-1)
        cdf = torch.cat(
            [
                torch.zeros_like(cdf[..., :1]),
                cdf[..., :-1],
                torch.full_like(cdf[..., :1], 2.0),
            ],
            -1,
        )
        above = step(_uniform(logits.shape[:-1] + (1,), logits) - cdf)  # 1 .. 1, 0 .. 0
        return above[..., :-1] - above[..., 1:]


class StraightThrough(_DiscreteSampler):
    """Bengio et al. (2013): forward an exact sample, backward dz/dp = identity."""

    def rsample(self, sample_shape=()) -> torch.Tensor:
        p = (
            torch.softmax(self._logits(sample_shape), -1)
            if self.categorical
            else torch.sigmoid(self._logits(sample_shape))
        )
        return straight_through_value(self.sample(sample_shape).to(p.dtype), p)


class ScoreFunctionSample(_DiscreteSampler):
    """REINFORCE (Williams 1992): exact samples, no pathwise gradient (``has_rsample``
    False); the gradient comes from the surrogate of
    :func:`vaebook.gradients.score_function_surrogate`, built from ``log_prob``."""

    has_rsample = False


class StraightThroughGumbel(_DiscreteSampler):
    """Forward the arg max of the Gumbel-perturbed logits (an exact sample of q),
    backward the Gumbel-softmax (binary concrete) gradient at ``temperature``."""

    def __init__(
        self,
        logits: torch.Tensor,
        temperature: float,
        categorical: bool = False,
        validate_args=None,
    ):
        self.temperature = positive_finite("temperature", temperature)
        super().__init__(logits, categorical, validate_args)

    def relaxed(self) -> D.Distribution:
        return relaxed_distribution(self.logits, self.temperature, self.categorical)

    def rsample(self, sample_shape=()) -> torch.Tensor:
        y = self.relaxed().rsample(sample_shape)
        hard = one_hot_argmax(y) if self.categorical else (y > 0.5).to(y.dtype)
        return straight_through_value(hard, y)


def relaxed_distribution(
    logits: torch.Tensor, temperature: float, categorical: bool = False
) -> D.Distribution:
    """torch's Gumbel-softmax (Jang et al. 2016; Maddison et al. 2017):
    ``RelaxedOneHotCategorical`` over the last axis, or ``RelaxedBernoulli`` (the
    binary concrete), at a finite ``temperature`` > 0; it has ``rsample`` and
    ``log_prob``."""
    tau = torch.tensor(
        positive_finite("temperature", temperature),
        dtype=logits.dtype,
        device=logits.device,
    )
    if categorical:
        return D.RelaxedOneHotCategorical(tau, logits=logits)
    return D.RelaxedBernoulli(tau, logits=logits)


class Smoothed(D.Distribution):
    """zeta = f(kappa, sigmoid(logits), u), u ~ U(0, 1): a smoothing transformation of
    :mod:`vaebook.smoothing` (notes 2.3; DVAE, DVAE++, DVAE#) as a distribution on
    [0, 1].

    ``rsample`` is differentiable in the logits; ``sample`` is the same without a
    gradient; ``log_prob`` exists for the mixtures with a density on (0, 1)
    (DVAE++'s overlapping exponentials, DVAE#'s power functions); f1 and the
    spike-and-exponential put an atom at 0, f2 and f3 have no closed density here.
    """

    arg_constraints = {"logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(
        self,
        name: str,
        logits: torch.Tensor,
        sharpness: float,
        base: float = math.e,
        validate_args=None,
    ):
        if name not in smoothing.SMOOTHERS:
            raise KeyError(
                f"unknown smoother {name!r}; known: {sorted(smoothing.SMOOTHERS)}"
            )
        self.name, self.logits = name, logits
        self.sharpness = positive_finite("sharpness", sharpness)
        self.base = positive_finite("smoothing base", base)
        if name == "smoothing-f1" and self.base == 1:
            raise ValueError("the f1 smoother's base must be a number > 0 other than 1")
        super().__init__(logits.shape, validate_args=validate_args)

    @property
    def mean(self) -> torch.Tensor:
        return smoothing.expected_value(
            self.name, self.sharpness, torch.sigmoid(self.logits), self.base
        )

    def rsample(self, sample_shape=()) -> torch.Tensor:
        logits = self.logits.expand(*sample_shape, *self.logits.shape)
        extra = {"base": self.base} if self.name == "smoothing-f1" else {}
        return smoothing.smooth(self.name, logits, self.sharpness, **extra)

    def sample(self, sample_shape=()) -> torch.Tensor:
        with torch.no_grad():
            return self.rsample(sample_shape)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        q = torch.sigmoid(self.logits)
        kappa = self.sharpness
        if self.name == "dvaepp-overlapping-exp":
            # r(zeta|0) = kappa e^(-kappa zeta) / (1 - e^-kappa),
            # r(zeta|1) = r(1 - zeta|0)
            log_norm = math.log(kappa) - math.log(-math.expm1(-kappa))
            r0, r1 = log_norm - kappa * value, log_norm - kappa * (1 - value)
        elif self.name == "dvae-sharp-power":
            # r(zeta|0) = lam zeta^(lam - 1), r(zeta|1) = r(1 - zeta|0)
            lam = 1.0 / kappa
            r0 = math.log(lam) + (lam - 1) * torch.log(value)
            r1 = math.log(lam) + (lam - 1) * torch.log1p(-value)
        else:
            raise NotImplementedError(
                f"{self.name} has no density on (0, 1) here (f1 and the "
                "spike-and-exponential put an atom at 0; f2 and f3 are defined by "
                "their inverse CDF only)"
            )
        return torch.logaddexp(torch.log1p(-q) + r0, torch.log(q) + r1)


# --- Bernoulli estimators: logits (..., K) -> z (..., K) ------------------------------


@register_estimator("naive")
def naive_bernoulli(logits: torch.Tensor, params: dict) -> StepSample:
    """z = 1[u >= 1 - p], u ~ U(0, 1) (notes 2): exact samples, dz/dlogits = 0 a.e."""
    return StepSample(logits)


@register_estimator("straight-through")
def straight_through_bernoulli(logits: torch.Tensor, params: dict) -> StraightThrough:
    """Forward z ~ Bernoulli(p), backward dz/dp = 1 (so dz/dlogits = p(1 - p))."""
    return StraightThrough(logits)


@register_estimator("gumbel-softmax", relaxed=True)
def binary_concrete(logits: torch.Tensor, params: dict) -> D.RelaxedBernoulli:
    """The binary concrete sigmoid((logits + logistic noise) / tau), in (0, 1)."""
    return relaxed_distribution(logits, _temperature(params))


@register_estimator("straight-through-gumbel")
def straight_through_binary_concrete(
    logits: torch.Tensor, params: dict
) -> StraightThroughGumbel:
    """Forward 1[y > 1/2] (an exact Bernoulli sample), backward the binary concrete
    gradient."""
    return StraightThroughGumbel(logits, _temperature(params))


@register_estimator("score-function", score_function=True)
def score_function_bernoulli(logits: torch.Tensor, params: dict) -> ScoreFunctionSample:
    """A sample, no pathwise gradient (the model adds REINFORCE's surrogate)."""
    return ScoreFunctionSample(logits.detach())


def _smoothing_estimator(name: str) -> Callable:
    def make(logits: torch.Tensor, params: dict) -> Smoothed:
        return Smoothed(
            name, logits, params.get("sharpness"), params.get("base", math.e)
        )

    make.__doc__ = (
        f"zeta = {name}(kappa, sigmoid(logits), u), u ~ U(0, 1) (vaebook.smoothing)."
    )
    return make


for _name in smoothing.SMOOTHERS:
    register_estimator(_name, relaxed=True)(_smoothing_estimator(_name))


# --- categorical estimators: logits (..., K, C) -> z (..., K, C) ----------------------


@register_estimator("naive", categorical=True)
def naive_categorical(logits: torch.Tensor, params: dict) -> StepSample:
    """Inverse-CDF sampling z = e_j for u in [P_{j-1}, P_j) (notes 2):
    exact one-hot samples with zero gradient a.e."""
    return StepSample(logits, categorical=True)


@register_estimator("straight-through", categorical=True)
def straight_through_categorical(logits: torch.Tensor, params: dict) -> StraightThrough:
    """Forward a one-hot sample from softmax(logits), backward dz/dp = identity."""
    return StraightThrough(logits, categorical=True)


@register_estimator("gumbel-softmax", categorical=True, relaxed=True)
def gumbel_softmax(logits: torch.Tensor, params: dict) -> D.RelaxedOneHotCategorical:
    """y = softmax((logits + g) / tau), g ~ Gumbel(0, 1): a point inside the simplex."""
    return relaxed_distribution(logits, _temperature(params), categorical=True)


@register_estimator("straight-through-gumbel", categorical=True)
def straight_through_gumbel(
    logits: torch.Tensor, params: dict
) -> StraightThroughGumbel:
    """Forward one_hot(argmax(logits + g)) (an exact sample), backward the
    Gumbel-softmax
    gradient."""
    return StraightThroughGumbel(logits, _temperature(params), categorical=True)


@register_estimator("score-function", categorical=True, score_function=True)
def score_function_categorical(
    logits: torch.Tensor, params: dict
) -> ScoreFunctionSample:
    """A one-hot sample, no pathwise gradient (the model adds the surrogate)."""
    return ScoreFunctionSample(logits.detach(), categorical=True)


# --- the distributions of discrete latents --------------------------------------------


class DiscreteLatents(D.Independent):
    """Independent Bernoulli or one-hot categorical latents as one distribution.

    There is no reparameterization gradient: ``rsample`` returns a plain sample
    and is allowed only where no gradient is recorded (evaluation: the ELBO and
    the importance-weighted bound of :mod:`vaebook.evaluation`); training goes
    through an estimator instead.
    """

    def rsample(self, sample_shape=()) -> torch.Tensor:
        if torch.is_grad_enabled():
            raise RuntimeError(
                "discrete latents have no reparameterization gradient; "
                "train with an estimator "
                f"from vaebook.discrete.ESTIMATORS ({sorted(ESTIMATORS)})"
            )
        return self.sample(sample_shape)


def kl_per_latent(q: DiscreteLatents, p: DiscreteLatents) -> torch.Tensor:
    """KL(q(z_k) || p(z_k)) for each latent variable, closed form, broadcasting p over
    q's batch: (..., K)."""
    shape = torch.broadcast_shapes(q.base_dist.batch_shape, p.base_dist.batch_shape)
    return D.kl_divergence(q.base_dist.expand(shape), p.base_dist.expand(shape))


@D.register_kl(DiscreteLatents, DiscreteLatents)
def _kl_discrete_latents(q: DiscreteLatents, p: DiscreteLatents) -> torch.Tensor:
    return kl_per_latent(q, p).sum(
        -1
    )  # torch's own KLs need equal batch shapes; this broadcasts the prior


def bernoulli_latents(logits: torch.Tensor) -> DiscreteLatents:
    """q(z|x) = prod_k Bernoulli(z_k; sigmoid(logits_k)): batch (...,), event (K,)."""
    return DiscreteLatents(D.Bernoulli(logits=logits), 1)


def categorical_latents(logits: torch.Tensor) -> DiscreteLatents:
    """q(z|x) = prod_k OneHotCategorical(z_k; softmax(logits_k)): batch (...,),
    event (K, C)."""
    return DiscreteLatents(D.OneHotCategorical(logits=logits), 1)


def log_prob_of(
    logits: torch.Tensor, z: torch.Tensor, categorical: bool
) -> torch.Tensor:
    """log q(z) for independent latents, summed over them: (...,); z may have any
    sample shape."""
    if categorical:
        return (z * torch.log_softmax(logits, -1)).sum((-2, -1))
    return -F.binary_cross_entropy_with_logits(
        logits.expand_as(z), z, reduction="none"
    ).sum(-1)


# Names that moved to vaebook.experiments (the book's analyses): still found here, with
# a DeprecationWarning that says where they live now (vaebook._moved).
_MOVED = {
    "enumerate_states": "enumeration",
    "exact_expectation": "enumeration",
    "exact_gradient": "enumeration",
    "gradient_samples": "enumeration",
    "bias_and_variance": "enumeration",
}
__getattr__ = forward_moved(__name__, _MOVED)
