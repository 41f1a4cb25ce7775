"""Discrete-latent VAEs on binarized MNIST (notes 2): K Bernoulli latents, or K
categorical latents of C classes (Jang et al. 2016: 20 x 10), trained with any estimator
of :mod:`vaebook.discrete` chosen by name in the config, so swapping estimators is one
line.

Shapes: B batch, D = 784 pixels, K latent variables, C classes.

The KL term is the closed form KL(q(z|x) || p(z)) against the uniform prior
(torch's registered Bernoulli / one-hot categorical KLs), so only the
reconstruction term E_q[log p(x|z)] needs an estimator. In eval mode the decoder
sees exact discrete samples of q, so the reported test -ELBO is a true bound on
-log p(x) of the discrete model, whatever relaxation trained it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import distributions as D
from torch import nn

from .annealing import ExponentialDecay, SharpnessSchedule
from .constraints import ABOVE_ONE, check
from .discrete import (
    CATEGORICAL_ESTIMATORS,
    ESTIMATORS,
    DiscreteLatents,
    Estimator,
    bernoulli_latents,
    categorical_latents,
    get_estimator,
    kl_per_latent,
)
from .distributions import bernoulli_pixels
from .models import ACTIVATIONS, mlp
from .objectives import training_metrics
from .registry import register


@dataclass
class _TemperatureFields:
    """The Gumbel-softmax temperature tau and its schedule, and the score function's
    baseline: the estimator fields of both discrete VAEs."""

    temperature: float = 1.0  # tau_0 of the Gumbel-softmax
    temperature_min: float = 0.5  # its floor (Jang et al.: 0.5)
    anneal_rate: float = 1e-4  # r in tau = max(tau_min, tau_0 exp(-r t)); 0: fixed
    anneal_every: int = 500  # steps between tau updates (Jang et al.: 500 or 1000)
    baseline_decay: float = 0.99  # running-mean baseline of the score function
    estimator_samples: int = 4  # S of the rloo and vimco estimators (>= 2)

    def temperature_schedule(self) -> ExponentialDecay:
        return ExponentialDecay(
            self.temperature, self.temperature_min, self.anneal_rate, self.anneal_every
        )

    def check(self, estimators: dict) -> None:
        if self.estimator not in estimators:
            raise ValueError(
                f"estimator must be one of {sorted(estimators)}, got {self.estimator!r}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got "
                f"{self.activation!r}"
            )
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden sizes must be positive, got {self.hidden}")
        if not 0 <= self.baseline_decay < 1:
            raise ValueError(
                f"baseline_decay must be in [0, 1), got {self.baseline_decay}"
            )
        self.temperature_schedule()  # raises on a bad tau or a schedule that cannot
        # anneal
        estimator = estimators[self.estimator]
        if "num_samples" in {f.name for f in fields(estimator)}:
            try:
                estimator(num_samples=self.estimator_samples)
            except ValueError as err:
                raise ValueError(
                    f"estimator_samples (S of {self.estimator}): {err}"
                ) from None


@dataclass
class _SharpnessFields:
    """The smoothing transformations' sharpness kappa (notes 2.3; the notes' beta)
    and its schedule: Bernoulli latents only."""

    sharpness: float = 5.0  # kappa at the end of its schedule (fixed if none)
    sharpness_start: float | None = None  # where an annealed kappa starts
    sharpness_anneal: str = "none"  # none (kappa fixed) | linear | geometric
    sharpness_anneal_fraction: float = 1.0  # part of training kappa moves over
    smoothing_base: float = math.e  # the base a of the f1 smoother

    def sharpness_schedule(self) -> SharpnessSchedule:
        return SharpnessSchedule(
            self.sharpness,
            self.sharpness_start,
            self.sharpness_anneal,
            self.sharpness_anneal_fraction,
        )

    def check(self, estimators: dict) -> None:
        super().check(estimators)
        check("smoothing_base (the f1 smoother's a)", self.smoothing_base, ABOVE_ONE)
        self.sharpness_schedule()  # raises on a bad kappa or a schedule that cannot
        # anneal


@register("binary-vae")
@dataclass
class BinaryVAEConfig(_SharpnessFields, _TemperatureFields):
    """K Bernoulli latents, prior Bernoulli(1/2)^K, MLP encoder/decoder, Bernoulli
    pixels."""

    hidden: tuple[int, ...] = (512, 256)
    latent_dim: int = 200
    estimator: str = "straight-through"
    activation: str = "relu"
    data_dim: int = 784

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be positive, got {self.latent_dim}")
        self.check(ESTIMATORS)

    def build(self) -> "BinaryVAE":
        return BinaryVAE(self)


@register("categorical-vae")
@dataclass
class CategoricalVAEConfig(_TemperatureFields):
    """K one-hot latents with C classes each (Jang et al.: 20 x 10), uniform prior."""

    hidden: tuple[int, ...] = (512, 256)
    num_latents: int = 20
    num_classes: int = 10
    estimator: str = "gumbel-softmax"
    activation: str = "relu"
    data_dim: int = 784

    def __post_init__(self) -> None:
        if self.num_latents < 1 or self.num_classes < 2:
            raise ValueError(
                f"need num_latents >= 1 and num_classes >= 2, got {self.num_latents}, "
                f"{self.num_classes}"
            )
        self.check(CATEGORICAL_ESTIMATORS)

    def build(self) -> "CategoricalVAE":
        return CategoricalVAE(self)


def schedule_metrics(params: dict, full: torch.Tensor) -> dict[str, torch.Tensor]:
    """The schedules' current values as per-example metrics (``temperature``, and the
    binary VAE's ``sharpness``), for the history."""
    return {k: full * v for k, v in params.items() if k not in ("base", "num_samples")}


