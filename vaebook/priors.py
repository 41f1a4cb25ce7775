"""Priors p(z) for Gaussian VAEs as ``torch.distributions`` objects.

Shapes: S samples, B batch, C mixture components, K latent dimensions, D data.

- ``normal``: p(z) = N(0, I_K), the notes' prior (:func:`standard_normal`).
- ``mog``: a mixture of C diagonal Gaussians with learned weights, means and scales,
  p(z) = sum_c pi_c N(z; mu_c, diag(sigma_c^2)) (:class:`MixturePrior`).
- ``vamp``: the VampPrior (Tomczak & Welling 2018), p(z) = (1/C) sum_c q(z | u_c),
  the encoder's own posteriors at C learned pseudo-inputs u_c (:class:`VampPrior`).
  It approximates the prior that maximizes the ELBO, the aggregate posterior
  q(z) = E_x q(z|x).

A mixture prior has no closed-form KL(q(z|x) || p(z)); the ELBO then uses the
single-sample Monte Carlo estimate (:func:`vaebook.distributions.kl_divergence`)

    KL_hat = log q(z|x) - log p(z),  z ~ q(z|x),

which is unbiased, with variance Var_q[log q(z|x) - log p(z)] (S samples: that over
S). For p = N(0, I) and q = N(mu, diag(s^2)) that variance is
sum_k [(s_k^2 - 1)^2 / 2 + mu_k^2 s_k^2], zero only when q = p.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import distributions as D
from torch import nn

from .distributions import standard_normal

PRIORS = ("normal", "mog", "vamp")


class GaussianMixture(D.MixtureSameFamily):
    """A mixture of C diagonal Gaussians over K dimensions, event_shape (K,).

    ``logits`` (C,) are the unnormalized log weights, ``loc`` and ``scale`` (C, K).
    ``log_prob`` is the same number as :class:`torch.distributions.MixtureSameFamily`
    computes, but as two matrix products: with a_c = 1/sigma_c^2,
    sum_k (z_k - mu_ck)^2 a_ck = z^2 . a_c - 2 z . (mu_c a_c) + mu_c^2 . a_c, so an
    (N, K) batch of z costs (N, C) products instead of an (N, C, K) tensor (S = 1000
    importance samples on 10,000 images fit in memory). In float64, because the three
    terms cancel when a scale is small.
    """

    CHUNK = 2**22  # matrix entries per product (32 MB in float64)

    def __init__(self, logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor):
        if loc.dim() != 2 or loc.shape != scale.shape or logits.shape != loc.shape[:1]:
            raise ValueError(
                "logits (C,), loc and scale (C, K) expected, got "
                f"{tuple(logits.shape)}, {tuple(loc.shape)}, {tuple(scale.shape)}"
            )
        super().__init__(
            D.Categorical(logits=logits), D.Independent(D.Normal(loc, scale), 1)
        )

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) for z (..., K): (...,)."""
        comp = self.component_distribution.base_dist
        loc, scale = comp.loc.double(), comp.scale.double()
        k = loc.shape[-1]
        flat = z.reshape(-1, k).double()  # (N, K)
        precision = scale.pow(-2)  # (C, K)
        scaled_loc = loc * precision
        constant = (
            self.mixture_distribution.logits.double()  # normalized log weights
            - scale.log().sum(-1)
            - 0.5 * k * math.log(2 * math.pi)
            - 0.5 * (loc.pow(2) * precision).sum(-1)
        )  # (C,)
        rows = max(1, self.CHUNK // len(loc))  # (rows, C) at a time: bounded memory
        log_p = torch.cat(
            [
                torch.logsumexp(
                    constant
                    - 0.5 * (part.pow(2) @ precision.T)
                    + part @ scaled_loc.T,  # -(1/2) sum_k (z_k - mu_ck)^2 / s_ck^2
                    dim=-1,
                )
                for part in flat.split(rows)
            ]
        )
        return log_p.to(z.dtype).reshape(z.shape[:-1])


class MixturePrior(nn.Module):
    """p(z) = sum_c pi_c N(mu_c, diag(sigma_c^2)), all learned (``components`` = C).

    The means start as draws from N(0, I) so that the components differ, the scales
    at 1 and the weights equal.
    """

    def __init__(self, components: int, latent_dim: int):
        super().__init__()
        check_components(components)
        self.logits = nn.Parameter(torch.zeros(components))
        self.loc = nn.Parameter(torch.randn(components, latent_dim))
        # softplus(0.5413) = 1: the scales start at 1
        self.raw_scale = nn.Parameter(torch.full((components, latent_dim), 0.5413))

    def prior(self) -> GaussianMixture:
        return GaussianMixture(self.logits, self.loc, F.softplus(self.raw_scale) + 1e-4)


class VampPrior(nn.Module):
    """The VampPrior (Tomczak & Welling 2018): p(z) = (1/C) sum_c q_phi(z | u_c).

    ``pseudo_inputs`` (C, D) are learned "images" u_c, kept in [0, 1] by a hard tanh
    as in the paper; :meth:`prior` encodes them with the encoder ``encode`` it is
    given (the VAE's own, so the prior moves with q and costs C extra encoder passes
    per step). They start as in the paper's code, nearly blank images with pixels
    drawn from N(0.05, 0.01^2).

    Train it with the KL weight held at 0 for the first steps
    (``TrainConfig.beta_hold``, recipe ``prior_vamp``). This prior is built from the
    encoder, so giving every image the same posterior makes the KL exactly 0 for
    any posterior; at initialization the encoder hardly tells images apart (the
    book's tanh networks take a few hundred steps to leave the plateau where the
    decoder draws the mean image), the prior is one narrow blob, and a KL weight of
    a few hundredths is enough to pull every code onto it: the run then never
    recovers (-ELBO about 207 nats, zero KL). After a short hold the codes are
    spread and the prior follows them.
    """

    def __init__(self, components: int, data_dim: int):
        super().__init__()
        check_components(components)
        pseudo_inputs = torch.empty(components, data_dim).normal_(0.05, 0.01)
        self.pseudo_inputs = nn.Parameter(pseudo_inputs)

    def images(self) -> torch.Tensor:
        """The pseudo-inputs u_c as images in [0, 1]: (C, D)."""
        return F.hardtanh(self.pseudo_inputs, 0.0, 1.0)

    def prior(self, encode) -> GaussianMixture:
        """The mixture of ``encode(u_c)``, each a diagonal Gaussian with batch (C,)."""
        qz = encode(self.images())
        base = qz.base_dist if isinstance(qz, D.Independent) else qz
        if not isinstance(base, D.Normal) or qz.batch_shape != self.images().shape[:1]:
            raise ValueError("the VampPrior needs a diagonal Gaussian encoder")
        logits = base.loc.new_zeros(len(base.loc))  # equal weights 1/C
        return GaussianMixture(logits, base.loc, base.scale)


def check_components(components: int) -> None:
    if isinstance(components, bool) or not isinstance(components, int):
        raise ValueError(f"prior components must be an integer, got {components!r}")
    if components < 1:
        raise ValueError(f"prior components must be at least 1, got {components}")


def build_prior(kind: str, components: int, latent_dim: int, data_dim: int):
    """The learned part of prior ``kind``: None for ``normal``, else its module."""
    if kind not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}, got {kind!r}")
    if kind == "normal":
        return None
    if kind == "mog":
        return MixturePrior(components, latent_dim)
    return VampPrior(components, data_dim)


def prior_of(module, latent_dim: int, encode, device) -> D.Distribution:
    """p(z) for a VAE whose learned prior is ``module`` (None: N(0, I))."""
    if module is None:
        return standard_normal(latent_dim, device=device)
    if isinstance(module, VampPrior):
        return module.prior(encode)
    return module.prior()
