"""vaebook.plots.discrete: the estimator bars a slider updates in place (each frame the
picture a freshly built figure draws for the same value), and every figure of the module
fits the book's column (at most 6.8 in wide at 100 dpi, so at most 680 px in a 688 px
column; text of 8.5 pt or more)."""

import io

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook.plots import discrete as dplots  # noqa: E402

from .layout import assert_fits_the_column  # noqa: E402


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


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


def all_figures():
    torch.manual_seed(1)
    x = torch.bernoulli(torch.full((12, 784), 0.3))
    samples = {"a": torch.randn(500, 6), "b": torch.randn(500, 6)}
    probs = torch.tensor([0.5, 0.3, 0.2])
    return {
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


def test_every_figure_fits_the_column():
    for name, fig in all_figures().items():
        assert_fits_the_column(fig, name)
    plt.close("all")
