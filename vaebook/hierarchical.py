"""A VAE with two stochastic layers, z1 -> z2 (the IWAE paper's 2-layer layout).

Shapes: S samples, B batch, D = 784 pixels, K1 and K2 the two latent sizes.

Generative model (top down):  p(z2) = N(0, I),  p(z1|z2) = N(mu(z2), diag s(z2)^2),
p(x|z1) = Bernoulli(sigmoid(logits(z1))).
Inference (bottom up):        q(z1|x) = N(., .),  q(z2|z1) = N(., .).

ELBO, with z1 ~ q(z1|x), z2 ~ q(z2|z1):

    L(x) = E_q[log p(x|z1)] - E_q[log q(z1|x) - log p(z1|z2)]
           - E_q(z1|x)[KL(q(z2|z1) || p(z2))]

(the last KL in closed form, the middle term by Monte Carlo: p(z1|z2) depends on the
sampled z2). The importance weights of the IW bound are
w = p(x|z1) p(z1|z2) p(z2) / (q(z1|x) q(z2|z1)).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from .distributions import bernoulli_pixels, diagonal_gaussian, standard_normal
from .models import ACTIVATIONS, MIN_SCALE, mlp
from .objectives import ELBOTerms
from .registry import register


@register("two-layer-vae")
@dataclass
class TwoLayerConfig:
    """x <-> z1 through the MLP ``hidden`` (e.g. 784-512-512-50), z1 <-> z2 through
    ``top_hidden`` (50-100-100-20)."""

    hidden: tuple[int, ...] = (512, 512)
    latent_dim: int = 50
    top_hidden: tuple[int, ...] = (100, 100)
    top_latent_dim: int = 20
    activation: str = "tanh"
    data_dim: int = 784

    def __post_init__(self) -> None:
        sizes = (self.latent_dim, self.top_latent_dim, *self.hidden, *self.top_hidden)
        if not self.hidden or not self.top_hidden or min(sizes) < 1:
            raise ValueError(
                "latent sizes and hidden widths must be positive, got latent_dim "
                f"{self.latent_dim}, top_latent_dim {self.top_latent_dim}, hidden "
                f"{self.hidden}, top_hidden {self.top_hidden}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got "
                f"{self.activation!r}"
            )

    def build(self) -> "TwoLayerVAE":
        return TwoLayerVAE(self)


def _gaussian(net: nn.Module, h: torch.Tensor) -> D.Independent:
    loc, raw_scale = net(h).chunk(2, dim=-1)
    return diagonal_gaussian(loc, F.softplus(raw_scale) + MIN_SCALE)


class TwoLayerVAE(nn.Module):
    """The two-layer VAE of the module's text. ``encode``/``decode`` are the bottom
    layer's (x <-> z1), so code written for one layer (reconstructions, active
    units of z1) works on it."""

    def __init__(self, config: TwoLayerConfig):
        super().__init__()
        self.config = config
        k1, k2, act = config.latent_dim, config.top_latent_dim, config.activation
        self.encoder = mlp([config.data_dim, *config.hidden, 2 * k1], act)
        self.decoder = mlp([k1, *reversed(config.hidden), config.data_dim], act)
        self.top_encoder = mlp([k1, *config.top_hidden, 2 * k2], act)
        self.top_decoder = mlp([k2, *reversed(config.top_hidden), 2 * k1], act)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> D.Independent:
        """q(z1|x): batch (B,), event (K1,)."""
        return _gaussian(self.encoder, x)

    def encode_top(self, z1: torch.Tensor) -> D.Independent:
        """q(z2|z1): batch z1.shape[:-1], event (K2,)."""
        return _gaussian(self.top_encoder, z1)

    def prior_z1(self, z2: torch.Tensor) -> D.Independent:
        """p(z1|z2): batch z2.shape[:-1], event (K1,)."""
        return _gaussian(self.top_decoder, z2)

    def prior(self) -> D.Independent:
        """p(z2) = N(0, I_K2)."""
        device = next(self.parameters()).device
        return standard_normal(self.config.top_latent_dim, device=device)

    def decode(self, z1: torch.Tensor) -> D.Independent:
        """p(x|z1): batch z1.shape[:-1], event (D,)."""
        lead = z1.shape[:-1]
        logits = self.decoder(z1.reshape(-1, z1.shape[-1]))
        return bernoulli_pixels(logits.reshape(*lead, -1))

    def _sample_latents(self, x: torch.Tensor, num_samples: int):
        q1 = self.encode(x)
        z1 = q1.rsample((num_samples,))  # (S, B, K1)
        q2 = self.encode_top(z1)
        z2 = q2.rsample()  # (S, B, K2)
        return q1, z1, q2, z2

    def elbo_terms(self, x: torch.Tensor, num_samples: int = 1) -> ELBOTerms:
        """The ELBO's reconstruction and total KL (both layers), (B,) each."""
        q1, z1, q2, z2 = self._sample_latents(x, num_samples)
        log_px = self.decode(z1).log_prob(x)  # (S, B)
        kl_z1 = q1.log_prob(z1) - self.prior_z1(z2).log_prob(z1)  # (S, B), MC
        kl_z2 = D.kl_divergence(q2, self.prior())  # (S, B), closed form
        return ELBOTerms(log_px.mean(0), (kl_z1 + kl_z2).mean(0))

    def log_importance_weights(self, x: torch.Tensor, num_samples: int):
        """log w_s (S, B) of the IW bound (module text)."""
        q1, z1, q2, z2 = self._sample_latents(x, num_samples)
        log_p = (
            self.decode(z1).log_prob(x)
            + self.prior_z1(z2).log_prob(z1)
            + self.prior().log_prob(z2)
        )
        return log_p - q1.log_prob(z1) - q2.log_prob(z2)

    def posterior_means(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K1 + K2): E_q[z1|x], then the mean of q(z2|z1) at z1 = E_q[z1|x] (the
        activity of the top units, as Burda et al. approximate it)."""
        loc1 = self.encode(x).mean
        return torch.cat([loc1, self.encode_top(loc1).mean], dim=-1)

    @torch.no_grad()
    def sample(self, num_samples: int) -> torch.Tensor:
        """Pixel probabilities of ancestral samples z2 -> z1 -> x: (num_samples, D)."""
        z2 = self.prior().sample((num_samples,))
        z1 = self.prior_z1(z2).sample()
        return self.decode(z1).mean
