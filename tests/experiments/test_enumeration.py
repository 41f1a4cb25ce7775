"""vaebook.experiments.enumeration: exact expectations and gradients by enumerating
every state, checked against torch.distributions, the Bernoulli difference formula and
central finite differences; bias and variance against their definitions."""

import pytest
import torch
from enumeration_cases import BERN_LOGITS, CAT_LOGITS, F64, WEIGHTS
from torch import distributions as D

from vaebook.experiments import enumeration as en


def bern_f(z):
    """A nonlinear f of K = 3 Bernoulli latents: (S, K) -> (S,)."""
    return (z.sum(-1) - 1.3) ** 2


def cat_f(z):
    """A nonlinear f of K = 2 one-hot latents with C = 3: (S, K, C) -> (S,)."""
    return ((z * WEIGHTS).sum((-2, -1)) - 2.0) ** 2


def test_enumerate_states():
    b = en.enumerate_states(3)
    assert b.shape == (8, 3) and len({tuple(r.tolist()) for r in b}) == 8
    c = en.enumerate_states(2, 3)
    assert c.shape == (9, 2, 3) and torch.all(c.sum(-1) == 1)
    assert len({tuple(r.flatten().tolist()) for r in c}) == 9


def test_exact_expectation_matches_torch_distributions():
    p = torch.sigmoid(BERN_LOGITS)
    dist = D.Independent(D.Bernoulli(probs=p), 1)
    states = en.enumerate_states(3).to(F64)
    ref = (dist.log_prob(states).exp() * bern_f(states)).sum()
    assert abs(en.exact_expectation(BERN_LOGITS, bern_f).item() - ref.item()) < 1e-6
    cat = D.Independent(D.OneHotCategorical(logits=CAT_LOGITS), 1)
    states = en.enumerate_states(2, 3).to(F64)
    ref = (cat.log_prob(states).exp() * cat_f(states)).sum()
    assert (
        abs(en.exact_expectation(CAT_LOGITS, cat_f, True).item() - ref.item()) < 1e-10
    )


def test_exact_gradient_bernoulli_difference_formula():
    """d/dl_k E f = p_k (1 - p_k) (E[f | z_k = 1] - E[f | z_k = 0])."""
    p = torch.sigmoid(BERN_LOGITS)
    states = en.enumerate_states(3).to(F64)
    expected = []
    for k in range(3):
        others = [j for j in range(3) if j != k]
        w = torch.prod(
            torch.where(states[:, others] == 1, p[others], 1 - p[others]), -1
        )
        diff = 0.0
        for s, ws in zip(states, w):
            if s[k] == 1:
                s0 = s.clone()
                s0[k] = 0
                diff += ws * (bern_f(s[None]) - bern_f(s0[None]))[0]
        expected.append(p[k] * (1 - p[k]) * diff)
    torch.testing.assert_close(
        en.exact_gradient(BERN_LOGITS, bern_f),
        torch.stack(expected),
        rtol=1e-6,
        atol=1e-7,
    )


@pytest.mark.parametrize("categorical", [False, True], ids=["bernoulli", "categorical"])
def test_exact_gradient_matches_finite_differences_float64(categorical):
    logits, f = (CAT_LOGITS, cat_f) if categorical else (BERN_LOGITS, bern_f)
    grad = en.exact_gradient(logits, f, categorical)
    h = 1e-6
    fd = torch.zeros_like(logits)
    for i in range(logits.numel()):
        e = torch.zeros(logits.numel(), dtype=F64)
        e[i] = h
        e = e.reshape(logits.shape)
        fd.view(-1)[i] = (
            en.exact_expectation(logits + e, f, categorical)
            - en.exact_expectation(logits - e, f, categorical)
        ) / (2 * h)
    torch.testing.assert_close(grad, fd, rtol=1e-7, atol=1e-8)
    value = en.exact_expectation(logits, f, categorical)
    assert value.dtype == F64, (
        f"exact_expectation of float64 logits is computed in {value.dtype}"
    )


def test_bias_and_variance():
    samples = torch.tensor([[1.0, 2.0], [3.0, 2.0], [2.0, 5.0]], dtype=F64)
    exact = torch.tensor([1.0, 1.0], dtype=F64)
    out = en.bias_and_variance(samples, exact)
    assert out["bias_sq"] == pytest.approx(1.0 + 4.0)
    assert out["variance"] == pytest.approx(1.0 + 3.0)
    assert out["mean_se_norm"] == pytest.approx((4.0 / 3) ** 0.5)