class DiscreteVAE(nn.Module):
    """What the binary and categorical VAEs share: networks, schedules and the
    objective.

    ``objective`` in training mode decodes the estimator's z; in eval mode it
    decodes exact discrete samples, so the test -ELBO is a true bound. Metrics
    (B,): ``neg_elbo`` (the one optimized in training, the discrete one in eval),
    ``hard_neg_elbo`` (decoded from an exact discrete sample of q),
    ``relaxed_neg_elbo`` (decoded from the estimator's z), ``log_px_given_z``, ``kl``
    (closed form), and the current ``temperature`` (and ``sharpness``, binary).

    NVIL here is the learned baseline c + b_psi(x) without Mnih & Gregor's variance
    normalization: their learning signal holds the whole ELBO, so dividing it by a
    running standard deviation scales the encoder's whole gradient; here the KL is in
    closed form outside the signal, and dividing the signal alone would weight the KL
    up against the reconstruction for the encoder (tried: the 6,000-step model
    collapsed, 205.85 nats). With Adam a common scale changes little anyway.
    """

    categorical = False

    def __init__(self, config, code_size: int):
        super().__init__()
        self.config = config
        self.encoder = mlp(
            [config.data_dim, *config.hidden, code_size], config.activation
        )
        self.decoder = mlp(
            [code_size, *reversed(config.hidden), config.data_dim], config.activation
        )
        self.register_buffer(
            "baseline", torch.zeros(())
        )  # running mean of log p(x|z), score function
        self.register_buffer("baseline_set", torch.tensor(False))
        self.temperature_schedule = config.temperature_schedule()
        self.estimator_type = get_estimator(config.estimator, self.categorical)
        if getattr(self.estimator_type, "input_baseline", False):  # NVIL's b_psi(x)
            self.baseline_net = mlp([config.data_dim, 100, 1], "tanh")

    def hyperparameters(self, state) -> dict:
        """The schedules' values at this point of training (``state``: a TrainState):
        ``temperature`` (the binary VAE adds ``sharpness`` and ``base``); the
        estimator takes those it uses (:meth:`vaebook.discrete.Estimator.at`)."""
        return {
            "temperature": self.temperature_schedule(state.step),
            "num_samples": self.config.estimator_samples,
        }

    def encoder_logits(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def latents(self, logits: torch.Tensor) -> DiscreteLatents:
        raise NotImplementedError

    def encode(self, x: torch.Tensor) -> DiscreteLatents:
        return self.latents(self.encoder_logits(x))

    def decode(self, z: torch.Tensor) -> D.Independent:
        """z (..., K) or (..., K, C) -> p(x|z) with batch (...,), event (D,)."""
        event = 2 if self.categorical else 1
        lead = z.shape[:-event]
        logits = self.decoder(z.reshape(-1, math.prod(z.shape[-event:])))
        return bernoulli_pixels(logits.reshape(*lead, -1))

    def kl_per_dimension(self, x: torch.Tensor) -> torch.Tensor:
        """KL(q(z_k|x) || p(z_k)) for each latent variable: (B, K)."""
        return kl_per_latent(self.encode(x), self.prior())

    def estimator_at(self, state) -> Estimator:
        """The config's estimator at the schedules' values at ``state`` (a
        TrainState)."""
        return self.estimator_type.at(**self.hyperparameters(state))

    def objective(self, x: torch.Tensor, state) -> dict[str, torch.Tensor]:
        """Training loss and per-example metrics (B,) at the schedules' current
        values."""
        params = self.hyperparameters(state)
        estimator = self.estimator_type.at(**params)
        logits = self.encoder_logits(x)
        qz = self.latents(logits)
        kl = D.kl_divergence(qz, self.prior())  # (B,), closed form
        if self.training and estimator.score_function:
            return self._unbiased_objective(x, logits, kl, estimator, state, params)
        z = estimator(logits) if self.training else qz.sample()
        log_px = self.decode(z).log_prob(x)  # (B,)
        loss = -(log_px - state.beta * kl)
        neg_elbo = -(log_px - kl).detach()
        hard, soft = self._both_bounds(x, logits, qz, kl, neg_elbo, estimator)
        full = torch.ones_like(kl)
        return training_metrics(
            loss.mean(),
            log_px.detach(),
            kl.detach(),
            hard_neg_elbo=hard,
            relaxed_neg_elbo=soft,
            **schedule_metrics(params, full),
        )

    def _unbiased_objective(self, x, logits, kl, estimator, state, params) -> dict:
        """The score-function estimators (:mod:`vaebook.control_variates`): their
        surrogate estimates E_q[log p(x|z)] (plus the closed-form KL), or the whole
        S-sample bound (VIMCO); the running baseline (and NVIL's b(x)) are updated
        here."""
        learned = self._learned_baseline(x)  # NVIL's b_psi(x) (B,), else None
        s = estimator.surrogate(  # scale 1: see the note on NVIL in the class doc
            logits,
            lambda z: self.decode(z).log_prob(x),
            baseline=self.baseline + (0.0 if learned is None else learned.detach()),
            log_prior=self.prior().log_prob,
            beta=state.beta,
        )
        log_px = s.values.mean(0)  # (B,): the S samples' mean
        if estimator.bound == "multi-sample":
            loss = -s.objective.mean()
        else:
            loss = -(s.objective - state.beta * kl).mean()
        if learned is not None:  # least squares: f - c ~ b_psi(x), psi only
            loss = loss + (log_px - self.baseline - learned).pow(2).mean()
        self._update_baselines(log_px, learned)
        neg_elbo = (kl - log_px).detach()
        full = torch.ones_like(kl)
        return training_metrics(
            loss,
            log_px,
            kl.detach(),
            hard_neg_elbo=neg_elbo,
            relaxed_neg_elbo=neg_elbo,
            **schedule_metrics(params, full),
        )

    def _learned_baseline(self, x: torch.Tensor) -> torch.Tensor | None:
        """NVIL's input-dependent baseline b_psi(x) (B,); None for the others."""
        if not hasattr(self, "baseline_net"):
            return None
        return self.baseline_net(x).squeeze(-1)

    @torch.no_grad()
    def _update_baselines(self, log_px: torch.Tensor, learned) -> None:
        """After a step: the running mean c of f - b_psi(x) (of f without NVIL)."""
        residual = log_px if learned is None else log_px - learned
        self.update_baseline(residual.mean())

    @torch.no_grad()
    def _both_bounds(self, x, logits, qz, kl, neg_elbo, estimator) -> tuple:
        """(hard, relaxed) -ELBO (B,): ``neg_elbo`` is the one the objective decoded
        (the estimator's z in training, an exact sample in eval); the other is decoded
        here. Estimators with exact samples have one bound."""
        if not estimator.relaxed:
            return neg_elbo, neg_elbo
        if self.training:  # the true bound of the discrete model, from an exact sample
            return -(self.decode(qz.sample()).log_prob(x) - kl), neg_elbo
        # eval: the relaxed bound the model was trained on, for comparison
        return neg_elbo, -(self.decode(estimator(logits)).log_prob(x) - kl)

    @torch.no_grad()
    def update_baseline(self, signal: torch.Tensor) -> None:
        """b <- decay b + (1 - decay) mean log p(x|z); the first batch sets b (no device
        sync)."""
        decay = self.config.baseline_decay
        self.baseline.copy_(
            torch.where(
                self.baseline_set, decay * self.baseline + (1 - decay) * signal, signal
            )
        )
        self.baseline_set.fill_(True)

    @torch.no_grad()
    def sample(self, num_samples: int) -> torch.Tensor:
        """Pixel probabilities of decoded prior samples: (num_samples, D)."""
        return self.decode(self.prior().sample((num_samples,))).mean


class BinaryVAE(DiscreteVAE):
    """q(z|x) = prod_k Bernoulli(sigmoid(logits_k(x))), p(z) = Bernoulli(1/2)^K."""

    def __init__(self, config: BinaryVAEConfig):
        super().__init__(config, config.latent_dim)
        self.sharpness_schedule = config.sharpness_schedule()

    def hyperparameters(self, state) -> dict:
        return {
            **super().hyperparameters(state),
            "sharpness": self.sharpness_schedule(state.progress),
            "base": self.config.smoothing_base,
        }

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encoder_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)  # (B, K)

    def latents(self, logits: torch.Tensor) -> DiscreteLatents:
        return bernoulli_latents(logits)

    def prior(self) -> DiscreteLatents:
        return bernoulli_latents(
            torch.zeros(self.latent_dim, device=self.baseline.device)
        )


class CategoricalVAE(DiscreteVAE):
    """q(z|x) = prod_k OneHotCategorical(softmax(logits_k(x))), p(z) uniform over
    C^K."""

    categorical = True

    def __init__(self, config: CategoricalVAEConfig):
        super().__init__(config, config.num_latents * config.num_classes)

    def encoder_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).unflatten(
            -1, (self.config.num_latents, self.config.num_classes)
        )  # (B, K, C)

    def latents(self, logits: torch.Tensor) -> DiscreteLatents:
        return categorical_latents(logits)

    def prior(self) -> DiscreteLatents:
        zeros = torch.zeros(
            self.config.num_latents,
            self.config.num_classes,
            device=self.baseline.device,
        )
        return categorical_latents(zeros)
