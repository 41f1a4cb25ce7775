"""Discrete-latent gradient estimators (vaebook.discrete) against exact references.

References: chi-squared goodness of fit for the samples, hand-derived backward
formulas, enumeration of every z (exact_gradient) checked in turn by central finite
differences and by the Bernoulli difference formula, Monte Carlo means within a few
standard errors, and torch.distributions' closed-form KLs.
"""

import math

import pytest
import torch
from torch import distributions as D

from vaebook import discrete as d
from vaebook.experiments import enumeration as en

F64 = torch.float64
BERN_LOGITS = torch.tensor([-1.5, 0.2, 1.0], dtype=F64)  # K = 3
CAT_LOGITS = torch.tensor(
    [[0.5, -0.3, 0.1], [-1.0, 0.8, 0.2]], dtype=F64
)  # K = 2, C = 3
WEIGHTS = torch.tensor([0.0, 1.0, 3.0], dtype=F64)
# chi-squared critical values at p = 0.001, by degrees of freedom
CHI2_001 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 6: 22.46}
PARAMS = {"temperature": 0.5, "sharpness": 5.0}  # each estimator takes its own


def bern_f(z):
    """A nonlinear f of K = 3 Bernoulli latents: (S, K) -> (S,)."""
    return (z.sum(-1) - 1.3) ** 2


def cat_f(z):
    """A nonlinear f of K = 2 one-hot latents with C = 3: (S, K, C) -> (S,)."""
    return ((z * WEIGHTS).sum((-2, -1)) - 2.0) ** 2


def chi2_bernoulli(z, p):
    """Sum over latents of the df = 1 chi-squared statistics: df = K."""
    n = len(z)
    ones = z.sum(0)
    expected1, expected0 = n * p, n * (1 - p)
    return float(
        (
            ((ones - expected1) ** 2) / expected1
            + ((n - ones - expected0) ** 2) / expected0
        ).sum()
    )


def chi2_categorical(z, p):
    """z (N, K, C) one-hot, p (K, C): sum over latents of the df = C - 1 statistics, df
    = K (C - 1)."""
    n = len(z)
    observed, expected = z.sum(0), n * p
    return float(((observed - expected) ** 2 / expected).sum())


def mean_and_se(samples):
    return samples.mean(0), samples.std(0) / len(samples) ** 0.5


# --- Gumbel-max and exact samples -----------------------------------------------------


def test_gumbel_max_frequencies():
    torch.manual_seed(0)
    logits = torch.tensor([0.3, -1.0, 1.2, 0.0, -0.4], dtype=F64)
    p = torch.softmax(logits, -1)
    g = d.gumbel_noise(logits.expand(100_000, 5))
    counts = torch.bincount((logits + g).argmax(-1), minlength=5).to(F64)
    stat = float(((counts - len(g) * p) ** 2 / (len(g) * p)).sum())
    assert stat < CHI2_001[4], stat
    # power: the same counts against a slightly wrong p are rejected
    q = torch.softmax(logits * 1.1, -1)
    assert float(((counts - len(g) * q) ** 2 / (len(g) * q)).sum()) > CHI2_001[4]


def test_gumbel_and_logistic_noise_moments():
    """Standard Gumbel: mean = Euler's gamma, variance pi^2/6. Logistic: mean 0,
    variance pi^2/3."""
    torch.manual_seed(1)
    like = torch.zeros(200_000, dtype=F64)
    for noise, mean, var in [
        (d.gumbel_noise(like), 0.5772156649, math.pi**2 / 6),
        (d.logistic_noise(like), 0.0, math.pi**2 / 3),
    ]:
        se = (noise.var() / len(noise)) ** 0.5
        assert abs(noise.mean().item() - mean) < 4 * se
        assert abs(noise.var().item() / var - 1) < 0.03


