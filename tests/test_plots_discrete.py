"""The figure helpers of the Gumbel-softmax and smoothing chapters
(vaebook.plots.gumbel, vaebook.plots.smoothing) draw from small models and histories."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook.annealing import ExponentialDecay  # noqa: E402
from vaebook.discrete_vae import CategoricalVAEConfig  # noqa: E402
from vaebook.experiments.enumeration import bias_and_variance  # noqa: E402
from vaebook.plots import gumbel  # noqa: E402
from vaebook.plots import smoothing as smooth_plots

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
            "test_smoothing_beta": 5.0,
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


def test_simplex_projection_puts_one_hot_vectors_at_the_corners():
    assert torch.allclose(gumbel._to_plane(torch.eye(3)), gumbel.CORNERS.double())
    assert torch.allclose(
        gumbel._to_plane(torch.full((1, 3), 1 / 3)),
        gumbel.CORNERS.double().mean(0, keepdim=True),
    )


def test_smoothing_figures():
    histories = {
        "bin_f1": history(),
        "bin_f2_anneal": history(2),
        "bin_f2_anneal_long": history(4),
    }
    figures = [
        smooth_plots.figure_one((2.0, 5.0, 20.0)),
        smooth_plots.smoothers_at(5.0, 0.3),
        smooth_plots.published_inverse_cdfs(
            {name: 5.0 for name in smooth_plots.PUBLISHED}
        ),
        smooth_plots.smoother_curves(histories, reference=105.0),
    ]
    assert len(figures[0].axes) == 9
    lines = figures[3].axes[0].get_lines()
    # one colour per smoother: the two f2 models share theirs, f1 has another
    assert lines[1].get_color() == lines[2].get_color() != lines[0].get_color()
    plt.close("all")
