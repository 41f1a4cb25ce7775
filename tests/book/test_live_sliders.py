"""Live sliders in a real JupyterLab (ipywidgets 8 front end), in headless chromium.

The Python side of ``vaebook.widgets`` is tested in tests/test_widgets.py (ipywidgets
7.7.1 and 8); this checks what a reader sees: the frame is an image at its natural
size, a slider move changes it, the sliders do not move when a value label changes
length, and a slow move shows the busy sign while the last frame stays.
"""

CODE = """\
import time
import matplotlib.pyplot as plt
from vaebook.widgets import explore

fig, ax = plt.subplots(figsize=(5, 2.5))
(line,) = ax.plot([0, 1], [0, 0])
ax.set_ylim(-3, 3)


def draw(family, slope):
    if slope == 2.0:
        time.sleep(1.5)  # a slow move: the busy sign shows
    line.set_ydata([0, slope])
    ax.set_title(family)
    return fig


explore(draw, family=["Gaussian", "Student's t (df=4)", "Uniform"],
        slope=[-2.0, 0.0, 2.0], title="live check")
"""
STATE_JS = """() => {
  const out = document.querySelector('.jp-OutputArea');
  const img = out.querySelector('img');
  const rect = e => { const r = e.getBoundingClientRect();
                      return [Math.round(r.left), Math.round(r.width)]; };
  return {src: img.src, natural: img.naturalWidth,
          shown: Math.round(img.getBoundingClientRect().width),
          sliders: Array.from(out.querySelectorAll('.widget-slider')).map(rect),
          labels: Array.from(out.querySelectorAll('.widget-label'))
                       .map(l => l.textContent),
          html: Array.from(out.querySelectorAll('.widget-html')).map(h => h.textContent)
  };
}"""


def test_live_sliders_in_jupyterlab(jupyterlab, open_notebook):
    url, _ = jupyterlab([CODE])
    page = open_notebook(url)
    page.click(".jp-Cell .jp-InputArea-editor")
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(".jp-OutputArea img", timeout=120_000)
    page.wait_for_function(
        "document.querySelector('.jp-OutputArea img').naturalWidth > 0"
    )
    before = page.evaluate(STATE_JS)
    assert before["natural"] > 300 and before["shown"] == before["natural"], before
    assert "Student's t (df=4)" in before["labels"], before["labels"]

    handles = page.locator(
        ".jp-OutputArea .noUi-handle, .jp-OutputArea .ui-slider-handle"
    )
    assert handles.count() == 2
    handles.nth(0).focus()
    page.keyboard.press("ArrowRight")  # Student's t (df=4) -> Uniform
    page.wait_for_function(
        f"document.querySelector('.jp-OutputArea img').src !== {before['src']!r}"
    )
    moved = page.evaluate(STATE_JS)
    assert "Uniform" in moved["labels"]
    assert moved["sliders"] == before["sliders"], (
        "the sliders moved when a label changed"
    )

    handles.nth(1).focus()
    page.keyboard.press("ArrowRight")  # slope 0 -> 2: a 1.5 s move
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.jp-OutputArea .widget-html'))"
        ".some(h => h.textContent.includes('drawing'))",
        timeout=10_000,
    )
    assert page.evaluate(STATE_JS)["src"] == moved["src"], "the last frame stays"
    page.wait_for_function(
        f"document.querySelector('.jp-OutputArea img').src !== {moved['src']!r}",
        timeout=30_000,
    )
    done = page.evaluate(STATE_JS)
    assert not any("drawing" in h for h in done["html"]), done["html"]
    page.close()