EXACT_BERNOULLI = [n for n, e in d.ESTIMATORS.items() if not e.relaxed]
EXACT_CATEGORICAL = [n for n, e in d.CATEGORICAL_ESTIMATORS.items() if not e.relaxed]


def test_registry_flags():
    assert {
        "naive",
        "straight-through",
        "straight-through-gumbel",
        "score-function",
    } <= set(EXACT_BERNOULLI)
    assert {
        "naive",
        "straight-through",
        "straight-through-gumbel",
        "score-function",
    } <= set(EXACT_CATEGORICAL)
    assert (
        d.ESTIMATORS["gumbel-softmax"].relaxed
        and d.CATEGORICAL_ESTIMATORS["gumbel-softmax"].relaxed
    )
    unbiased = ["score-function", "nvil", "rloo", "vimco"]
    assert [n for n, e in d.ESTIMATORS.items() if e.score_function] == [
        *unbiased,
        "disarm",
    ]
    assert [
        n for n, e in d.CATEGORICAL_ESTIMATORS.items() if e.score_function
    ] == unbiased
    with pytest.raises(KeyError, match="registered"):
        d.get_estimator("no-such-estimator", categorical=True)


@pytest.mark.parametrize("name", EXACT_BERNOULLI)
def test_bernoulli_forward_samples_are_exact(name):
    torch.manual_seed(2)
    n = 40_000
    z = (
        d.get_estimator(name)
        .at(**PARAMS)(BERN_LOGITS.expand(n, 3).clone().requires_grad_(True))
        .detach()
    )
    assert torch.all((z == 0) | (z == 1)), "not binary"
    p = torch.sigmoid(BERN_LOGITS)
    assert chi2_bernoulli(z, p) < CHI2_001[3]
    assert (
        chi2_bernoulli(z, torch.sigmoid(BERN_LOGITS + 0.1)) > CHI2_001[3]
    )  # the test has power


@pytest.mark.parametrize("name", EXACT_CATEGORICAL)
def test_categorical_forward_samples_are_exact_one_hot(name):
    torch.manual_seed(3)
    n = 40_000
    z = (
        d.get_estimator(name, categorical=True)
        .at(**PARAMS)(CAT_LOGITS.expand(n, 2, 3).clone().requires_grad_(True))
        .detach()
    )
    assert torch.all((z == 0) | (z == 1)) and torch.all(z.sum(-1) == 1), "not one-hot"
    assert chi2_categorical(z, torch.softmax(CAT_LOGITS, -1)) < CHI2_001[4]
    assert chi2_categorical(z, torch.softmax(CAT_LOGITS * 1.15, -1)) > CHI2_001[4]


@pytest.mark.parametrize("name", [n for n, e in d.ESTIMATORS.items() if e.relaxed])
def test_relaxed_bernoulli_estimators_stay_in_unit_interval(name):
    torch.manual_seed(4)
    z = d.get_estimator(name).at(**PARAMS)(BERN_LOGITS.expand(5000, 3))
    assert torch.all((z >= 0) & (z <= 1))
    assert ((z > 0) & (z < 1)).float().mean() > 0.1, (
        "a relaxed estimator should give non-binary values"
    )


# --- naive: right samples, zero gradient ----------------------------------------------


def test_naive_bernoulli_mean_and_zero_gradient():
    torch.manual_seed(5)
    logits = BERN_LOGITS.expand(50_000, 3).clone().requires_grad_(True)
    z = d.ESTIMATORS["naive"]()(logits)
    mean, se = mean_and_se(z.detach())
    assert torch.all((mean - torch.sigmoid(BERN_LOGITS)).abs() < 4 * se)
    (grad,) = torch.autograd.grad(
        bern_f(z).sum() + (z * torch.arange(3.0, dtype=F64)).exp().sum(), logits
    )
    assert torch.all(grad == 0)


