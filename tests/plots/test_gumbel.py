"""The figure helpers of the Gumbel-softmax chapter (vaebook.plots.gumbel) draw from
small models and histories (the smoothing chapter's: tests/test_plots_smoothing.py)."""

import io

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook.annealing import ExponentialDecay  # noqa: E402
from vaebook.discrete_vae import CategoricalVAEConfig  # noqa: E402
from vaebook.experiments.enumeration import bias_and_variance  # noqa: E402
from vaebook.plots import gumbel  # noqa: E402

from .layout import assert_fits_the_column  # noqa: E402

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
        gumbel.SimplexFigure(torch.tensor([0.5, 0.3, 0.2]), {0.5: y}).draw(0.5),
        gumbel.bias_variance_vs_temperature([0.5, 1.0], {"a": stats}, {"ref": 1.0}),
        gumbel.temperature_schedules({"r": ExponentialDecay(1.0, 0.5, 1e-3, 10)}, 2000),
        gumbel.relaxed_and_hard_curves(history(), {"paper": 101.5}),
        gumbel.categorical_reconstructions(tiny_categorical, x),
        gumbel.LatentSweepFigure(*gumbel.latent_sweep(tiny_categorical, x[:2])).draw(1),
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


@pytest.fixture(scope="module")
def simplex_samples():
    torch.manual_seed(0)
    logits = torch.randn(200, 3)
    return {tau: torch.softmax(logits / tau, -1) for tau in (0.1, 0.5, 2.0)}


def test_simplex_figure_updates_in_place_and_matches_a_fresh_one(simplex_samples):
    probs = torch.tensor([0.5, 0.3, 0.2])
    figure = gumbel.SimplexFigure(probs, simplex_samples)
    frames = {tau: png(figure.draw(tau)) for tau in (0.1, 2.0, 0.5)}
    assert figure.draw(0.1) is figure.draw(2.0) is figure.fig
    for tau, frame in frames.items():
        fresh = gumbel.SimplexFigure(probs, {tau: simplex_samples[tau]}).draw(tau)
        assert frame == png(fresh), tau
    assert frames[0.1] != frames[2.0]
    # every sample is drawn once: the three classes' points and the histogram's counts
    figure.draw(0.5)
    assert sum(len(p.get_offsets()) for p in figure.points) == 200
    counts = figure.frames[0.5]["counts"]
    assert sum(counts) == 200
    heights = figure.bars.get_data().values  # relative to the tallest bin
    assert max(heights) == 1 and list(heights * max(counts)) == counts


def test_latent_sweep_decodes_the_mode_with_one_latent_changed(tiny_categorical):
    x = torch.bernoulli(
        torch.full((2, 784), 0.3), generator=torch.Generator().manual_seed(1)
    )
    images, own = gumbel.latent_sweep(tiny_categorical, x)
    assert images.shape == (4, 2, 3, 784) and own.shape == (2, 4)
    with torch.no_grad():
        logits = tiny_categorical.encode(x).base_dist.logits
        z = torch.nn.functional.one_hot(logits.argmax(-1), 3).float()
        z[1, 2] = torch.tensor([0.0, 1.0, 0.0])  # image 1, latent 2 set to class 1
        expected = tiny_categorical.decode(z[1:2]).mean[0]
    assert torch.allclose(images[2, 1, 1], expected, atol=1e-6)
    assert torch.equal(own, logits.argmax(-1))


def test_latent_sweep_figure_updates_in_place_and_matches_a_fresh_one(tiny_categorical):
    x = torch.bernoulli(
        torch.full((2, 784), 0.3), generator=torch.Generator().manual_seed(1)
    )
    images, own = gumbel.latent_sweep(tiny_categorical, x)
    figure = gumbel.LatentSweepFigure(images, own)
    frames = {k: png(figure.draw(k)) for k in (3, 0, 2)}
    assert figure.draw(1) is figure.fig
    for k, frame in frames.items():
        assert frame == png(gumbel.LatentSweepFigure(images, own).draw(k)), k
    own_class = own[
        1, 2
    ].item()  # the red frame sits on the encoder's class of latent 2
    figure.draw(2)
    assert figure.frames[1].get_x() == own_class * 28 - 0.5


def test_every_figure_fits_the_column(tiny_categorical, simplex_samples):
    torch.manual_seed(1)
    x = torch.bernoulli(torch.full((12, 784), 0.3))
    history = [
        {
            "epoch": e,
            "beta": min(1.0, e / 2),
            "test_temperature": 1.0 / e,
            "train_relaxed_neg_elbo": 150.0 / e,
            "test_relaxed_neg_elbo": 151.0 / e,
            "test_hard_neg_elbo": 160.0 / e,
        }
        for e in (1, 2, 3)
    ]
    stats = [{"bias_norm": 1.0, "mean_se_norm": 0.1, "variance": v} for v in (1.0, 2.0)]
    images, own = gumbel.latent_sweep(tiny_categorical, x[:5])
    probs = torch.tensor([0.5, 0.3, 0.2])
    figures = {
        "simplex": gumbel.SimplexFigure(probs, simplex_samples).draw(0.5),
        "bias_variance": gumbel.bias_variance_vs_temperature(
            [0.5, 1.0], {"a": stats}, {"ref": 1.0}
        ),
        "schedules": gumbel.temperature_schedules(
            {"r": ExponentialDecay(1.0, 0.5, 1e-3, 10)}, 2000
        ),
        "curves": gumbel.relaxed_and_hard_curves(history, {"paper": 101.5}),
        "reconstructions": gumbel.categorical_reconstructions(tiny_categorical, x),
        "sweep": gumbel.LatentSweepFigure(images, own).draw(0),
    }
    for name, fig in figures.items():
        assert_fits_the_column(fig, name)
    plt.close("all")


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()
