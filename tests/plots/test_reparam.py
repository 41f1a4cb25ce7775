"""Slider figures of the reparameterization, computing-q and MNIST chapters: one Figure,
updated in place, showing the right data; sized for the book's column."""

import matplotlib

matplotlib.use("agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import distributions as D  # noqa: E402

from vaebook import plots, reparam  # noqa: E402

from .layout import assert_fits_the_column  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def test_density_frame_updates_one_figure():
    frame = plots.DensityFrame(xlim=(-5, 5), num_samples=4000)
    torch.manual_seed(0)
    first = frame.draw(D.Normal(0.0, 1.0), "a")
    draws = 2 * torch.randn(4000)
    second = frame.draw(reparam.gaussian(0.0, 2.0), "b", draws=draws)
    assert first is second and frame.title.get_text() == "b"
    heights, edges = frame.hist.get_data().values, frame.hist.get_data().edges
    counts, _ = np.histogram(draws.numpy(), bins=edges)
    assert np.allclose(heights, counts / (4000 * (edges[1] - edges[0])))
    grid, density = frame.line.get_data()
    assert np.allclose(density, D.Normal(0.0, 2.0).log_prob(torch.tensor(grid)).exp())
    assert frame.ax.get_xlim() == (-5, 5)
    assert_fits_the_column(second)


def test_density_frame_outside_the_support_is_zero():
    frame = plots.DensityFrame(xlim=(-2, 4), num_samples=2000)
    frame.draw(reparam.uniform(1.0, 1.0), "U(0, 2)")
    grid, density = frame.line.get_data()
    assert (density[(grid < 0) | (grid > 2)] == 0).all()
    assert np.allclose(density[(grid > 0.01) & (grid < 1.99)], 0.5)


def test_inverse_cdf_frame():
    frame = plots.InverseCDFFrame(num_samples=2000)
    fig = frame.draw(
        reparam.Kumaraswamy(torch.tensor(2.0), torch.tensor(3.0)), "K(2, 3)"
    )
    again = frame.draw(
        reparam.Kumaraswamy(torch.tensor(0.5), torch.tensor(5.0)), "K(0.5, 5)"
    )
    assert fig is again and frame.title.get_text() == "K(0.5, 5)"
    u, z = frame.map.get_data()
    assert np.allclose(z, (1 - (1 - u) ** (1 / 5.0)) ** (1 / 0.5), rtol=1e-4)  # float32
    assert_fits_the_column(fig)


def test_family_figures_fit_the_column():
    torch.manual_seed(0)
    families = dict(list(reparam.FAMILIES.items())[:4])
    assert_fits_the_column(plots.plot_families(families, num_samples=500))
    fig = plots.plot_samples_vs_density(D.Normal(0.0, 1.0), 500)
    assert fig.axes
    cdf = plots.InverseCDFFrame(num_samples=500).draw(
        reparam.Kumaraswamy(torch.tensor(2.0), torch.tensor(3.0))
    )
    assert len(cdf.axes) == 2