def test_naive_categorical_mean_and_zero_gradient():
    torch.manual_seed(6)
    logits = CAT_LOGITS.expand(50_000, 2, 3).clone().requires_grad_(True)
    z = d.CATEGORICAL_ESTIMATORS["naive"]()(logits)
    mean, se = mean_and_se(z.detach())
    assert torch.all((mean - torch.softmax(CAT_LOGITS, -1)).abs() < 4 * se)
    (grad,) = torch.autograd.grad(cat_f(z).sum(), logits)
    assert torch.all(grad == 0)


def test_step_function():
    t = torch.tensor([-2.0, -1e-9, 0.0, 1e-9, 3.0], requires_grad=True)
    s = d.step(t)
    assert s.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    s.sum().backward()
    assert torch.all(t.grad == 0)


# --- straight-through: exact forward, hand-formula backward, biased mean --------------


def test_straight_through_bernoulli_backward_formula():
    torch.manual_seed(7)
    logits = torch.randn(64, 3, dtype=F64, requires_grad=True)
    a = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
    z = d.ESTIMATORS["straight-through"]()(logits)
    ((z * a).sum(-1) ** 2).sum().backward()
    zh = z.detach()
    df_dz = 2 * (zh * a).sum(-1, keepdim=True) * a  # evaluated at the hard sample
    p = torch.sigmoid(logits.detach())
    torch.testing.assert_close(logits.grad, p * (1 - p) * df_dz, rtol=1e-12, atol=1e-12)


def test_straight_through_categorical_backward_formula():
    torch.manual_seed(8)
    logits = torch.randn(64, 2, 3, dtype=F64, requires_grad=True)
    z = d.CATEGORICAL_ESTIMATORS["straight-through"]()(logits)
    cat_f(z).sum().backward()
    g = (
        2 * ((z.detach() * WEIGHTS).sum((-2, -1)) - 2.0)[:, None, None] * WEIGHTS
    )  # df/dz at the hard z
    p = torch.softmax(logits.detach(), -1)
    expected = p * (g - (p * g).sum(-1, keepdim=True))  # (diag p - p p^T) g
    torch.testing.assert_close(logits.grad, expected, rtol=1e-12, atol=1e-12)


def test_straight_through_gumbel_backward_is_gumbel_softmax():
    tau = 0.7
    logits = CAT_LOGITS.expand(32, 2, 3).clone().requires_grad_(True)
    torch.manual_seed(9)
    z = d.CATEGORICAL_ESTIMATORS["straight-through-gumbel"](temperature=tau)(logits)
    (grad,) = torch.autograd.grad(cat_f(z).sum(), logits)
    torch.manual_seed(9)
    g = d.gumbel_noise(logits)
    ref_logits = logits.detach().clone().requires_grad_(True)
    y = torch.softmax((ref_logits + g) / tau, -1)
    hard = torch.nn.functional.one_hot((ref_logits + g).argmax(-1), 3).to(F64)
    assert torch.equal(z.detach(), hard)
    (ref,) = torch.autograd.grad(cat_f(y + (hard - y).detach()).sum(), ref_logits)
    torch.testing.assert_close(grad, ref)


def test_straight_through_is_biased_and_score_function_is_not_bernoulli():
    torch.manual_seed(10)
    exact = en.exact_gradient(BERN_LOGITS, bern_f)
    st = en.gradient_samples(
        d.get_estimator("straight-through")(), BERN_LOGITS, bern_f, 100_000
    )
    mean, se = mean_and_se(st)
    assert ((mean - exact).abs() / se).max() > 5, (
        "straight-through should be measurably biased"
    )
    # the closed form of its mean: E[f'(z)] p(1-p) = p(1-p)(2 E[sum_{j!=k} z_j] - 2.6 +
    # 2 p_k)
    p = torch.sigmoid(BERN_LOGITS)
    st_mean = p * (1 - p) * (2 * (p.sum() - p) - 2.6 + 2 * p)
    assert torch.all((mean - st_mean).abs() < 4 * se)
    sf = en.gradient_samples(
        d.get_estimator("score-function")(), BERN_LOGITS, bern_f, 100_000
    )
    mean, se = mean_and_se(sf)
    assert torch.all((mean - exact).abs() < 4 * se), (mean - exact) / se


