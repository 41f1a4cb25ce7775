"""vaebook.plots.vq: the two slider figures (a checkpoint panel per trained setting, the
EMA k-means toy per decay) update one figure in place, each frame the picture a fresh
figure draws, and fit the book's column."""

import io

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook.experiments.vq import ema_kmeans  # noqa: E402
from vaebook.plots import style  # noqa: E402
from vaebook.plots import vq as vqplots  # noqa: E402
from vaebook.vq import VQVAEConfig, codebook_stats  # noqa: E402

# tensors handed to matplotlib as arrays: no NumPy deprecation noise in the chapter
pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")
K, C = 8, 4


def png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def fits(fig) -> list[str]:
    return style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )


class Ckpt:  # the two attributes CheckpointPanel reads
    def __init__(self, model, history):
        self.model, self.history = model, history


@pytest.fixture(scope="module")
def panel_inputs():
    torch.manual_seed(0)
    x = torch.bernoulli(torch.full((10, 784), 0.3))
    ckpts, stats = {}, {}
    for name, spread in (("narrow", 0.05), ("wide", 0.5)):
        model = VQVAEConfig(channels=(4, 8), codebook_size=K, code_dim=C).build().eval()
        with torch.no_grad():
            model.codebook.copy_(torch.randn(K, C) * spread)
        history = [
            {"epoch": e, "test_encoder_norm": 1.0 + e * spread} for e in (1, 2, 3)
        ]
        ckpts[name], stats[name] = Ckpt(model, history), codebook_stats(model, x)
    return ckpts, x, stats


def test_checkpoint_panel_updates_in_place(panel_inputs):
    ckpts, x, stats = panel_inputs
    panel = vqplots.CheckpointPanel(ckpts, x, stats, num_images=4)
    frames = {name: png(panel.draw(name, name)) for name in ("wide", "narrow")}
    assert panel.draw("wide") is panel.fig
    for name, frame in frames.items():
        fresh = vqplots.CheckpointPanel(ckpts, x, stats, num_images=4)
        assert frame == png(fresh.draw(name, name)), name
    used = int((stats["narrow"]["counts"] > 0).sum())
    panel.draw("narrow")
    assert f"({used} of {K} used)" in panel.ax_bar.get_title()
    assert panel.lines["narrow"].get_color() == "C0"
    assert fits(panel.fig) == []
    plt.close("all")


def test_ema_toy_figure_updates_in_place():
    torch.manual_seed(0)
    points = torch.randn(40, 2)
    runs = {
        gamma: ema_kmeans(points[None].expand(5, 40, 2), torch.randn(3, 2), gamma=gamma)
        for gamma in (0.5, 0.9)
    }
    figure = vqplots.EmaToyFigure(points, runs, torch.zeros(2, 2))
    frames = {gamma: png(figure.draw(gamma)) for gamma in (0.9, 0.5)}
    assert figure.draw(0.9) is figure.fig
    for gamma, frame in frames.items():
        fresh = vqplots.EmaToyFigure(points, runs, torch.zeros(2, 2))
        assert frame == png(fresh.draw(gamma)), gamma
    dead = int((runs[0.5]["counts"] == 0).sum())
    figure.draw(0.5)
    assert figure.title.get_text() == f"gamma = 0.5: {dead} unused codes"
    assert fits(figure.fig) == []
    plt.close("all")
