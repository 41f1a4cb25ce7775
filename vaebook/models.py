"""Gaussian VAEs (Kingma & Welling 2014), MLP and convolutional, and a
linear-Gaussian model whose likelihood and posterior are exact.

Shapes: S samples, B batch, D = 784 pixels, K latent dimensions.
Every model exposes ``encode(x) -> q(z|x)``, ``decode(z) -> p(x|z)`` and
``prior() -> p(z)`` as ``torch.distributions`` objects; the objectives in
:mod:`vaebook.objectives` need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from .distributions import (
    bernoulli_pixels,
    diagonal_gaussian,
    kl_per_dimension,
    standard_normal,
)
from .priors import PRIORS, build_prior, check_components, prior_of
from .registry import register

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU}
ARCHITECTURES = ("mlp", "conv")
MIN_SCALE = 1e-4  # keeps q(z|x) from collapsing to a point (log q -> inf)


def mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers with ``activation`` between them (none after the last)."""
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def conv_encoder(
    channels: tuple[int, ...], out_features: int, activation: str
) -> nn.Sequential:
    """(B, 784) -> (B, out_features): stride-2 4x4 convolutions 28 -> 14 -> 7 -> ..."""
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = [nn.Unflatten(1, (1, 28, 28))]
    side, c_in = 28, 1
    for c_out in channels:
        layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), act()]
        side, c_in = side // 2, c_out
    layers += [nn.Flatten(), nn.Linear(c_in * side * side, out_features)]
    return nn.Sequential(*layers)


def conv_decoder(
    channels: tuple[int, ...], latent_dim: int, activation: str
) -> nn.Sequential:
    """(B, K) -> (B, 784) logits, mirroring :func:`conv_encoder`."""
    act = ACTIVATIONS[activation]
    side = 28 // 2 ** len(channels)
    rev = list(reversed(channels))
    layers: list[nn.Module] = [
        nn.Linear(latent_dim, rev[0] * side * side),
        act(),
        nn.Unflatten(1, (rev[0], side, side)),
    ]
    for c_in, c_out in zip(rev, rev[1:] + [1]):
        layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
        if c_out != 1:
            layers.append(act())
    layers.append(nn.Flatten())
    return nn.Sequential(*layers)


@register("gaussian-vae")
@dataclass
class VAEConfig:
    """A Gaussian-latent VAE with a Bernoulli decoder (the notes' Example 1).

    ``hidden`` are the MLP widths (``architecture="mlp"``, e.g. 784-512-512-K)
    or the convolution channels (``"conv"``, each halving the image side).
    ``latent_prior``: ``"normal"`` (N(0, I)), ``"mog"`` (a learned mixture of
    ``prior_components`` Gaussians) or ``"vamp"`` (the VampPrior with
    ``prior_components`` pseudo-inputs); see :mod:`vaebook.priors`.
    """

    architecture: str = "mlp"
    hidden: tuple[int, ...] = (512, 512)
    latent_dim: int = 50
    activation: str = "tanh"
    data_dim: int = 784
    latent_prior: str = "normal"
    prior_components: int = 10

    def __post_init__(self) -> None:
        if self.latent_prior not in PRIORS:
            raise ValueError(
                f"latent_prior must be one of {PRIORS}, got {self.latent_prior!r}"
            )
        check_components(self.prior_components)
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES}, got "
                f"{self.architecture!r}"
            )
        if self.latent_dim < 1 or not self.hidden or min(self.hidden) < 1:
            raise ValueError(
                f"latent_dim and hidden sizes must be positive, got {self.latent_dim}, "
                f"{self.hidden}"
            )
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got "
                f"{self.activation!r}"
            )
        if self.architecture == "conv" and (
            self.data_dim != 784 or len(self.hidden) > 2
        ):
            raise ValueError(
                "the conv architecture takes 28x28 images (data_dim=784) and at most 2 "
                "conv layers"
            )

    def build(self) -> "GaussianVAE":
        return GaussianVAE(self)


