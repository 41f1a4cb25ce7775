"""Vector quantization and the VQ-VAE (van den Oord et al. 2017; notes 2.4).

Shapes: B batch, D = 784 pixels, L = H*W code positions (a 7x7 grid here),
C code dimension, K codebook size.

- Quantization: z = argmin_k ||E(x) - e_k||^2 at every grid position; the
  decoder sees e_z, and the backward pass copies the decoder's gradient onto
  E(x) (the straight-through estimator of notes 2.1).
- Loss per image: -log p(x|z) + ||sg[E(x)] - e||^2 + beta ||E(x) - sg[e]||^2,
  squared norms summed over the grid and the code dimension; beta = 0.25.
- EMA codebook (gamma = 0.99 in the paper), instead of the codebook loss:
  N_i <- gamma N_i + (1 - gamma) n_i,  m_i <- gamma m_i + (1 - gamma) sum_{j->i} E(x)_j,
  e_i = m_i / N~_i, with N~ the Laplace-smoothed counts so unused codes divide safely.
- q(z|x) is a point mass and p(z) is uniform over the K^L grids, so
  KL(q || p) = L log K, a constant: -ELBO = -log p(x|z) + L log K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from .distributions import bernoulli_pixels
from .objectives import training_metrics
from .registry import register

# --- the pieces, as small functions (each tested against a reference) -----------------


def nearest_code(z_e: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """Index of the nearest codebook vector (squared Euclidean distance): (..., C) ->
    (...)."""
    flat = z_e.reshape(-1, z_e.shape[-1])  # (N, C)
    dist = (
        flat.pow(2).sum(1, keepdim=True)
        - 2 * flat @ codebook.T
        + codebook.pow(2).sum(1)
    )  # (N, K)
    return dist.argmin(1).reshape(z_e.shape[:-1])


def straight_through(z_e: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """Forward: z_q; backward: the identity onto z_e (gradient of z_q replaced by that
    of z_e)."""
    return z_e + (z_q - z_e).detach()


class VQLoss(NamedTuple):
    """The three per-example terms of the VQ-VAE loss, each (B,)."""

    reconstruction: torch.Tensor  # -log p(x|z_q)
    codebook: torch.Tensor  # ||sg[E(x)] - e||^2 (moves the codes; zero weight with EMA)
    commitment: torch.Tensor  # ||E(x) - sg[e]||^2 (moves the encoder), weighted by beta

    def total(self, beta: float, ema: bool) -> torch.Tensor:
        return (
            self.reconstruction
            + (0.0 if ema else 1.0) * self.codebook
            + beta * self.commitment
        )


def ema_update(
    cluster_size: torch.Tensor,
    embed_sum: torch.Tensor,
    z_e: torch.Tensor,
    indices: torch.Tensor,
    gamma: float,
    epsilon: float = 1e-5,
) -> torch.Tensor:
    """One EMA step in place (notes eq. 8); returns the new codebook m_i / N~_i, (K, C).

    ``cluster_size`` N (K,) and ``embed_sum`` m (K, C) are updated in place from the
    encoder outputs ``z_e`` (N, C) assigned to codes ``indices`` (N,). The
    Laplace-smoothed N~_i = (N_i + eps) / (n + K eps) * n (n = sum_i N_i) keeps the
    division finite for codes no vector chose.
    """
    k = cluster_size.shape[0]
    one_hot = F.one_hot(indices, k).type_as(z_e)  # (N, K)
    cluster_size.mul_(gamma).add_(one_hot.sum(0), alpha=1 - gamma)
    embed_sum.mul_(gamma).add_(one_hot.T @ z_e, alpha=1 - gamma)
    n = cluster_size.sum()
    smoothed = (cluster_size + epsilon) / (n + k * epsilon) * n
    return embed_sum / smoothed.unsqueeze(1)


def code_counts(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """How often each code was chosen: (K,) float."""
    return torch.bincount(indices.reshape(-1), minlength=codebook_size).float()


def perplexity(counts: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of the code frequencies: K when all codes are used equally, 1 for
    one code."""
    probs = counts / counts.sum()
    entropy = -(probs * torch.log(probs.clamp_min(1e-30))).sum()
    return entropy.exp()


