"""The gradient-estimator figures: the variance plot and the histograms a slider
redraws in place."""

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vaebook import plots  # noqa: E402
from vaebook.plots import estimators, style  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error::DeprecationWarning")


def layout_problems(fig) -> list[str]:
    return style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )


def test_estimator_figures_fit_the_column():
    torch.manual_seed(0)
    assert plots.plot_variance is estimators.plot_variance
    terms = {"pathwise": torch.randn(200), "score": 3 * torch.randn(200)}
    figures = [
        plots.plot_variance([1, 10, 100], {"a": [1.0, 0.1, 0.01], "b": [0.5, 0.05]}),
        plots.GradientTermsFigure(0.0).draw(terms, "terms"),
    ]
    for fig in figures:
        assert fig.axes and layout_problems(fig) == [], fig
    assert len(figures[1].axes) == 2
    plt.close("all")


def test_gradient_terms_figure_updates_in_place():
    terms = estimators.GradientTermsFigure(0.0, bins=10, limits=(-5, 5))
    first = terms.draw({"a": torch.zeros(100), "b": torch.ones(100)}, "one")
    assert terms.draw({"a": torch.ones(100), "b": torch.zeros(100)}, "two") is first
    heights = terms.steps[0].get_data().values  # relative to the tallest bin
    assert heights.max() == 1 and heights.sum() == 1 and heights.argmax() == 6
    spread = torch.arange(-4.5, 5.0).repeat(10)  # ten in each bin: all equally tall
    terms.draw({"a": spread, "b": spread})
    assert (terms.steps[0].get_data().values == 1).all()
    assert terms.axes[0].get_ylim() == (0, 1.15), "fixed limits: a move blits"
    with pytest.raises(ValueError, match="labels"):
        terms.draw({"c": torch.zeros(3)})
    assert layout_problems(terms.fig) == []
    plt.close("all")
