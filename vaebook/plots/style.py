"""The plot layer's one style: figure sizes and fonts that fit the book's text column,
the slider-figure protocol (:class:`SliderFigure`), its layout (:func:`freeze_layout`).

Measured in the built book (Jupyter Book 1 theme, headless chromium): at a 1280 px
window the text column is 688 px wide and body text is 16 px. A figure is shown at
its natural pixel width (PNG at ``figure.dpi``, ``bbox_inches="tight"``, the inline
backend's setting) and never wider than the column, so:

- natural width <= :data:`MAX_WIDTH_PX` (figure width <= 6.8 in at dpi 100);
- every text label >= 70 % of body text once shown: >= 11.2 px, i.e. >= 8.1 pt at
  dpi 100 (:data:`MIN_FONT_PT`); matplotlib's "small" (8.3 pt at font size 10)
  passes, "x-small" does not.

:func:`apply` pins the matplotlib settings this relies on (``vaebook.plots`` calls
it on import); :func:`check_figure` tells a plot's test whether a figure follows
the rules. Plot modules take :data:`WIDTH` and :data:`FONT` from here.
"""

from __future__ import annotations

import io

from ..widgets import MOVING_ATTRIBUTE

COLUMN_PX = 688  # text column at a 1280 px window (790 px at >= 1440, 368 px at 400)
BODY_PX = 16.0  # body text size
DPI = 100  # figure.dpi: one inch of figure is 100 px on the page
MAX_WIDTH_PX = 680  # a little under the column, for rounding
MAX_WIDTH_IN = MAX_WIDTH_PX / DPI
MIN_LABEL_PX = 0.7 * BODY_PX  # 11.2 px on the page
MIN_FONT_PT = MIN_LABEL_PX * 72 / DPI  # 8.06 pt at dpi 100 shown at natural size
# what the plot tests hold figures to: the rules above with a margin for rounding
SAFE_FONT_PT = 8.5
SAFE_LABEL_PX = SAFE_FONT_PT * DPI / 72  # 11.8 px
# what the plot modules use: full-width figures, and the smallest text they set
WIDTH = MAX_WIDTH_IN  # 6.8 in: a figure as wide as the column
FONT = 9  # pt: legends, ticks, annotations (>= MIN_FONT_PT with a margin)

RC = {
    # grid and ticks under the data: a slider frame then redraws only its data
    # (vaebook.widgets blits what changed over the axes)
    "axes.axisbelow": True,
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "savefig.bbox": "tight",
    "font.size": 10.0,
}


def apply() -> None:
    """Set the book's matplotlib defaults: dpi 100, tight bounding boxes, 10 pt text,
    grids below the data."""
    import matplotlib

    matplotlib.rcParams.update(RC)


def freeze_layout(fig, tight: bool = False) -> None:
    """Fix a slider figure's layout once, for every later frame.

    ``tight``: lay it out with ``tight_layout`` first. Then drop the layout engine
    (with one set, even tight_layout's placeholder, every savefig draws twice), draw
    once, and pin each title and axis label where that draw put them: matplotlib
    otherwise measures the tick labels on every draw to place them (most of the cost
    of a frame whose axes do not move) and moves the labels when they change width.
    """
    if tight:
        fig.tight_layout()
    fig.set_layout_engine(None)
    fig.draw_without_rendering()  # places the labels, on any canvas (a bare Figure's)
    for ax in fig.axes:
        if ax.title.get_text():
            ax.set_title(
                ax.title.get_text(),
                y=ax.title.get_position()[1],
                fontsize=ax.title.get_fontsize(),
            )
        to_axes = ax.transAxes.inverted()
        if ax.xaxis.label.get_text():
            y = to_axes.transform((0, ax.xaxis.label.get_position()[1]))[1]
            ax.xaxis.set_label_coords(0.5, y)
        if ax.yaxis.label.get_text():
            x = to_axes.transform((ax.yaxis.label.get_position()[0], 0))[0]
            ax.yaxis.set_label_coords(x, 0.5)


