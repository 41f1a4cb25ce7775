"""What the discrete-latent chapters measure on a trained discrete VAE
(book/discrete_latents, book/straight_through): per-step traces of the objective,
the mutual information I(x; z), and the exact-sample test bound.

Shapes: S samples, B batch, N images, K latents, C classes.
"""

from __future__ import annotations

import math

import torch
from torch import distributions as D

from ..discrete import bernoulli_latents, categorical_latents
from ..discrete_vae import DiscreteVAE
from ..distributions import log_prob_matrix


class TracedObjective:
    """A model's own objective that also records batch means of some metrics at every
    training step.

    ``fit(model, config, train, objective=traced)`` then leaves per-step curves in
    ``traced.trace[key]`` (lists of floats; one device sync per step, so for small
    runs).
    """

    def __init__(self, keys: tuple[str, ...] = ("kl", "neg_elbo", "log_px_given_z")):
        self.keys = keys
        self.trace: dict[str, list[float]] = {key: [] for key in keys}

    def __call__(self, model, x: torch.Tensor, state) -> dict[str, torch.Tensor]:
        out = model.objective(x, state)
        if model.training:
            for key in self.keys:
                self.trace[key].append(float(out[key].mean()))
        return out


@torch.no_grad()
def mutual_information(
    logits: torch.Tensor, num_samples: int = 10, categorical: bool = False
) -> dict[str, float]:
    """I(x; z) between N images x (uniform over them) and z ~ q(z|x), with q(z) = (1/N)
    sum_m q(z|x_m).

    I(x; z) = E_x E_{q(z|x)}[log q(z|x) - log q(z)] (Hoffman & Johnson 2016), estimated
    with ``num_samples`` draws of z per image; q(z) is the exact mixture over the N
    images, so only the z are Monte Carlo. 0 <= I <= log N, and E_x KL(q(z|x) || p(z)) =
    I + KL(q(z) || p(z)) >= I. ``logits``: (N, K) Bernoulli or (N, K, C) categorical
    encoder outputs. Returns the estimate, its Monte Carlo standard error (the N images
    are the data distribution, not a sample) and log N.
    """
    n = len(logits)
    qz = categorical_latents(logits) if categorical else bernoulli_latents(logits)
    z = qz.sample((num_samples,)).transpose(
        0, 1
    )  # (N, S, *event): S draws for each image
    per_image = []
    for chunk, rows in zip(
        z.split(256), torch.arange(n, device=logits.device).split(256)
    ):
        log_q = log_prob_matrix(qz, chunk.flatten(0, 1)).unflatten(
            0, chunk.shape[:2]
        )  # (n', S, N)
        own = log_q.gather(2, rows[:, None, None].expand(-1, num_samples, 1)).squeeze(
            2
        )  # log q(z | x_i)
        per_image.append(own - (torch.logsumexp(log_q, 2) - math.log(n)))  # (n', S)
    values = torch.cat(per_image)  # (N, S)
    se = (
        (values.var(1).mean() / values.numel()).sqrt()
        if num_samples > 1
        else values.std() / n**0.5
    )
    return {"mi": float(values.mean()), "mi_se": float(se), "log_n": math.log(n)}


@torch.no_grad()
def hard_neg_elbo_samples(
    model: DiscreteVAE, x: torch.Tensor, num_samples: int = 1
) -> torch.Tensor:
    """-(log p(x|z_s) - KL(q(z|x) || p(z))) for ``num_samples`` exact discrete z_s ~
    q(z|x): (S, B).

    Each row is an unbiased one-sample estimate of the discrete model's -ELBO (the KL is
    the closed form), whatever estimator trained the model; their mean over S and B is
    the test -ELBO.
    """
    qz = model.encode(x)
    kl = D.kl_divergence(qz, model.prior())  # (B,)
    z = qz.sample((num_samples,))  # (S, B, K) or (S, B, K, C)
    return -(model.decode(z).log_prob(x) - kl)
