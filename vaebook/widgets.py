"""Sliders that work for every reader.

:func:`explore` turns a function of slider values that draws a matplotlib
figure into

- live ``ipywidgets`` sliders where a kernel runs (Jupyter, Colab), or
- a precomputed, self-contained scrubber where none will (the HTML book):
  one ``<input type="range">`` per parameter, every frame embedded as a
  base64 PNG, a few lines of inline JavaScript, no CDN and no kernel.

Each reader gets only the form that works: book builds set ``VAEBOOK_STATIC=1``
(the Sphinx extension in ``book/_ext`` does it), so the HTML never shows a
dead slider, and Jupyter and Colab get live ones.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import os
from typing import Callable, Sequence

STATIC_ENV = "VAEBOOK_STATIC"
MAX_FRAMES = 64  # a page should stay light: about 10-30 KB a frame at the default size


def static_mode() -> bool:
    """True in book builds (``VAEBOOK_STATIC=1``) and wherever ipywidgets is missing."""
    if os.environ.get(STATIC_ENV, "") not in ("", "0"):
        return True
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return True
    return False


def _check_params(params: dict[str, Sequence], initial: dict | None) -> dict[str, object]:
    if not params:
        raise ValueError("explore needs at least one parameter, e.g. temperature=[0.1, 0.5, 1.0]")
    start = {}
    for name, values in params.items():
        values = list(values)
        if not values:
            raise ValueError(f"parameter {name!r} has no values to choose from")
        start[name] = (initial or {}).get(name, values[len(values) // 2])
        if start[name] not in values:
            raise ValueError(f"initial {name}={start[name]!r} is not among its values {values}")
    unknown = set(initial or {}) - set(params)
    if unknown:
        raise ValueError(f"initial values given for unknown parameters {sorted(unknown)}")
    return start


def render_png(fig, dpi: int = 72) -> str:
    """A matplotlib figure as a base64 PNG string (the figure is closed)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def scrubber_html(draw: Callable, params: dict[str, Sequence], initial: dict, dpi: int = 72,
                  title: str = "") -> str:
    """Render every combination of parameter values and wrap the frames in a scrubber."""
    names = list(params)
    grids = [list(params[n]) for n in names]
    count = 1
    for grid in grids:
        count *= len(grid)
    if count > MAX_FRAMES:
        raise ValueError(f"{count} frames would make the page heavy; use at most {MAX_FRAMES} combinations")
    frames = [render_png(draw(**dict(zip(names, combo))), dpi) for combo in itertools.product(*grids)]
    uid = "vaebook-scrubber-" + hashlib.sha1("".join(frames).encode()).hexdigest()[:12]
    labels = [[_label(v) for v in grid] for grid in grids]
    start = [grid.index(initial[n]) for n, grid in zip(names, grids)]
    first = 0
    for i, grid in zip(start, grids):
        first = first * len(grid) + i
    controls = "".join(
        f'<label style="display:block;margin:2px 0;font-family:sans-serif;font-size:0.9em">'
        f'<span style="display:inline-block;min-width:9em">{html.escape(n)} = '
        f'<b class="value">{html.escape(labels[k][start[k]])}</b></span>'
        f'<input type="range" min="0" max="{len(grids[k]) - 1}" step="1" value="{start[k]}" '
        f'aria-label="{html.escape(n)}" style="width:18em;vertical-align:middle"></label>'
        for k, n in enumerate(names))
    caption = f'<div style="font-weight:bold">{html.escape(title)}</div>' if title else ""
    return (
        f'<div class="vaebook-scrubber" id="{uid}">{caption}{controls}'
        f'<img alt="{html.escape(title or "figure")}" style="max-width:100%" '
        f'src="data:image/png;base64,{frames[first]}"></div>\n'
        f"<script>(function(){{var root=document.getElementById({json.dumps(uid)});"
        f"var frames={json.dumps(frames)};var labels={json.dumps(labels)};"
        "var inputs=root.querySelectorAll('input');var values=root.querySelectorAll('.value');"
        "var img=root.querySelector('img');function update(){var idx=0;"
        "for(var i=0;i<inputs.length;i++){var v=Number(inputs[i].value);"
        "idx=idx*labels[i].length+v;values[i].textContent=labels[i][v];}"
        "img.src='data:image/png;base64,'+frames[idx];}"
        "for(var i=0;i<inputs.length;i++){inputs[i].addEventListener('input',update);}})();</script>"
    )


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def live_sliders(draw: Callable, params: dict[str, Sequence], initial: dict):
    """ipywidgets selection sliders that redraw the figure on every move."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    sliders = {n: widgets.SelectionSlider(options=list(v), value=initial[n], description=n,
                                          continuous_update=False, style={"description_width": "initial"})
               for n, v in params.items()}
    out = widgets.Output()

    def redraw(**values):
        with out:
            out.clear_output(wait=True)
            fig = draw(**values)
            display(fig)
            plt.close(fig)

    widgets.interactive_output(redraw, sliders)
    return widgets.VBox([*sliders.values(), out])


def explore(draw: Callable, initial: dict | None = None, dpi: int = 72, title: str = "", **params: Sequence):
    """Sliders over ``params`` (name -> values) driving ``draw(**values) -> Figure``.

    Returns a live widget box in Jupyter and Colab, and an HTML scrubber (an
    ``IPython.display.HTML``) in the static book. Example::

        explore(lambda temperature: plot_relaxed(temperature), temperature=[0.1, 0.5, 1, 2])
    """
    start = _check_params(params, initial)
    if static_mode():
        from IPython.display import HTML

        return HTML(scrubber_html(draw, params, start, dpi, title))
    return live_sliders(draw, params, start)
