"""The book's layout rules with the tests' margin, for the plot tests."""

from matplotlib.figure import Figure
from matplotlib.text import Text

from vaebook.plots import style


def assert_fits_the_column(fig: Figure, name: str = "") -> None:
    """The book's layout rules with their margin (vaebook.plots.style)."""
    width = fig.get_size_inches()[0]
    assert width <= style.MAX_WIDTH_IN, (name, width)
    assert any(t.get_visible() for t in fig.findobj(Text)), f"no text: {name}"
    problems = style.check_figure(
        fig, column_px=style.MAX_WIDTH_PX, min_label_px=style.SAFE_LABEL_PX
    )
    assert problems == [], (name, problems)