class BernoulliVAE(nn.Module):
    """What every VAE on binarized MNIST here shares: the networks, p(z) = N(0, I) and
    the Bernoulli decoder p(x|z) = Bernoulli(sigmoid(logits(z))). Subclasses define
    ``encode``.

    ``encoder_outputs`` is the width of the encoder's last layer (2K for a diagonal
    Gaussian).
    """

    def __init__(self, config: VAEConfig, encoder_outputs: int):
        super().__init__()
        self.config = config
        k = config.latent_dim
        if config.architecture == "mlp":
            self.encoder = mlp(
                [config.data_dim, *config.hidden, encoder_outputs], config.activation
            )
            self.decoder = mlp(
                [k, *reversed(config.hidden), config.data_dim], config.activation
            )
        else:
            self.encoder = conv_encoder(
                config.hidden, encoder_outputs, config.activation
            )
            self.decoder = conv_decoder(config.hidden, k, config.activation)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def decode(self, z: torch.Tensor) -> D.Independent:
        """z (..., K) -> p(x|z) with batch_shape (...,), event_shape (D,)."""
        lead = z.shape[:-1]
        logits = self.decoder(z.reshape(-1, z.shape[-1]))
        return bernoulli_pixels(logits.reshape(*lead, -1))

    def prior(self) -> D.Independent:
        return standard_normal(self.latent_dim, device=next(self.parameters()).device)

    @torch.no_grad()
    def sample(self, num_samples: int) -> torch.Tensor:
        """Pixel probabilities of decoded prior samples: (num_samples, D)."""
        z = self.prior().sample((num_samples,))
        return self.decode(z).mean


class GaussianVAE(BernoulliVAE):
    """q(z|x) = N(loc(x), diag(scale(x)^2)), p(z) = N(0, I) or a learned prior
    (``config.latent_prior``), p(x|z) = Bernoulli(sigmoid(logits(z)))."""

    def __init__(self, config: VAEConfig):
        super().__init__(config, 2 * config.latent_dim)
        # None for N(0, I): the state dicts of the shipped checkpoints are unchanged
        self.learned_prior = build_prior(
            config.latent_prior,
            config.prior_components,
            config.latent_dim,
            config.data_dim,
        )

    def prior(self) -> D.Distribution:
        """p(z): N(0, I), or the learned mixture (batch (), event (K,))."""
        device = next(self.parameters()).device
        return prior_of(self.learned_prior, self.latent_dim, self.encode, device)

    def encode(self, x: torch.Tensor) -> D.Independent:
        """x (B, D) -> q(z|x) with batch_shape (B,), event_shape (K,)."""
        loc, raw_scale = self.encoder(x).chunk(2, dim=-1)
        return diagonal_gaussian(loc, F.softplus(raw_scale) + MIN_SCALE)

    def kl_per_dimension(self, x: torch.Tensor) -> torch.Tensor | None:
        """KL(q(z_k|x) || p(z_k)) for each latent dimension: (B, K); None for a
        mixture prior, which does not factorize over the dimensions (use
        :meth:`posterior_means` and Burda et al.'s activity instead)."""
        if self.learned_prior is not None:
            return None
        return kl_per_dimension(self.encode(x), self.prior())

    def posterior_means(self, x: torch.Tensor) -> torch.Tensor:
        """E_q[z|x], (B, K): the activity of unit k is their variance over x."""
        return self.encode(x).mean


