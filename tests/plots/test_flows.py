"""The change-of-variables figures: the planar step a slider redraws in place, the
densities of planar-flow posteriors."""

import matplotlib

matplotlib.use("agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook import flows, plots  # noqa: E402

from .layout import assert_fits_the_column  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def test_planar_step_frame():
    frame = plots.PlanarStepFrame(steps=61, num_samples=100)
    fig = frame.draw(1.0)
    assert frame.draw(-2.0) is fig
    q = frame.posterior(-2.0)
    expected = flows.planar(
        frame.eps, -2.0 * frame.u_direction, frame.w, torch.tensor(0.0)
    )[0]
    assert np.allclose(frame.points.get_offsets(), expected.numpy(), atol=1e-6)
    regions = np.asarray(frame.image.get_array())
    assert regions.shape == (61, 61) and set(np.unique(regions)) <= set(range(6))
    _, _, density, cell = flows.density_on_grid(q, 4.0, 61)
    inside = density.numpy()[regions >= 1].sum() * cell  # the 90 % region
    assert abs(inside - 0.9) < 0.05
    assert "integral 1.00" in frame.left_title.get_text()
    raw, hat = (t.get_text() for t in frame.legend.get_texts())
    assert raw == "raw u: w·u = -2.60" and hat.startswith("û: w·û = -0.9")
    frame.precompute([0.0, 3.0])
    assert set(frame.cache) == {1.0, -2.0, 0.0, 3.0}
    assert_fits_the_column(fig)


def test_planar_densities_fit_the_column():
    torch.manual_seed(0)
    q = flows.planar_flow_posterior(
        torch.zeros(2),
        torch.ones(2),
        torch.ones(1, 2),
        torch.ones(1, 2),
        torch.zeros(1),
    )
    fig = plots.plot_densities({"a": q, "b": q, "c": q}, steps=41, num_samples=20)
    assert_fits_the_column(fig)
    one = plots.plot_densities({"planar": q}, steps=61, num_samples=20)
    assert "integral of q on the grid" in one.axes[0].get_title()