def usage(counts: torch.Tensor) -> torch.Tensor:
    """Fraction of the K codes chosen at least once."""
    return (counts > 0).float().mean()


class PointMass(D.Distribution):
    """q(z|x) of a VQ-VAE: all mass on the nearest-code grid ``value`` (B, L), integer
    codes.

    ``rsample``/``sample`` return it repeated; ``log_prob`` is 0 there and -inf
    elsewhere.
    """

    arg_constraints: dict = {}
    has_rsample = True

    def __init__(self, value: torch.Tensor):
        self.value = value
        super().__init__(
            batch_shape=value.shape[:-1],
            event_shape=value.shape[-1:],
            validate_args=False,
        )

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self.value.expand(*sample_shape, *self.value.shape)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self.rsample(sample_shape)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        same = (z == self.value).all(-1)
        return torch.where(same, 0.0, -math.inf)


# --- the model ------------------------------------------------------------------------


@register("vq-vae")
@dataclass
class VQVAEConfig:
    """A convolutional VQ-VAE for 28x28 MNIST: a 7x7 grid of codes from a codebook of K.

    The defaults are the paper's (beta = 0.25, EMA gamma = 0.99, epsilon = 1e-5, no
    extra tricks); the paper's K = 512, C = 64 were for CIFAR-10, and for MNIST's 49
    positions K = 64 codes of dimension 16 are plenty (49 * 6 = 294 bits per image).
    ``ema=False`` trains the codebook with the codebook loss instead. Two options
    that are not in the paper, off by default: ``data_init`` starts the codebook at K
    encoder outputs of the first training batch, and ``restart_below`` moves every code
    whose usage per batch, averaged with gamma, falls below it onto a random encoder
    output of the batch (Dhariwal et al. 2020 do the same); 0 turns it off.
    """

    channels: tuple[int, ...] = (32, 64)
    codebook_size: int = 64
    code_dim: int = 16
    commitment: float = 0.25
    ema: bool = True
    decay: float = 0.99
    epsilon: float = 1e-5
    data_init: bool = False
    restart_below: float = 0.0

    def __post_init__(self) -> None:
        if len(self.channels) != 2 or min(self.channels) < 1:
            raise ValueError(
                "channels must be two positive widths (28 -> 14 -> 7), got "
                f"{self.channels}"
            )
        if self.codebook_size < 2 or self.code_dim < 1:
            raise ValueError(
                "codebook_size >= 2 and code_dim >= 1 needed, got "
                f"{self.codebook_size}, {self.code_dim}"
            )
        if self.commitment < 0:
            raise ValueError(f"commitment (beta) must be >= 0, got {self.commitment}")
        if not 0 < self.decay < 1:
            raise ValueError(f"decay (gamma) must lie in (0, 1), got {self.decay}")
        if self.epsilon <= 0 or self.restart_below < 0:
            raise ValueError(
                f"epsilon must be > 0 and restart_below >= 0, got {self.epsilon}, "
                f"{self.restart_below}"
            )

    def build(self) -> "VQVAE":
        return VQVAE(self)