class LinearGaussian(nn.Module):
    """Probabilistic PCA: p(z) = N(0, I_K), p(x|z) = N(W z + b, sigma^2 I_D).

    Everything is exact here: p(x) = N(b, W W^T + sigma^2 I) and
    p(z|x) = N(M^-1 W^T (x - b), sigma^2 M^-1) with M = W^T W + sigma^2 I.
    The encoder q(z|x) = N(A x + c, L L^T) is amortized and full-covariance;
    :meth:`use_exact_posterior` sets it to p(z|x), which closes the ELBO gap.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, sigma: float):
        super().__init__()
        d, k = weight.shape
        self.weight, self.bias = (
            nn.Parameter(weight.clone()),
            nn.Parameter(bias.clone()),
        )
        self.register_buffer("sigma", torch.tensor(float(sigma)))
        self.enc_weight = nn.Parameter(torch.zeros(k, d))
        self.enc_bias = nn.Parameter(torch.zeros(k))
        self.enc_scale_tril = nn.Parameter(torch.eye(k))

    @property
    def latent_dim(self) -> int:
        return self.weight.shape[1]

    def prior(self) -> D.MultivariateNormal:
        k = self.latent_dim
        w = self.weight
        return D.MultivariateNormal(
            w.new_zeros(k), scale_tril=torch.eye(k, dtype=w.dtype, device=w.device)
        )

    def decode(self, z: torch.Tensor) -> D.Independent:
        return D.Independent(D.Normal(z @ self.weight.T + self.bias, self.sigma), 1)

    def encode(self, x: torch.Tensor) -> D.MultivariateNormal:
        tril = torch.tril(self.enc_scale_tril)
        return D.MultivariateNormal(
            x @ self.enc_weight.T + self.enc_bias, scale_tril=tril
        )

    def marginal(self) -> D.MultivariateNormal:
        """The exact p(x)."""
        cov = self.weight @ self.weight.T + self.sigma**2 * torch.eye(len(self.bias))
        return D.MultivariateNormal(self.bias, covariance_matrix=cov)

    def posterior_parameters(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(A, c, covariance) with p(z|x) = N(A x + c, covariance)."""
        k = self.latent_dim
        m_inv = torch.linalg.inv(
            self.weight.T @ self.weight + self.sigma**2 * torch.eye(k)
        )
        a = m_inv @ self.weight.T
        return a, -a @ self.bias, self.sigma**2 * m_inv

    def posterior(self, x: torch.Tensor) -> D.MultivariateNormal:
        """The exact p(z|x)."""
        a, c, cov = self.posterior_parameters()
        return D.MultivariateNormal(x @ a.T + c, covariance_matrix=cov)

    @classmethod
    @torch.no_grad()
    def fit(cls, x: torch.Tensor, latent_dim: int) -> "LinearGaussian":
        """Maximum-likelihood probabilistic PCA of data x (N, D) (Tipping & Bishop
        1999).

        With the eigenvalues l_1 >= ... >= l_D of the data covariance and their
        eigenvectors U: sigma^2 = mean(l_{K+1..D}), W = U_K (L_K - sigma^2 I)^(1/2), b =
        mean.
        """
        if not 1 <= latent_dim < x.shape[1]:
            raise ValueError(
                f"latent_dim must be in [1, {x.shape[1] - 1}], got {latent_dim}"
            )
        x = x.double()
        mean = x.mean(0)
        evals, evecs = torch.linalg.eigh(torch.cov((x - mean).T))  # ascending
        evals, evecs = evals.flip(0).clamp(min=0), evecs.flip(1)
        sigma2 = evals[latent_dim:].mean()
        weight = (
            evecs[:, :latent_dim] * (evals[:latent_dim] - sigma2).clamp(min=0).sqrt()
        )
        return cls(weight.float(), mean.float(), sigma2.sqrt().item())

    def beta_posterior(self, x: torch.Tensor, beta: float) -> D.MultivariateNormal:
        """The q maximizing E_q[log p(x|z)] - beta KL(q || p(z)): q ∝ p(z)
        p(x|z)^(1/beta).

        Gaussian with precision I + W^T W / (beta sigma^2); beta = 1 gives p(z|x).
        """
        if beta <= 0:
            raise ValueError(f"beta (the KL weight) must be positive, got {beta}")
        k = self.latent_dim
        precision = torch.eye(k) + self.weight.T @ self.weight / (beta * self.sigma**2)
        cov = torch.linalg.inv(precision)
        loc = (x - self.bias) @ self.weight @ cov.T / (beta * self.sigma**2)
        return D.MultivariateNormal(loc, covariance_matrix=cov)

    def expected_log_likelihood(
        self, x: torch.Tensor, qz: D.MultivariateNormal
    ) -> torch.Tensor:
        """E_q[log p(x|z)] in closed form for a Gaussian q: (B,).

        = log N(x; W m + b, sigma^2 I) - tr(W S W^T) / (2 sigma^2) for q = N(m, S).
        """
        trace = (
            (self.weight @ qz.covariance_matrix @ self.weight.T)
            .diagonal(dim1=-2, dim2=-1)
            .sum(-1)
        )
        return self.decode(qz.mean).log_prob(x) - trace / (2 * self.sigma**2)

    @torch.no_grad()
    def use_exact_posterior(self) -> None:
        a, c, cov = self.posterior_parameters()
        self.enc_weight.copy_(a)
        self.enc_bias.copy_(c)
        self.enc_scale_tril.copy_(torch.linalg.cholesky(cov))
