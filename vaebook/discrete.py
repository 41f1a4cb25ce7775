"""Discrete latent variables: gradient estimators and their distributions (notes 2).

Shapes: S samples, B batch, D = 784 pixels, K latent variables, C classes.

An **estimator** is a small frozen dataclass whose fields are its hyperparameters,
checked once when it is built (``arg_constraints``, :mod:`vaebook.constraints`):

    estimator = ESTIMATORS["gumbel-softmax"](temperature=0.5)
    q = estimator.distribution(logits)  # torch's RelaxedBernoulli(0.5, logits)
    z = estimator(logits)  # = q.rsample(): the differentiable z

:data:`ESTIMATORS` maps a name to its class for Bernoulli latents, logits (..., K) ->
z (..., K); :data:`CATEGORICAL_ESTIMATORS` for one-hot latents, logits (..., K, C) ->
z (..., K, C). A config stores the name; a model builds the estimator at its
schedules' current values with ``Estimator.at(temperature=..., sharpness=...)``.
Class attributes say what kind each is: ``relaxed`` (z strictly inside [0, 1]; the
others forward exact discrete samples), ``score_function`` (no pathwise gradient: the
model adds REINFORCE's surrogate), ``categorical``.

- ``naive`` (:class:`Naive`): the step function z = 1[u >= 1 - p] of uniform noise
  (notes 2): the right distribution, but dz/dlogits = 0 almost everywhere, so no
  gradient reaches the encoder through the reconstruction term.
- ``straight-through`` (:class:`StraightThrough`; Bengio et al. 2013; notes 2.1):
  forward a discrete sample, backward the identity dz/dp = 1 (p = q(z=1|x), or the
  class probabilities).
- ``gumbel-softmax`` (:class:`GumbelSoftmax`, ``temperature``; Jang et al. 2016;
  Maddison et al. 2017, notes 2.2): y = softmax((logits + g) / tau),
  g ~ Gumbel(0, 1); for Bernoulli latents the binary concrete
  sigmoid((logits + log u - log(1 - u)) / tau).
- ``straight-through-gumbel`` (:class:`StraightThroughGumbel`, ``temperature``):
  forward the one-hot arg max of the same noise (an exact sample from q), backward the
  Gumbel-softmax gradient.
- ``score-function`` (:class:`ScoreFunction`; REINFORCE, Williams 1992): exact
  samples with no pathwise gradient; ``surrogate`` gives the model
  f(z) + (f(z) - b).detach() * (log q(z|x) - its detached value), b a baseline.
  The unbiased estimators with control variates share that interface
  (:mod:`vaebook.control_variates`): ``nvil`` (a learned baseline b(x); Mnih &
  Gregor 2014), ``rloo`` (``num_samples`` S >= 2, leave-one-out; Kool et al. 2019),
  ``vimco`` (``num_samples`` S >= 2, the S-sample bound; Mnih & Rezende 2016) and
  ``disarm`` (an antithetic pair, Bernoulli only; Dong et al. 2020).
- ``smoothing-f1`` (``sharpness``, ``base``), ``smoothing-f2``, ``smoothing-f3`` and the
  published ``dvae-spike-exp``, ``dvaepp-overlapping-exp``, ``dvae-sharp-power``
  (``sharpness``; notes 2.3, :class:`Smoothing`): zeta = f(kappa, p, u), continuous in
  [0, 1], kappa the sharpness; their distributions are those of
  :mod:`vaebook.smoothing`.

The estimators' distributions follow ``torch.distributions`` (``rsample`` for the
differentiable stand-in, ``sample`` for an exact discrete sample, ``log_prob`` where a
density exists): torch's own ``RelaxedBernoulli`` and ``RelaxedOneHotCategorical``,
the smoothers, and :class:`StepSampler`, :class:`StraightThroughSampler`,
:class:`ScoreFunctionSampler`, :class:`StraightThroughGumbelSampler` written here.

Enumeration, per-sample gradients and their bias and variance (what the chapters
measure) live in :mod:`vaebook.experiments.enumeration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch.distributions import constraints

from . import control_variates, smoothing
from .constraints import ABOVE_ONE, AT_LEAST_TWO, POSITIVE, Interval, check_args

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


class StepSampler(_DiscreteSampler):
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


class StraightThroughSampler(_DiscreteSampler):
    """Bengio et al. (2013): forward an exact sample, backward dz/dp = identity."""

    def rsample(self, sample_shape=()) -> torch.Tensor:
        p = (
            torch.softmax(self._logits(sample_shape), -1)
            if self.categorical
            else torch.sigmoid(self._logits(sample_shape))
        )
        return straight_through_value(self.sample(sample_shape).to(p.dtype), p)


class ScoreFunctionSampler(_DiscreteSampler):
    """REINFORCE (Williams 1992): exact samples, no pathwise gradient (``has_rsample``
    False); the gradient comes from the surrogate of
    :func:`vaebook.gradients.score_function_surrogate`, built from ``log_prob``."""

    has_rsample = False


class StraightThroughGumbelSampler(_DiscreteSampler):
    """Forward 1[y > 1/2] (an exact Bernoulli sample), backward the binary concrete
    gradient."""

    def __init__(
        self,
        logits: torch.Tensor,
        temperature: float,
        categorical: bool = False,
        validate_args=None,
    ):
        self.temperature = temperature  # checked by the StraightThroughGumbel estimator
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
    binary concrete), at ``temperature`` (checked by the estimator that asks for it:
    :class:`GumbelSoftmax`, :class:`StraightThroughGumbel`); it has ``rsample`` and
    ``log_prob``."""
    tau = torch.tensor(temperature, dtype=logits.dtype, device=logits.device)
    if categorical:
        return D.RelaxedOneHotCategorical(tau, logits=logits)
    return D.RelaxedBernoulli(tau, logits=logits)


