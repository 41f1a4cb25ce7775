"""The annealing lab's live control: schedule sliders and "train with these settings".

Moving a slider shows the shipped grid's run of that schedule
(:class:`vaebook.plots.lab.ScheduleFigure`). A click trains the lab's binary VAE under
the chosen schedule (:func:`.annealing_lab.discrete_run`, the function that trained
the grid, on the GPU when there is one) in a background thread, so the kernel stays
responsive; the live run is drawn over the shipped one in a colour of its own at most
:data:`REDRAW_S` apart, a progress bar follows it, and at the end the bar turns green
and a line says what the run did and what it reached against the shipped run (or,
amber, that the time limit stopped it and after how many steps).

Only ipywidgets API that 7.6 has is used (Colab ships 7.x).
"""

from __future__ import annotations

import argparse
import html
import io
import json
import threading
import time
from pathlib import Path

import matplotlib.pyplot as plt

from ..data import BinarizedMNIST
from ..plots.lab import LIVE, ScheduleFigure, live_summary, temperature_draw
from ..training import resolve_device
from .annealing_lab import (
    FLOORS,
    FOLDER,
    RATES,
    STARTS,
    LabConfig,
    Setting,
    discrete_run,
    load_grid,
    lookup,
    test_images,
)

INITIAL = {"start": 2.0, "floor": 0.5, "rate": 5e-3}  # a schedule that anneals
REDRAW_S = 1.0  # at most one redraw a second: a render costs 50-200 ms on 2 cores


def png(fig) -> bytes:
    """The figure as PNG bytes at its own size (no tight box: one draw, no jumps)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches=None)
    return buffer.getvalue()


def grid_config(grid: dict) -> LabConfig:
    """The shipped grid's :class:`LabConfig` (lists back to tuples)."""
    values = grid["config"]
    return LabConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    )


