"""p(x) on a grid and by prior sampling, against the exact marginal of a linear-Gaussian
model."""

import math

import pytest
import torch

from vaebook.marginal import (
    latent_grid,
    log_likelihood_matrix,
    log_marginal_grid,
    naive_log_marginal,
    posterior_gap_on_grid,
    posterior_on_grid,
)
from vaebook.models import LinearGaussian, VAEConfig
from vaebook.objectives import elbo


def linear_gaussian(k, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    model = LinearGaussian(
        0.8 * torch.randn(d, k, generator=g), torch.randn(d, generator=g), sigma=0.9
    )
    with (
        torch.no_grad()
    ):  # an imperfect amortized encoder, so the posterior gap is not zero
        model.enc_weight.copy_(0.1 * torch.randn(k, d, generator=g))
        model.enc_scale_tril.copy_(0.5 * torch.eye(k))
    return model


@pytest.mark.parametrize("k", [1, 2])
def test_grid_integral_matches_the_exact_marginal(k):
    model = linear_gaussian(k)
    torch.manual_seed(0)
    x = model.marginal().sample((5,))
    exact = model.marginal().log_prob(x)
    assert torch.allclose(
        log_marginal_grid(model, x, limit=6.0, steps=301), exact, atol=1e-3
    )


def test_grid_posterior_matches_the_exact_posterior():
    model = linear_gaussian(2)
    x = model.marginal().sample((3,))
    probs, grid = posterior_on_grid(model, x, limit=6.0, steps=301)
    mean = probs @ grid.points  # (N, K)
    assert torch.allclose(probs.sum(-1), torch.ones(3))
    assert torch.allclose(mean, model.posterior(x).mean, atol=1e-3)


def test_posterior_gap_is_the_exact_kl_and_closes_the_elbo():
    model = linear_gaussian(2)
    torch.manual_seed(1)
    x = model.marginal().sample((4,))
    gap = posterior_gap_on_grid(model, x, limit=6.0, steps=301)
    exact_gap = torch.distributions.kl_divergence(model.encode(x), model.posterior(x))
    assert torch.allclose(gap, exact_gap, rtol=1e-3, atol=1e-3)
    with torch.no_grad():
        terms = elbo(model, x, num_samples=20000)
    # ELBO + KL(q || p(z|x)) = log p(x), the Monte Carlo ELBO within 5 standard errors
    assert torch.allclose(terms.elbo + gap, model.marginal().log_prob(x), atol=0.05)
    model.use_exact_posterior()
    assert posterior_gap_on_grid(model, x, limit=6.0, steps=301).abs().max() < 1e-3


def test_naive_estimate_is_unbiased_for_p_of_x():
    """Mean of p(x|z_s) over prior samples is p(x): check within its standard error."""
    model = linear_gaussian(2, d=3)
    x = model.marginal().sample((1,))
    torch.manual_seed(2)
    z = model.prior().sample((200_000,))
    ratios = (
        model.decode(z).log_prob(x) - model.marginal().log_prob(x)
    ).exp()  # p(x|z)/p(x)
    assert abs(ratios.mean() - 1) < 5 * ratios.std() / math.sqrt(len(ratios))
    estimate = naive_log_marginal(model, x, 200_000)
    assert abs(estimate - model.marginal().log_prob(x)).item() < 0.05


def test_bernoulli_fast_path_matches_log_prob():
    torch.manual_seed(0)
    vae = VAEConfig(hidden=(16,), latent_dim=2).build()
    grid = latent_grid(2, steps=7)
    x = torch.bernoulli(torch.full((3, 784), 0.3))
    fast = log_likelihood_matrix(vae.decode(grid.points), x)
    slow = vae.decode(grid.points).log_prob(x[:, None, :])
    assert fast.shape == (3, 49) and torch.allclose(fast, slow, atol=1e-3)


def test_bad_grids_are_refused():
    with pytest.raises(ValueError, match="1-D or 2-D"):
        latent_grid(3)
    with pytest.raises(ValueError, match="steps"):
        latent_grid(2, steps=1)
    with pytest.raises(ValueError, match="num_samples"):
        naive_log_marginal(linear_gaussian(1), torch.zeros(1, 6), 0)