def test_straight_through_is_biased_and_score_function_is_not_categorical():
    torch.manual_seed(11)
    exact = en.exact_gradient(CAT_LOGITS, cat_f, categorical=True)
    st = en.gradient_samples(
        d.get_estimator("straight-through", True)(), CAT_LOGITS, cat_f, 100_000
    )
    mean, se = mean_and_se(st)
    assert ((mean - exact).abs() / se).max() > 5
    sf = en.gradient_samples(
        d.get_estimator("score-function", True)(), CAT_LOGITS, cat_f, 100_000
    )
    mean, se = mean_and_se(sf)
    assert torch.all((mean - exact).abs() < 4 * se), (mean - exact) / se


# --- exact gradients by enumeration ---------------------------------------------------


# --- Gumbel-softmax and binary concrete -----------------------------------------------


@pytest.mark.parametrize("tau", [0.3, 1.0, 2.0])
def test_gumbel_softmax_in_simplex_with_gumbel_max_argmax(tau):
    torch.manual_seed(12)
    n = 40_000
    y = d.CATEGORICAL_ESTIMATORS["gumbel-softmax"](temperature=tau)(
        CAT_LOGITS.expand(n, 2, 3)
    )
    assert torch.all(y > 0) and torch.all(
        y <= 1
    )  # positive (1 only where float64 rounds up)
    torch.testing.assert_close(
        y.sum(-1), torch.ones(n, 2, dtype=F64), rtol=0, atol=1e-12
    )
    hard = torch.nn.functional.one_hot(y.argmax(-1), 3).to(
        F64
    )  # argmax of softmax = Gumbel-max
    assert chi2_categorical(hard, torch.softmax(CAT_LOGITS, -1)) < CHI2_001[4]


def test_gumbel_softmax_needs_a_positive_temperature():
    for table in (d.ESTIMATORS, d.CATEGORICAL_ESTIMATORS):
        with pytest.raises(TypeError, match="temperature"):  # no default tau
            table["gumbel-softmax"].at()
        for tau in (0.0, -1.0):
            with pytest.raises(ValueError, match="temperature"):
                table["gumbel-softmax"](temperature=tau)


@pytest.mark.parametrize("tau", [0.2, 1.0, 3.0])
def test_binary_concrete_threshold_probability(tau):
    """y > 1/2 iff logits + logistic noise > 0: probability sigmoid(logits) at every
    temperature."""
    torch.manual_seed(13)
    n = 60_000
    y = d.ESTIMATORS["gumbel-softmax"](temperature=tau)(BERN_LOGITS.expand(n, 3))
    assert torch.all((y > 0) & (y <= 1))  # 1 only where float64 rounds up
    assert chi2_bernoulli((y > 0.5).to(F64), torch.sigmoid(BERN_LOGITS)) < CHI2_001[3]


@pytest.mark.parametrize("categorical", [False, True], ids=["bernoulli", "categorical"])
def test_relaxation_bias_shrinks_with_temperature(categorical):
    logits, f = (CAT_LOGITS, cat_f) if categorical else (BERN_LOGITS, bern_f)
    exact = en.exact_gradient(logits, f, categorical)
    torch.manual_seed(14)
    stats = {}
    for tau in (2.0, 0.5, 0.1):
        s = en.gradient_samples(
            d.get_estimator("gumbel-softmax", categorical)(temperature=tau),
            logits,
            f,
            200_000,
        )
        stats[tau] = en.bias_and_variance(s, exact)
    # each bias clearly above the noise of the estimated mean, and shrinking by a margin
    # of several SE
    for hi, lo in [(2.0, 0.5), (0.5, 0.1)]:
        margin = 4 * (stats[hi]["mean_se_norm"] + stats[lo]["mean_se_norm"])
        assert stats[hi]["bias_norm"] - stats[lo]["bias_norm"] > margin, stats
    assert stats[2.0]["bias_norm"] > 5 * stats[0.1]["bias_norm"], stats
    # ... while the variance grows as tau falls
    assert stats[0.1]["variance"] > stats[0.5]["variance"] > stats[2.0]["variance"]


