"""The KL weight beta as a slider: one figure, updated in place per trained beta."""

import matplotlib

matplotlib.use("agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook import plots  # noqa: E402
from vaebook.models import VAEConfig  # noqa: E402

from .layout import assert_fits_the_column  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def test_beta_frame():
    torch.manual_seed(0)
    models = {b: VAEConfig(hidden=(8,), latent_dim=3).build() for b in (0.5, 1.0)}
    x = torch.bernoulli(torch.full((4, 784), 0.3))
    frame = plots.BetaFrame([(0.5, 20.0, 80.0), (1.0, 15.0, 85.0)], x, latent_dim=3)
    fig = frame.draw(0.5, models[0.5])
    assert frame.draw(1.0, models[1.0]) is fig
    assert frame.marker.get_data() == ([15.0], [85.0])
    assert frame.title.get_text() == "beta = 1: rate 15.0, distortion 85.0"
    with torch.no_grad():
        samples = models[1.0].decode(frame.z).mean
    mosaic = np.asarray(frame.samples.get_array())
    assert mosaic.shape == (2 * 28, 4 * 28)
    assert np.allclose(mosaic[:28, :28], samples[0].reshape(28, 28).numpy(), atol=1e-6)
    cached = frame.cache[1.0]
    assert frame.precompute(models) is frame and frame.cache[1.0] is cached
    assert set(frame.cache) == {0.5, 1.0}
    with pytest.raises(ValueError, match="not among the trained betas"):
        frame.draw(2.0, models[1.0])
    assert_fits_the_column(fig)
