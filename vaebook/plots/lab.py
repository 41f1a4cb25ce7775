"""Figures of the annealing lab (:mod:`vaebook.experiments.annealing_lab`).

:class:`ScheduleFigure` is one figure that the sliders update in place: the schedule,
the relaxed and hard -ELBO curves, the encoder's gradient variance, and the
reconstructions and prior samples at the end of one run of the shipped grid, beside a
reference run; a live run (:mod:`vaebook.experiments.lab_control`) is drawn on top in
a colour of its own. These functions draw; none of them trains.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.gridspec import GridSpec

from ..experiments.annealing_lab import ACTIVE_THRESHOLD, Setting, lookup
from .style import (
    FONT,
    WIDTH,
    SliderFigure,
    bar_collection,
    declare_moving,
    set_bars,
)

SHOWN = 6  # test images, reconstructions and prior samples shown per run
LIVE = "#d6008f"  # the live run: a magenta no shipped curve uses
ELBO_TICKS = (100, 120, 150, 200, 300, 400, 500)  # far enough apart to read


def _mosaic(images: np.ndarray, ncol: int) -> np.ndarray:
    """(N, 784) uint8 -> one (rows*28, ncol*28) float mosaic in [0, 1]."""
    n = len(images)
    rows = -(-n // ncol)
    cells = np.zeros((rows * ncol, 28, 28), dtype=np.float32)
    cells[:n] = images.reshape(n, 28, 28) / 255.0
    cells = cells.reshape(rows, ncol, 28, 28).transpose(0, 2, 1, 3)
    return cells.reshape(rows * 28, ncol * 28)


def _plain_log_ticks(axis, ticks=None) -> None:
    """Ticks (0.05, 0.1, 0.2, 0.5, 1, ... by default) as plain numbers on a log axis."""
    ticks = ticks or [m * 10.0**e for e in range(-3, 3) for m in (1, 2, 5)]
    axis.set_major_locator(mticker.FixedLocator(ticks))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(mticker.NullLocator())


def _power_ticks(axis) -> None:
    """Log-axis labels as plain text (1e-2, 1, 1e2): mathtext costs time per move."""

    def label(v, _):
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("1e0", "1")

    axis.set_major_formatter(mticker.FuncFormatter(label))
    axis.set_minor_locator(mticker.NullLocator())


def _style(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


def family_runs(grid: dict, param: str) -> list[dict]:
    """The seed-0 runs of one family: temperature schedules, or the smoothers'."""
    prefix = "tau" if param == "temperature" else "kappa_"
    return [
        r
        for r in grid["runs"].values()
        if r["key"].startswith(prefix) and r["seed"] == 0 and "curves" in r
    ]


def elbo_label(test: dict) -> str:
    """'hard 145.72 +- 0.29, relaxed ...': a run's test -ELBOs with their SEs."""
    return (
        f"hard {test['hard_neg_elbo']:.2f} \u00b1 {test['hard_neg_elbo_se']:.2f}, "
        f"relaxed {test['relaxed_neg_elbo']:.2f} \u00b1 "
        f"{test['relaxed_neg_elbo_se']:.2f} nats"
    )