# --- distributions and KLs ------------------------------------------------------------


def test_kl_bernoulli_closed_form_and_broadcast():
    torch.manual_seed(15)
    logits = torch.randn(6, 4, dtype=F64)
    q = d.bernoulli_latents(logits)
    prior = d.bernoulli_latents(torch.zeros(4, dtype=F64))  # no batch dims
    p = torch.sigmoid(logits)
    closed = p * torch.log(2 * p) + (1 - p) * torch.log(2 * (1 - p))
    torch.testing.assert_close(d.kl_per_latent(q, prior), closed)
    torch.testing.assert_close(D.kl_divergence(q, prior), closed.sum(-1))
    expanded = D.kl_divergence(
        D.Bernoulli(logits=logits), D.Bernoulli(logits=torch.zeros(6, 4, dtype=F64))
    )
    torch.testing.assert_close(D.kl_divergence(q, prior), expanded.sum(-1))
    # a non-uniform prior against the expanded torch KL
    prior_logits = torch.tensor([0.3, -0.7, 1.1, 0.0], dtype=F64)
    ref = D.kl_divergence(
        D.Bernoulli(logits=logits), D.Bernoulli(logits=prior_logits.expand(6, 4))
    ).sum(-1)
    torch.testing.assert_close(
        D.kl_divergence(q, d.bernoulli_latents(prior_logits)), ref
    )


def test_kl_categorical_closed_form_and_broadcast():
    torch.manual_seed(16)
    logits = torch.randn(5, 4, 3, dtype=F64)
    q = d.categorical_latents(logits)
    prior = d.categorical_latents(torch.zeros(4, 3, dtype=F64))
    probs = torch.softmax(logits, -1)
    closed = (probs * torch.log(3 * probs)).sum(-1)
    torch.testing.assert_close(d.kl_per_latent(q, prior), closed)
    torch.testing.assert_close(D.kl_divergence(q, prior), closed.sum(-1))
    ref = D.kl_divergence(
        D.OneHotCategorical(logits=logits),
        D.OneHotCategorical(logits=torch.zeros(5, 4, 3, dtype=F64)),
    ).sum(-1)
    torch.testing.assert_close(D.kl_divergence(q, prior), ref)
    assert D.kl_divergence(q, prior).shape == (5,)


def test_log_prob_of_matches_torch_distributions():
    torch.manual_seed(17)
    logits = torch.randn(7, 3, dtype=F64)
    z = torch.bernoulli(torch.full((4, 7, 3), 0.5, dtype=F64))  # extra sample dim
    torch.testing.assert_close(
        d.log_prob_of(logits, z, False), d.bernoulli_latents(logits).log_prob(z)
    )
    clog = torch.randn(7, 2, 3, dtype=F64)
    zc = D.OneHotCategorical(logits=torch.zeros(4, 7, 2, 3, dtype=F64)).sample()
    torch.testing.assert_close(
        d.log_prob_of(clog, zc, True), d.categorical_latents(clog).log_prob(zc)
    )


def test_rsample_refuses_gradients_and_samples_without():
    q = d.bernoulli_latents(BERN_LOGITS.clone().requires_grad_(True))
    with pytest.raises(RuntimeError, match="reparameterization"):
        q.rsample()
    torch.manual_seed(18)
    with torch.no_grad():
        z = q.rsample((30_000,))
        zc = d.categorical_latents(CAT_LOGITS).rsample((30_000,))
    assert z.shape == (30_000, 3) and torch.all((z == 0) | (z == 1))
    assert chi2_bernoulli(z, torch.sigmoid(BERN_LOGITS)) < CHI2_001[3]
    assert zc.shape == (30_000, 2, 3) and torch.all(zc.sum(-1) == 1)
    assert chi2_categorical(zc, torch.softmax(CAT_LOGITS, -1)) < CHI2_001[4]