class LiveControl:
    """One control: its widgets (``box``), the comparison figure, the training thread
    (``thread``) and the runs its clicks trained (``live_runs``)."""

    def __init__(self, grid, seconds=60.0, device="auto", config=None, train=None):
        import ipywidgets as widgets

        self.grid, self.seconds = grid, seconds
        self.device = resolve_device(device)
        self.config = config or grid_config(grid)
        self.train_data, self.test = train, None
        self.figure = ScheduleFigure(grid, "temperature")
        plt.close(self.figure.fig)  # shown only inside the control
        self.draw = temperature_draw(grid, self.figure)
        self.live_runs: list[dict] = []
        self.thread: threading.Thread | None = None
        self.busy, self.last_redraw, self.render_seconds = False, 0.0, 0.0
        self._widgets(widgets)
        self.show_shipped()

    def _widgets(self, widgets) -> None:
        layout = widgets.Layout(width="20em")
        self.sliders = {
            name: widgets.SelectionSlider(
                options=list(values),
                value=INITIAL[name],
                description=name,
                layout=layout,
            )
            for name, values in (("start", STARTS), ("floor", FLOORS), ("rate", RATES))
        }
        for slider in self.sliders.values():
            slider.observe(self.show_shipped, names="value")
        self.button = widgets.Button(
            description="train with these settings",
            button_style="primary",
            layout=layout,
        )
        self.button.on_click(self.click)
        self.bar = widgets.FloatProgress(
            value=0, min=0, max=self.config.steps, layout=widgets.Layout(width="24em")
        )
        self.status = widgets.HTML(layout=widgets.Layout(width="24em"))
        self.image = widgets.Image(format="png")
        left = widgets.VBox([*self.sliders.values(), self.button])
        right = widgets.VBox([self.bar, self.status])
        self.box = widgets.VBox([widgets.HBox([left, right]), self.image])

    def values(self) -> dict:
        return {name: slider.value for name, slider in self.sliders.items()}

    def show_shipped(self, change=None) -> None:
        """Draw the shipped run of the sliders' setting (and the last live run over
        it, if it trained the same setting)."""
        if self.busy:
            return
        values = self.values()
        self.draw(**values)
        shipped, _ = lookup(self.grid, **values)
        last = self.live_runs[-1] if self.live_runs else None
        if last is not None and last["key"] == shipped["key"]:
            self.figure.show_live(last, last["summary"])
        else:
            self.figure.show_live(None)
        self.image.value = png(self.figure.fig)

    def click(self, _=None) -> None:
        """Start training the sliders' setting in a background thread."""
        if self.busy:
            return
        try:
            setting = Setting(**self.values())
        except ValueError as err:
            self.status.value = f"<b>refused</b>: {html.escape(str(err))}"
            return
        self.busy, self.button.disabled = True, True
        self.bar.value, self.bar.bar_style = 0, "info"
        self.status.value = "loading MNIST and training&hellip;"
        self.thread = threading.Thread(target=self.train, args=(setting,), daemon=True)
        self.thread.start()

    def train(self, setting: Setting) -> None:
        try:
            self.ensure_data()
            started = time.perf_counter()
            run = discrete_run(
                setting,
                self.config,
                self.device,
                self.train_data,
                seed=len(self.live_runs) + 1,  # not the shipped seed 0
                test=self.test,
                time_limit=self.seconds,
                on_window=self.follow,
            )
            self.finish(run, time.perf_counter() - started)
        except Exception as err:  # shown, not lost in a thread
            self.bar.bar_style = "danger"
            self.status.value = f"<b>error</b>: {html.escape(repr(err))}"
        finally:
            self.busy, self.button.disabled = False, False

    def ensure_data(self) -> None:
        if self.train_data is None:
            self.train_data = BinarizedMNIST.load("train", "dynamic", 0, self.device)
        if self.test is None:
            self.test = test_images(self.config, self.device)

    def follow(self, run: dict) -> None:
        """After every logging window: move the bar; redraw at most every REDRAW_S, and
        never more than a fifth of the time (4 x the last render apart)."""
        self.bar.value = run["steps"]
        now = time.perf_counter()
        # redraws take at most a fifth of the time, however slow the machine
        if now - self.last_redraw >= max(REDRAW_S, 4 * self.render_seconds):
            self.figure.show_live(run, f"training: {run['steps']:,} steps")
            self.image.value = png(self.figure.fig)
            self.last_redraw = time.perf_counter()
            self.render_seconds = self.last_redraw - now

    def finish(self, run: dict, seconds: float) -> None:
        """Say what the run did, in the bar's colour, the status line and the figure."""
        shipped = self.grid["runs"][run["key"]]
        run["summary"] = live_summary(run, shipped, seconds)
        run["wall_seconds"] = round(seconds, 2)  # click to result, data loaded
        self.live_runs.append(run)
        steps, total = run["steps"], self.config.steps
        if run["stopped"]:
            self.bar.bar_style = "warning"
            head = (
                f"stopped at the time limit ({self.seconds:g} s) after {steps:,} of "
                f"{total:,} steps"
            )
        else:
            self.bar.bar_style = "success"
            head = f"done: {steps:,} steps in {seconds:.1f} s ({steps / seconds:.0f}/s)"
        self.bar.value = steps
        summary = html.escape(run["summary"])
        self.status.value = (
            f"<b>{head}</b><br><span style='color:{LIVE}'>{summary}</span>"
        )
        self.figure.show_live(run, run["summary"])
        self.image.value = png(self.figure.fig)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current training (if any) has finished (tests, scripts)."""
        if self.thread is not None:
            self.thread.join(timeout)


def live_control(grid, seconds=60.0, device="auto", config=None, train=None):
    """Jupyter/Colab: the lab's schedule sliders and a "train with these settings"
    button (see the module docstring). Returns the widget box; ``box.control`` is the
    :class:`LiveControl` (its ``live_runs``, ``wait()``)."""
    control = LiveControl(grid, seconds, device, config, train)
    control.box.control = control
    return control.box


def record_example(grid: dict, path: Path, device="cpu") -> dict:
    """Click the control once, headless, at its initial setting, and save the live run
    (no images) as ``path``: the book's still of what the control shows."""
    control = LiveControl(grid, seconds=3600, device=device)
    control.ensure_data()
    control.click()
    control.wait()
    run = dict(control.live_runs[-1])
    run.pop("images", None)
    run["device"] = str(control.device)
    path.write_text(json.dumps(run))
    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="record the live control's still")
    parser.add_argument("--example", type=Path, default=FOLDER / "live.json")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    run = record_example(load_grid(), args.example, args.device)
    print(run["summary"], "->", args.example)


if __name__ == "__main__":
    main()
