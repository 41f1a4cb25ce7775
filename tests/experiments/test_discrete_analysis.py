"""What the discrete-latent chapters measure (vaebook.experiments.discrete_analysis:
TracedObjective, mutual_information, hard_neg_elbo_samples; exact_straight_through of
vaebook.experiments.enumeration) and their figures (vaebook.plots.discrete).

References: enumeration of every z of small models, closed forms derived by hand (the
straight-through bias of a quadratic), Monte Carlo means within a few standard errors,
and the fit loop's own history.
"""

import math

import matplotlib

matplotlib.use("agg")
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import distributions as D  # noqa: E402

from vaebook.data import BinarizedMNIST  # noqa: E402
from vaebook.discrete import get_estimator, log_prob_of  # noqa: E402
from vaebook.discrete_vae import BinaryVAEConfig, CategoricalVAEConfig  # noqa: E402
from vaebook.experiments.discrete_analysis import (  # noqa: E402
    TracedObjective,
    hard_neg_elbo_samples,
    mutual_information,
)
from vaebook.experiments.enumeration import (  # noqa: E402
    enumerate_states,
    exact_gradient,
    exact_straight_through,
    gradient_samples,
)
from vaebook.plots import discrete as dplots  # noqa: E402
from vaebook.training import TrainConfig, fit  # noqa: E402

F64 = torch.float64
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def exact_mi(logits, categorical):
    """I(x; z) for x uniform over the rows of ``logits``, by enumeration, and E_x
    KL(q(z|x) || uniform)."""
    states = (
        enumerate_states(*logits.shape[1:], dtype=F64)
        if categorical
        else enumerate_states(logits.shape[-1], dtype=F64)
    )
    log_q = torch.stack(
        [log_prob_of(row, states, categorical) for row in logits]
    )  # (N, states)
    q_bar = log_q.exp().mean(0)
    mi = (log_q.exp() * (log_q - q_bar.log())).sum(1).mean()
    kl_prior = (log_q.exp() * (log_q + math.log(len(states)))).sum(1).mean()
    kl_aggregate = (q_bar * (q_bar.log() + math.log(len(states)))).sum()
    return mi, kl_prior, kl_aggregate


# --- TracedObjective ------------------------------------------------------------------


def test_traced_objective_records_every_training_step():
    torch.manual_seed(0)
    data = BinarizedMNIST(torch.rand(60, 784), torch.arange(60) % 10)
    model = BinaryVAEConfig(
        hidden=(16,), latent_dim=4, estimator="straight-through"
    ).build()
    traced = TracedObjective()
    history = fit(
        model,
        TrainConfig(epochs=2, batch_size=20, device="cpu"),
        data,
        data,
        objective=traced,
    )
    for key in ("kl", "neg_elbo", "log_px_given_z"):
        assert len(traced.trace[key]) == 6, (
            "3 batches x 2 epochs; the test passes are not recorded"
        )
        for epoch in (
            0,
            1,
        ):  # equal batch sizes: the epoch average is the mean of its steps
            steps = traced.trace[key][3 * epoch : 3 * epoch + 3]
            assert sum(steps) / 3 == pytest.approx(
                history[epoch][f"train_{key}"], rel=1e-5
            )


# --- mutual information ---------------------------------------------------------------


@pytest.mark.parametrize("categorical", [False, True])
def test_mutual_information_matches_enumeration(categorical):
    torch.manual_seed(1)
    logits = (
        2 * torch.randn(7, 3, 3, dtype=F64)
        if categorical
        else 2 * torch.randn(7, 4, dtype=F64)
    )
    exact, kl_prior, kl_aggregate = exact_mi(logits, categorical)
    est = mutual_information(logits, num_samples=5000, categorical=categorical)
    assert abs(est["mi"] - exact.item()) < 4 * est["mi_se"]
    assert 0 < exact < est["log_n"] == pytest.approx(math.log(7))
    # E_x KL(q(z|x) || p(z)) = I(x; z) + KL(q(z) || p(z)) >= I(x; z)
    assert kl_prior.item() == pytest.approx((exact + kl_aggregate).item(), rel=1e-10)


def test_mutual_information_limits():
    torch.manual_seed(2)
    same = torch.randn(1, 6, dtype=F64).expand(
        50, 6
    )  # q(z|x) the same for every x: I = 0 exactly
    assert mutual_information(same, 20)["mi"] == pytest.approx(0.0, abs=1e-12)
    codes = 30.0 * (
        2 * enumerate_states(5, dtype=F64) - 1
    )  # 32 distinct, (nearly) deterministic codes
    result = mutual_information(codes, 5)
    assert result["mi"] == pytest.approx(math.log(32), abs=1e-6) and result[
        "log_n"
    ] == pytest.approx(math.log(32))


# --- the straight-through mean --------------------------------------------------------

W4 = torch.tensor([1.0, 2.0, -1.0, 0.5], dtype=F64)
LOGITS4 = torch.tensor([-1.0, 0.3, 0.8, 2.0], dtype=F64)


def test_straight_through_bias_of_a_quadratic_has_the_closed_form():
    p = torch.sigmoid(LOGITS4)
    for lam in (0.0, 0.7, 2.0):
        f = lambda z: z @ W4 + lam * (z @ W4 - 1.0) ** 2  # noqa: E731
        bias = exact_straight_through(LOGITS4, f) - exact_gradient(LOGITS4, f)
        torch.testing.assert_close(
            bias, lam * W4**2 * (2 * p - 1) * p * (1 - p), rtol=0, atol=1e-12
        )