# --- the estimators: typed hyperparameters, checked once ------------------------------

HYPERPARAMETERS = ("temperature", "sharpness", "base", "num_samples")  # a model's


@dataclass(frozen=True)
class Estimator:
    """A gradient estimator at fixed hyperparameters (its dataclass fields, checked
    once against ``arg_constraints`` when it is built).

    ``distribution(logits)`` is its distribution of z given the encoder's logits;
    calling it, ``estimator(logits) -> z``, draws the differentiable z (``rsample``;
    a plain ``sample`` for the score function, whose gradient comes from a
    surrogate). Class attributes: ``name`` (its key in :data:`ESTIMATORS` or
    :data:`CATEGORICAL_ESTIMATORS`), ``categorical`` (logits (..., K, C) and one-hot
    z, else (..., K) Bernoulli), ``relaxed`` (z strictly inside [0, 1], not an exact
    sample) and ``score_function`` (no pathwise gradient: the model adds REINFORCE's
    surrogate).
    """

    name: ClassVar[str] = ""
    categorical: ClassVar[bool] = False
    relaxed: ClassVar[bool] = False
    score_function: ClassVar[bool] = False
    arg_constraints: ClassVar[dict[str, Interval]] = {}

    def __post_init__(self) -> None:
        check_args(self)

    @classmethod
    def at(cls, **hyperparameters) -> Estimator:
        """The estimator at those of ``hyperparameters`` (names in
        ``HYPERPARAMETERS``) it takes, the others ignored: a model passes the current
        values of all its schedules."""
        unknown = set(hyperparameters) - set(HYPERPARAMETERS)
        if unknown:
            raise TypeError(f"unknown hyperparameters {sorted(unknown)}")
        taken = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in hyperparameters.items() if k in taken})

    def distribution(self, logits: torch.Tensor) -> D.Distribution:
        raise NotImplementedError

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        q = self.distribution(logits)
        return q.rsample() if q.has_rsample else q.sample()


@dataclass(frozen=True)
class Naive(Estimator):
    """z = 1[u >= 1 - p], u ~ U(0, 1) (notes 2): exact samples, dz/dlogits = 0 a.e."""

    name = "naive"

    def distribution(self, logits: torch.Tensor) -> StepSampler:
        return StepSampler(logits, self.categorical)


@dataclass(frozen=True)
class StraightThrough(Estimator):
    """Forward z ~ Bernoulli(p), backward dz/dp = 1 (so dz/dlogits = p(1 - p))."""

    name = "straight-through"

    def distribution(self, logits: torch.Tensor) -> StraightThroughSampler:
        return StraightThroughSampler(logits, self.categorical)


@dataclass(frozen=True)
class GumbelSoftmax(Estimator):
    """The binary concrete sigmoid((logits + logistic noise) / tau), in (0, 1)
    (torch's ``RelaxedBernoulli``)."""

    name = "gumbel-softmax"
    relaxed = True
    arg_constraints = {"temperature": POSITIVE}
    temperature: float

    def distribution(self, logits: torch.Tensor) -> D.Distribution:
        return relaxed_distribution(logits, self.temperature, self.categorical)


