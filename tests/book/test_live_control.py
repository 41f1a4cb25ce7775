"""The annealing lab's live training control in a real JupyterLab, in headless chromium.

What a Colab or Jupyter reader does: run the control's cell, press "train with these
settings", keep using the notebook while it trains, and read the result. Checked: the
kernel answers another cell while the run trains (training is in a background thread),
the 1,000-step run finishes within its time limit, the bar ends green and says what it
did, and the live run's numbers are printed beside the shipped run's. The Python side is
tested in tests/experiments/test_lab_control.py.
"""

import time
from pathlib import Path

CONTROL = """\
from vaebook.experiments import annealing_lab as lab, lab_control
control = lab_control.live_control(lab.load_grid(), seconds=240)
control"""
PING = "import time; time.strftime('%H:%M:%S')"
SHOTS = Path(__file__).parents[2] / "_build" / "screenshots"


def test_live_control_in_jupyterlab(jupyterlab, open_notebook):
    url, _ = jupyterlab([CONTROL, PING])
    page = open_notebook(url)
    page.click(".jp-Cell .jp-InputArea-editor")
    page.keyboard.press("Shift+Enter")  # the control
    button = page.locator(".jp-OutputArea button:has-text('train with these settings')")
    button.wait_for(timeout=120_000)
    page.wait_for_selector(".jp-OutputArea img", timeout=60_000)
    button.click()
    page.wait_for_selector(
        ".jp-OutputArea .widget-html:has-text('training')", timeout=120_000
    )
    page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-InputArea-editor").click()
    asked = time.monotonic()
    page.keyboard.press("Shift+Enter")  # the ping cell, while the run trains
    ping = ".jp-Notebook .jp-Cell:nth-child(2) .jp-OutputArea-output"
    page.wait_for_selector(ping, timeout=60_000)
    answered = time.monotonic() - asked
    status = page.locator(".jp-OutputArea .widget-html").first
    assert "done" not in status.inner_text(), "the run ended before the ping was asked"
    assert answered < 10, f"the kernel took {answered:.1f} s to answer while training"

    page.wait_for_selector(
        ".jp-OutputArea .widget-html:has-text('done:')", timeout=240_000
    )
    text = status.inner_text()
    assert "1,000 steps" in text and "hard" in text, text
    bar = page.locator(".jp-OutputArea .progress-bar, .jp-OutputArea .widget-progress")
    classes = " ".join(
        bar.nth(i).get_attribute("class") or "" for i in range(bar.count())
    )
    assert "success" in classes, classes
    SHOTS.mkdir(parents=True, exist_ok=True)
    control = page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-OutputArea")
    control.screenshot(path=str(SHOTS / "live_control_jupyterlab.png"))
    page.close()
