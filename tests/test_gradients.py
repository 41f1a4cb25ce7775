"""Score-function and pathwise estimators against closed-form gradients, and the
score-function VAE."""

import math

import pytest
import torch
from torch import distributions as D

from vaebook.gradients import (
    ScoreFunctionVAEConfig,
    estimate_gradient,
    gradient_variance,
    leave_one_out_baseline,
    per_sample_gradients,
)
from vaebook.models import VAEConfig
from vaebook.objectives import elbo
from vaebook.registry import config_from_dict, config_to_dict
from vaebook.training import TrainConfig, TrainState

MU, SIGMA = 0.7, 1.3
PARAMS = {
    "loc": torch.tensor(MU, dtype=torch.float64),
    "scale": torch.tensor(SIGMA, dtype=torch.float64),
}
square = lambda z: z**2  # noqa: E731  E[z^2] = mu^2 + sigma^2
SQUARE_GRAD = {"loc": 2 * MU, "scale": 2 * SIGMA}
# E[sin z] = sin(mu) exp(-sigma^2 / 2)
SIN_GRAD = {
    "loc": math.cos(MU) * math.exp(-(SIGMA**2) / 2),
    "scale": -SIGMA * math.sin(MU) * math.exp(-(SIGMA**2) / 2),
}
CASES = [
    ("pathwise", None),
    ("score", None),
    ("score", 3.0),
    ("score", "leave-one-out"),
]


def mean_and_se(terms: torch.Tensor) -> tuple[float, float]:
    return terms.mean().item(), (terms.std() / len(terms) ** 0.5).item()


@pytest.mark.parametrize("estimator,baseline", CASES)
@pytest.mark.parametrize(
    "f,closed_form", [(square, SQUARE_GRAD), (torch.sin, SIN_GRAD)], ids=["z^2", "sin"]
)
def test_every_estimator_is_unbiased(estimator, baseline, f, closed_form):
    torch.manual_seed(0)
    terms = per_sample_gradients(D.Normal, PARAMS, f, 200_000, estimator, baseline)
    for name, exact in closed_form.items():
        mean, se = mean_and_se(terms[name])
        assert abs(mean - exact) < 4 * se, (name, mean, exact, se)
        # the test has power: a gradient 5% off would be caught
        assert abs(mean - 1.05 * exact) > 2 * se or abs(exact) < 1e-3, (name, mean, se)


def test_estimate_is_the_mean_of_the_per_sample_terms():
    torch.manual_seed(3)
    terms = per_sample_gradients(D.Normal, PARAMS, square, 50, "score", "leave-one-out")
    torch.manual_seed(3)
    estimate = estimate_gradient(D.Normal, PARAMS, square, 50, "score", "leave-one-out")
    for name in PARAMS:
        assert terms[name].shape == (50,)
        torch.testing.assert_close(estimate[name], terms[name].mean(0))


def test_variances_match_their_closed_forms():
    """Pathwise: d/dmu of z^2 is 2z, variance 4 sigma^2. Score: z^2 (z - mu) / sigma^2,
    variance (mu^4 + 18 mu^2 sigma^2 + 15 sigma^4) / sigma^2 - 4 mu^2. An S-sample
    average divides both by S."""
    torch.manual_seed(1)
    repeats, s = 4000, 8
    rel_se = (2 / (repeats - 1)) ** 0.5
    pathwise = gradient_variance(
        D.Normal, PARAMS, square, s, "pathwise", repeats=repeats
    )["loc"].item()
    assert abs(pathwise / (4 * SIGMA**2 / s) - 1) < 4 * rel_se
    exact_score = (MU**4 + 18 * MU**2 * SIGMA**2 + 15 * SIGMA**4) / SIGMA**2 - 4 * MU**2
    score = gradient_variance(D.Normal, PARAMS, square, s, "score", repeats=repeats)[
        "loc"
    ].item()
    # the score terms are heavy-tailed (z^6): allow a wider margin than the Gaussian
    # rel. SE
    assert abs(score / (exact_score / s) - 1) < 0.2, (score, exact_score / s)


def test_a_baseline_reduces_the_variance_and_pathwise_ignores_offsets():
    torch.manual_seed(2)
    shifted = lambda z: z**2 + 20.0  # noqa: E731  same gradient as z^2
    v = {
        name: gradient_variance(D.Normal, PARAMS, shifted, 16, est, base, repeats=2000)[
            "loc"
        ].item()
        for name, est, base in [
            ("score", "score", None),
            ("loo", "score", "leave-one-out"),
            ("pathwise", "pathwise", None),
        ]
    }
    v_unshifted = gradient_variance(
        D.Normal, PARAMS, square, 16, "pathwise", repeats=2000
    )["loc"].item()
    assert v["loo"] < v["score"] / 10, v
    assert v["pathwise"] < v["loo"], v
    assert (
        abs(v["pathwise"] / v_unshifted - 1) < 0.2
    )  # adding a constant to f changes nothing pathwise


def test_score_function_handles_discrete_distributions():
    """E_{Bernoulli(p)}[f(z)] = p f(1) + (1 - p) f(0), so the gradient in p is f(1) -
    f(0); no pathwise exists."""
    torch.manual_seed(0)
    f = lambda z: (z - 0.3) ** 2 * 5  # noqa: E731
    params = {"probs": torch.tensor(0.35, dtype=torch.float64)}
    terms = per_sample_gradients(
        D.Bernoulli, params, f, 100_000, "score", "leave-one-out"
    )
    mean, se = mean_and_se(terms["probs"])
    assert abs(mean - (f(torch.tensor(1.0)) - f(torch.tensor(0.0))).item()) < 4 * se
    with pytest.raises(ValueError, match="rsample"):
        per_sample_gradients(D.Bernoulli, params, f, 10, "pathwise")


