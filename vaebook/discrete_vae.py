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
from dataclasses import dataclass

import torch
from torch import distributions as D
from torch import nn

from ._moved import forward_moved
from .annealing import ExponentialDecay, SharpnessSchedule
from .discrete import (
    CATEGORICAL_ESTIMATORS,
    ESTIMATORS,
    DiscreteLatents,
    bernoulli_latents,
    categorical_latents,
    get_estimator,
    kl_per_latent,
    log_prob_of,
)
from .distributions import bernoulli_pixels
from .gradients import score_function_surrogate
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
        if not (math.isfinite(self.smoothing_base) and self.smoothing_base > 1):
            raise ValueError(
                "smoothing_base (the f1 smoother's a) must be a finite number > 1, "
                f"got {self.smoothing_base}"
            )
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


class DiscreteVAE(nn.Module):
    """What the binary and categorical VAEs share: networks, schedules and the
    objective.

    ``objective`` in training mode decodes the estimator's z; in eval mode it
    decodes exact discrete samples, so the test -ELBO is a true bound. Metrics
    (B,): ``neg_elbo`` (the one optimized in training, the discrete one in eval),
    ``hard_neg_elbo`` (decoded from an exact discrete sample of q),
    ``relaxed_neg_elbo`` (decoded from the estimator's z), ``log_px_given_z``, ``kl``
    (closed form), and the current ``temperature`` (and ``sharpness``, binary).
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
        self.estimator = get_estimator(config.estimator, self.categorical)

    def hyperparameters(self, state) -> dict:
        """The estimator's params at this point of training (``state``: a
        TrainState)."""
        return {"temperature": self.temperature_schedule(state.step)}

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

    def objective(self, x: torch.Tensor, state) -> dict[str, torch.Tensor]:
        """Training loss and per-example metrics (B,) at the schedules' current
        values."""
        params = self.hyperparameters(state)
        logits = self.encoder_logits(x)
        qz = self.latents(logits)
        kl = D.kl_divergence(qz, self.prior())  # (B,), closed form
        z = self.estimator(logits, params) if self.training else qz.sample()
        log_px = self.decode(z).log_prob(x)  # (B,)
        loss = -(log_px - state.beta * kl)
        if self.training and self.estimator.score_function:
            log_q = log_prob_of(logits, z, self.categorical)
            loss = loss - score_function_surrogate(log_px, log_q, self.baseline)
            self.update_baseline(log_px.detach().mean())
        neg_elbo = -(log_px - kl).detach()
        relaxed = self.estimator.relaxed
        with torch.no_grad():
            if (
                self.training and relaxed
            ):  # the true bound of the discrete model, from an exact sample of q
                hard, soft = -(self.decode(qz.sample()).log_prob(x) - kl), neg_elbo
            elif (
                relaxed
            ):  # eval: the relaxed bound the model was trained on, for comparison
                hard, soft = (
                    neg_elbo,
                    -(self.decode(self.estimator(logits, params)).log_prob(x) - kl),
                )
            else:
                hard = soft = neg_elbo
        full = torch.ones_like(kl)
        return training_metrics(
            loss.mean(),
            log_px.detach(),
            kl.detach(),
            hard_neg_elbo=hard,
            relaxed_neg_elbo=soft,
            **{name: full * value for name, value in params.items() if name != "base"},
        )

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


# Names that moved to vaebook.experiments (the book's analyses): still found here, with
# a DeprecationWarning that says where they live now (vaebook._moved).
_MOVED = {
    "TracedObjective": "discrete_analysis",
    "mutual_information": "discrete_analysis",
    "hard_neg_elbo_samples": "discrete_analysis",
    "exact_straight_through": "enumeration",
}
__getattr__ = forward_moved(__name__, _MOVED)
