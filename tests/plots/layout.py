"""The book's layout rules with the tests' margin, for the plot tests."""

from matplotlib.figure import Figure
from matplotlib.text import Text

from vaebook.plots import style


def assert_fits_the_column(fig: Figure) -> None:
    """The book's layout rules with their margin (vaebook.plots.style)."""
    assert fig.get_size_inches()[0] <= style.MAX_WIDTH_IN
    assert fig.findobj(Text), "a figure with no text"
    problems = style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )
    assert problems == [], problems
