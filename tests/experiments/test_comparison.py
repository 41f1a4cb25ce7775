"""vaebook.experiments.comparison against references: the toy model's f against a hand
computation, the bias and variance table against what theory says of each estimator
(score function unbiased within its Monte Carlo error, naive exactly zero,
straight-through / Gumbel-softmax / smoothers biased beyond it), the no-baseline score
function against its closed form, and the test bounds against the model's own
evaluation.

The seed statistics on hand-made run records: over_seeds against the records' own
numbers, separated / compare on pairs whose seeds overlap, touch or are apart beyond
the evaluation noise, and the two tables the comparison chapter shows (sorted by the
mean, relaxed column only for relaxed estimators, each step of the ranking judged)."""

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from vaebook.data import BinarizedMNIST
from vaebook.discrete_vae import BinaryVAEConfig
from vaebook.experiments import comparison
from vaebook.experiments.comparison import EstimatorSpec, SeedSpread
from vaebook.experiments.enumeration import exact_gradient
from vaebook.runs import Run
from vaebook.training import TrainConfig, TrainState


@pytest.fixture(scope="module")
def toy():
    return comparison.toy_problem(num_latents=6, data_dim=12, seed=3)


@pytest.fixture(scope="module")
def rows(toy):
    logits, f = toy
    specs = [
        EstimatorSpec("naive", "naive"),
        EstimatorSpec("sf", "score-function"),
        EstimatorSpec("sf0", "score-function-no-baseline"),
        EstimatorSpec("st", "straight-through"),
        EstimatorSpec("gs", "gumbel-softmax", {"temperature": 1.0}),
        EstimatorSpec("stgs", "straight-through-gumbel", {"temperature": 0.5}),
        EstimatorSpec("f2", "smoothing-f2", {"sharpness": 5.0}),
        EstimatorSpec("f3", "smoothing-f3", {"sharpness": 5.0}),
    ]
    return {
        r["label"]: r
        for r in comparison.gradient_table(specs, logits, f, num_samples=20_000, seed=1)
    }


def test_toy_problem_f_is_a_bernoulli_log_likelihood(toy):
    logits, f = toy
    assert logits.shape == (6,) and logits.dtype == torch.float64
    z = torch.tensor(
        [[0.0, 1, 1, 0, 1, 0], [0.3, 0.5, 0.2, 0.9, 0.1, 0.7]], dtype=torch.float64
    )
    values = f(z)
    assert values.shape == (2,) and torch.all(values < 0)
    # the same decoder rebuilt by hand from the generator's draws
    g = torch.Generator().manual_seed(3)
    w = torch.randn(12, 6, generator=g, dtype=torch.float64)
    b = torch.randn(12, generator=g, dtype=torch.float64)
    z_star = torch.randint(0, 2, (6,), generator=g).double()
    x = torch.bernoulli(torch.sigmoid(w @ z_star + b), generator=g)
    p = torch.sigmoid(z @ w.T + b)
    torch.testing.assert_close(values, (x * p.log() + (1 - x) * (1 - p).log()).sum(-1))
    # and it is differentiable in z (for the pathwise estimators)
    zg = z.clone().requires_grad_(True)
    f(zg).sum().backward()
    assert torch.isfinite(zg.grad).all() and zg.grad.abs().sum() > 0


def test_score_function_is_unbiased_within_its_monte_carlo_error(rows):
    for label in ("sf", "sf0"):
        assert rows[label]["bias_in_se"] < 3, rows[label]
    assert (
        rows["sf0"]["variance"] > 5 * rows["sf"]["variance"]
    )  # the baseline's whole point


def test_naive_estimate_is_exactly_zero(rows, toy):
    r = rows["naive"]
    assert (
        r["variance"] == 0
        and r["relative_bias"] == pytest.approx(1.0)
        and r["bias_in_se"] == math.inf
    )
    assert r["bias_norm"] == pytest.approx(float(exact_gradient(*toy).norm()))


