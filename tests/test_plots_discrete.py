"""The figure helpers of the Gumbel-softmax chapter (vaebook.plots.gumbel) draw from
small models and histories (the smoothing chapter's: tests/test_plots_smoothing.py)."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook.annealing import ExponentialDecay  # noqa: E402
from vaebook.discrete_vae import CategoricalVAEConfig  # noqa: E402
from vaebook.experiments.enumeration import bias_and_variance  # noqa: E402
from vaebook.plots import gumbel  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


@pytest.fixture(scope="module")
def tiny_categorical():
    torch.manual_seed(0)
    return (
        CategoricalVAEConfig(hidden=(16,), num_latents=4, num_classes=3).build().eval()
    )


def history(epochs=3, **extra):
    rows = []
    for e in range(1, epochs + 1):
        row = {
            "epoch": e,
            "beta": min(1.0, e / 2),
            "test_temperature": max(0.5, 1.0 - 0.2 * e),
            "test_sharpness": 5.0,
            **extra,
        }
        for split in ("train", "test"):
            row.update(
                {
                    f"{split}_relaxed_neg_elbo": 150.0 / e,
                    f"{split}_hard_neg_elbo": 160.0 / e,
                }
            )
        rows.append(row)
    return rows


def test_gumbel_figures(tiny_categorical):
    torch.manual_seed(1)
    y = torch.softmax(torch.randn(50, 3), -1)
    x = torch.bernoulli(torch.full((4, 784), 0.3))
    stats = [bias_and_variance(torch.randn(20, 2), torch.zeros(2)) for _ in range(2)]
    figures = [
        gumbel.simplex_samples(y, torch.tensor([0.5, 0.3, 0.2]), 0.5),
        gumbel.bias_variance_vs_temperature([0.5, 1.0], {"a": stats}, {"ref": 1.0}),
        gumbel.temperature_schedules({"r": ExponentialDecay(1.0, 0.5, 1e-3, 10)}, 2000),
        gumbel.relaxed_and_hard_curves(history(), {"paper": 101.5}),
        gumbel.categorical_reconstructions(tiny_categorical, x),
        gumbel.vary_latent(tiny_categorical, x[:2], latent=1),
    ]
    for fig in figures:
        assert fig.axes
    assert len(figures[4].axes) == 3  # input, mode, sample
    plt.close("all")


def test_relaxed_and_hard_curves_draw_a_relaxed_objective_only_where_there_is_one():
    relaxed = history()  # Gumbel-softmax: relaxed and hard test values differ
    hard = [  # straight-through Gumbel: the objective is the hard -ELBO
        {
            **row,
            "test_relaxed_neg_elbo": row["test_hard_neg_elbo"],
            "train_neg_elbo": 1.0,
        }
        for row in relaxed
    ]
    assert gumbel.decodes_relaxed(relaxed) and not gumbel.decodes_relaxed(hard)
    for rows, labels in (
        (relaxed, ["train, relaxed y", "test, relaxed y"]),
        (hard, ["train, one-hot z (the objective)"]),
    ):
        fig = gumbel.relaxed_and_hard_curves(rows, {"paper": 101.5})
        drawn = [line.get_label() for line in fig.axes[0].get_lines()]
        assert drawn == [*labels, "test, one-hot z (exact bound)", "paper"]
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [1.0] * 3
    plt.close("all")


def test_simplex_projection_puts_one_hot_vectors_at_the_corners():
    assert torch.allclose(gumbel._to_plane(torch.eye(3)), gumbel.CORNERS.double())
    assert torch.allclose(
        gumbel._to_plane(torch.full((1, 3), 1 / 3)),
        gumbel.CORNERS.double().mean(0, keepdim=True),
    )