def test_straight_through_is_unbiased_for_multilinear_f():
    f = lambda z: (
        z[..., 0] * z[..., 1] * 3.0
        - z[..., 2] * z[..., 3]
        + z[..., 1] * z[..., 2] * z[..., 3]
    )  # noqa: E731
    torch.testing.assert_close(
        exact_straight_through(LOGITS4, f), exact_gradient(LOGITS4, f)
    )
    a = torch.tensor([[0.0, 1.0, 3.0], [2.0, -1.0, 0.5]], dtype=F64)
    g = lambda z: (
        (z[..., 0, :] @ a[0]) * (z[..., 1, :] @ a[1]) + (z * a).sum((-2, -1))
    )  # affine in each symbol # noqa: E731
    logits = torch.tensor([[0.5, -0.3, 0.1], [-1.0, 0.8, 0.2]], dtype=F64)
    torch.testing.assert_close(
        exact_straight_through(logits, g, True), exact_gradient(logits, g, True)
    )


@pytest.mark.parametrize("categorical", [False, True])
def test_straight_through_mean_matches_monte_carlo(categorical):
    torch.manual_seed(3)
    if categorical:
        logits = torch.tensor([[0.5, -0.3, 0.1], [-1.0, 0.8, 0.2]], dtype=F64)
        f = lambda z: (
            torch.tanh(
                (z * torch.tensor([[0.0, 1.0, 3.0], [2.0, -1.0, 0.5]], dtype=F64)).sum(
                    (-2, -1)
                )
            )
            ** 2
        )  # noqa: E731
    else:
        logits = LOGITS4
        f = lambda z: torch.sin(z @ W4) * (z @ W4)  # noqa: E731
    mean = exact_straight_through(logits, f, categorical)
    samples = gradient_samples(
        get_estimator("straight-through", categorical)(), logits, f, 100_000
    )
    se = samples.std(0) / len(samples) ** 0.5
    assert ((samples.mean(0) - mean).abs() < 4 * se + 1e-12).all()
    assert (mean - exact_gradient(logits, f, categorical)).abs().max() > 0.01, (
        "and it is biased here"
    )


# --- the -ELBO from exact discrete samples --------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "categorical"])
def test_hard_neg_elbo_samples_average_to_the_enumerated_elbo(kind):
    torch.manual_seed(4)
    if kind == "binary":
        model = BinaryVAEConfig(hidden=(8,), latent_dim=3).build().double().eval()
        states = enumerate_states(3, dtype=F64)  # (8, 3)
    else:
        model = (
            CategoricalVAEConfig(hidden=(8,), num_latents=2, num_classes=3)
            .build()
            .double()
            .eval()
        )
        states = enumerate_states(2, 3, dtype=F64)  # (9, 2, 3)
    x = torch.bernoulli(torch.full((3, 784), 0.3, dtype=F64))
    values = hard_neg_elbo_samples(model, x, num_samples=20_000)  # (S, B)
    assert values.shape == (20_000, 3)
    with torch.no_grad():
        logits = model.encoder_logits(x)
        q = torch.stack(
            [log_prob_of(row, states, model.categorical) for row in logits]
        ).exp()  # (B, states)
        log_px = model.decode(states).log_prob(x[:, None, :])  # (B, states)
        kl = D.kl_divergence(model.encode(x), model.prior())
        exact = -(q * log_px).sum(1) + kl
    se = values.std(0) / len(values) ** 0.5
    assert ((values.mean(0) - exact).abs() < 4 * se).all()


# --- figures --------------------------------------------------------------------------


def test_figures():
    torch.manual_seed(5)
    model = BinaryVAEConfig(hidden=(8,), latent_dim=4).build().eval()
    x = torch.bernoulli(torch.full((5, 784), 0.2))
    p = torch.tensor([0.2, 0.3, 0.5])
    samples = {"a": torch.randn(200, 3), "b": torch.randn(200, 3) + 1}
    figures = [
        dplots.inverse_cdf_sampler(p / p.sum(), torch.rand(20)),
        dplots.frequencies_vs_probabilities(
            {"one": (p, p + 0.01), "two": (p, p)}, 1000
        ),
        dplots.collapse_curves(
            {"a": {"kl": [1.0, 0.1, 0.01] * 10, "neg_elbo": [300.0, 200.0, 190.0] * 10}}
        ),
        dplots.probability_histograms(
            {"a": torch.rand(10, 4), "b": torch.full((10, 4), 0.5)}
        ),
        dplots.image_rows({"x": x, "y": x}),
        dplots.hard_reconstructions(model, x, num_samples=2),
        dplots.gradient_histograms(
            samples, torch.zeros(3), straight_through_mean=torch.ones(3)
        ),
        dplots.bias_curves(
            torch.linspace(0, 1, 5),
            {"c": torch.zeros(5)},
            "p",
            points={
                "mc": (torch.tensor([0.5]), torch.tensor([0.0]), torch.tensor([0.1]))
            },
        ),
        dplots.EstimatorBarsFigure(3, ["a"], ylim=(-2, 2)).draw(
            torch.ones(3), {"a": (torch.ones(3), 0.1 * torch.ones(3))}
        ),
    ]
    for fig in figures:
        assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
        matplotlib.pyplot.close(fig)
    with pytest.raises(KeyError):
        dplots.collapse_curves({"a": {"kl": [1.0]}})  # a trace without the -ELBO
