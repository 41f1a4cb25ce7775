"""The seed statistics of vaebook.experiments.comparison on hand-made run records:
over_seeds against the records' own numbers, separated / compare on pairs whose seeds
overlap, touch or are apart beyond the evaluation noise, and the two tables the
comparison chapter shows (sorted by the mean, relaxed column only for relaxed
estimators, each step of the ranking judged)."""

import math

import pytest

from vaebook.discrete_vae import BinaryVAEConfig
from vaebook.experiments import comparison
from vaebook.experiments.comparison import SeedSpread
from vaebook.runs import Run
from vaebook.training import TrainConfig


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
        "f2 beta 5",
        "straight-through",
    ]
    st = table.loc["straight-through"]
    assert st["seeds"] == 2 and st["hard -ELBO"] == 135.5
    assert st["seeds' range"] == "135.0–136.0" and st["eval SE"] == 0.4
    assert st["IW NLL"] == 123.5 and st["train s"] == 11.0
    assert math.isnan(st["relaxed -ELBO"])  # no relaxation
    assert table.loc["Gumbel-softmax tau 0.5", "relaxed -ELBO"] == 122.5
    assert table.loc["f2 beta 5", "relaxed -ELBO"] == 134.0


def test_ranking_table_judges_each_step(runs):
    ranking = comparison.ranking_table(runs)
    assert list(ranking.index) == ["Gumbel-softmax tau 0.5", "f2 beta 5"]
    assert list(ranking["next"]) == ["f2 beta 5", "straight-through"]
    assert ranking["seeds' gap"].tolist() == pytest.approx([0.5, 135.0 - 134.9])
    assert ranking["noise"].tolist() == pytest.approx([0.8, 0.8])
    assert ranking["apart"].tolist() == [False, False]
