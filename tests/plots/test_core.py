"""Every figure helper draws from a real (small) model; misuse is refused."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook import plots  # noqa: E402
from vaebook.models import VAEConfig  # noqa: E402
from vaebook.plots import style  # noqa: E402

# tensors handed to matplotlib as arrays: no NumPy deprecation noise in the chapters'
# output
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def layout_problems(fig) -> list[str]:
    """What would not fit the book's column (vaebook.plots.style, with its margin: a
    natural width over 680 px at dpi 100, or visible text under 8.5 pt)."""
    return style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return VAEConfig(hidden=(16,), latent_dim=5).build(), VAEConfig(
        hidden=(16,), latent_dim=2
    ).build()


def test_figures(models):
    vae, vae2d = models
    x = torch.bernoulli(torch.full((12, 784), 0.2))
    labels = torch.arange(12) % 10
    history = [
        {
            "epoch": e,
            **{
                f"{s}_{k}": 100.0 / e
                for s in ("train", "test")
                for k in ("neg_elbo", "kl")
            },
            "train_log_px_given_z": -90.0,
            "test_log_px_given_z": -91.0,
        }
        for e in (1, 2)
    ]
    figures = [
        plots.reconstructions(vae, x[:5]),
        plots.prior_samples(vae, 20),
        plots.latent_scatter(vae, x, labels),
        plots.latent_scatter(vae2d, x, labels),
        plots.manifold(vae2d, steps=5),
        plots.interpolation(vae, x[0], x[1], steps=4),
        plots.learning_curves(history),
        plots.kl_per_dimension([0.001, 2.0, 0.5, 0.0, 3.0]),
    ]
    from vaebook.models import LinearGaussian

    ppca = LinearGaussian(torch.randn(784, 2), torch.zeros(784), 0.5)
    figures += [
        plots.PosteriorFigure(vae2d, x[:1], steps=21).draw(0),
        plots.bound_convergence([1, 10], {"a": [-3.0, -2.0]}, exact=-1.0),
        plots.monte_carlo_convergence([10, 100], [1.0, 1.1], [0.2, 0.05], 1.05),
        plots.BetaPosteriorFigure(ppca, x[:2], [(0.5, 3.0, 2.0), (1.0, 2.0, 3.0)]).draw(
            1.0
        ),
    ]
    for fig in figures:
        assert fig.axes, fig
        assert layout_problems(fig) == [], fig
    mosaic = figures[4].axes[0].images[0].get_array()
    assert mosaic.shape == (5 * 28, 5 * 28)
    assert "3 of 5 above" in figures[7].axes[0].get_title()
    with pytest.raises(ValueError, match="2-D latent"):
        plots.manifold(vae)


def test_slider_figures_update_in_place(models):
    """A slider's draw returns the same Figure every move, with the new frame's data."""
    from vaebook.models import LinearGaussian
    from vaebook.plots.core import BetaPosteriorFigure, PosteriorFigure

    _, vae2d = models
    x = torch.bernoulli(torch.full((3, 784), 0.2))
    posterior = PosteriorFigure(vae2d, x, steps=21)
    first = posterior.draw(0, "image 0")
    extent0 = posterior.density.get_extent()
    assert (
        posterior.draw(2, "image 2") is first
        and posterior.title.get_text() == "image 2"
    )
    window = posterior.windows[2]
    assert posterior.density.get_extent() == list(window["extent"]) != extent0
    assert abs(window["density"].sum().item() - 1) < 1e-4, "p(z|x) sums to 1"
    with pytest.raises(ValueError, match="image index"):
        posterior.draw(3)

    ppca = LinearGaussian(torch.randn(784, 2), torch.zeros(784), 0.5)
    curve = [(0.5, 3.0, 2.0), (1.0, 2.0, 3.0)]
    beta_fig = BetaPosteriorFigure(ppca, x[:2], curve)
    first = beta_fig.draw(0.5)
    assert beta_fig.draw(1.0) is first
    assert list(beta_fig.marker.get_xdata()) == [2.0], "at beta = 1's rate"
    exact = ppca.beta_posterior(x[:2], 1.0).mean[1].tolist()
    assert beta_fig.points[1].get_xdata()[0] == pytest.approx(exact[0], rel=1e-5)
    with pytest.raises(ValueError, match="beta must be one of"):
        beta_fig.draw(2.0)

    for fig in (posterior.fig, beta_fig.fig):
        assert layout_problems(fig) == [], fig
    matplotlib.pyplot.close("all")


def test_compare_histories():
    history = [{"epoch": e, "test_neg_elbo": 100.0 / e} for e in (1, 2)]
    fig = plots.compare_histories({"a": history, "b": history})
    assert fig.axes and layout_problems(fig) == []
    matplotlib.pyplot.close(fig)
