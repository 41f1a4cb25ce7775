"""Live sliders in a real JupyterLab (ipywidgets 8 front end), in headless chromium.

The Python side of ``vaebook.widgets`` is tested in tests/test_widgets.py (ipywidgets
7.7.1 and 8); this checks what a reader sees: the frame is an image at its natural
size, a slider move changes it, the sliders do not move when a value label changes
length, and a slow move shows the busy sign while the last frame stays.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parents[2]
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


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / "live.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("VAEBOOK_STATIC", None)
    command = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--IdentityProvider.token=",
        f"--ServerApp.root_dir={folder}",
        "--LabApp.news_url=None",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def test_live_sliders_in_jupyterlab(browser, lab):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    deadline = time.monotonic() + 120
    while True:
        try:
            page.goto(f"{lab}/lab/tree/live.ipynb")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    page.wait_for_selector(".jp-Notebook .jp-InputArea-editor", timeout=120_000)
    page.wait_for_selector("#jp-main-statusbar :text('Idle')", timeout=120_000)
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
