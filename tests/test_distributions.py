"""Distributions against closed forms, torch and Monte Carlo within its standard
error."""

import pytest
import torch
import torch.nn.functional as F
from torch import distributions as D

from vaebook.distributions import (
    bernoulli_pixels,
    diagonal_gaussian,
    has_analytic_kl,
    kl_divergence,
    kl_per_dimension,
    standard_normal,
)


def test_gaussian_kl_matches_the_notes_formula_and_monte_carlo():
    torch.manual_seed(0)
    loc, scale = torch.randn(4, 3), torch.rand(4, 3) + 0.3
    q, p = diagonal_gaussian(loc, scale), standard_normal(3)
    analytic = kl_divergence(q, p)
    # the notes (1.4): KL(N(mu, sigma^2) || N(0, 1)) = -log sigma + (sigma^2 + mu^2 - 1)
    # / 2, per dimension
    notes = (-scale.log() + (scale**2 + loc**2 - 1) / 2).sum(-1)
    torch.testing.assert_close(analytic, notes)
    z = q.sample((200_000,))
    terms = q.log_prob(z) - p.log_prob(z)  # (S, B)
    mc, se = terms.mean(0), terms.std(0) / len(terms) ** 0.5
    assert ((mc - analytic).abs() < 4 * se).all(), (mc, analytic, se)


def test_kl_falls_back_to_monte_carlo_where_torch_has_no_closed_form():
    torch.manual_seed(0)
    q = D.Independent(D.StudentT(5.0, torch.zeros(2, 3), torch.ones(2, 3)), 1)
    p = standard_normal(3)
    assert not has_analytic_kl(q, p)
    with pytest.raises(ValueError, match="no closed form"):
        kl_divergence(q, p)
    z = q.sample((100_000,))
    estimate = kl_divergence(q, p, z)
    reference = (q.log_prob(z[:50_000]) - p.log_prob(z[:50_000])).mean(0)
    assert estimate.shape == (2,) and (estimate > 0).all()
    torch.testing.assert_close(estimate, reference, atol=0.02, rtol=0)


def test_kl_per_dimension_sums_to_the_kl():
    loc, scale = torch.randn(5, 4), torch.rand(5, 4) + 0.1
    q, p = diagonal_gaussian(loc, scale), standard_normal(4)
    per_dim = kl_per_dimension(q, p)
    assert per_dim.shape == (5, 4) and (per_dim >= 0).all()
    torch.testing.assert_close(per_dim.sum(-1), kl_divergence(q, p))


def test_bernoulli_log_likelihood_is_the_notes_sum_and_torchs_bce():
    torch.manual_seed(0)
    logits = torch.randn(3, 784)
    x = torch.bernoulli(torch.full((3, 784), 0.3))
    p = torch.sigmoid(logits).double()
    notes = (x * p.log() + (1 - x) * (1 - p).log()).sum(-1)  # Example 1 of the notes
    log_px = bernoulli_pixels(logits).log_prob(x)
    torch.testing.assert_close(log_px.double(), notes, rtol=1e-5, atol=1e-3)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    torch.testing.assert_close(log_px, -bce)


def test_bernoulli_decoder_refuses_grey_values():
    """BCE on grey values is not a likelihood: the decoder must not silently accept
    them."""
    grey = torch.rand(2, 784)
    with pytest.raises(ValueError):
        bernoulli_pixels(torch.zeros(2, 784)).log_prob(grey)
