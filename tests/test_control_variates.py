"""vaebook.control_variates and the estimator classes built on it (score-function,
nvil, rloo, vimco, disarm): unbiased against enumeration of every state (VIMCO
against the S-sample bound enumerated over every S-tuple), the variance ordering the
chapter states, finite for extreme logits, clear errors."""

import itertools
import math

import pytest
import torch

from vaebook import control_variates as cv
from vaebook.discrete import CATEGORICAL_ESTIMATORS, ESTIMATORS, get_estimator
from vaebook.experiments.enumeration import enumerate_states, exact_gradient

F64 = torch.float64
BERN_LOGITS = torch.tensor([-1.2, 0.3, 1.1], dtype=F64)  # K = 3
CAT_LOGITS = torch.tensor([[0.4, -0.6, 0.1], [-0.9, 0.7, 0.2]], dtype=F64)  # (2, 3)
R = 20_000  # independent estimates per check


def bern_f(z):
    """A nonlinear f of K <= 3 Bernoulli latents: (..., K) -> (...)."""
    w = torch.tensor([1.0, -2.0, 3.0], dtype=z.dtype)[: z.shape[-1]]
    return (z * w).sum(-1).sin() * 5 - 2


def cat_f(z):
    """A nonlinear f of two one-hot latents with C = 3: (..., K, C) -> (...)."""
    return ((z * torch.tensor([0.0, 1.0, 3.0], dtype=z.dtype)).sum((-2, -1)) - 2) ** 2


def estimates(estimator, logits, f, n=R, **kwargs):
    """n independent estimates (n, *logits.shape) of d/dlogits E_q[f]."""
    copies = logits.expand(n, *logits.shape).clone().requires_grad_(True)
    s = estimator.surrogate(copies, f, **kwargs)
    (grad,) = torch.autograd.grad(s.objective.sum(), copies)
    return grad


def assert_unbiased(samples, exact, z=4.0):
    se = samples.std(0) / math.sqrt(len(samples))
    gap = (samples.mean(0) - exact).abs()
    assert torch.all(gap < z * se + 1e-12), (samples.mean(0), exact, se)


def uniform_log_prior(num_latents, states=2):
    """log p(z) of the uniform prior: z (..., K) -> (...), one-hot (..., K, C)."""
    event = 1 if states == 2 else 2
    value = -num_latents * math.log(states)
    return lambda z: torch.full(z.shape[: z.dim() - event], value, dtype=z.dtype)


@pytest.mark.parametrize(
    "name, params",
    [
        ("score-function", {}),
        ("nvil", {}),
        ("rloo", {"num_samples": 2}),
        ("rloo", {"num_samples": 4}),
        ("disarm", {}),
    ],
)
def test_bernoulli_estimators_are_unbiased(name, params):
    torch.manual_seed(0)
    exact = exact_gradient(BERN_LOGITS, bern_f)
    samples = estimates(ESTIMATORS[name](**params), BERN_LOGITS, bern_f)
    assert_unbiased(samples, exact)


@pytest.mark.parametrize(
    "name, params", [("score-function", {}), ("nvil", {}), ("rloo", {"num_samples": 3})]
)
def test_categorical_estimators_are_unbiased(name, params):
    torch.manual_seed(1)
    exact = exact_gradient(CAT_LOGITS, cat_f, categorical=True)
    samples = estimates(CATEGORICAL_ESTIMATORS[name](**params), CAT_LOGITS, cat_f)
    assert_unbiased(samples, exact)


