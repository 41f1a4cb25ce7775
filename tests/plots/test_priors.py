"""vaebook.plots.priors: the prior-hole and active-units figures fit the column."""

import matplotlib

matplotlib.use("agg")
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook.aggregate import grid_log_densities  # noqa: E402
from vaebook.models import VAEConfig  # noqa: E402
from vaebook.plots import priors, style  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def problems(fig):
    return style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )


def test_prior_hole_figure_fits_the_column():
    torch.manual_seed(0)
    model = VAEConfig(hidden=(16,), latent_dim=2).build()
    x = torch.bernoulli(torch.full((20, 784), 0.3))
    fig = priors.prior_hole(*grid_log_densities(model, x, points=21), title="t")
    assert problems(fig) == []
    assert len(fig.axes) == 4  # two panels, two colour bars


def test_active_units_figure_draws_one_line_per_model():
    fig = priors.active_units_per_epoch({"a": [3, 4, 5], "b": [5, 5]}, latent_dim=5)
    assert problems(fig) == []
    assert len(fig.axes[0].get_lines()) == 2
    with pytest.raises(ValueError, match="no curves"):
        priors.active_units_per_epoch({}, latent_dim=5)


def fake_run(epochs: int, start: float, active: int, iw: float):
    """A run with the fields the figure reads: history rows and test metrics."""
    from types import SimpleNamespace

    history = [
        {
            "epoch": e,
            "test_neg_elbo": start - e,
            "test_activity": [1.0] * active + [0.0] * (50 - active),
        }
        for e in range(1, epochs + 1)
    ]
    test = {"neg_elbo": start - epochs, "iw_nll": iw, "iw_samples": 100}
    return SimpleNamespace(history=history, metrics={"test": test})


def test_components_figure_moves_in_place_and_says_what_it_shows():
    runs = {
        ("mog", 10): fake_run(30, 130, 28, 93.0),
        ("vamp", 50): fake_run(30, 128, 27, 94.1),
    }
    figure = priors.ComponentsFigure(
        runs, fake_run(30, 127, 29, 92.2), {"mog": "mixture", "vamp": "VampPrior"}, 50
    )
    fig = figure.draw("mog", 10)
    assert figure.draw("vamp", 50) is fig
    title = fig._suptitle.get_text()
    assert "VampPrior, 50 components" in title and "IW NLL 94.10 (S = 100)" in title
    assert "27 active units after 30 epochs" in title
    assert list(figure.units.get_ydata()) == [27] * 30
    low, high = figure.ax_e.get_ylim()  # every run's later epochs are on the axes
    assert low <= 97 and high >= 128 - 3
    assert problems(fig) == []
    with pytest.raises(ValueError, match="trained"):
        figure.draw("mog", 200)


def test_iwae_continuation_starts_at_the_model_it_continued_from():
    history = [
        {
            "test_neg_elbo": 90.0 + e,
            "test_neg_iw_bound": 86.0 - 0.5 * e,
            "test_active_units": 23 + e,  # a record's count
        }
        for e in range(1, 4)
    ]
    start = {"neg_elbo": 89.5, "neg_iw_bound": 86.4, "active_units": 23}
    fig = priors.iwae_continuation(history, start, samples=50, images=1000)
    assert problems(fig) == []
    elbo, bound = fig.axes[0].get_lines()
    assert list(elbo.get_ydata()) == [89.5, 91.0, 92.0, 93.0]
    assert list(bound.get_xdata()) == [0, 1, 2, 3] and bound.get_ydata()[0] == 86.4
    assert list(fig.axes[1].get_lines()[0].get_ydata()) == [23, 24, 25, 26]
    assert "S = 50" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="no epochs"):
        priors.iwae_continuation([], start, samples=50, images=1000)
