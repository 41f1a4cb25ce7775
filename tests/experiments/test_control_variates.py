"""vaebook.experiments.control_variates: exact moments against autograd through the
enumeration and against Monte Carlo, the optimal baseline against the variance it
minimizes, DisARM's exact mean and VIMCO's bound against a brute-force sum over
S-tuples, and the claims book/control_variates makes about its toy."""

import itertools
import math

import pytest
import torch

from vaebook import control_variates as cv
from vaebook.experiments import control_variates as X
from vaebook.experiments import enumeration as en

TOY = X.toy_batch()  # the chapter's: B = 4 inputs, K = 3 latents, D = 24
CAT = X.toy_batch(num_inputs=2, num_latents=2, num_classes=3, seed=1)


def per_input(toy, b):
    """f of input b alone: z (..., K) -> (...)."""
    n = toy.logits.shape[0]

    def f(z):
        event = z.shape[-2:] if toy.categorical else z.shape[-1:]
        tiled = z.unsqueeze(-1 - len(event)).expand(*z.shape[: -len(event)], n, *event)
        return toy.f(tiled)[..., b]

    return f


@pytest.mark.parametrize("toy", [TOY, CAT], ids=["bernoulli", "categorical"])
def test_exact_gradient_is_autograd_through_the_enumeration(toy):
    ours = X.exact_gradient(toy)
    for b in range(toy.logits.shape[0]):
        ref = en.exact_gradient(toy.logits[b], per_input(toy, b), toy.categorical)
        assert torch.allclose(ours[b], ref, atol=1e-10)


@pytest.mark.parametrize("toy", [TOY, CAT], ids=["bernoulli", "categorical"])
def test_straight_through_mean_is_the_enumeration_modules_per_input(toy):
    ours = X.straight_through_mean(toy)
    for b in range(toy.logits.shape[0]):
        f = per_input(toy, b)
        ref = en.exact_straight_through(toy.logits[b], f, toy.categorical)
        assert torch.allclose(ours[b], ref, atol=1e-10)
    assert (ours - X.exact_gradient(toy)).abs().max() > 0.05  # it is biased


def test_toy_f_is_the_log_likelihood_of_a_binary_x():
    z = en.enumerate_states(3, dtype=torch.float64).unsqueeze(1).expand(8, 4, 3)
    f = TOY.f(z)
    assert f.shape == (8, 4) and torch.all(f < 0)
    assert f.max() - f.min() > 5  # f varies with z: there is a gradient to find


def test_optimal_baseline_minimizes_the_exact_variance():
    b_star = X.optimal_baseline(TOY)
    at = X.reinforce_variance(TOY, b_star)
    for delta in (-1.0, -0.1, 0.1, 1.0):
        assert torch.all(at < X.reinforce_variance(TOY, b_star + delta))
    # the variance is a quadratic in b with its vertex at b*
    v = [X.reinforce_variance(TOY, b_star + d) for d in (-1.0, 0.0, 1.0)]
    curvature = (v[0] + v[2] - 2 * v[1]) / 2
    vertex = b_star + (v[0] - v[2]) / (4 * curvature)
    assert torch.allclose(vertex, b_star, atol=1e-8)


def test_reinforce_variance_matches_monte_carlo():
    torch.manual_seed(0)
    for b in (0.0, X.mean_baseline(TOY)):
        samples = X.reinforce_estimates(TOY, 20_000, 1, b)
        exact = X.reinforce_variance(TOY, b)  # (B,)
        measured = samples.var(0).sum(-1)
        assert torch.allclose(measured, exact, rtol=0.08)
        se = samples.std(0) / math.sqrt(len(samples))
        assert torch.all((samples.mean(0) - X.exact_gradient(TOY)).abs() < 4 * se)


def test_baseline_values_are_ordered_as_the_chapter_says():
    values = X.baseline_values(TOY)
    assert list(values) == list(X.BASELINES)
    v = [float(X.reinforce_variance(TOY, b).sum()) for b in values.values()]
    assert v[0] > 10 * v[1] > 10 * v[2] > 10 * v[3] > 0  # none >> c > b(x) > b*(x)
    assert v[0] > v[1] > v[2] > v[3]


def test_pair_law_is_the_law_of_the_antithetic_pair():
    torch.manual_seed(1)
    logits = torch.tensor([-2.0, -0.3, 0.0, 1.5], dtype=torch.float64)
    law = X.pair_law(logits)
    assert torch.allclose(law.sum((-2, -1)), torch.ones(4, dtype=torch.float64))
    assert torch.allclose(law[..., 1, :].sum(-1), torch.sigmoid(logits))  # b ~ q
    assert torch.allclose(law[..., :, 1].sum(-1), torch.sigmoid(logits))  # b' ~ q
    b, b_anti = cv.antithetic_pair(logits.expand(40_000, 4))
    both = (b * b_anti).mean(0)
    assert torch.allclose(both, law[..., 1, 1], atol=0.01)


def test_disarm_is_exactly_unbiased_and_its_estimates_agree():
    exact = X.exact_gradient(TOY)
    assert torch.allclose(X.disarm_exact_mean(TOY), exact, atol=1e-10)
    torch.manual_seed(2)
    samples = X.estimates("DisARM", TOY, 2, 20_000)
    se = samples.std(0) / math.sqrt(len(samples))
    assert torch.all((samples.mean(0) - exact).abs() < 4 * se + 1e-12)