def test_a_baseline_keeps_reinforce_unbiased_and_a_biased_one_would_show():
    """Any constant b: unbiased. b that depends on z (here b = f(z) / 2) halves the
    mean gradient: the check can fail."""
    torch.manual_seed(2)
    exact = exact_gradient(BERN_LOGITS, bern_f)
    est = ESTIMATORS["score-function"]()
    assert_unbiased(estimates(est, BERN_LOGITS, bern_f, baseline=7.0), exact)
    logits = BERN_LOGITS.expand(R, 3).clone().requires_grad_(True)
    z = torch.bernoulli(torch.sigmoid(BERN_LOGITS).expand(1, R, 3))
    s = cv.reinforce(logits, bern_f, z, baseline=bern_f(z) / 2)
    (grad,) = torch.autograd.grad(s.objective.sum(), logits)
    assert_unbiased(grad, exact / 2)
    with pytest.raises(AssertionError):
        assert_unbiased(grad, exact)


def test_nvil_scale_divides_the_expected_gradient():
    torch.manual_seed(3)
    exact = exact_gradient(BERN_LOGITS, bern_f)
    est = ESTIMATORS["nvil"]()
    samples = estimates(est, BERN_LOGITS, bern_f, baseline=-1.0, scale=4.0)
    assert_unbiased(samples, exact / 4)


def vimco_bound_by_tuples(logits, f, log_prior, num_samples, categorical=False):
    """E over every S-tuple of states (N^S of them) of log (1/S) sum_s w_s."""
    shape = logits.shape if categorical else logits.shape[-1:]
    states = enumerate_states(*shape, dtype=logits.dtype)
    log_q = cv.latent_log_prob(logits, states, categorical)
    log_w = f(states) + log_prior(states) - log_q  # (N,)
    total = 0.0
    for tup in itertools.product(range(len(states)), repeat=num_samples):
        idx = torch.tensor(tup)
        bound = torch.logsumexp(log_w[idx], 0) - math.log(num_samples)
        total = total + log_q[idx].sum().exp() * bound
    return total


@pytest.mark.parametrize(
    "categorical, num_samples", [(False, 2), (False, 3), (True, 2)]
)
def test_vimco_is_unbiased_for_the_gradient_of_its_bound(categorical, num_samples):
    torch.manual_seed(4)
    logits = (CAT_LOGITS if categorical else BERN_LOGITS[:2]).clone()
    f = cat_f if categorical else bern_f
    k, c = (2, 3) if categorical else (2, 2)
    prior = uniform_log_prior(k, c)
    leaf = logits.clone().requires_grad_(True)
    bound = vimco_bound_by_tuples(leaf, f, prior, num_samples, categorical)
    (exact,) = torch.autograd.grad(bound, leaf)
    table = CATEGORICAL_ESTIMATORS if categorical else ESTIMATORS
    est = table["vimco"](num_samples=num_samples)
    samples = estimates(est, logits, f, log_prior=prior)
    assert_unbiased(samples, exact)
    # and not for the gradient of the single-sample ELBO: the test can tell them apart
    elbo = exact_gradient(logits, lambda z: f(z) + prior(z), categorical)
    entropy = -exact_gradient(
        logits,
        lambda z: cv.latent_log_prob(logits, z, categorical),
        categorical,
    )
    assert (exact - (elbo + entropy)).abs().max() > 0.05


def test_vimco_signals_follow_their_definition():
    torch.manual_seed(5)
    log_w = torch.randn(4, 3, dtype=F64) * 3
    signals = cv.vimco_signals(log_w)
    bound = torch.logsumexp(log_w, 0) - math.log(4)
    for s in range(4):
        others = torch.cat([log_w[:s], log_w[s + 1 :]])
        swapped = log_w.clone()
        swapped[s] = others.mean(0)  # log of the geometric mean of the others
        held_out = torch.logsumexp(swapped, 0) - math.log(4)
        assert torch.allclose(signals[s], bound - held_out)


def test_leave_one_out_baseline_is_the_mean_of_the_others():
    values = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 7.0]])
    expected = torch.tensor([[4.0, 6.5], [3.0, 4.5], [2.0, 4.0]])
    assert torch.allclose(cv.leave_one_out(values), expected)


