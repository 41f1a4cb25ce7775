"""vaebook.models: the Gaussian VAE's distributions and shapes, and the linear-Gaussian
model (probabilistic PCA) whose posterior is exact."""

import pytest
import torch
from torch import distributions as D

from vaebook.models import GaussianVAE, LinearGaussian, VAEConfig


@pytest.mark.parametrize("architecture, hidden", [("mlp", (16, 8)), ("conv", (4, 8))])
def test_gaussian_vae_returns_distributions_of_the_documented_shapes(
    architecture, hidden
):
    torch.manual_seed(0)
    model = VAEConfig(architecture=architecture, hidden=hidden, latent_dim=3).build()
    assert isinstance(model, GaussianVAE) and model.latent_dim == 3
    x = torch.bernoulli(torch.full((5, 784), 0.3))
    q = model.encode(x)  # q(z|x): batch (B,), event (K,)
    assert isinstance(q, D.Independent) and isinstance(q.base_dist, D.Normal)
    assert q.batch_shape == (5,) and q.event_shape == (3,)
    assert (q.base_dist.scale > 0).all()
    z = q.rsample((2,))  # (S, B, K)
    p = model.decode(z)  # p(x|z): batch (S, B), event (D,)
    assert isinstance(p, D.Independent) and isinstance(p.base_dist, D.Bernoulli)
    assert p.batch_shape == (2, 5) and p.event_shape == (784,)
    assert p.log_prob(x).shape == (2, 5) and (p.log_prob(x) <= 0).all()
    prior = model.prior()  # p(z) = N(0, I)
    assert prior.batch_shape == () and prior.event_shape == (3,)
    assert torch.equal(prior.mean, torch.zeros(3))
    assert torch.equal(prior.stddev, torch.ones(3))
    kl = model.kl_per_dimension(x)  # the KL splits over the K dimensions
    assert kl.shape == (5, 3) and (kl >= 0).all()
    assert torch.allclose(kl.sum(-1), D.kl_divergence(q, prior), atol=1e-5)
    pixels = model.sample(4)
    assert pixels.shape == (4, 784) and ((pixels >= 0) & (pixels <= 1)).all()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"architecture": "rnn"}, "architecture must be one of"),
        ({"latent_dim": 0}, "must be positive"),
        ({"hidden": ()}, "must be positive"),
        ({"activation": "sigmoid"}, "activation must be one of"),
        ({"architecture": "conv", "hidden": (4, 8, 16)}, "at most 2"),
        ({"architecture": "conv", "data_dim": 100}, "28x28"),
    ],
)
def test_bad_vae_configs_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        VAEConfig(**fields)


def test_linear_gaussian_posterior_is_bayes_rule():
    """p(z|x) from the model equals the Gaussian conditional of the joint
    N((0, b), [[I, W^T], [W, W W^T + sigma^2 I]]), computed here independently;
    beta_posterior(x, 1) is that posterior."""
    g = torch.Generator().manual_seed(0)
    d, k, sigma = 5, 2, 0.7
    w, b = torch.randn(d, k, generator=g).double(), torch.randn(d, generator=g).double()
    model = LinearGaussian(w, b, sigma).double()
    x = torch.randn(4, d, generator=g).double()
    cov_x = w @ w.T + sigma**2 * torch.eye(d, dtype=torch.float64)
    gain = w.T @ torch.linalg.inv(cov_x)  # Cov(z, x) Cov(x)^-1
    loc = (x - b) @ gain.T
    cov = torch.eye(k, dtype=torch.float64) - gain @ w
    for q in (model.posterior(x), model.beta_posterior(x, 1.0)):
        assert isinstance(q, D.MultivariateNormal)
        assert q.batch_shape == (4,) and q.event_shape == (k,)
        assert torch.allclose(q.mean, loc, atol=1e-10)
        assert torch.allclose(q.covariance_matrix, cov.expand(4, k, k), atol=1e-10)
    # Bayes: log p(z|x) = log p(z) + log p(x|z) - log p(x) at any z
    z = torch.randn(3, 1, k, generator=g).double()
    bayes = model.prior().log_prob(z) + model.decode(z).log_prob(x)
    bayes = bayes - model.marginal().log_prob(x)
    assert torch.allclose(model.posterior(x).log_prob(z), bayes, atol=1e-10)
    assert model.decode(z).batch_shape == (3, 1) and model.decode(z).event_shape == (d,)


def test_ppca_fit_and_the_beta_optimal_posterior():
    from vaebook.models import LinearGaussian

    torch.manual_seed(0)
    truth = LinearGaussian(torch.randn(6, 2), torch.randn(6), sigma=0.5)
    data = truth.marginal().sample((20000,))
    fitted = LinearGaussian.fit(data, 2)
    assert (
        abs(fitted.sigma.item() - 0.5) < 0.02
    )  # the ML noise level recovers the truth
    assert torch.allclose(
        fitted.weight @ fitted.weight.T, truth.weight @ truth.weight.T, atol=0.1
    )
    x = data[:3]
    exact = fitted.posterior(x)
    q1 = fitted.beta_posterior(x, 1.0)
    assert torch.allclose(q1.mean, exact.mean, atol=1e-4)
    assert torch.allclose(q1.covariance_matrix, exact.covariance_matrix, atol=1e-5)

    def objective(q, beta):
        return fitted.expected_log_likelihood(
            x, q
        ) - beta * torch.distributions.kl_divergence(q, fitted.prior())

    for beta in (
        0.3,
        3.0,
    ):  # any other Gaussian does worse on the beta-weighted objective
        best = fitted.beta_posterior(x, beta)
        for shift, stretch in ((0.05, 1.0), (0.0, 1.2), (0.0, 0.8)):
            other = torch.distributions.MultivariateNormal(
                best.mean + shift, best.covariance_matrix * stretch
            )
            assert (objective(other, beta) < objective(best, beta)).all()
    torch.manual_seed(1)
    z = q1.sample((200000,))
    mc = fitted.decode(z).log_prob(x).mean(0)
    assert torch.allclose(fitted.expected_log_likelihood(x, q1), mc, atol=0.02)
    with pytest.raises(ValueError, match="beta"):
        fitted.beta_posterior(x, 0.0)