@pytest.mark.parametrize("label", ["st", "gs", "stgs", "f2", "f3"])
def test_straight_through_relaxations_and_smoothers_are_biased(rows, label):
    assert rows[label]["bias_in_se"] > 5, rows[label]
    assert (
        rows[label]["cosine"] > 0.5
    )  # biased, but pointing the right way on this model


def test_gradient_table_statistics(rows):
    for r in rows.values():
        assert r["mse"] == pytest.approx(r["bias_sq"] + r["variance"])
        assert r["num_samples"] == 20_000
        if r["mean_se_norm"] > 0:
            assert r["mean_se_norm"] == pytest.approx(math.sqrt(r["variance"] / 20_000))


def test_score_function_no_baseline_formula(toy):
    logits, f = toy
    torch.manual_seed(5)
    g = comparison.score_function_no_baseline(logits, f, 7)
    torch.manual_seed(5)
    p = torch.sigmoid(logits)
    z = torch.bernoulli(p.expand(7, 6))
    # autograd of f(z) * log q(z) with f held fixed is the same estimate
    lg = logits.detach().clone().requires_grad_(True)
    log_q = -F.binary_cross_entropy_with_logits(
        lg.expand(7, 6), z, reduction="none"
    ).sum(-1)
    (ref,) = torch.autograd.grad((f(z).detach() * log_q).sum(), lg)
    torch.testing.assert_close(g.sum(0), ref)


def test_training_summary_and_final_params():
    history = [
        {
            "epoch": 1,
            "seconds": 3.0,
            "test_neg_elbo": 200.0,
            "test_temperature": 1.0,
            "test_sharpness": 1.0,
        },
        {
            "epoch": 2,
            "seconds": 2.0,
            "test_neg_elbo": 150.0,
            "test_temperature": 0.7,
            "test_sharpness": 4.0,
            "test_relaxed_neg_elbo": 140.0,
        },
        {
            "epoch": 3,
            "seconds": 2.5,
            "test_neg_elbo": 140.0,
            "test_temperature": 0.5,
            "test_sharpness": 10.0,
            "test_relaxed_neg_elbo": 130.0,
        },
    ]
    s = comparison.training_summary(history)
    assert s == {
        "epochs": 3,
        "seconds_per_epoch": 2.5,
        "train_seconds": 7.5,
        "first_neg_elbo": 200.0,
        "last_neg_elbo": 140.0,
        "last_relaxed_neg_elbo": 130.0,
    }
    config = BinaryVAEConfig(estimator="smoothing-f1", smoothing_base=2.0)
    spec = comparison.spec_for("f1", config, history)
    assert spec.estimator == "smoothing-f1"
    assert spec.params == {"temperature": 0.5, "sharpness": 10.0, "base": 2.0}


def test_test_bounds_match_the_models_own_objective():
    torch.manual_seed(6)
    x = BinarizedMNIST.load("test", limit=50).fixed()
    for estimator, relaxed in [("straight-through", False), ("gumbel-softmax", True)]:
        model = (
            BinaryVAEConfig(hidden=(32,), latent_dim=6, estimator=estimator)
            .build()
            .eval()
        )
        with (
            torch.no_grad()
        ):  # confident encoder: a KL of several nats, so its sign and size matter
            [
                layer
                for layer in model.encoder.modules()
                if isinstance(layer, torch.nn.Linear)
            ][-1].weight.mul_(100)
        params = {"temperature": 0.5, "sharpness": 5.0, "base": math.e}
        out = comparison.test_bounds(model, x, params, num_samples=400, batch_size=20)
        # the exact hard bound by enumeration of all 2^6 states, per image
        states = torch.tensor(
            [[(i >> k) & 1 for k in range(6)] for i in range(64)], dtype=torch.float32
        )
        with torch.no_grad():
            qz = model.encode(x)
            log_q = qz.log_prob(states[:, None])  # (64, N)
            log_px = model.decode(states).log_prob(x[:, None]).T  # (64, N)
            kl = torch.distributions.kl_divergence(qz, model.prior())
            exact = -((log_q.exp() * log_px).sum(0) - kl)
        assert out["num_images"] == 50
        assert kl.mean() > 1.5
        assert abs(out["hard"] - exact.mean().item()) < 0.1, (
            out,
            exact.mean(),
        )  # 400 draws x 50 images
        if (
            not relaxed
        ):  # exact forward samples: the relaxed number estimates the same bound
            assert abs(out["relaxed"] - exact.mean().item()) < 0.5
        state = TrainState(TrainConfig(device="cpu"))
        with torch.no_grad():
            own = (
                model.objective(x, state)["neg_elbo"].mean().item()
            )  # one draw: noisy, same expectation
        assert abs(own - exact.mean().item()) < 5


