"""The live control (vaebook.experiments.lab_control): a simulated click trains in a
background thread, the bar and the status line say what happened (done, refused, or
stopped at the time limit), the live run is drawn over the shipped one, and a real
kernel answers while the control trains."""

import copy
import os
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from vaebook.data import BinarizedMNIST
from vaebook.experiments import annealing_lab as lab
from vaebook.experiments import lab_control
from vaebook.plots.lab import LIVE

ROOT = Path(__file__).resolve().parents[2]
TINY = lab.LabConfig(
    steps=60,
    log_every=10,
    variance_at=(0, 60),
    variance_repeats=2,
    test_images=100,
    num_images=8,
)


def fake_grid(config: lab.LabConfig, train) -> dict:
    """A grid with every temperature setting, each a copy of one tiny run (what the
    control needs from the shipped grid: curves, variance, test numbers, images)."""
    run = lab.discrete_run(lab.Setting(1.0, 0.2, 5e-4), config, "cpu", train)
    images = run.pop("images")
    grid = {"config": lab.asdict(config), "runs": {}, "images": {}}
    for setting in lab.grid_settings():
        if setting.sharpness_end is None:
            copied = copy.deepcopy(run)
            copied.update(key=setting.key, setting=lab.asdict(setting))
            grid["runs"][setting.key] = copied
            for name, array in images.items():
                grid["images"][f"{setting.key}/{name}"] = array
    grid["images"]["originals"] = np.zeros((8, 784), np.uint8)
    return grid


@pytest.fixture(scope="module")
def train():
    return BinarizedMNIST.load("train", "dynamic", seed=0, limit=600)


@pytest.fixture(scope="module")
def grid(train):
    return fake_grid(TINY, train)


def test_click_trains_in_the_background_and_says_what_it_did(grid, train):
    box = lab_control.live_control(grid, 60, "cpu", TINY, train)
    control = box.control
    first = bytes(control.image.value)
    assert first.startswith(b"\x89PNG")
    control.sliders["start"].value = 0.5  # 0.5 -> 0.5 never anneals: refused
    control.sliders["floor"].value = 0.5
    control.sliders["rate"].value = 5e-3
    control.button.click()
    assert control.thread is None and "refused" in control.status.value
    control.sliders["start"].value = 1.0
    control.sliders["floor"].value = 0.2
    control.sliders["rate"].value = 5e-2
    control.button.click()
    control.wait(120)
    (run,) = control.live_runs
    assert run["steps"] == TINY.steps and run["key"] == "tau_s1_f0.2_r0.05"
    assert run["seed"] == 1, "not the shipped seed"
    assert control.bar.bar_style == "success" and control.bar.value == TINY.steps
    status = control.status.value
    assert (
        f"done: {TINY.steps} steps" in status
        and f"{run['test']['hard_neg_elbo']:.2f}" in status
    )
    assert "shipped" in status and LIVE in status
    live = control.figure.live["hard"]
    assert list(live.get_xdata()) == run["curves"]["step"] and live.get_color() == LIVE
    low, high = control.figure.ax_e.get_ylim()
    assert low <= min(run["curves"]["hard"]) and high >= max(run["curves"]["hard"])
    assert not control.busy and not control.button.disabled


def test_time_limit_is_said_plainly(grid, train):
    box = lab_control.live_control(grid, 1e-6, "cpu", TINY, train)
    control = box.control
    control.ensure_data()
    control.button.click()
    control.wait(120)
    (run,) = control.live_runs
    assert run["steps"] < TINY.steps and control.bar.bar_style == "warning"
    assert "stopped at the time limit" in control.status.value
    assert f"after {run['steps']} of {TINY.steps} steps" in control.status.value


KERNEL_CODE = """
import sys, time
sys.path.insert(0, {tests!r})
from test_lab_control import TINY, fake_grid
from vaebook.data import BinarizedMNIST
from vaebook.experiments import lab_control
from dataclasses import replace
config = replace(TINY, steps=1500, log_every=25, variance_at=(0,))
train = BinarizedMNIST.load("train", "dynamic", seed=0, limit=600)
box = lab_control.live_control(fake_grid(TINY, train), 120, "cpu", config, train)
box.control.ensure_data()
box.control.button.click()
"""


def test_kernel_answers_while_the_control_trains():
    """In a real kernel: after the click's cell returns, `1 + 1` is answered at
    once while the training thread still runs, and training then finishes."""
    from jupyter_client.manager import start_new_kernel

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    km, kc = start_new_kernel(kernel_name="python3", env=env)
    try:
        code = KERNEL_CODE.format(tests=str(Path(__file__).parent))
        reply = kc.execute_interactive(textwrap.dedent(code), timeout=300)
        assert reply["content"]["status"] == "ok", reply["content"]
        started = time.perf_counter()
        reply = kc.execute_interactive("1 + 1", timeout=60)
        answered = time.perf_counter() - started
        assert reply["content"]["status"] == "ok"
        outputs = []
        kc.execute_interactive(
            "print('alive', box.control.thread.is_alive(), box.control.bar.value)",
            timeout=60,
            output_hook=lambda m: outputs.append(m["content"].get("text", "")),
        )
        assert answered < 2.0, f"the kernel took {answered:.1f} s to answer 1 + 1"
        assert any("alive True" in text for text in outputs), outputs
        outputs.clear()
        kc.execute_interactive(
            "box.control.wait(300); print('style', box.control.bar.bar_style)",
            timeout=330,
            output_hook=lambda m: outputs.append(m["content"].get("text", "")),
        )
        assert any("style success" in text for text in outputs), outputs
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