def test_batched_multivariate_shapes():
    make = lambda loc, scale: D.Independent(D.Normal(loc, scale), 1)  # noqa: E731
    params = {"loc": torch.zeros(3, 4), "scale": torch.ones(3, 4)}
    f = lambda z: (z**2).sum(-1)  # noqa: E731  (S, B)
    for est, base in CASES:
        terms = per_sample_gradients(make, params, f, 5, est, base)
        assert terms["loc"].shape == (5, 3, 4) and terms["scale"].shape == (5, 3, 4)
    assert gradient_variance(make, params, f, 5, repeats=7)["loc"].shape == (3, 4)


def test_leave_one_out_baseline_is_the_mean_of_the_others():
    values = torch.tensor([[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])
    expected = torch.stack(
        [torch.cat([values[:i], values[i + 1 :]]).mean(0) for i in range(3)]
    )
    torch.testing.assert_close(leave_one_out_baseline(values), expected)
    torch.testing.assert_close(leave_one_out_baseline(values.T, dim=1), expected.T)
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_out_baseline(values[:1])


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"estimator": "reinforce"}, "estimator must be one of"),
        ({"estimator": "pathwise", "baseline": 1.0}, "pathwise estimator takes none"),
        ({"estimator": "score", "baseline": "mean"}, "baseline must be"),
        (
            {"estimator": "score", "baseline": "leave-one-out", "num_samples": 1},
            "num_samples >= 2",
        ),
        ({"num_samples": 0}, "at least 1"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    args = {"num_samples": 10, "estimator": "pathwise", **kwargs}
    with pytest.raises(ValueError, match=match):
        per_sample_gradients(D.Normal, PARAMS, square, **args)


def test_bad_shapes_and_counts_are_refused():
    with pytest.raises(ValueError, match="at least one parameter"):
        per_sample_gradients(D.Normal, {}, square, 10)
    with pytest.raises(ValueError, match="batch shape"):
        per_sample_gradients(D.Normal, PARAMS, lambda z: z.sum(), 10)
    with pytest.raises(ValueError, match="2 repeats"):
        gradient_variance(D.Normal, PARAMS, square, 10, repeats=1)


# --- the score-function VAE -----------------------------------------------------------


def tiny_models(seed=0):
    torch.manual_seed(seed)
    score = (
        ScoreFunctionVAEConfig(hidden=(8,), latent_dim=2, data_dim=6).build().double()
    )
    pathwise = VAEConfig(hidden=(8,), latent_dim=2, data_dim=6).build().double()
    pathwise.load_state_dict(score.state_dict())
    x = torch.bernoulli(
        torch.full((3, 6), 0.4, dtype=torch.float64),
        generator=torch.Generator().manual_seed(1),
    )
    return score, pathwise, x


def flat_grad(model, loss):
    model.zero_grad()
    loss.backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def test_score_vae_gradient_is_unbiased_for_the_elbo_gradient():
    """The surrogate's gradient (encoder: score function + LOO baseline) averages to
    grad -ELBO."""
    score, pathwise, x = tiny_models()
    state = TrainState(TrainConfig(num_samples=2000, device="cpu"))
    torch.manual_seed(0)
    draws = torch.stack(
        [flat_grad(score, score.objective(x, state)["loss"]) for _ in range(24)]
    )
    reference = torch.stack(
        [flat_grad(pathwise, -elbo(pathwise, x, 5000).elbo.mean()) for _ in range(8)]
    )
    se = (draws.var(0) / len(draws) + reference.var(0) / len(reference)).sqrt()
    z = (draws.mean(0) - reference.mean(0)) / (se + 1e-9)
    assert z.abs().max() < 4.5, (
        z.abs().max()
    )  # about 200 parameters, so allow the largest of them 4.5 SE
    assert (draws.mean(0) - reference.mean(0)).abs().max() < 0.05 * reference.mean(
        0
    ).abs().max() + 4.5 * se.max()


def test_score_vae_reports_the_elbo_terms():
    score, _, x = tiny_models()
    out = score.objective(x, TrainState(TrainConfig(num_samples=3, device="cpu")))
    for key in ("neg_elbo", "log_px_given_z", "kl"):
        assert out[key].shape == (3,)
    torch.testing.assert_close(out["neg_elbo"], out["kl"] - out["log_px_given_z"])
    torch.testing.assert_close(
        out["kl"], D.kl_divergence(score.encode(x), score.prior()).detach()
    )
    assert out["loss"].dim() == 0 and out["loss"].requires_grad


def test_score_vae_config_is_registered_and_checked():
    config = ScoreFunctionVAEConfig(hidden=(16,), latent_dim=3, baseline="none")
    assert config_from_dict(config_to_dict(config)) == config
    with pytest.raises(ValueError, match="baseline must be one of"):
        ScoreFunctionVAEConfig(baseline="mean")
    score, _, x = tiny_models()
    with pytest.raises(ValueError, match="num_samples >= 2"):
        score.objective(x, TrainState(TrainConfig(num_samples=1, device="cpu")))
    none = (
        ScoreFunctionVAEConfig(hidden=(8,), latent_dim=2, data_dim=6, baseline="none")
        .build()
        .double()
    )
    assert none.objective(x, TrainState(TrainConfig(num_samples=1, device="cpu")))[
        "loss"
    ].isfinite()