def test_antithetic_pair_marginals_are_exact_and_negatively_coupled():
    torch.manual_seed(6)
    logits = torch.tensor([-1.0, 0.0, 2.0], dtype=F64).expand(50_000, 3)
    b, b_anti = cv.antithetic_pair(logits)
    p = torch.sigmoid(logits[0])
    se = (p * (1 - p) / 50_000).sqrt()
    assert torch.all((b.mean(0) - p).abs() < 4 * se)
    assert torch.all((b_anti.mean(0) - p).abs() < 4 * se)
    both = (b * b_anti).mean(0)  # P(b = b' = 1) = max(0, 2p - 1)
    assert torch.allclose(both, (2 * p - 1).clamp(min=0), atol=0.01)


def variance(samples):
    return float(samples.var(0).sum())


def test_baselines_remove_the_offset_that_plain_reinforce_suffers_from():
    """f shifted by -20 (as log p(x|z) sits far below 0): at 4 decoder passes RLOO
    S = 4 and DisARM (2 pairs) keep their variance (both are invariant to the
    shift), REINFORCE without a baseline (the mean of 4 single-sample estimates)
    does not. The chapter's factors on its toy: tests/experiments."""
    torch.manual_seed(7)
    n = 4000

    def shifted(z):
        return bern_f(z) - 20

    def passes4(name, per_estimate, **params):
        est = ESTIMATORS[name](**params)
        g = estimates(est, BERN_LOGITS, shifted, per_estimate * n)
        return g.unflatten(0, (per_estimate, n)).mean(0)

    reinforce4 = passes4("score-function", 4)
    rloo4, disarm4 = passes4("rloo", 1, num_samples=4), passes4("disarm", 2)
    assert variance(rloo4) * 10 < variance(reinforce4)
    assert variance(disarm4) * 10 < variance(reinforce4)
    rloo2 = passes4("rloo", 1, num_samples=2)
    assert variance(rloo4) < variance(rloo2)


EXTREME = torch.linspace(-30, 30, 6, dtype=torch.float32)


@pytest.mark.parametrize(
    "name, params",
    [
        ("score-function", {}),
        ("nvil", {}),
        ("rloo", {"num_samples": 3}),
        ("vimco", {"num_samples": 3}),
        ("disarm", {}),
    ],
)
def test_gradients_are_finite_for_extreme_logits(name, params):
    torch.manual_seed(8)
    prior = uniform_log_prior(6)
    f = lambda z: (z.sum(-1) - 2.5) ** 2  # noqa: E731
    samples = estimates(ESTIMATORS[name](**params), EXTREME, f, 64, log_prior=prior)
    assert torch.isfinite(samples).all()
    if name in CATEGORICAL_ESTIMATORS:
        logits = torch.stack([EXTREME, -EXTREME, torch.zeros(6)], -1)  # (6, 3)
        est = CATEGORICAL_ESTIMATORS[name](**params)
        cat_prior = uniform_log_prior(6, 3)
        g = estimates(est, logits, cat_f, 64, log_prior=cat_prior)
        assert torch.isfinite(g).all()


@pytest.mark.parametrize("name", ["rloo", "vimco"])
def test_fewer_than_two_samples_is_a_clear_error(name):
    for table in (ESTIMATORS, CATEGORICAL_ESTIMATORS):
        with pytest.raises(ValueError, match="num_samples must be an integer >= 2"):
            table[name](num_samples=1)
    with pytest.raises(ValueError, match="at least 2 samples"):
        cv.leave_one_out(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="VIMCO needs at least 2 samples"):
        cv.vimco_signals(torch.zeros(1, 3))


def test_vimco_without_a_prior_is_a_clear_error():
    est = ESTIMATORS["vimco"](num_samples=2)
    with pytest.raises(ValueError, match="log_prior"):
        est.surrogate(BERN_LOGITS.expand(2, 3), bern_f)


def test_disarm_is_refused_for_categorical_latents():
    assert "disarm" in ESTIMATORS and "disarm" not in CATEGORICAL_ESTIMATORS
    with pytest.raises(KeyError, match="no categorical estimator 'disarm'"):
        get_estimator("disarm", categorical=True)