# --- the seed statistics of the equal-step runs ------------------------------


def record(name, seed, estimator, hard, se=0.4, relaxed=None, seconds=(5.0, 6.0)):
    """A finished run's record: two epochs of 600 steps, test metrics ``hard``."""
    soft = hard if relaxed is None else relaxed
    history = [
        {
            "epoch": e + 1,
            "step": 600 * (e + 1),
            "seconds": s,
            "test_neg_elbo": hard + 10 * (1 - e),
            "test_hard_neg_elbo": hard + 10 * (1 - e),
            "test_relaxed_neg_elbo": soft + 10 * (1 - e),
        }
        for e, s in enumerate(seconds)
    ]
    test = {"neg_elbo": hard, "neg_elbo_se": se, "iw_nll": hard - 12, "iw_nll_se": se}
    return Run(
        name=name,
        seed=seed,
        command=f"python -m vaebook.train binary-vae --estimator {estimator}",
        model_config=BinaryVAEConfig(estimator=estimator),
        train_config=TrainConfig(epochs=2, seed=seed),
        history=history,
        metrics={"test": test},
    )


@pytest.fixture()
def runs():
    return [
        record("bin_straight_through", 1, "straight-through", 136.0),
        record("bin_straight_through", 0, "straight-through", 135.0),
        record("bin_gumbel_tau05", 0, "gumbel-softmax", 128.0, relaxed=122.0),
        record("bin_gumbel_tau05", 1, "gumbel-softmax", 129.0, relaxed=123.0),
        record("bin_f2", 0, "smoothing-f2", 129.5, relaxed=131.0),
        record("bin_f2", 1, "smoothing-f2", 134.9, relaxed=137.0),
    ]


def test_over_seeds_gathers_each_estimators_seeds_in_order(runs):
    hard = comparison.over_seeds(runs)
    assert list(hard) == ["bin_straight_through", "bin_gumbel_tau05", "bin_f2"]
    st = hard["bin_straight_through"]
    assert st.seeds == (0, 1) and st.values == (135.0, 136.0) and st.ses == (0.4, 0.4)
    assert (st.mean, st.lo, st.hi, st.se) == (135.5, 135.0, 136.0, 0.4)
    gap = comparison.over_seeds(runs, comparison.relaxed_gap)["bin_gumbel_tau05"]
    assert gap.values == (-6.0, -6.0) and gap.se == 0.0  # no SE: NaN, counted as 0
    iw = comparison.over_seeds(runs, comparison.iw_bound)["bin_f2"]
    assert iw.mean == pytest.approx((129.5 + 134.9) / 2 - 12)


