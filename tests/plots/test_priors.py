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
