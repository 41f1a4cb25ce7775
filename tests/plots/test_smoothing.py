"""The figure helpers of the smoothing chapter (vaebook.plots.smoothing) draw and fit
the book's column; the learning curves show every seed."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from vaebook.plots import smoothing as smooth_plots  # noqa: E402
from vaebook.plots import style as plot_style  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def history(epochs=3, scale=1.0):
    """A test history: hard -ELBO 160/epoch (times ``scale``), 600 steps per epoch."""
    return [
        {
            "epoch": e,
            "step": 600 * e,
            "test_hard_neg_elbo": 160.0 / e * scale,
            "test_relaxed_neg_elbo": 150.0 / e,
            "test_sharpness": 5.0,
        }
        for e in range(1, epochs + 1)
    ]


def fits(fig) -> bool:
    """The figure fits the book's column with the tests' margin (680 px, 8.5 pt)."""
    return (
        plot_style.check_figure(
            fig,
            column_px=plot_style.MAX_WIDTH_PX,
            min_label_px=plot_style.SAFE_LABEL_PX,
        )
        == []
    )


def test_smoothing_figures():
    figures = [
        smooth_plots.figure_one((2.0, 5.0, 20.0)),
        smooth_plots.SmoothersFigure().draw(5.0, 0.3),
        smooth_plots.published_inverse_cdfs(
            {name: 5.0 for name in smooth_plots.PUBLISHED}
        ),
    ]
    assert len(figures[0].axes) == 9
    # the sharpness is kappa (the notes' beta; beta is the KL weight in this book)
    assert figures[0].axes[0].get_legend_handles_labels()[1][1:] == [
        "κ = 2",
        "κ = 5",
        "κ = 20",
    ]
    assert figures[1].axes[0].get_title() == "zeta = f(κ, p, u): κ = 5, p = 0.3"
    assert [ax.get_title().split("\n")[-1] for ax in figures[2].axes] == ["κ = 5"] * 3
    for fig in figures:
        assert fits(fig)
    plt.close("all")


def test_smoother_curves_show_the_seeds_as_a_band():
    histories = {
        "bin_f1": [history(), history(scale=1.1)],  # two seeds
        "bin_f2_anneal": [history(), history(scale=0.9)],
        "bin_gumbel_tau05": [history(), history()],
        "bin_f2_anneal_long": history(5),  # one run, longer
    }
    fig = smooth_plots.smoother_curves(histories, reference=105.0, log_steps=True)
    assert fits(fig)
    ax, ax_kappa = fig.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    f1 = lines["bin_f1"]
    # the line is the seeds' mean: 160/e and 176/e at epoch e
    assert f1.get_ydata() == pytest.approx([168.0 / e for e in (1, 2, 3)])
    assert list(f1.get_xdata()) == [600, 1200, 1800]
    bands = ax.collections  # one range band per label with several seeds
    assert len(bands) == 3
    band = bands[0].get_paths()[0].vertices[:, 1]  # bin_f1: from seed 0 to seed 1
    assert band.min() == pytest.approx(160.0 / 3) and band.max() == pytest.approx(176)
    # one colour per smoother, dashed when annealed; the long run in black
    assert lines["bin_f2_anneal"].get_linestyle() == "--"
    assert lines["bin_f2_anneal_long"].get_color() == "k"
    assert len(set(line.get_color() for line in lines.values())) == 4
    assert lines["bin_f2_anneal"].get_color() == "C1"  # f2's colour in every figure
    assert "mean of 2 seeds" in fig._suptitle.get_text()
    # the sharpness is drawn for the smoothers only, not for the Gumbel estimator
    assert len(ax_kappa.get_lines()) == 3
    assert ax.get_xscale() == "log" and "Jang et al.: 105" in lines
    with pytest.raises(ValueError, match="same steps"):
        smooth_plots.smoother_curves({"bin_f1": [history(3), history(2)]})
    plt.close("all")