# --- estimators as distribution objects -----------------------------------------------


def test_gumbel_softmax_is_torchs_relaxed_distribution():
    """The Gumbel-softmax estimators build torch's RelaxedOneHotCategorical and
    RelaxedBernoulli: same samples from the same noise, and a log_prob (torch's density
    of the relaxed variable)."""
    tau = 0.7
    estimator = d.CATEGORICAL_ESTIMATORS["gumbel-softmax"]
    q = estimator(temperature=tau).distribution(CAT_LOGITS)
    assert isinstance(q, D.RelaxedOneHotCategorical) and q.has_rsample
    torch.manual_seed(20)
    y = d.CATEGORICAL_ESTIMATORS["gumbel-softmax"](temperature=tau)(CAT_LOGITS)
    torch.manual_seed(20)
    tau_t = torch.tensor(tau, dtype=F64)
    ref = D.RelaxedOneHotCategorical(tau_t, logits=CAT_LOGITS).rsample()
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-12)
    assert torch.isfinite(q.log_prob(y)).all() and q.log_prob(y).shape == (2,)
    qb = d.ESTIMATORS["gumbel-softmax"](temperature=tau).distribution(BERN_LOGITS)
    assert isinstance(qb, D.RelaxedBernoulli)
    torch.manual_seed(21)
    yb = d.ESTIMATORS["gumbel-softmax"](temperature=tau)(BERN_LOGITS)
    torch.manual_seed(21)
    ref = D.RelaxedBernoulli(torch.tensor(tau, dtype=F64), logits=BERN_LOGITS).rsample()
    torch.testing.assert_close(yb, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "name", ["naive", "straight-through", "straight-through-gumbel", "score-function"]
)
@pytest.mark.parametrize("categorical", [False, True], ids=["bernoulli", "categorical"])
def test_exact_sample_estimators_are_distributions_of_q(name, categorical):
    """Their forward values are exact samples of q, so log_prob is q's (torch's)."""
    logits = CAT_LOGITS if categorical else BERN_LOGITS
    q = d.get_estimator(name, categorical).at(**PARAMS).distribution(logits)
    exact = (D.OneHotCategorical if categorical else D.Bernoulli)(logits=logits)
    torch.manual_seed(22)
    z = q.rsample((5,)) if q.has_rsample else q.sample((5,))
    assert z.shape == (5, *logits.shape) and q.batch_shape == exact.batch_shape
    torch.testing.assert_close(q.log_prob(z.detach()), exact.log_prob(z.detach()))
    torch.testing.assert_close(q.mean, exact.mean)
    assert q.has_rsample == (name != "score-function")


@pytest.mark.parametrize("name", ["dvaepp-overlapping-exp", "dvae-sharp-power"])
def test_smoother_densities_match_their_samples(name):
    """The mass log_prob puts on intervals against the fraction of samples there."""
    logits = torch.tensor([-1.0, 0.3, 1.5], dtype=F64)
    q = d.ESTIMATORS[name](sharpness=4.0).distribution(logits)
    torch.manual_seed(23)
    samples = q.sample((40_000,))
    for lo, hi in [(0.05, 0.3), (0.3, 0.7), (0.7, 0.95)]:
        zeta = torch.linspace(lo, hi, 20_001, dtype=F64)[:, None]
        mass = torch.trapezoid(q.log_prob(zeta).exp(), zeta[:, 0], dim=0)  # (3,)
        frac = ((samples >= lo) & (samples < hi)).to(F64).mean(0)
        se = (mass * (1 - mass) / 40_000).sqrt()
        assert ((frac - mass).abs() < 5 * se + 1e-4).all(), (name, lo, hi, frac, mass)
    if name == "dvae-sharp-power":  # against DVAE#'s closed-form CDF
        zeta = torch.linspace(0.3, 0.7, 20_001, dtype=F64)[:, None]
        mass = torch.trapezoid(q.log_prob(zeta).exp(), zeta[:, 0], dim=0)
        cdf = d.smoothing.power_mixture_cdf
        p = torch.sigmoid(logits)
        torch.testing.assert_close(
            mass,
            cdf(torch.tensor(0.7, dtype=F64), p, 0.25)
            - cdf(torch.tensor(0.3, dtype=F64), p, 0.25),
        )