class ScheduleFigure(SliderFigure):
    """The lab's figure for one schedule (``"temperature"`` or ``"sharpness"``).

    Built once (axes, limits, reference lines); :meth:`draw` only moves artists, so a
    slider move costs one render. :meth:`show_live` draws a live run on top in
    :data:`LIVE`, widening the axes so that all of it (its first steps too) shows.
    """

    def __init__(self, grid: dict, param: str = "temperature"):
        self.grid, self.param = grid, param
        self.runs = family_runs(grid, param)
        self.fig = plt.figure(figsize=(WIDTH - 0.25, 4.3))
        gs = GridSpec(2, 3, figure=self.fig, height_ratios=[1.3, 1], hspace=0.55)
        gs.update(wspace=0.5)
        self.ax_s, self.ax_e, self.ax_v = (
            self.fig.add_subplot(gs[0, i]) for i in range(3)
        )
        bottom = gs[1, :].subgridspec(1, 2, width_ratios=[2, 1], wspace=0.08)
        self.ax_r = self.fig.add_subplot(bottom[0])
        self.ax_p = self.fig.add_subplot(bottom[1])
        self._axes()
        self.ref = self._line_set({"color": "0.6", "lw": 1.0}, "shipped, tau fixed")
        self.cur = self._line_set({"color": "C0", "lw": 1.5}, "shipped run")
        self.live = self._line_set({"color": LIVE, "lw": 2.0}, "live run")
        self.ax_e.legend(  # above the axes, off the curves: a move leaves it be
            handles=[self.cur["hard"], self.cur["relaxed"]],
            labels=["hard (exact z)", "relaxed"],
            fontsize=FONT,
            loc="lower center",
            bbox_to_anchor=(0.5, 1.03),
            ncol=2,
            frameon=False,
            handlelength=1.5,
            borderaxespad=0.1,
            columnspacing=1.0,
        )
        self._images()
        self.title = self.fig.suptitle("", fontsize=FONT + 1, y=0.995)
        self.note = self.fig.text(0.5, 0.9, "", ha="center", va="top", fontsize=FONT)
        self.fig.subplots_adjust(left=0.09, right=0.98, top=0.77, bottom=0.01)
        lines = [*self.cur.values(), *self.ref.values()]
        self.moves(*lines, self.recon, self.prior, self.title, self.note)

    def _axes(self) -> None:
        symbol = "tau" if self.param == "temperature" else "kappa"
        _style(self.ax_s, "step", f"{symbol}(t)")
        _style(self.ax_e, "step", "-ELBO (nats, train)")
        _style(self.ax_v, "step", "encoder grad. variance")
        steps = self.grid["config"]["steps"]
        for ax in (self.ax_s, self.ax_e, self.ax_v):
            ax.set_xlim(-0.02 * steps, 1.02 * steps)
        self.ax_s.set_yscale("log")
        _plain_log_ticks(self.ax_s.yaxis)
        values = [v for r in self.runs for v in r["curves"][self.param]]
        self.ax_s.set_ylim(min(values) / 1.4, max(values) * 1.4)
        self.ax_e.set_yscale("log")  # the first steps (500+ nats) and the end both show
        _plain_log_ticks(self.ax_e.yaxis, list(ELBO_TICKS))
        elbos = [
            v for r in self.runs for v in r["curves"]["hard"] + r["curves"]["relaxed"]
        ]
        self.elbo_range = (min(elbos) - 3, max(elbos) * 1.05)
        self.ax_e.set_ylim(*self.elbo_range)
        self.ax_v.set_yscale("log")
        _power_ticks(self.ax_v.yaxis)
        var = [v for r in self.runs for v in r["variance"]["value"]]
        low = max(min(var), max(var) * 1e-6)  # a zero variance stays below the axis
        self.ax_v.set_ylim(low / 2, max(var) * 2)

    def _line_set(self, style: dict, label: str) -> dict:
        return {
            "s": self.ax_s.plot([], [], **style)[0],
            "relaxed": self.ax_e.plot([], [], **style)[0],
            "hard": self.ax_e.plot([], [], ls="--", **style)[0],
            "v": self.ax_v.plot([], [], "o-", ms=3, label=label, **style)[0],
        }

    def _images(self) -> None:
        originals = self.grid["images"]["originals"][:SHOWN]
        blank = np.zeros_like(originals)
        grey = {"cmap": "gray_r", "vmin": 0, "vmax": 1, "interpolation": "nearest"}
        both = np.concatenate([originals, blank])
        self.recon = self.ax_r.imshow(_mosaic(both, SHOWN), **grey)
        self.prior = self.ax_p.imshow(_mosaic(blank, SHOWN // 2), **grey)
        self.ax_r.set_title("test images / reconstructions (end)", fontsize=FONT)
        self.ax_p.set_title("decoded z ~ p(z) (end)", fontsize=FONT)
        for ax in (self.ax_r, self.ax_p):
            ax.set_axis_off()

    def _lines(self, lines: dict, run: dict | None) -> None:
        c = run["curves"] if run else {}
        empty = []
        lines["s"].set_data(c.get("step", empty), c.get(self.param, empty))
        lines["relaxed"].set_data(c.get("step", empty), c.get("relaxed", empty))
        lines["hard"].set_data(c.get("step", empty), c.get("hard", empty))
        v = run["variance"] if run else {"step": [], "value": []}
        lines["v"].set_data(v["step"], v["value"])

    def draw(self, run: dict, reference=None, title: str = "", note: str = ""):
        """Draw ``run`` (grey: ``reference``); returns the same Figure every time."""
        self._lines(self.cur, run)
        self._lines(self.ref, reference)
        images = self.grid["images"]
        recon = images[f"{run['key']}/recon"][:SHOWN]
        both = np.concatenate([images["originals"][:SHOWN], recon])
        self.recon.set_data(_mosaic(both, SHOWN))
        self.prior.set_data(_mosaic(images[f"{run['key']}/prior"][:SHOWN], SHOWN // 2))
        self.title.set_text(f"{title}\ntest -ELBO: {elbo_label(run['test'])}")
        self.note.set_text(note)
        self.note.set_color("C3")
        return self.fig

    def show_live(self, run: dict | None, text: str = "") -> None:
        """Draw a live run (its curves so far) over the shipped one, in :data:`LIVE`,
        and say ``text`` (e.g. its test numbers) in the same colour."""
        self._lines(self.live, run)
        if run and run["curves"]["step"]:
            c = run["curves"]
            low, high = self.elbo_range
            seen = c["hard"] + c["relaxed"]
            self.ax_e.set_ylim(min(low, min(seen) - 3), max(high, max(seen) * 1.05))
            v = [x for x in run["variance"]["value"] if x > 0]
            if v:
                bottom, top = self.ax_v.get_ylim()
                self.ax_v.set_ylim(min(bottom, min(v) / 2), max(top, max(v) * 2))
        self.note.set_text(text)
        self.note.set_color(LIVE)


def setting_title(start: float, floor: float, rate: float) -> str:
    if rate == 0:
        return f"tau fixed at {start:g}"
    return f"tau(t) = max({floor:g}, {start:g} exp(-{rate:g} t))"


def temperature_draw(grid: dict, figure: ScheduleFigure | None = None):
    """draw(start, floor, rate) for the sliders: the shipped run of that schedule,
    and in grey the run that keeps tau fixed at the same start."""
    figure = figure or ScheduleFigure(grid, "temperature")

    def draw(start: float, floor: float, rate: float):
        run, note = lookup(grid, start, floor, rate)
        reference, _ = lookup(grid, start, floor, 0.0)
        title = setting_title(start, floor, rate)
        return figure.draw(run, None if reference is run else reference, title, note)

    return draw


def sharpness_draw(grid: dict, kappa_end: float = 5.0):
    """draw(smoother, schedule) for the smoothers f1, f2, f3: kappa fixed at
    ``kappa_end``, or moved geometrically from 1 over the first 70 % of the steps;
    grey: the other schedule. One figure, its axes' limits covering every smoother's
    runs, so that smoothers compare on the same axes (and a move only redraws
    curves)."""
    figure = ScheduleFigure(grid, "sharpness")  # one set of axes for all smoothers
    runs = grid["runs"]

    def draw(smoother: str, schedule: str):
        fixed = Setting(sharpness_end=kappa_end, smoother=smoother).key
        annealed = Setting(
            sharpness_end=kappa_end, sharpness_start=1.0, smoother=smoother
        ).key
        run, other = (fixed, annealed) if schedule == "fixed" else (annealed, fixed)
        how = (
            f"kappa fixed at {kappa_end:g}"
            if schedule == "fixed"
            else f"kappa from 1 to {kappa_end:g} (geometric, first 70 %)"
        )
        title = f"smoother {smoother}, {how}"
        return figure.draw(runs[run], runs[other], title)

    return draw


def teaching_curves(grid: dict, settings: dict):
    """Named settings on one figure: tau(t), hard -ELBO, encoder gradient variance."""
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 2.8))
    ylabels = ("tau(t)", "hard -ELBO (nats, train)", "encoder grad. variance")
    for i, (label, setting) in enumerate(settings.items()):
        run = grid["runs"][setting.key]
        c = run["curves"]
        axes[0].plot(c["step"], c["temperature"], color=f"C{i}", label=label)
        axes[1].plot(c["step"], c["hard"], color=f"C{i}", lw=1)
        v = run["variance"]
        axes[2].plot(v["step"], v["value"], "o-", ms=3, color=f"C{i}")
    for ax, ylabel in zip(axes, ylabels):
        _style(ax, "step", ylabel)
    axes[0].set_yscale("log")
    _plain_log_ticks(axes[0].yaxis)
    axes[2].set_yscale("log")
    best = min(min(grid["runs"][s.key]["curves"]["hard"]) for s in settings.values())
    axes[1].set_ylim(best - 3, best + 50)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="upper center", ncol=3, fontsize=FONT, frameon=False
    )
    fig.tight_layout(rect=(0, 0, 1, 0.78))
    return fig


def control_still(grid: dict, live: dict, reference: dict, seconds: float):
    """What the live control shows after a click: the shipped run of the chosen
    setting and, in :data:`LIVE`, a run the control's training function trained."""
    figure = ScheduleFigure(grid, "temperature")
    s = live["setting"]
    figure.draw(reference, None, setting_title(s["start"], s["floor"], s["rate"]))
    figure.show_live(live, live_summary(live, reference, seconds))
    return figure.fig


def live_summary(live: dict, shipped: dict, seconds: float) -> str:
    """One line on a live run: steps, time, test -ELBOs against the shipped run's."""
    t, s = live["test"], shipped["test"]
    return (
        f"live (seed {live['seed']}): {live['steps']:,} steps in {seconds:.0f} s\n"
        f"hard {t['hard_neg_elbo']:.2f} \u00b1 {t['hard_neg_elbo_se']:.2f} "
        f"(shipped {s['hard_neg_elbo']:.2f}), relaxed {t['relaxed_neg_elbo']:.2f} "
        f"(shipped {s['relaxed_neg_elbo']:.2f})"
    )


def gaussian_runs(grid: dict) -> dict:
    """{(warm-up, free bits): the seed-0 Gaussian run} of the warm-up grid."""
    return {
        (r["warmup"], r["free_bits"]): r
        for r in grid["runs"].values()
        if r["kind"] == "gaussian" and r["seed"] == 0
    }


def _units_panel(ax, runs: dict, steps: int, k: int):
    """Active units along training: the chosen run, and grey the plain run."""
    _style(ax, "step", "active units")
    ax.set_xlim(0, steps)
    ax.set_ylim(0, k + 2)
    base = runs.get((0.0, 0.0), {"curves": {"step": [], "active": []}})["curves"]
    ax.plot(base["step"], base["active"], color="0.6", lw=1.0, label="no remedy")
    line = ax.plot([], [], color="C0", lw=1.8, label="this run")[0]
    end = ax.axvline(0, color="C3", ls=":", lw=1.2, label="warm-up ends")
    return line, end


def warmup_draw(grid: dict):
    """draw(warmup, free_bits) for the Gaussian VAEs: the active units along training
    (collapse as it happens), the test KL of each dimension (sorted; blue if active)
    and each dimension's activity against its KL, updated in place."""
    runs = gaussian_runs(grid)
    k, steps = grid["config"]["gaussian_latents"], grid["config"]["gaussian_steps"]
    fig, (ax_u, ax_k, ax_a) = plt.subplots(
        1, 3, figsize=(WIDTH, 3.2), gridspec_kw={"width_ratios": [1.2, 1.1, 1]}
    )
    units, end = _units_panel(ax_u, runs, steps, k)
    _style(ax_k, "dimension (sorted)", "KL_k (nats, test)")
    bars = bar_collection(ax_k)
    ax_k.set_ylim(0, max(max(r["test"]["kl_per_dim"]) for r in runs.values()) * 1.05)
    ax_k.set_xlim(-1, k)
    free = ax_k.axhline(0, color="C3", ls=":", lw=1.2)
    dots = _activity_panel(ax_a, runs, k)
    title = fig.suptitle("", fontsize=FONT + 1)
    # one legend under the panels, off the moving curves, and drawn before the title
    # (zorder): a move redraws the title over the cached rest, legend included
    handles = [h for ax in (ax_u, ax_a) for h in ax.get_legend_handles_labels()[0]]
    legend = fig.legend(
        handles=handles, loc="lower center", ncol=4, fontsize=FONT, frameon=False
    )
    legend.set_zorder(title.get_zorder() - 1)
    fig.tight_layout(rect=(0, 0.08, 1, 0.86))
    declare_moving(fig, units, end, bars, free, dots, title)

    def draw(warmup: float, free_bits: float):  # every artist is moved in place
        run = runs.get((warmup, free_bits))
        if run is None:  # a run the grid lacks: say so, draw nothing of it
            units.set_data([], [])
            title.set_text(f"warm-up {warmup:g}, free bits {free_bits:g}: not trained")
            return fig
        t, c = run["test"], run["curves"]
        units.set_data(c["step"], c["active"])
        end.set_xdata([warmup * steps] * 2)
        end.set_visible(warmup > 0)
        kl, act = np.array(t["kl_per_dim"]), np.array(t["activity"])
        active = act > ACTIVE_THRESHOLD
        _kl_bars(bars, kl, active)
        free.set_ydata([free_bits, free_bits]), free.set_visible(free_bits > 0)
        dots.set_offsets(np.c_[np.maximum(kl, 1e-5), np.maximum(act, 1e-6)])
        dots.set_color(np.where(active, "C0", "0.6"))
        title.set_text(warmup_title(warmup, free_bits, t, k))
        return fig

    return draw


def _kl_bars(bars, kl: np.ndarray, active: np.ndarray) -> None:
    """Each dimension's KL, largest first; blue if the dimension is active."""
    order = np.argsort(-kl)
    set_bars(bars, kl[order], np.where(active[order], "C0", "0.7"))


def warmup_title(warmup: float, free_bits: float, test: dict, k: int) -> str:
    what = f"KL warm-up over {warmup:.0%} of training" if warmup else "no KL warm-up"
    what += f", free bits {free_bits:g} nats/dim" if free_bits else ", no free bits"
    return (
        f"{what}\nactive units at the end {test['active_units']} of {k}, KL "
        f"{test['kl']:.1f} nats, test -ELBO {test['neg_elbo']:.2f} nats"
    )


def _activity_panel(ax, runs: dict, k: int):
    _style(ax, "KL_k (nats)", "activity A_k")
    values = [
        (kl, a)
        for r in runs.values()
        for kl, a in zip(r["test"]["kl_per_dim"], r["test"]["activity"])
    ]
    kls, acts = zip(*values)
    dots = ax.scatter(np.full(k, max(kls)), np.full(k, max(acts)), s=10)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _power_ticks(ax.xaxis)
    _power_ticks(ax.yaxis)
    ax.set_xlim(max(min(kls), 1e-5) / 2, max(kls) * 2)
    ax.set_ylim(min(max(min(acts), 1e-6) / 2, ACTIVE_THRESHOLD / 2), max(acts) * 2)
    ax.axhline(ACTIVE_THRESHOLD, color="0.4", ls="--", lw=1)
    edge = np.array(ax.get_xlim())
    ax.plot(edge, 2 * edge, color="C3", ls=":", lw=1.2, label="A_k = 2 KL_k")
    return dots


def iw_bounds(grid: dict, title: str = ""):
    """-L_S on the test images against S (error bars: SE over the images), for the
    seed-0 models trained on L_K."""
    runs = sorted(
        (r for r in grid["runs"].values() if r["kind"] == "iw" and r["seed"] == 0),
        key=lambda r: r["iw_samples"],
    )
    fig, ax = plt.subplots(figsize=(WIDTH * 0.62, 2.9))
    for i, r in enumerate(runs):
        bounds = r["test"]["neg_iw_bound"]
        s = [int(k) for k in bounds]
        values, ses = zip(*bounds.values())
        label = f"trained with K = {r['iw_samples']}"
        ax.errorbar(s, values, yerr=ses, fmt="o-", color=f"C{i}", ms=4, label=label)
    ax.set_xscale("log")
    _style(ax, "S (importance samples at test time)", "-L_S (nats, test)")
    ax.legend(fontsize=FONT)
    ax.set_title(title or "the bound tightens with S", fontsize=FONT)
    fig.tight_layout()
    return fig
