"""Sliders that work for every reader.

:func:`explore` turns a function of slider values that draws a matplotlib
figure into

- live ``ipywidgets`` sliders where a kernel runs (Jupyter, Colab): one image
  widget updated with PNG bytes on every move, the last frame kept until the new
  one is ready, a busy sign when a move takes longer than :data:`BUSY_AFTER_S`;
- a precomputed, self-contained scrubber where none will (the HTML book): one
  ``<input type="range">`` per parameter, every frame a base64 PNG (the book's build
  moves them to image files), a few lines of inline JavaScript, no CDN and no kernel.

Book builds set ``VAEBOOK_STATIC=1`` (the Sphinx extension in ``book/_ext`` does
it), so the HTML never shows a dead slider, and Jupyter and Colab get live ones.

The slider contract: ``draw(**values)`` returns a Figure; it may return the SAME
Figure on every call after updating its artists in place (``set_data``,
``set_ydata``, ``set_array``, ``set_text``...), which is the fast way and what a
:class:`vaebook.plots.style.SliderFigure`'s ``draw`` does. explore takes a figure
out of pyplot's list once (so Jupyter does not show it a second time below the
sliders) and keeps rendering it; a reused figure keeps the frame box of its first
frame, so the picture does not jump between moves.

Frames are rendered at :data:`FRAME_DPI` (100, the book's figure dpi, see
``vaebook.plots.style``) with a tight bounding box, as static figures are. A
reused figure's frame redraws only the artists that changed, over a cached
background (:class:`_Frames`; the picture is the one a full draw gives), and is
written by PIL at zlib level 1 (:func:`encode_png`).

Timing: with ``VAEBOOK_SLIDER_TIMINGS=<file>`` every rendered frame appends one
JSON line (draw and render milliseconds, title, parameter names, notebook);
``benchmarks/sliders.py`` runs the chapters with it and prints a table.
Only ipywidgets API that 7.6 has is used (Colab ships 7.x).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import math
import os
import threading
import time
from typing import Callable, Sequence

STATIC_ENV = "VAEBOOK_STATIC"
TIMINGS_ENV = "VAEBOOK_SLIDER_TIMINGS"
NOTEBOOK_ENV = (
    "VAEBOOK_NOTEBOOK"  # set by benchmarks/sliders.py for the kernels it starts
)
MAX_FRAMES = 64  # a page should stay light: about 20-50 KB a frame at dpi 100
FRAME_DPI = 100  # the book's figure dpi (vaebook.plots.style.DPI)
BUSY_AFTER_S = 0.3  # a move slower than this shows the busy sign
BUSY = "<i style='color:#666'>drawing&hellip;</i>"
FOLLOW_DRAG_S = 0.15  # live sliders redraw while dragging when a frame takes less
PAD_INCHES = 0.1  # matplotlib's savefig.pad_inches around a tight box
MOVING_ATTRIBUTE = "vaebook_moving"  # SliderFigure.moves: artists that draw updates

_explore_count = itertools.count(1)


def static_mode() -> bool:
    """True in book builds (``VAEBOOK_STATIC=1``) and wherever ipywidgets is missing."""
    if os.environ.get(STATIC_ENV, "") not in ("", "0"):
        return True
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return True
    return False


def _check_params(
    params: dict[str, Sequence], initial: dict | None
) -> dict[str, object]:
    if not params:
        raise ValueError(
            "explore needs at least one parameter, e.g. temperature=[0.1, 0.5, 1.0]"
        )
    start = {}
    for name, values in params.items():
        values = list(values)
        if not values:
            raise ValueError(f"parameter {name!r} has no values to choose from")
        start[name] = (initial or {}).get(name, values[len(values) // 2])
        if start[name] not in values:
            raise ValueError(
                f"initial {name}={start[name]!r} is not among its values {values}"
            )
    unknown = set(initial or {}) - set(params)
    if unknown:
        raise ValueError(
            f"initial values given for unknown parameters {sorted(unknown)}"
        )
    return start


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _notebook() -> str | None:
    """The notebook running this kernel, where the front end says (else None)."""
    for key in (NOTEBOOK_ENV, "JPY_SESSION_NAME"):
        if os.environ.get(key):
            return os.path.basename(os.environ[key])
    try:
        from IPython import get_ipython

        path = get_ipython().user_ns.get("__vsc_ipynb_file__")
    except Exception:  # not in IPython
        path = None
    return os.path.basename(path) if path else None


def encode_png(canvas, box: tuple[int, int, int, int]) -> bytes:
    """The pixels of an Agg ``canvas`` in ``box`` (left, top, right, bottom) as PNG
    bytes: RGB where every pixel is opaque, zlib level 1.

    A third of the time of matplotlib's own PNG (RGBA, level 6) and, for these
    flat-coloured plots, no larger: RGB makes up for the faster level.
    """
    from PIL import Image

    width, height = canvas.get_width_height(physical=True)
    image = Image.frombuffer(
        "RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1
    ).crop(box)
    if image.getextrema()[3][0] == 255:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _savefig_png(fig, dpi: float, bbox) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches=bbox, pad_inches=PAD_INCHES)
    return buffer.getvalue()


def _structural(artist) -> bool:
    """An axis or spine: marked stale by any ``set_xlim``, even to the same limits,
    so its changes are told by :meth:`_Frames._structure`, not by its flag."""
    from matplotlib.axis import Axis
    from matplotlib.spines import Spine

    return isinstance(artist, (Axis, Spine))


def _changed(artist) -> bool:
    """Whether ``artist`` changed since it was drawn (axes and spines: see
    :func:`_structural`)."""
    if _structural(artist):
        return False
    # a legend's texts do not mark the legend stale: ask every part
    return artist.stale or any(_changed(child) for child in artist.get_children())


def _settle(artist) -> None:
    """Mark ``artist`` and its parts as drawn. An empty text returns from ``draw``
    before it clears its ``stale`` flag, which would otherwise read as a change in
    every frame (a legend's empty title among them)."""
    if _structural(artist):
        return
    artist.stale = False
    for child in artist.get_children():
        _settle(child)


def _unusual(fig) -> bool:
    """Figures :class:`_Frames` does not draw as matplotlib would (savefig does)."""
    return bool(fig.subfigs) or any(ax.name == "3d" for ax in fig.axes)


MARGIN_PX = 3  # antialiasing and line caps reach this far past an artist's extent


def _region(artist, renderer, clipped: bool):
    """Where ``artist`` can put pixels, in display coordinates: its clip box when it
    is clipped to one, else (``clipped`` False) its extent with a margin; ``None``
    when that is not known (anywhere, then), as for artists made of parts."""
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    if isinstance(artist, Legend) and not clipped and getattr(artist, "_loc", 0):
        # a legend at a fixed place (not loc="best") stays within its extent
        return artist.get_window_extent(renderer).padded(MARGIN_PX)
    if not isinstance(artist, (Line2D, Patch, Collection, AxesImage, Text)):
        return None  # a composite (an axis, a legend): its parts may reach anywhere
    if artist.get_clip_on():
        box, path = artist.get_clip_box(), artist.get_clip_path()
        if path is not None:  # images are clipped to their axes' patch
            extent = path.get_fully_transformed_path().get_extents()
            box = extent if box is None else Bbox.intersection(box, extent)
        if box is not None:
            return box
    if clipped:  # a changing artist that is not clipped may move anywhere
        return None
    try:
        extent = artist.get_window_extent(renderer)
    except Exception:  # an artist without an extent: assume it is everywhere
        return None
    return extent.padded(MARGIN_PX)


def _meet(region, artist, renderer) -> bool:
    """Whether ``artist``'s pixels can meet ``region`` (``None``: anywhere)."""
    if region is None:
        return True
    other = _region(artist, renderer, clipped=False)
    return other is None or region.overlaps(other)


class _Frames:
    """PNG frames of one slider figure, redrawing only what changed (blitting).

    The first frame is a full draw. Later frames compare the figure with the last
    one: artists whose ``stale`` flag is set (``set_data``, ``set_text``...) are
    drawn over a cached background of everything else, as matplotlib's blitting
    does, together with the artists above them (higher zorder in the same axes),
    so the picture is the one a full draw gives. A change the background cannot
    absorb (new or removed artists, new axis limits or positions) redraws it.
    Frames are cropped from the canvas to the first frame's tight box and written
    with a fast PNG encoder (PIL, ``compress_level`` 1: no larger than
    matplotlib's own PNG of the same figure, a third of the time).
    """

    def __init__(self, fig, dpi: float):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        if fig.dpi != dpi:
            fig.set_dpi(dpi)
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        self.fig, self.canvas = fig, fig.canvas
        self.moving: list = []  # animated while this renders the figure
        self.full = True  # whether the last frame redrew the whole figure
        self.background = None
        declared = {id(a) for a in getattr(fig, MOVING_ATTRIBUTE, ())}
        self._redraw_background([ca for ca in self._leaves() if id(ca[1]) in declared])
        self.crop = None if _unusual(fig) else self._crop()
        self.shape = self._structure()
        self._settle()  # the tight box above moved the axes' titles again

    def _crop(self) -> tuple[int, int, int, int] | None:
        """The tight box (padded) in pixels, (left, top, right, bottom), or None if
        the figure's content reaches outside the canvas (then savefig lays it out)."""
        width, height = self.canvas.get_width_height()
        dpi = self.fig.dpi
        box = self.fig.get_tightbbox(self.canvas.get_renderer())
        inside = box.x0 >= 0 and box.y0 >= 0
        if not inside or box.x1 * dpi > width + 1 or box.y1 * dpi > height + 1:
            return None
        box = box.padded(PAD_INCHES)
        x0, x1 = max(0, int(box.x0 * dpi)), min(width, math.ceil(box.x1 * dpi))
        y0, y1 = max(0, int(box.y0 * dpi)), min(height, math.ceil(box.y1 * dpi))
        return x0, height - y1, x1, height - y0

    def _structure(self) -> list:
        """What a cached background depends on besides the artists themselves."""
        rows = [id(a) for a in self.fig.get_children()]
        for ax in self.fig.axes:
            rows.append(
                (
                    tuple(id(a) for a in ax.get_children()),
                    tuple(ax.viewLim.bounds),
                    tuple(ax.get_position().bounds),
                    ax.get_xscale(),
                    ax.get_yscale(),
                    ax.xaxis.label.get_text(),
                    ax.yaxis.label.get_text(),
                    ax.axison,
                )
            )
        return rows

    def _leaves(self):
        """(container, artist) for every artist a full draw draws as one piece, as
        ``Axes.draw`` picks them (no patch; no axis or spines where they are off)."""
        for ax in self.fig.axes:
            hidden = [ax.patch]
            if not (ax.axison and ax.get_frame_on()):
                hidden += list(ax.spines.values())
            if not ax.axison:
                hidden += [ax.xaxis, ax.yaxis]
            for artist in ax.get_children():
                if not any(artist is h for h in hidden):
                    yield ax, artist
        for artist in self.fig.get_children():
            if artist is not self.fig.patch and artist not in self.fig.axes:
                yield self.fig, artist

    def render(self) -> bytes:
        """The figure as it is now, as PNG bytes."""
        self.full = True  # this frame redraws the whole figure (timings say so)
        if self.crop is None:
            return _savefig_png(self.fig, self.fig.dpi, "tight")
        changed = [(c, a) for c, a in self._leaves() if _changed(a)]
        structure = self._structure()
        moving = set(map(id, self.moving))
        if structure != self.shape or any(id(a) not in moving for _, a in changed):
            self._redraw_background(changed)
            self.shape = structure
            return self._encode()
        self.full = False
        if changed:
            self._blit()
            for _, artist in changed:  # (a background redraw settles everything)
                _settle(artist)
        return self._encode()

    def _redraw_background(self, changed) -> None:
        """Everything but the changing artists (and those drawn over them), cached.

        An artist is redrawn with the changing ones when it is drawn after one of
        them (same container, zorder at least theirs) and its pixels can meet that
        one's: :func:`_region`. A title above an image that changes stays in the
        background; a legend over a moving line is redrawn with it."""
        renderer = self.canvas.get_renderer()
        below: dict[int, list] = {}  # container -> (zorder, region) of its changes
        for container, artist in changed:
            entry = (artist.get_zorder(), _region(artist, renderer, clipped=True))
            below.setdefault(id(container), []).append(entry)
        previous = set(map(id, self.moving)) | {id(a) for _, a in changed}
        self.set_moving([])
        moving = []
        for container, artist in self._leaves():
            if id(artist) in previous or any(
                artist.get_zorder() >= z and _meet(region, artist, renderer)
                for z, region in below.get(id(container), [])
            ):
                moving.append((container, artist))
        self.set_moving(moving)
        self.canvas.draw()  # animated artists are left out: the background
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self._draw_moving()
        self._settle()  # a full draw moves the axes' titles

    def _settle(self) -> None:
        for _, artist in self._leaves():
            _settle(artist)

    def set_moving(self, moving) -> None:
        for artist in self.moving:
            artist.set_animated(False)
        # each axes' artists, then the figure's (its titles), each group in zorder
        order = {id(c): i for i, c in enumerate([*self.fig.axes, self.fig])}
        moving = sorted(moving, key=lambda ca: (order[id(ca[0])], ca[1].get_zorder()))
        self.moving = [artist for _, artist in moving]
        for artist in self.moving:
            artist.set_animated(True)

    def _blit(self) -> None:
        self.canvas.restore_region(self.background)
        self._draw_moving()

    def _draw_moving(self) -> None:
        renderer = self.canvas.get_renderer()
        for artist in self.moving:
            artist.draw(renderer)
        self.fig.stale = False

    def _encode(self) -> bytes:
        return encode_png(self.canvas, self.crop)

    def close(self) -> None:
        """Give the artists back their ``animated`` flags (savefig draws them)."""
        self.set_moving([])


class FrameRenderer:
    """Calls ``draw`` and turns its figure into PNG bytes, timing both.

    Every figure is taken out of pyplot's list of open figures (``plt.close``,
    which leaves the Figure intact): otherwise Jupyter would show it a second
    time below the sliders, or in whichever cell runs pyplot next. A figure that
    ``draw`` returns again keeps the box of its first frame (frames of one size)
    and redraws only what changed (:class:`_Frames`); :meth:`close` lets it go.
    """

    def __init__(
        self,
        draw: Callable,
        dpi: float | None = None,
        title: str = "",
        names: Sequence[str] = (),
        mode: str = "static",
    ):
        self.draw, self.dpi = draw, dpi or FRAME_DPI
        self.last_figure, self.frames = None, None
        self.timings = os.environ.get(TIMINGS_ENV) or None
        self.info = {
            "explore": next(_explore_count),
            "title": title,
            "params": list(names),
            "mode": mode,
            "notebook": _notebook(),
            "cell": _execution_count(),
        }

    def __call__(self, values: dict) -> bytes:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        start = time.perf_counter()
        fig = self.draw(**values)
        drawn = time.perf_counter()
        if not isinstance(fig, Figure):
            raise TypeError(
                f"draw must return a matplotlib Figure, got {type(fig).__name__}"
                f" for {values}"
            )
        same = fig is self.last_figure
        plt.close(fig)  # out of pyplot's list only: the figure itself stays usable
        if not same:
            self.close()
            self.frames = _Frames(fig, self.dpi)
        png = self.frames.render()
        done = time.perf_counter()
        self.last_figure = fig
        if self.timings:
            self._record(values, same, drawn - start, done - drawn, len(png))
        return png

    def prime(self, values: dict, probes: Sequence[dict]) -> None:
        """Learn which artists the sliders move, so that the first move blits as the
        later ones do: draw each of ``probes`` (the values one slider step away from
        ``values``, the frame just rendered), note the artists each one changes, draw
        ``values`` again and cache a background without them. A figure that declares
        its moving artists (:meth:`vaebook.plots.style.SliderFigure.moves`), that
        ``draw`` replaces per call, or that savefig lays out is left as it is."""
        fig, frames = self.last_figure, self.frames
        if frames is None or frames.crop is None or getattr(fig, MOVING_ATTRIBUTE, ()):
            return
        import matplotlib.pyplot as plt

        moved = {}
        try:
            for probe in probes:
                other = self.draw(**probe)
                if other is not fig:  # a new figure per call: nothing to learn
                    plt.close(other)
                    return
                moved.update({id(a): a for _, a in frames._leaves() if _changed(a)})
        except Exception:  # a value that fails says so when a reader moves to it
            moved = {}
        self.draw(**values)
        if moved:
            setattr(fig, MOVING_ATTRIBUTE, list(moved.values()))
            self.close()
            self.frames = _Frames(fig, self.dpi)

    def close(self) -> None:
        """Let go of the last figure (its artists drawn by savefig again)."""
        if self.frames is not None:
            self.frames.close()
            self.frames = None

    def _record(self, values, same, draw_s, render_s, size) -> None:
        row = {
            **self.info,
            "values": {k: _label(v) for k, v in values.items()},
            "draw_ms": round(draw_s * 1e3, 3),
            "render_ms": round(render_s * 1e3, 3),
            "same_figure": same,
            # savefig's slow path: the figure's content reaches outside its canvas
            "savefig": self.frames is not None and self.frames.crop is None,
            # the whole figure drawn, not only what changed (a new background)
            "full_draw": self.frames is not None and self.frames.full,
            "png_bytes": size,
            "dpi": self.dpi,
        }
        with open(self.timings, "a") as f:
            f.write(json.dumps(row) + "\n")


def _execution_count():
    try:
        from IPython import get_ipython

        return get_ipython().execution_count
    except Exception:  # not in IPython
        return None


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _ch(labels: Sequence[str]) -> int:
    """A width in ``ch`` that holds every label (fixed, so the layout does not jump)."""
    return max(len(s) for s in labels) + 1


def _render_every_frame(draw, names, grids, dpi, title) -> list[bytes]:
    """PNG frames of every combination of the grids' values, first name slowest."""
    count = math.prod(len(grid) for grid in grids)
    if count > MAX_FRAMES:
        raise ValueError(
            f"{count} frames would make the page heavy; "
            f"use at most {MAX_FRAMES} combinations"
        )
    renderer = FrameRenderer(draw, dpi, title, names, mode="static")
    try:
        combos = [dict(zip(names, combo)) for combo in itertools.product(*grids)]
        first = renderer(combos[0])
        renderer.prime(combos[0], neighbours(dict(zip(names, grids)), combos[0]))
        return [first, *(renderer(values) for values in combos[1:])]
    finally:
        renderer.close()


def neighbours(grids: dict[str, Sequence], values: dict) -> list[dict]:
    """``values`` with one slider moved one step (to the next value, or the previous
    at the end), for each slider that has another value."""
    out = []
    for name, grid in grids.items():
        i = list(grid).index(values[name])
        j = i + 1 if i + 1 < len(grid) else i - 1
        if j >= 0 and j != i:
            out.append({**values, name: grid[j]})
    return out


def _scrubber_controls(names, labels, start) -> str:
    """One ``<input type="range">`` per parameter, its name and value label fixed wide
    so that the slider's line does not move."""
    name_ch = _ch(names)
    return "".join(
        '<label style="display:flex;flex-wrap:wrap;align-items:center;column-gap:0.5em;'
        'margin:2px 0;font-family:sans-serif;font-size:0.9em">'
        f'<span style="flex:none;width:{name_ch}ch">{html.escape(n)}</span>'
        f'<input type="range" min="0" max="{len(labels[k]) - 1}" step="1" '
        f'value="{start[k]}" aria-label="{html.escape(n)}" '
        'style="flex:0 1 18em;min-width:6em;margin:0">'
        f'<b class="value" style="flex:none;width:{_ch(labels[k])}ch;'
        'white-space:nowrap">'
        f"{html.escape(labels[k][start[k]])}</b></label>"
        for k, n in enumerate(names)
    )


def _scrubber_script(uid: str, frames: list[str], labels) -> str:
    """The inline JavaScript: a slider move shows the frame of the values chosen.

    ``frames`` are base64 PNGs (a notebook carries every frame); the book's build
    (``book/_ext/vaebook_build.py``) rewrites the array to the URLs of image files, so
    a page loads only the frames a reader asks for. A frame with a "." (a file name;
    base64 has none) is a URL; after a move the frames one step away on each slider
    are fetched ahead.
    """
    return (
        f"<script>(function(){{var root=document.getElementById({json.dumps(uid)});"
        f"var frames={json.dumps(frames)};var labels={json.dumps(labels)};"
        "var inputs=root.querySelectorAll('input');"
        "var values=root.querySelectorAll('.value');"
        "var img=root.querySelector('img');var ahead={};"
        "function src(k){var f=frames[k];"
        "return f.indexOf('.')<0?'data:image/png;base64,'+f:f;}"
        "function index(){var idx=0;"
        "for(var i=0;i<inputs.length;i++){var v=Number(inputs[i].value);"
        "idx=idx*labels[i].length+v;values[i].textContent=labels[i][v];}"
        "return idx;}ahead[index()]=1;"
        "function update(){var idx=index();ahead[idx]=1;"
        "img.src=src(idx);if(frames[idx].indexOf('.')<0)return;"
        "for(var s=1,i=inputs.length-1;i>=0;s*=labels[i].length,i--){"
        "var v=Number(inputs[i].value);for(var d=-1;d<=1;d+=2){var k=idx+d*s;"
        "if(v+d>=0&&v+d<labels[i].length&&!ahead[k]){ahead[k]=1;"
        "(new Image()).src=src(k);}}}}"
        "for(var i=0;i<inputs.length;i++){inputs[i].addEventListener('input',update);}"
        "})();</script>"
    )


def scrubber_html(
    draw: Callable,
    params: dict[str, Sequence],
    initial: dict,
    dpi: float | None = None,
    title: str = "",
) -> str:
    """Render every combination of the parameters' values; wrap them in a scrubber."""
    names = list(params)
    grids = [list(params[n]) for n in names]
    pngs = _render_every_frame(draw, names, grids, dpi, title)
    frames = [base64.b64encode(p).decode("ascii") for p in pngs]
    sizes = [_png_size(p) for p in pngs]
    width, height = max(w for w, _ in sizes), max(h for _, h in sizes)
    uid = "vaebook-scrubber-" + hashlib.sha1("".join(frames).encode()).hexdigest()[:12]
    labels = [[_label(v) for v in grid] for grid in grids]
    start = [grid.index(initial[n]) for n, grid in zip(names, grids)]
    first = 0
    for i, grid in zip(start, grids):
        first = first * len(grid) + i
    caption = (
        f'<div style="font-weight:bold">{html.escape(title)}</div>' if title else ""
    )
    # the frame area has the largest frame's size and scales with the page, so moving a
    # slider never shifts the text below
    return (
        f'<div class="vaebook-scrubber" id="{uid}">{caption}'
        f"{_scrubber_controls(names, labels, start)}"
        f'<div class="vaebook-frame" style="max-width:{width}px;'
        f'aspect-ratio:{width}/{height}">'
        f'<img alt="{html.escape(title or "figure")}" style="max-width:100%" '
        f'src="data:image/png;base64,{frames[first]}"></div></div>\n'
        + _scrubber_script(uid, frames, labels)
    )


class _LiveSliders:
    """The live control: selection sliders, a status line and one image widget.

    Built from the same pieces as the scrubber (one slider per parameter, value
    labels of fixed width); a move renders one frame with :class:`FrameRenderer`
    and swaps it into the image, keeping the last frame until the new one is ready.
    """

    def __init__(self, draw, params, initial, dpi, title):
        import ipywidgets as widgets

        self.names = list(params)
        self.grids = {n: list(v) for n, v in params.items()}
        self.labels = {n: [_label(v) for v in g] for n, g in self.grids.items()}
        self.render = FrameRenderer(draw, dpi, title, self.names, mode="live")
        self.sliders, self.rows = self._slider_rows(initial)
        self.status = widgets.HTML(value="", layout=widgets.Layout(height="1.6em"))
        heading = widgets.HTML(value=f"<b>{html.escape(title)}</b>" if title else "")
        started = time.perf_counter()
        # natural size (a flex child would be stretched to the output's width), never
        # wider than the output
        fit = widgets.Layout(width="auto", max_width="100%", align_self="flex-start")
        self.image = widgets.Image(
            value=self.render(dict(initial)), format="png", layout=fit
        )
        follow_drag = time.perf_counter() - started < FOLLOW_DRAG_S
        self.render.prime(dict(initial), neighbours(self.grids, dict(initial)))
        self.lock = threading.Lock()
        for slider in self.sliders.values():
            slider.continuous_update = follow_drag
            slider.observe(self.on_move, names="value")
        self.box = widgets.VBox([heading, *self.rows, self.status, self.image])

    def _slider_rows(self, initial):
        import ipywidgets as widgets

        name_ch = _ch(self.names)
        sliders, rows = {}, []
        for n in self.names:
            sliders[n] = widgets.SelectionSlider(
                options=[(s, i) for i, s in enumerate(self.labels[n])],
                value=self.grids[n].index(initial[n]),
                description=n,
                readout=False,
                continuous_update=False,
                style={"description_width": f"{name_ch}ch"},
                layout=widgets.Layout(width=f"calc({name_ch}ch + 18em)"),
            )
            value = widgets.Label(
                value=self.labels[n][sliders[n].value],
                layout=widgets.Layout(width=f"{_ch(self.labels[n])}ch"),
            )
            rows.append(widgets.HBox([sliders[n], value]))
        return sliders, rows

    def current(self) -> dict:
        return {n: self.grids[n][self.sliders[n].value] for n in self.names}

    def show(self, values: dict) -> None:
        """Render ``values``' frame; a busy sign if slow, the error if it fails."""
        done = threading.Event()

        def busy_sign() -> None:  # runs on a timer thread if the move is slow
            with self.lock:
                if not done.is_set():
                    self.status.value = BUSY

        timer = threading.Timer(BUSY_AFTER_S, busy_sign)
        timer.start()
        message = ""
        try:
            self.image.value = self.render(values)  # the last frame stays till then
        except Exception as error:  # keep the last frame, say what went wrong
            message = (
                f"<span style='color:#b00'>draw failed: "
                f"{html.escape(type(error).__name__)}: {html.escape(str(error))}</span>"
            )
            raise
        finally:
            timer.cancel()
            with self.lock:
                done.set()
                self.status.value = message

    def on_move(self, change) -> None:
        for n, row in zip(self.names, self.rows):
            row.children[1].value = self.labels[n][self.sliders[n].value]
        self.show(self.current())

    def move(self, **values) -> bytes:
        """Set the sliders to ``values`` (parameter name -> value) and redraw once."""
        unknown = set(values) - set(self.names)
        if unknown:
            raise ValueError(
                f"unknown parameters {sorted(unknown)}; the sliders are {self.names}"
            )
        for n, v in values.items():
            if v not in self.grids[n]:
                raise ValueError(f"{n}={v!r} is not among its values {self.grids[n]}")
        for slider in self.sliders.values():
            slider.unobserve(self.on_move, names="value")
        try:
            for n, v in values.items():
                self.sliders[n].value = self.grids[n].index(v)
        finally:
            for slider in self.sliders.values():
                slider.observe(self.on_move, names="value")
        self.on_move(None)
        return self.image.value


def live_sliders(
    draw: Callable,
    params: dict[str, Sequence],
    initial: dict,
    dpi: float | None = None,
    title: str = "",
):
    """ipywidgets selection sliders driving one image widget (ipywidgets 7.6+ API only).

    The returned ``VBox`` has ``sliders`` (name -> SelectionSlider over value
    indices), ``image`` (the ``Image`` widget), ``status`` (busy sign and errors)
    and ``move(**values)`` (what a slider move does; for tests and scripts).
    """
    live = _LiveSliders(draw, params, initial, dpi, title)
    box = live.box
    box.sliders, box.image, box.status, box.move = (
        live.sliders,
        live.image,
        live.status,
        live.move,
    )
    return box


def explore(
    draw: Callable,
    initial: dict | None = None,
    title: str = "",
    dpi: float | None = None,
    **params: Sequence,
):
    """Sliders over ``params`` (name -> values) driving ``draw(**values) -> Figure``.

    Returns a live widget box in Jupyter and Colab, and an HTML scrubber (an
    ``IPython.display.HTML``) in the static book. ``draw`` is best the ``draw`` of a
    :class:`vaebook.plots.style.SliderFigure` (or a lambda that calls it): it returns
    the same Figure every time, updated in place, and each frame redraws only the
    artists that changed. A function that builds a new Figure per call works too,
    at the cost of a full draw per frame. Frames are rendered at ``dpi`` (default
    :data:`FRAME_DPI`, the book's figure dpi: leave it). Example::

        figure = SimplexFigure(probs, samples)  # a SliderFigure
        explore(figure.draw, temperature=[0.1, 0.5, 1, 2])
    """
    start = _check_params(params, initial)
    if static_mode():
        from IPython.display import HTML

        return HTML(scrubber_html(draw, params, start, dpi, title))
    return live_sliders(draw, params, start, dpi, title)
