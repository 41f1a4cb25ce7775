"""The slider figures of vaebook.plots.gumbel and vaebook.plots.discrete: updated in
place, each frame must be the picture a freshly built figure draws for the same value
(the reference), and every figure of the two modules fits the book's column (at most 6.8
in wide at 100 dpi, so at most 680 px in a 688 px column; text of 8.5 pt or more)."""

import io

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from vaebook.discrete_vae import CategoricalVAEConfig  # noqa: E402
from vaebook.plots import discrete as dplots  # noqa: E402
from vaebook.plots import gumbel, style  # noqa: E402


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tiny_categorical():
    torch.manual_seed(0)
    return (
        CategoricalVAEConfig(hidden=(16,), num_latents=4, num_classes=3).build().eval()
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
    assert sum(bar.get_height() for bar in figure.bars) == 200


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


def test_estimator_bars_figure_updates_in_place_and_matches_a_fresh_one():
    def frame(scale):
        mean = scale * torch.tensor([1.0, -0.5, 0.25])
        return {
            "exact": mean + 0.1,
            "estimates": {"a": (mean, 0.1 * mean.abs())},
            "markers": {"m": mean - 0.1},
            "title": f"scale {scale}",
        }

    figure = dplots.EstimatorBarsFigure(3, ["a"], ["m"], ylim=(-2, 2))
    frames = {s: png(figure.draw(**frame(s))) for s in (1.0, -1.5, 0.5)}
    assert figure.draw(**frame(1.0)) is figure.fig
    for s, picture in frames.items():
        assert picture == png(
            dplots.EstimatorBarsFigure(3, ["a"], ["m"], ylim=(-2, 2)).draw(**frame(s))
        ), s
    # the error bars span mean +- 2 standard errors
    figure.draw(**frame(1.0))
    (segments,) = figure.errorbars["a"][2]
    spans = [y for seg in segments.get_segments() for y in (seg[0][1], seg[1][1])]
    mean, se = frame(1.0)["estimates"]["a"]
    expected = [
        y for m, e in zip(mean.tolist(), se.tolist()) for y in (m - 2 * e, m + 2 * e)
    ]
    assert spans == pytest.approx(expected)


def test_estimator_bars_without_ylim_fit_every_value():
    exact = torch.tensor([3.0, -4.0])
    fig = dplots.EstimatorBarsFigure(2, ["a"]).draw(
        exact, {"a": (torch.zeros(2), torch.ones(2))}
    )
    low, high = fig.axes[0].get_ylim()
    assert low < -4.0 and high > 3.0


def all_figures(tiny_categorical, simplex_samples):
    from vaebook.annealing import ExponentialDecay

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
    samples = {"a": torch.randn(500, 6), "b": torch.randn(500, 6)}
    images, own = gumbel.latent_sweep(tiny_categorical, x[:5])
    probs = torch.tensor([0.5, 0.3, 0.2])
    return {
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
        "inverse_cdf": dplots.inverse_cdf_sampler(
            torch.tensor([0.1, 0.25, 0.05, 0.4, 0.2]), torch.rand(40)
        ),
        "frequencies": dplots.frequencies_vs_probabilities(
            {"Bernoulli": (probs, probs), "categorical": (probs, probs)}, 1000
        ),
        "collapse": dplots.collapse_curves(
            {"a": {"kl": [1.0, 0.1] * 20, "neg_elbo": [200.0, 190.0] * 20}}
        ),
        "histograms": dplots.probability_histograms(
            {"a": torch.rand(10, 4), "b": torch.rand(10, 4)}
        ),
        "rows": dplots.image_rows({"x": x, "y": x}),
        "gradients": dplots.gradient_histograms(
            samples, torch.zeros(6), straight_through_mean=torch.ones(6)
        ),
        "bias": dplots.bias_curves(torch.linspace(0, 1, 5), {"c": torch.zeros(5)}, "p"),
        "bars": dplots.EstimatorBarsFigure(6, ["a", "b"], ["m"], ylim=(-1, 1)).draw(
            torch.zeros(6),
            {"a": (torch.zeros(6), torch.ones(6)), "b": (torch.ones(6), torch.ones(6))},
            {"m": torch.ones(6)},
        ),
    }


def test_every_figure_fits_the_column(tiny_categorical, simplex_samples):
    for name, fig in all_figures(tiny_categorical, simplex_samples).items():
        width, _ = fig.get_size_inches()
        assert width <= style.MAX_WIDTH_IN, (name, width)
        assert any(t.get_visible() for t in fig.findobj(Text)), name
        problems = style.check_figure(
            fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
        )
        assert problems == [], (name, problems)
    plt.close("all")
