"""The control-variates figure: fits the column, redraws in place, REINFORCE's line
follows the baseline chosen, methods not run at an S are said so."""

import math

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from vaebook.plots.control_variates import MSEFigure  # noqa: E402

from .layout import assert_fits_the_column  # noqa: E402


def table():
    rows = []
    for s in (2, 4, 8):
        for method, baseline, mse in [
            ("REINFORCE", "none", 40 / s),
            ("REINFORCE", "mean", 2 / s),
            ("RLOO", "-", 3 / s),
            ("straight-through", "-", 0.1 + 0.2 / s),
        ]:
            bias = 0.1 if method == "straight-through" else 0.0
            rows.append(
                dict(
                    method=method,
                    baseline=baseline,
                    S=s,
                    bias_sq=bias * 2,
                    variance=(mse - bias) * 2,
                    mse=mse * 2,
                    relative=mse,
                )
            )
    rows.append(
        dict(
            method="VIMCO",
            baseline="-",
            S=2,
            bias_sq=0.0,
            variance=8.0,
            mse=8.0,
            relative=4.0,
        )
    )
    return pd.DataFrame(rows)


def test_figure_fits_and_redraws_in_place():
    figure = MSEFigure(table())
    first = figure.draw(S=2, baseline="none")
    assert_fits_the_column(first)
    assert figure.draw(S=8, baseline="mean") is first
    assert_fits_the_column(first)
    plt.close("all")


def test_reinforce_line_and_bars_follow_the_sliders():
    figure = MSEFigure(table())
    figure.draw(S=2, baseline="none")
    assert list(figure.curves["REINFORCE"].get_ydata()) == [20.0, 10.0, 5.0]
    assert "(cut)" in figure.labels[0].get_text()  # 20 is past the axis
    figure.draw(S=4, baseline="mean")
    assert list(figure.curves["REINFORCE"].get_ydata()) == [1.0, 0.5, 0.25]
    assert figure.labels[0].get_text().strip() == "0.5"
    i = figure.methods.index("straight-through")
    largest = 0.75  # RLOO's 3 / 4, the largest total at S = 4 but "none"'s
    assert math.isclose(figure.bias_bars[i].get_width(), 0.1 / largest)
    assert math.isclose(figure.var_bars[i].get_x(), 0.1 / largest)
    rloo = figure.methods.index("RLOO")
    assert math.isclose(figure.var_bars[rloo].get_width(), 1.0)
    assert figure.labels[rloo].get_text().strip() == "0.75"
    assert figure.bars_ax.get_xlim() == (0, 1.15)  # the same axis at every S
    vimco = figure.methods.index("VIMCO")
    assert "not run" in figure.labels[vimco].get_text()
    assert math.isnan(figure.curves["VIMCO"].get_ydata()[2])
    assert "S = 4" in figure.title.get_text()
    plt.close("all")


def test_slider_frames_are_the_pictures_of_full_draws():
    """Through vaebook.widgets (the declared artists blitted, the bars' axis redrawn
    when S changes) every frame has the pixels of the same figure drawn afresh."""
    import numpy as np

    from vaebook import widgets

    figure = MSEFigure(table())
    render = widgets.FrameRenderer(figure.draw)
    moves = [(2, "none"), (2, "mean"), (4, "mean"), (8, "none"), (2, "none")]
    for s, baseline in moves:
        render({"S": s, "baseline": baseline})
        fresh = MSEFigure(table())
        fresh.draw(S=s, baseline=baseline)
        fresh.fig.canvas.draw()
        assert np.array_equal(
            np.asarray(figure.fig.canvas.buffer_rgba()),
            np.asarray(fresh.fig.canvas.buffer_rgba()),
        ), (s, baseline)
    render.close()
    plt.close("all")