class VQVAE(nn.Module):
    """E: (B, 784) -> (B, C, 7, 7); quantize each position; D: codes -> Bernoulli pixel
    logits."""

    side = 7

    def __init__(self, config: VQVAEConfig):
        super().__init__()
        self.config = config
        c1, c2 = config.channels
        k, c = config.codebook_size, config.code_dim
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, c1, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(c2, c, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(c, c2, 3, 1, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, 2, 1),
            nn.Flatten(),
        )
        init = torch.empty(k, c).uniform_(-1 / k, 1 / k)
        if config.ema:
            self.register_buffer("codebook", init)
            self.register_buffer(
                "ema_cluster_size", torch.ones(k)
            )  # N_i, started at 1 ...
            self.register_buffer(
                "ema_embed_sum", init.clone()
            )  # ... so m_i / N_i = e_i at the start
        else:
            self.codebook = nn.Parameter(init)
        self.register_buffer("initialized", torch.tensor(not config.data_init))
        self.register_buffer(
            "usage_ema", torch.ones(k)
        )  # codes chosen per batch, averaged with gamma
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def restart_dead_codes(self, z_e: torch.Tensor, indices: torch.Tensor) -> None:
        """Track per-code counts with the EMA decay and move codes used too rarely onto
        random encoder outputs of the batch, ``z_e`` (N, C)."""
        cfg = self.config
        counts = code_counts(indices, cfg.codebook_size)
        self.usage_ema.mul_(cfg.decay).add_(counts, alpha=1 - cfg.decay)
        dead = (self.usage_ema < cfg.restart_below).nonzero().squeeze(1)
        if len(dead) == 0:
            return
        pick = z_e[torch.randint(len(z_e), (len(dead),), device=z_e.device)]
        self.codebook[dead] = pick
        if cfg.ema:
            self.ema_cluster_size[dead] = 1.0
            self.ema_embed_sum[dead] = pick
        self.usage_ema[dead] = (
            counts.mean()
        )  # a fresh start, not restarted again at once
        self.restarts += len(dead)

    @torch.no_grad()
    def init_codebook_from(self, z_e: torch.Tensor) -> None:
        """Set the codebook to K distinct encoder outputs picked at random from ``z_e``
        (N, C)."""
        pick = z_e[
            torch.randperm(len(z_e), device=z_e.device)[: self.config.codebook_size]
        ]
        self.codebook.copy_(pick)
        if self.config.ema:
            self.ema_cluster_size.fill_(1.0)
            self.ema_embed_sum.copy_(pick)
        self.initialized.fill_(True)

    @property
    def num_positions(self) -> int:
        return self.side * self.side

    def encode_continuous(self, x: torch.Tensor) -> torch.Tensor:
        """E(x): (B, 784) -> (B, L, C)."""
        return self.encoder(x).flatten(2).transpose(1, 2)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The nearest-code grid of each image: (B, L) integers in [0, K)."""
        return nearest_code(self.encode_continuous(x), self.codebook)

    def encode(self, x: torch.Tensor) -> PointMass:
        """q(z|x): a point mass on the code grid, batch_shape (B,), event_shape (L,)."""
        return PointMass(self.codes(x))

    def decode_vectors(self, z_q: torch.Tensor) -> D.Independent:
        """p(x|z) from code vectors (B, L, C)."""
        grid = z_q.transpose(1, 2).reshape(len(z_q), -1, self.side, self.side)
        return bernoulli_pixels(self.decoder(grid))

    def decode(self, z: torch.Tensor) -> D.Independent:
        """z (..., L) integer codes -> p(x|z), batch_shape (...,), event_shape
        (784,)."""
        lead = z.shape[:-1]
        px = self.decode_vectors(self.codebook[z.reshape(-1, z.shape[-1])])
        return bernoulli_pixels(px.base_dist.logits.reshape(*lead, -1))

    def prior(self) -> D.Independent:
        """The uniform prior of the notes: each of the L positions uniform over K
        codes."""
        logits = torch.zeros(
            self.num_positions, self.config.codebook_size, device=self.codebook.device
        )
        return D.Independent(D.Categorical(logits=logits), 1)

    def losses(self, x: torch.Tensor) -> tuple[VQLoss, torch.Tensor, torch.Tensor]:
        """The three loss terms (B,), the codes (B, L) and E(x) (B, L, C)."""
        z_e = self.encode_continuous(x)
        indices = nearest_code(z_e.detach(), self.codebook)
        z_q = self.codebook[indices]  # (B, L, C)
        px = self.decode_vectors(straight_through(z_e, z_q))
        codebook = (z_e.detach() - z_q).pow(2).sum((1, 2))
        commitment = (z_e - z_q.detach()).pow(2).sum((1, 2))
        return VQLoss(-px.log_prob(x), codebook, commitment), indices, z_e

    def objective(self, x: torch.Tensor, state=None) -> dict[str, torch.Tensor]:
        """Loss and per-example metrics; updates the EMA codebook in training.

        ``usage``, ``perplexity`` and ``unused_codes`` describe the batch's codes
        (repeated per example so the trainer's averages record them per epoch).
        """
        cfg = self.config
        if self.training and not bool(self.initialized):
            self.init_codebook_from(
                self.encode_continuous(x).detach().reshape(-1, cfg.code_dim)
            )
        terms, indices, z_e = self.losses(x)
        if self.training and torch.is_grad_enabled():
            self._update_codebook(z_e.detach().reshape(-1, cfg.code_dim), indices)
        return self._metrics(terms, indices, z_e)

    def _update_codebook(self, vectors: torch.Tensor, indices: torch.Tensor) -> None:
        """A training step's codebook updates: the EMA update (``ema``), then the
        restart of dead codes (``restart_below``). ``vectors`` (B * L, C)."""
        cfg = self.config
        if cfg.ema:
            with torch.no_grad():
                new = ema_update(
                    self.ema_cluster_size,
                    self.ema_embed_sum,
                    vectors,
                    indices.reshape(-1),
                    cfg.decay,
                    cfg.epsilon,
                )
                self.codebook.copy_(new)
        if cfg.restart_below > 0:
            self.restart_dead_codes(vectors, indices.reshape(-1))

    def _metrics(self, terms: VQLoss, indices: torch.Tensor, z_e: torch.Tensor):
        """The loss and per-example metrics of :meth:`objective`."""
        cfg = self.config
        counts = code_counts(indices, cfg.codebook_size)
        kl = torch.full_like(
            terms.reconstruction, self.num_positions * math.log(cfg.codebook_size)
        )
        # (a batch statistic, one value per example)
        batch = lambda v: v.expand_as(kl)  # noqa: E731
        return training_metrics(
            terms.total(cfg.commitment, cfg.ema).mean(),
            -terms.reconstruction,
            kl,
            codebook_loss=terms.codebook,
            commitment_loss=terms.commitment,
            encoder_norm=z_e.detach().pow(2).sum(-1).sqrt().mean(1),
            usage=batch(usage(counts)),
            perplexity=batch(perplexity(counts)),
            unused_codes=batch((counts == 0).float().sum()),
        )

    @torch.no_grad()
    def sample(
        self, num_samples: int, logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Pixel probabilities decoded from code grids drawn from the uniform prior, or
        from a per-position categorical with ``logits`` (L, K): (num_samples, 784)."""
        pz = self.prior() if logits is None else per_position_prior(logits)
        return self.decode(pz.sample((num_samples,))).mean


@torch.no_grad()
def encode_codes(model: VQVAE, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The nearest-code grids of all of ``x``, batch by batch: (N, L) integers in [0,
    K)."""
    model.eval()
    return torch.cat([model.codes(b) for b in x.split(batch_size)])


@torch.no_grad()
def codebook_stats(model: VQVAE, x: torch.Tensor, batch_size: int = 1000) -> dict:
    """Usage, perplexity and unused codes over all of ``x`` (one count over the whole
    set)."""
    counts = code_counts(encode_codes(model, x, batch_size), model.config.codebook_size)
    return {
        "usage": usage(counts).item(),
        "perplexity": perplexity(counts).item(),
        "unused_codes": int((counts == 0).sum()),
        "codebook_size": model.config.codebook_size,
        "counts": counts,
    }


@torch.no_grad()
def fit_code_prior(
    model: VQVAE, x: torch.Tensor, batch_size: int = 1000, pseudocount: float = 1.0
) -> torch.Tensor:
    """A learned prior over codes: one categorical per grid position, fitted by counting
    (maximum likelihood with ``pseudocount`` added): log-probabilities (L, K)."""
    return code_prior_from_codes(
        encode_codes(model, x, batch_size), model.config.codebook_size, pseudocount
    )


def code_prior_from_codes(
    codes: torch.Tensor, codebook_size: int, pseudocount: float = 1.0
) -> torch.Tensor:
    """The per-position categorical of :func:`fit_code_prior` from code grids already
    encoded, ``codes`` (N, L): log-probabilities (L, K)."""
    counts = F.one_hot(codes, codebook_size).sum(0).float() + pseudocount
    return torch.log(counts / counts.sum(1, keepdim=True))


# --- a per-position prior over the code grid ------------------------------------------


def per_position_prior(log_probs: torch.Tensor) -> D.Independent:
    """p(z) = prod_l Categorical(z_l; log_probs[l]) from the (L, K) table of
    :func:`fit_code_prior`."""
    return D.Independent(D.Categorical(logits=log_probs), 1)