@dataclass(frozen=True)
class StraightThroughGumbel(Estimator):
    """Forward 1[y > 1/2] (an exact Bernoulli sample), backward the binary concrete
    gradient."""

    name = "straight-through-gumbel"
    arg_constraints = {"temperature": POSITIVE}
    temperature: float

    def distribution(self, logits: torch.Tensor) -> StraightThroughGumbelSampler:
        return StraightThroughGumbelSampler(logits, self.temperature, self.categorical)


@dataclass(frozen=True)
class ScoreFunction(Estimator):
    """REINFORCE with a baseline b that the model keeps (a running mean of f): one
    exact sample, no pathwise gradient; :meth:`surrogate` builds the estimate.

    The unbiased estimators below share this interface: ``num_samples`` S (the
    decoder passes per step), ``input_baseline`` (the model learns b(x): NVIL),
    ``bound`` (``"elbo"``: the surrogate estimates E_q[f] and the model adds the
    closed-form KL; ``"multi-sample"``: it is the whole S-sample bound, VIMCO)."""

    name = "score-function"
    score_function = True
    num_samples: ClassVar[int] = 1
    input_baseline: ClassVar[bool] = False
    bound: ClassVar[str] = "elbo"

    def distribution(self, logits: torch.Tensor) -> ScoreFunctionSampler:
        return ScoreFunctionSampler(logits.detach(), self.categorical)

    def draw(self, logits: torch.Tensor) -> torch.Tensor:
        """S exact samples of z: (S, *logits.shape) (one-hot: the same)."""
        return self.distribution(logits).sample((self.num_samples,))

    def surrogate(
        self, logits: torch.Tensor, f, baseline=0.0, scale=1.0, **_
    ) -> control_variates.Surrogate:
        """E_q[f] in value, REINFORCE with ``baseline`` (divided by ``scale``) in
        gradient; ``f`` maps z (S, B, ...) to (S, B)."""
        z = self.draw(logits)
        return control_variates.reinforce(
            logits, f, z, baseline, scale, self.categorical
        )


@dataclass(frozen=True)
class NVIL(ScoreFunction):
    """NVIL (Mnih & Gregor 2014): REINFORCE whose baseline c + b_psi(x) the model
    learns (a small network of x, fitted to f by least squares, and a running mean
    c); without the paper's variance normalization (see
    :class:`vaebook.discrete_vae.DiscreteVAE`)."""

    name = "nvil"
    input_baseline = True


@dataclass(frozen=True)
class RLOO(ScoreFunction):
    """REINFORCE leave-one-out (Kool et al. 2019): S >= 2 samples, each one's
    baseline the mean f of the others; unbiased, no extra network."""

    name = "rloo"
    arg_constraints = {"num_samples": AT_LEAST_TWO}
    num_samples: int = 4

    def surrogate(self, logits, f, **_) -> control_variates.Surrogate:
        return control_variates.rloo(logits, f, self.draw(logits), self.categorical)


@dataclass(frozen=True)
class VIMCO(ScoreFunction):
    """VIMCO (Mnih & Rezende 2016): the S-sample importance-weighted bound, S >= 2,
    each sample's signal L - L_{-s} (the bound with that sample replaced by the
    geometric mean of the others)."""

    name = "vimco"
    arg_constraints = {"num_samples": AT_LEAST_TWO}
    bound = "multi-sample"
    num_samples: int = 4

    def surrogate(
        self, logits, f, log_prior=None, beta=1.0, **_
    ) -> control_variates.Surrogate:
        if log_prior is None:
            raise ValueError("VIMCO's bound needs log_prior, the prior's log_prob")
        z = self.draw(logits)
        return control_variates.vimco(logits, f, z, log_prior, beta, self.categorical)


@dataclass(frozen=True)
class DisARM(ScoreFunction):
    """DisARM (Dong, Mnih & Tucker 2020) for Bernoulli latents: an antithetic pair of
    exact samples from one uniform draw, weighted per latent (two decoder passes)."""

    name = "disarm"
    num_samples: ClassVar[int] = 2

    def draw(self, logits: torch.Tensor) -> torch.Tensor:
        return control_variates.antithetic_pair(logits)

    def surrogate(self, logits, f, **_) -> control_variates.Surrogate:
        return control_variates.disarm(logits, f, self.draw(logits))


