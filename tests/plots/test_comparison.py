"""The comparison chapter's figure: learning curves over seeds (the mean as a line, the
seeds' range as a band, the smoothers in their own panel) above the bias-variance
panel, within the book's column and font rules."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from vaebook.experiments import comparison  # noqa: E402
from vaebook.experiments.comparison import EstimatorSpec  # noqa: E402
from vaebook.plots import comparison as comparison_plots  # noqa: E402
from vaebook.plots import style  # noqa: E402


def history(values, steps=(600, 1200, 1800)):
    return [{"step": s, "test_neg_elbo": v} for s, v in zip(steps, values)]


@pytest.fixture(scope="module")
def rows():
    logits, f = comparison.toy_problem(num_latents=4, data_dim=8, seed=0)
    specs = [
        EstimatorSpec("naive (step function)", "naive"),
        EstimatorSpec("straight-through", "straight-through"),
        EstimatorSpec("f2 kappa 5", "smoothing-f2", {"sharpness": 5.0}),
    ]
    return comparison.gradient_table(specs, logits, f, num_samples=500)


def test_seed_band_is_the_mean_and_range_of_the_seeds():
    steps, mean, lo, hi = comparison_plots.seed_band(
        [history([150, 140, 130]), history([160, 150, 136])]
    )
    assert steps == [600, 1200, 1800]
    torch.testing.assert_close(mean, torch.tensor([155.0, 145.0, 133.0]))
    assert lo.tolist() == [150, 140, 130] and hi.tolist() == [160, 150, 136]
    with pytest.raises(ValueError, match="steps"):
        comparison_plots.seed_band([history([1, 2, 3]), history([1, 2], (600, 900))])


def test_comparison_figure_groups_curves_and_fits_the_column(rows):
    curves = {
        "straight-through": ("straight-through", [history([150, 140, 130])] * 2),
        "score function + baseline": ("score-function", [history([190, 170, 160])]),
        "f2 kappa 5": (
            "smoothing-f2",
            [history([150, 141, 131]), history([152, 143, 133])],
        ),
    }
    fig = comparison_plots.estimator_comparison(curves, rows, top=180)
    left, right, bottom = fig.axes
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "straight-through",
        "score function + baseline",
    ]
    assert [t.get_text() for t in right.get_legend().get_texts()] == ["f2 kappa 5"]
    band = right.collections[0].get_paths()[0].vertices  # the seeds' range
    assert band[:, 1].min() == 131 and band[:, 1].max() == 152
    assert right.lines[0].get_xdata().tolist() == [600, 1200, 1800]
    assert right.lines[0].get_ydata().tolist() == [151, 142, 132]
    assert left.get_ylim()[1] == 180 and right.get_ylim() == left.get_ylim()
    assert bottom.get_xscale() == "log" and len(bottom.texts) == len(rows)
    problems = style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )
    assert problems == []
    plt.close(fig)


def test_learning_curves_tell_the_unbiased_estimators_apart():
    """Each curve its own colour or line style (RLOO S = 2 dotted-dashed from S = 4),
    the legend lists them in order, the frame is cut at ``top``, and the figure
    fits the column."""
    curves = {
        "RLOO S = 2": ("rloo", [history([170, 150, 144])] * 2),
        "RLOO S = 4": ("rloo", [history([165, 145, 138])] * 2),
        "VIMCO S = 4": ("vimco", [history([175, 155, 147])] * 2),
        "DisARM (a pair)": ("disarm", [history([168, 149, 141])] * 2),
        "NVIL (learned baseline)": ("nvil", [history([190, 170, 155])] * 2),
    }
    fig = comparison_plots.learning_curves(curves, "unbiased", top=180)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)
    looks = {(str(line.get_color()), line.get_linestyle()) for line in ax.lines}
    assert len(looks) == len(curves) and ax.get_ylim()[1] == 180
    problems = style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )
    assert problems == []
    plt.close(fig)