def test_a_wrong_pair_law_would_be_caught(monkeypatch):
    """Independent pairs (no antithetic coupling) make DisARM's exact mean wrong."""

    def independent(logits):
        p = torch.sigmoid(logits)
        marginal = torch.stack([1 - p, p], -1)  # (..., 2)
        return marginal.unsqueeze(-1) * marginal.unsqueeze(-2)

    monkeypatch.setattr(X, "pair_law", independent)
    wrong = X.disarm_exact_mean(TOY)
    assert not torch.allclose(wrong, X.exact_gradient(TOY), atol=1e-3)


def test_multisets_count():
    for n, s in [(4, 2), (8, 3), (3, 5)]:
        counts = X.multisets(n, s)
        assert counts.shape == (math.comb(n + s - 1, s), n)
        assert torch.all(counts.sum(-1) == s)
        assert len({tuple(c.tolist()) for c in counts}) == len(counts)


def bound_by_tuples(toy, num_samples, logits):
    """The S-sample bound summed over every S-tuple of states (N^S), per input."""
    z = X.all_states(toy)
    log_q = cv.latent_log_prob(logits, z, toy.categorical)  # (N, B)
    log_w = toy.f(z) + toy.log_prior(z) - log_q
    total = 0.0
    for tup in itertools.product(range(len(z)), repeat=num_samples):
        idx = torch.tensor(tup)
        bound = torch.logsumexp(log_w[idx], 0) - math.log(num_samples)
        total = total + (log_q[idx].sum(0).exp() * bound).sum()
    return total


@pytest.mark.parametrize("toy, num_samples", [(TOY, 2), (TOY, 3), (CAT, 2)])
def test_vimco_bound_by_multisets_is_the_sum_over_tuples(toy, num_samples):
    logits = toy.logits.clone().requires_grad_(True)
    ours = X.vimco_bound(toy, num_samples, logits)
    ref = bound_by_tuples(toy, num_samples, logits)
    assert torch.allclose(ours, ref, atol=1e-10)
    (g_ref,) = torch.autograd.grad(ref, logits)
    assert torch.allclose(X.vimco_exact_gradient(toy, num_samples), g_ref, atol=1e-9)


def test_vimco_bound_rises_with_s_towards_log_px():
    bounds = [float(X.vimco_bound(TOY, s)) for s in (1, 2, 4, 8)]
    assert bounds == sorted(bounds)  # Burda et al.: the bound tightens with S
    z = X.all_states(TOY)
    log_px = torch.logsumexp(TOY.f(z) + TOY.log_prior(z), 0).sum()
    assert bounds[-1] < float(log_px)


def test_vimco_estimates_are_unbiased_for_their_bound():
    torch.manual_seed(3)
    exact = X.vimco_exact_gradient(TOY, 4)
    samples = X.estimates("VIMCO", TOY, 4, 20_000)
    se = samples.std(0) / math.sqrt(len(samples))
    assert torch.all((samples.mean(0) - exact).abs() < 4 * se)
    assert (exact - X.exact_gradient(TOY)).abs().max() > 0.1  # another target


def test_estimates_shapes_and_errors():
    for method in X.METHODS:
        assert X.estimates(method, TOY, 4, 10).shape == (10, 4, 3)
    with pytest.raises(ValueError, match="even"):
        X.estimates("DisARM", TOY, 3, 10)
    with pytest.raises(KeyError, match="unknown method"):
        X.estimates("ARM", TOY, 2, 10)
    for method in set(X.METHODS) - {"DisARM"}:
        assert X.estimates(method, CAT, 2, 10).shape == (10, 2, 2, 3)
    with pytest.raises(KeyError, match="no categorical estimator 'disarm'"):
        X.estimates("DisARM", CAT, 2, 10)


def test_categorical_rloo_estimates_are_unbiased():
    torch.manual_seed(5)
    samples = X.estimates("RLOO", CAT, 3, 20_000)
    se = samples.std(0) / math.sqrt(len(samples))
    exact = X.exact_gradient(CAT)
    assert torch.all((samples.mean(0) - exact).abs() < 4 * se + 1e-12)


def test_errors_remove_the_monte_carlo_part_of_the_bias():
    torch.manual_seed(4)
    samples = torch.randn(10_000, 5, dtype=torch.float64)
    e = X.errors(samples, torch.zeros(5, dtype=torch.float64))
    assert e["bias_sq"] < 1e-3 and abs(e["variance"] - 5) < 0.3
    shifted = X.errors(samples + 1, torch.zeros(5, dtype=torch.float64))
    assert abs(shifted["bias_sq"] - 5) < 0.2
    assert shifted["mse"] == shifted["bias_sq"] + shifted["variance"]


def test_the_chapters_claims_on_its_toy():
    """At 4 decoder passes RLOO S = 4 has about 18 times less variance than
    REINFORCE without a baseline, DisARM about 14 times; straight-through's bias
    does not shrink with S; at S = 64 RLOO's MSE is below straight-through's."""
    table = X.error_table(
        TOY,
        [4, 64],
        methods=("REINFORCE", "RLOO", "DisARM", "straight-through"),
        baselines=("none",),
        num_estimates=1000,
    ).set_index(["method", "S"])
    ratio = table.at[("REINFORCE", 4), "variance"] / table.at[("RLOO", 4), "variance"]
    assert 12 < ratio < 25
    plain = table.at[("REINFORCE", 4), "variance"]
    assert 9 < plain / table.at[("DisARM", 4), "variance"] < 20  # about 14
    st4, st64 = table.loc[("straight-through", 4)], table.loc[("straight-through", 64)]
    assert abs(st64["bias_sq"] - st4["bias_sq"]) < 0.1 * st4["bias_sq"]
    assert st64["variance"] < st4["variance"] / 8
    assert table.at[("RLOO", 64), "mse"] < st64["mse"]