def test_smoothers_with_an_atom_give_its_mass_at_zero():
    q = d.ESTIMATORS["smoothing-f1"](sharpness=4.0).distribution(BERN_LOGITS)
    p = torch.sigmoid(BERN_LOGITS)
    torch.testing.assert_close(q.log_prob(torch.zeros(3, dtype=F64)), torch.log1p(-p))
    torch.manual_seed(24)  # the distribution's mean is the smoother's closed-form mean
    zeta = q.sample((40_000,))
    assert ((zeta.mean(0) - q.mean).abs() < 5 * zeta.std(0) / 200).all()


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -0.5])
def test_estimators_refuse_bad_hyperparameters_when_built(bad):
    """One place: the estimator's constructor, with the argument, the value and the
    allowed range in the message; nothing is drawn."""
    for categorical in (False, True):
        for name in ("gumbel-softmax", "straight-through-gumbel"):
            with pytest.raises(
                ValueError, match=r"temperature must be a finite number"
            ):
                d.get_estimator(name, categorical)(temperature=bad)
    for name in d.smoothing.SMOOTHERS:
        with pytest.raises(ValueError, match="sharpness must be a finite number > 0"):
            d.ESTIMATORS[name](sharpness=bad)
    with pytest.raises(
        ValueError, match=f"base must be a finite number > 1, got {bad}"
    ):
        d.ESTIMATORS["smoothing-f1"](sharpness=2.0, base=bad)


def test_estimator_messages_and_lookup():
    with pytest.raises(
        ValueError, match=r"temperature must be a finite number > 0, got"
    ):
        d.ESTIMATORS["gumbel-softmax"](temperature="hot")
    with pytest.raises(ValueError, match="base must be a finite number > 1, got 1.0"):
        d.ESTIMATORS["smoothing-f1"](sharpness=2.0, base=1.0)
    with pytest.raises(TypeError):  # an estimator takes only its own hyperparameters
        d.ESTIMATORS["straight-through"](temperature=0.5)
    with pytest.raises(TypeError, match="unknown hyperparameters"):
        d.ESTIMATORS["gumbel-softmax"].at(temprature=0.5)
    at = d.ESTIMATORS["smoothing-f2"].at(temperature=0.5, sharpness=3.0, base=2.0)
    assert at == d.SmoothingF2(sharpness=3.0)  # takes what it uses, ignores the rest
    assert d.ESTIMATORS["gumbel-softmax"](0.5).temperature == 0.5
    q = d.ESTIMATORS["smoothing-f1"](sharpness=2.0, base=2.0).distribution(BERN_LOGITS)
    assert isinstance(q, d.smoothing.F1) and (q.sharpness, q.base) == (2.0, 2.0)
    for table, categorical in ((d.ESTIMATORS, False), (d.CATEGORICAL_ESTIMATORS, True)):
        for name, cls in table.items():
            assert cls.name == name and cls.categorical == categorical


def test_samplers_refuse_nan_logits():
    with pytest.raises(ValueError):
        d.ESTIMATORS["straight-through"]()(torch.tensor([0.0, math.nan]))