def declare_moving(fig, *artists) -> None:
    """Tell :func:`vaebook.widgets.explore` which artists of ``fig`` a slider's draw
    updates (see :meth:`SliderFigure.moves`), for draws that are not SliderFigures."""
    declared = getattr(fig, MOVING_ATTRIBUTE, [])
    setattr(fig, MOVING_ATTRIBUTE, [*declared, *artists])


def bar_collection(ax, width: float = 0.8):
    """Empty bars for a slider figure, as one artist (one draw call per move, not one
    per bar): :func:`set_bars` gives them heights and colours."""
    from matplotlib.collections import PolyCollection

    bars = PolyCollection([], linewidths=0)
    bars.bar_width = width
    ax.add_collection(bars)
    return bars


def set_bars(bars, heights, colors) -> None:
    """Bars at x = 0, 1, ..., of ``heights``, each of its colour in ``colors``."""
    half = bars.bar_width / 2
    bars.set_verts(
        [
            [(i - half, 0), (i - half, h), (i + half, h), (i + half, 0)]
            for i, h in enumerate(heights)
        ]
    )
    bars.set_facecolor(list(colors))


class SliderFigure:
    """The slider-figure protocol: one Figure, built once, redrawn in place.

    A subclass builds its artists once (in ``__init__``, or at the first frame) and
    implements ``draw(...)``: it updates those artists (``set_data``, ``set_text``...)
    to the values given and returns ``self.fig``, the same Figure on every call.
    ``vaebook.widgets.explore(figure.draw, name=values, ...)`` then redraws only the
    artists that changed (it blits them over a cached background), and every frame
    keeps the first one's size and layout (:func:`freeze_layout`). Each subclass's
    ``draw`` names the values it takes; a single still is ``Subclass(...).draw(...)``.
    """

    fig = None  # the matplotlib Figure that every draw returns

    def moves(self, *artists) -> None:
        """Declare artists that ``draw`` updates. Then the first slider move, too,
        redraws only those (and what is drawn over them) over a background cached
        with the first frame; without it the first move redraws the whole figure
        once to learn what moves. An artist left out is still found (then that
        move costs a full draw)."""
        declare_moving(self.fig, *artists)

    def draw(self, *args, **kwargs):
        """Update the figure to the values given and return it (the same Figure)."""
        raise NotImplementedError(f"{type(self).__name__} must implement draw")


def natural_width_px(fig, dpi: float | None = None) -> int:
    """Width in px of ``fig`` saved as the book saves it (PNG, tight bounding box)."""
    import struct

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, bbox_inches="tight")
    return struct.unpack(">I", buffer.getvalue()[16:20])[0]


def check_figure(
    fig,
    dpi: float | None = None,
    column_px: float = COLUMN_PX,
    min_label_px: float = MIN_LABEL_PX,
) -> list[str]:
    """What breaks the layout rules in ``fig`` ([] if nothing): too wide, small text.

    The figure is assumed shown as the book shows it: at its natural width, or
    scaled down to the column when wider. Each problem names the text or the size.
    Tests pass ``column_px=MAX_WIDTH_PX, min_label_px=SAFE_LABEL_PX`` for a margin.
    """
    dpi = dpi or fig.dpi
    width = natural_width_px(fig, dpi)
    problems = []
    if width > column_px:
        problems.append(
            f"natural width {width} px > column {column_px:g} px "
            f"(figure width <= {column_px / dpi:.2f} in at dpi {dpi:g})"
        )
    shown = min(1.0, column_px / width)
    for text in fig.findobj(
        lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")
    ):
        if not text.get_visible() or not str(text.get_text()).strip():
            continue
        px = text.get_fontsize() * dpi / 72 * shown
        if px < min_label_px - 1e-6:
            problems.append(
                f"text {str(text.get_text())[:30]!r} is {px:.1f} px on the page "
                f"(< {min_label_px:.1f} px: use >= "
                f"{min_label_px * 72 / dpi / shown:.1f} pt)"
            )
    return problems
