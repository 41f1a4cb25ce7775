"""Active units per epoch from a training history, and its figure."""

import matplotlib

matplotlib.use("agg")
import pytest  # noqa: E402

from vaebook import pretrained  # noqa: E402
from vaebook.plots import collapse, style  # noqa: E402


def history(kl_rows, betas):
    return [
        {"epoch": e, "beta": b, "test_kl_per_dim": kl}
        for e, (kl, b) in enumerate(zip(kl_rows, betas), start=1)
    ]


def test_counts_dimensions_above_the_threshold():
    rows = history(
        [[1.0, 0.5, 0.02], [1.0, 0.005, 0.02], [1.0, 0.0, 0.01]], [0.5, 1.0, 1.0]
    )
    assert collapse.active_per_epoch(rows) == [3, 2, 1]  # 0.01 itself is not > 0.01
    assert collapse.active_per_epoch(rows, threshold=0.6) == [1, 1, 1]


def test_refuses_a_history_without_per_dimension_kl_or_a_bad_threshold():
    with pytest.raises(ValueError, match="test_kl_per_dim"):
        collapse.active_per_epoch([{"epoch": 1, "beta": 1.0}])
    with pytest.raises(ValueError, match="threshold"):
        collapse.active_per_epoch(history([[1.0]], [1.0]), threshold=0)


def test_the_figure_fits_the_column_and_shows_both_curves():
    rows = history([[1.0] * 10] * 8, [0.25] * 4 + [1.0] * 4)
    fig = collapse.active_units_curve(rows)
    problems = style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )
    assert problems == []
    left, right = fig.axes
    assert list(left.get_lines()[0].get_ydata()) == [10] * 8
    assert list(right.get_lines()[0].get_ydata()) == [0.25] * 4 + [1] * 4
    assert left.get_lines()[1].get_xdata()[0] == 5  # beta reaches 1 at epoch 5


def test_the_shipped_mnist_vae_collapses_when_its_warm_up_ends():
    """The 50-D model's own record: 50 active units early, 23 at epoch 8, when beta
    first reaches 1 (a 5 % warm-up of 160 epochs), 23 to 27 after that and exactly 23
    in each of the last 88 epochs."""
    rows = pretrained.load("mnist_vae").history
    counts = collapse.active_per_epoch(rows)
    assert counts[:8] == [50, 50, 49, 43, 38, 34, 30, 23]
    assert [r["beta"] for r in rows].index(1.0) == 7  # epoch 8
    assert min(counts[7:]) == 23 and max(counts[7:]) == 27
    assert counts[72:] == [23] * 88 and counts[71] == 24
