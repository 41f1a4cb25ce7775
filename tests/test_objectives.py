"""ELBO and importance-weighted bound on a model whose log p(x) and posterior are
exact."""

import pytest
import torch
from torch import distributions as D

from vaebook.models import LinearGaussian
from vaebook.objectives import elbo, iw_bound, log_importance_weights


@pytest.fixture
def model():
    g = torch.Generator().manual_seed(0)
    d, k = 5, 2
    m = LinearGaussian(
        torch.randn(d, k, generator=g), torch.randn(d, generator=g), sigma=0.7
    )
    with torch.no_grad():  # a deliberately imperfect encoder: the ELBO has a gap
        m.enc_weight.copy_(0.2 * torch.randn(k, d, generator=g))
        m.enc_scale_tril.copy_(torch.diag(torch.tensor([0.6, 1.3])))
    return m


@pytest.fixture
def x(model):
    torch.manual_seed(1)
    return model.marginal().sample((4,))


def test_elbo_equals_log_px_minus_kl_to_the_posterior(model, x):
    torch.manual_seed(0)
    with torch.no_grad():
        terms = elbo(model, x, num_samples=200_000)
        exact = model.marginal().log_prob(x) - D.kl_divergence(
            model.encode(x), model.posterior(x)
        )
        # the reconstruction term is a Monte Carlo estimate: compare within its standard
        # error
        qz = model.encode(x)
        z = qz.sample((200_000,))
        se = model.decode(z).log_prob(x).std(0) / 200_000**0.5
    assert ((terms.elbo - exact).abs() < 4 * se + 1e-4).all(), (terms.elbo, exact, se)
    assert (terms.elbo < model.marginal().log_prob(x)).all()


def test_with_the_exact_posterior_every_importance_weight_is_p_x(model, x):
    model.use_exact_posterior()
    torch.manual_seed(0)
    with torch.no_grad():
        log_w = log_importance_weights(model, x, 50)  # (S, B)
        log_px = model.marginal().log_prob(x)
        torch.testing.assert_close(log_w, log_px.expand_as(log_w), atol=1e-3, rtol=0)
        torch.testing.assert_close(
            iw_bound(model, x, 50, chunk_size=7), log_px, atol=1e-3, rtol=0
        )
        # the analytic-KL ELBO is only equal in expectation: its reconstruction term is
        # Monte Carlo
        torch.testing.assert_close(
            elbo(model, x, 20_000).elbo, log_px, atol=0.05, rtol=0
        )


def test_iw_bound_grows_with_samples_and_converges_to_log_px(model, x):
    torch.manual_seed(0)
    log_px = model.marginal().log_prob(x)
    repeats = 400
    with torch.no_grad():
        means, ses = [], []
        for s in (1, 5, 50):
            draws = torch.stack(
                [iw_bound(model, x, s) for _ in range(repeats)]
            )  # (R, B)
            means.append(draws.mean(0))
            ses.append(draws.std(0) / repeats**0.5)
        elbo_value = log_px - D.kl_divergence(model.encode(x), model.posterior(x))
        big = iw_bound(model, x, 20_000, chunk_size=3000)
    assert ((means[0] - elbo_value).abs() < 4 * ses[0]).all(), "L_1 is the ELBO"
    for (m1, s1), (m2, s2) in zip(zip(means, ses), zip(means[1:], ses[1:])):
        assert (m2 > m1 - 4 * (s1 + s2)).all(), "L_S must not decrease with S"
    assert (means[-1] > means[0] + 0.05).all(), (
        "with a gap, 50 samples must tighten the bound"
    )
    assert (means[-1] <= log_px + 4 * ses[-1]).all(), "L_S is a lower bound"
    torch.testing.assert_close(big, log_px, atol=0.02, rtol=0)


def test_iw_bound_is_differentiable_and_rejects_bad_sample_counts(model, x):
    value = iw_bound(model, x, 10).sum()
    value.backward()
    assert model.enc_weight.grad is not None and model.weight.grad is not None
    with pytest.raises(ValueError, match="at least 1"):
        iw_bound(model, x, 0)
    with pytest.raises(ValueError, match="at least 1"):
        elbo(model, x, 0)