def test_spread_of_gathers_test_metrics_kept_in_different_places(runs):
    """spread_of({seed: metrics["test"]}) is over_seeds' spread of the same runs,
    whatever order the seeds come in."""
    tests = {r.seed: r.metrics["test"] for r in runs if r.name == "bin_f2"}
    for number, value in [("neg_elbo", comparison.hard_bound), ("iw_nll", None)]:
        value = value or comparison.iw_bound
        expected = comparison.over_seeds(runs, value)["bin_f2"]
        assert comparison.spread_of(dict(reversed(tests.items())), number) == expected
    no_se = comparison.spread_of({2: {"iw_nll": 90.0}, 0: {"iw_nll": 91.0}})
    assert no_se.seeds == (0, 2) and no_se.values == (91.0, 90.0) and no_se.se == 0.0


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ((128.0, 129.0), (135.0, 136.0), "lower"),  # apart by 6 nats
        ((135.0, 136.0), (128.0, 129.0), "higher"),
        ((128.0, 129.0), (129.5, 134.9), "within noise"),  # gap 0.5 < 0.4 + 0.4
        ((128.0, 129.0), (129.9, 134.9), "lower"),  # gap 0.9 > 0.8
        ((128.0, 131.0), (129.5, 134.9), "within noise"),  # the seeds overlap
    ],
)
def test_separated_needs_every_seed_apart_by_more_than_the_noise(a, b, expected):
    spread = lambda values: SeedSpread((0, 1), values, (0.4, 0.4))
    assert comparison.compare(spread(a), spread(b)) == expected
    assert comparison.separated(spread(a), spread(b)) == (expected == "lower")


def test_results_table_sorted_by_mean_with_relaxed_only_where_relaxed(runs):
    table = comparison.results_table(runs)
    assert list(table.index) == [
        "Gumbel-softmax tau 0.5",
        "f2 kappa 5",
        "straight-through",
    ]
    st = table.loc["straight-through"]
    assert st["seeds"] == 2 and st["hard -ELBO"] == 135.5
    assert st["seeds' range"] == "135.0–136.0" and st["eval SE"] == 0.4
    assert st["IW NLL"] == 123.5 and st["train s"] == 11.0
    assert math.isnan(st["relaxed -ELBO"])  # no relaxation
    assert table.loc["Gumbel-softmax tau 0.5", "relaxed -ELBO"] == 122.5
    assert table.loc["f2 kappa 5", "relaxed -ELBO"] == 134.0


def test_ranking_table_judges_each_step(runs):
    ranking = comparison.ranking_table(runs)
    assert list(ranking.index) == ["Gumbel-softmax tau 0.5", "f2 kappa 5"]
    assert list(ranking["next"]) == ["f2 kappa 5", "straight-through"]
    assert ranking["seeds' gap"].tolist() == pytest.approx([0.5, 135.0 - 134.9])
    assert ranking["noise"].tolist() == pytest.approx([0.8, 0.8])
    assert ranking["apart"].tolist() == [False, False]


def test_decoder_passes_and_equal_evaluations(runs):
    """S passes for rloo and vimco, 2 for DisARM's pair, 1 otherwise; the equal
    evaluations view takes the one-pass runs and the S-pass runs at 1 / S the steps,
    and refuses a set whose budgets differ."""
    passes = comparison.decoder_passes
    assert passes(BinaryVAEConfig(estimator="rloo", estimator_samples=3)) == 3
    assert passes(BinaryVAEConfig(estimator="vimco")) == 4
    assert passes(BinaryVAEConfig(estimator="disarm")) == 2
    assert passes(BinaryVAEConfig(estimator="nvil")) == 1
    assert passes(BinaryVAEConfig(estimator="gumbel-softmax")) == 1
    rloo = record("bin_rloo_s2", 0, "rloo", 140.0)
    rloo.model_config.estimator_samples = 2
    half = dataclasses.replace(rloo, history=rloo.history[:1])  # 600 steps x 2 passes
    with pytest.raises(ValueError, match="different decoder evaluations"):
        comparison.at_equal_evaluations(runs + [rloo], [rloo])
    equal = comparison.at_equal_evaluations(runs + [rloo], [half])
    assert [r.name for r in equal][-1] == "bin_rloo_s2" and rloo not in equal
    table = comparison.results_table(runs + [rloo])
    assert table.at["RLOO S = 2", "passes"] == 2
    assert table.at["straight-through", "passes"] == 1