@dataclass(frozen=True)
class Smoothing(Estimator):
    """zeta ~ a smoothing transformation of :mod:`vaebook.smoothing` at sharpness
    kappa (notes 2.3; DVAE, DVAE++, DVAE#): continuous in [0, 1], differentiable in
    the logits. Bernoulli latents only."""

    smoother: ClassVar[type[smoothing.Smoother]]
    relaxed = True
    arg_constraints = {"sharpness": POSITIVE}
    sharpness: float

    def distribution(self, logits: torch.Tensor) -> smoothing.Smoother:
        return self.smoother(self.sharpness, logits=logits, validate_args=False)


@dataclass(frozen=True)
class SmoothingF1(Smoothing):
    """f1 (:class:`vaebook.smoothing.F1`) with the base a = ``base``."""

    name, smoother = "smoothing-f1", smoothing.F1
    arg_constraints = {"sharpness": POSITIVE, "base": ABOVE_ONE}
    base: float = math.e

    def distribution(self, logits: torch.Tensor) -> smoothing.F1:
        return smoothing.F1(self.sharpness, None, logits, self.base, False)


def _smoothing(name: str, smoother: type[smoothing.Smoother]) -> type[Smoothing]:
    """The :class:`Smoothing` estimator of ``smoother`` (its sharpness only)."""
    attributes = {"name": name, "smoother": smoother, "__doc__": smoother.__doc__}
    return type("Smoothing" + smoother.__name__, (Smoothing,), attributes)


SmoothingF2 = _smoothing("smoothing-f2", smoothing.F2)
SmoothingF3 = _smoothing("smoothing-f3", smoothing.F3)
SmoothingSpikeExp = _smoothing("dvae-spike-exp", smoothing.SpikeExp)
SmoothingOverlappingExp = _smoothing("dvaepp-overlapping-exp", smoothing.OverlappingExp)
SmoothingPowerFunction = _smoothing("dvae-sharp-power", smoothing.PowerFunction)


def _categorical(estimator: type[Estimator], doc: str) -> type[Estimator]:
    """The same estimator for one-hot latents: logits (..., K, C) -> z (..., K, C)."""
    attributes = {"categorical": True, "__doc__": doc}
    return type("Categorical" + estimator.__name__, (estimator,), attributes)


BERNOULLI = (
    Naive,
    StraightThrough,
    GumbelSoftmax,
    StraightThroughGumbel,
    ScoreFunction,
    NVIL,
    RLOO,
    VIMCO,
    DisARM,
)
SMOOTHING = (SmoothingF1, SmoothingF2, SmoothingF3, SmoothingSpikeExp)
SMOOTHING += (SmoothingOverlappingExp, SmoothingPowerFunction)
CATEGORICAL = (
    _categorical(
        Naive,
        """Inverse-CDF sampling z = e_j for u in [P_{j-1}, P_j) (notes 2):
    exact one-hot samples with zero gradient a.e.""",
    ),
    _categorical(
        StraightThrough,
        "Forward a one-hot sample from softmax(logits), backward dz/dp = identity.",
    ),
    _categorical(
        GumbelSoftmax,
        """y = softmax((logits + g) / tau), g ~ Gumbel(0, 1): a point inside the
    simplex.""",
    ),
    _categorical(
        StraightThroughGumbel,
        """Forward one_hot(argmax(logits + g)) (an exact sample), backward the
    Gumbel-softmax gradient.""",
    ),
    _categorical(
        ScoreFunction,
        "A one-hot sample, no pathwise gradient (the model adds the surrogate).",
    ),
    _categorical(NVIL, "NVIL for one-hot latents."),
    _categorical(RLOO, "REINFORCE leave-one-out for one-hot latents."),
    _categorical(VIMCO, "VIMCO for one-hot latents."),
)
# name -> class: logits (..., K) -> z (..., K), and logits (..., K, C) -> z (..., K, C)
ESTIMATORS: dict[str, type[Estimator]] = {e.name: e for e in BERNOULLI + SMOOTHING}
CATEGORICAL_ESTIMATORS: dict[str, type[Estimator]] = {e.name: e for e in CATEGORICAL}


def get_estimator(name: str, categorical: bool = False) -> type[Estimator]:
    """The estimator class registered as ``name`` (a KeyError listing the names)."""
    table = CATEGORICAL_ESTIMATORS if categorical else ESTIMATORS
    if name not in table:
        kind = "categorical" if categorical else "Bernoulli"
        raise KeyError(f"no {kind} estimator {name!r}; registered: {sorted(table)}")
    return table[name]


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
