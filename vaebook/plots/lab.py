"""Figures of the annealing lab (:mod:`vaebook.annealing_lab`).

:class:`ScheduleFigure` is one figure that the sliders update in place: the schedule,
the relaxed and hard -ELBO curves, the encoder's gradient variance, and the
reconstructions and prior samples at the end of one run of the shipped grid, beside a
reference run (and any live runs). :func:`live_control` is the "train with these
settings" control for Jupyter and Colab.
"""

from __future__ import annotations

import time

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.gridspec import GridSpec

from ..annealing_lab import (
    ACTIVE_THRESHOLD,
    FLOORS,
    RATES,
    STARTS,
    LabConfig,
    Setting,
    discrete_run,
    lookup,
)

WIDTH = 6.8  # inches: the text column (688 px at 1280 px) at dpi 100
FONT = 9
SHOWN = 6  # test images, reconstructions and prior samples shown per run


def _mosaic(images: np.ndarray, ncol: int) -> np.ndarray:
    """(N, 784) uint8 -> one (rows*28, ncol*28) float mosaic in [0, 1]."""
    n = len(images)
    rows = -(-n // ncol)
    cells = np.zeros((rows * ncol, 28, 28), dtype=np.float32)
    cells[:n] = images.reshape(n, 28, 28) / 255.0
    return (
        cells.reshape(rows, ncol, 28, 28)
        .transpose(0, 2, 1, 3)
        .reshape(rows * 28, ncol * 28)
    )


def _plain_log_ticks(ax) -> None:
    """Ticks 0.05, 0.1, 0.2, 0.5, 1, 2, ... written as plain numbers on a log axis."""
    ticks = [m * 10.0**e for e in range(-3, 3) for m in (1, 2, 5)]
    ax.yaxis.set_major_locator(mticker.FixedLocator(ticks))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(mticker.NullLocator())


def _power_ticks(axis) -> None:
    """Log-axis labels as plain text (1e-2, 1, 1e2): mathtext costs time per move."""
    axis.set_major_formatter(
        mticker.FuncFormatter(
            lambda v, _: (
                f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("1e0", "1")
            )
        )
    )
    axis.set_minor_locator(mticker.NullLocator())


def _style(ax, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


class ScheduleFigure:
    """The lab's figure for one schedule (``"temperature"`` or ``"sharpness"``).

    Built once (axes, limits, reference lines); :meth:`show` only moves artists, so a
    slider move costs one render. ``extra`` live runs are drawn in black on top.
    """

    def __init__(self, grid: dict, param: str = "temperature"):
        self.grid, self.param = grid, param
        prefix = "tau" if param == "temperature" else "beta"
        runs = [r for k, r in grid["runs"].items() if k.startswith(prefix)]
        self.fig = fig = plt.figure(figsize=(WIDTH, 4.0))
        gs = GridSpec(2, 3, figure=fig, height_ratios=[1.3, 1], hspace=0.55, wspace=0.5)
        self.ax_s, self.ax_e, self.ax_v = (fig.add_subplot(gs[0, i]) for i in range(3))
        bottom = gs[1, :].subgridspec(1, 2, width_ratios=[2, 1], wspace=0.08)
        self.ax_r, self.ax_p = fig.add_subplot(bottom[0]), fig.add_subplot(bottom[1])
        steps = grid["config"]["steps"]
        symbol = "tau" if param == "temperature" else "beta"
        _style(self.ax_s, "step", f"{symbol}(t)")
        _style(self.ax_e, "step", "-ELBO (nats, train)")
        _style(self.ax_v, "step", "encoder grad. variance")
        self.ax_s.set_yscale("log")
        _plain_log_ticks(self.ax_s)
        self.ax_v.set_yscale("log")
        _power_ticks(self.ax_v.yaxis)
        for ax in (self.ax_s, self.ax_e, self.ax_v):
            ax.set_xlim(-0.02 * steps, 1.02 * steps)
        values = [v for r in runs for v in r["curves"][param]]
        self.ax_s.set_ylim(min(values) / 1.4, max(values) * 1.4)
        best = min(min(r["curves"]["relaxed"] + r["curves"]["hard"]) for r in runs)
        self.ax_e.set_ylim(best - 5, best + 75)
        var = [v for r in runs for v in r["variance"]["value"]]
        low = max(min(var), max(var) * 1e-6)  # a zero variance stays below the axis
        self.ax_v.set_ylim(low / 2, max(var) * 2)
        grey = {"color": "0.6", "lw": 1.0}
        self.ref = {
            "s": self.ax_s.plot([], [], **grey)[0],
            "relaxed": self.ax_e.plot([], [], **grey)[0],
            "hard": self.ax_e.plot([], [], ls="--", **grey)[0],
            "v": self.ax_v.plot([], [], "o-", ms=3, **grey)[0],
        }
        self.cur = {
            "s": self.ax_s.plot([], [], color="C0", lw=1.8)[0],
            "relaxed": self.ax_e.plot([], [], color="C0", lw=1.5, label="relaxed")[0],
            "hard": self.ax_e.plot(
                [], [], color="C3", lw=1.5, ls="--", label="hard (exact z)"
            )[0],
            "v": self.ax_v.plot([], [], "o-", ms=4, color="C0")[0],
        }
        self.ax_e.legend(fontsize=FONT - 0.5, loc="upper right", handlelength=1.5)
        self.live: list = []
        originals = grid["images"]["originals"][:SHOWN]
        blank = np.zeros_like(originals)
        self.recon = self.ax_r.imshow(
            _mosaic(np.concatenate([originals, blank]), len(originals)),
            cmap="gray_r",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        self.prior = self.ax_p.imshow(
            _mosaic(blank, len(blank) // 2),
            cmap="gray_r",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        self.ax_r.set_title("test images / reconstructions (end)", fontsize=FONT)
        self.ax_p.set_title("decoded z ~ p(z) (end)", fontsize=FONT)
        for ax in (self.ax_r, self.ax_p):
            ax.set_axis_off()
        self.title = fig.suptitle("", fontsize=FONT + 1, y=0.995)
        self.note = fig.text(0.5, 0.885, "", ha="center", fontsize=FONT, color="C3")
        fig.subplots_adjust(left=0.09, right=0.98, top=0.85, bottom=0.01)

    def _lines(self, lines: dict, run: dict) -> None:
        c = run["curves"]
        lines["s"].set_data(c["step"], c[self.param])
        lines["relaxed"].set_data(c["step"], c["relaxed"])
        lines["hard"].set_data(c["step"], c["hard"])
        lines["v"].set_data(run["variance"]["step"], run["variance"]["value"])

    def show(
        self, run: dict, reference: dict | None = None, title: str = "", note: str = ""
    ):
        """Draw ``run`` (grey: ``reference``); returns the same Figure every time."""
        self._lines(self.cur, run)
        self._lines(
            self.ref,
            reference
            or {
                "curves": {k: [] for k in run["curves"]},
                "variance": {"step": [], "value": []},
            },
        )
        images = self.grid["images"]
        recon = images.get(f"{run['key']}/recon", run.get("images", {}).get("recon"))
        prior = images.get(f"{run['key']}/prior", run.get("images", {}).get("prior"))
        self.recon.set_data(
            _mosaic(np.concatenate([images["originals"][:SHOWN], recon[:SHOWN]]), SHOWN)
        )
        self.prior.set_data(_mosaic(prior[:SHOWN], SHOWN // 2))
        t = run["test"]
        self.title.set_text(
            f"{title}\ntest -ELBO (first 1,000 test images): hard "
            f"{t['hard_neg_elbo']:.1f}, relaxed {t['relaxed_neg_elbo']:.1f} nats"
        )
        self.note.set_text(note)
        return self.fig

    def add_live(self, run: dict, label: str) -> None:
        """Draw a live run in black on top of the grid (kept across slider moves)."""
        c = run["curves"]
        style = {"color": "k", "lw": 1.2, "ls": ":"}
        self.live += [
            self.ax_s.plot(c["step"], c[self.param], **style)[0],
            self.ax_e.plot(c["step"], c["hard"], label=label, **style)[0],
            self.ax_v.plot(
                run["variance"]["step"], run["variance"]["value"], "s", ms=4, color="k"
            )[0],
        ]
        self.ax_e.legend(fontsize=FONT - 0.5, loc="upper right", handlelength=1.5)


def setting_title(start: float, floor: float, rate: float) -> str:
    if rate == 0:
        return f"tau fixed at {start:g}"
    return f"tau(t) = max({floor:g}, {start:g} exp(-{rate:g} t))"


def temperature_draw(grid: dict, figure: ScheduleFigure | None = None):
    """draw(start, floor, rate) for the scrubber: the shipped run of that schedule,
    and in grey the run that keeps tau fixed at the same start."""
    figure = figure or ScheduleFigure(grid, "temperature")

    def draw(start: float, floor: float, rate: float):
        run, note = lookup(grid, start, floor, rate)
        reference, _ = lookup(grid, start, floor, 0.0)
        return figure.show(
            run,
            None if reference is run else reference,
            setting_title(start, floor, rate),
            note,
        )

    return draw


def beta_draw(grid: dict, figure: ScheduleFigure | None = None):
    """draw(beta_end, schedule) for the f3 smoother: beta fixed at beta_end, or moved
    geometrically from 1 over the first 70 % of the steps; grey: the other one."""
    figure = figure or ScheduleFigure(grid, "sharpness")
    runs = grid["runs"]

    def draw(beta_end: float, schedule: str):
        fixed = runs[Setting(beta_end=beta_end).key]
        annealed = runs[Setting(beta_end=beta_end, beta_start=1.0).key]
        run, other = (fixed, annealed) if schedule == "fixed" else (annealed, fixed)
        how = (
            f"beta fixed at {beta_end:g}"
            if schedule == "fixed"
            else f"beta from 1 to {beta_end:g} (geometric, first 70 %)"
        )
        return figure.show(run, other, f"smoothing f3, {how}")

    return draw


def warmup_draw(grid: dict):
    """draw(warmup, free_bits) for the Gaussian VAEs: beta(t), the KL of each latent
    dimension (sorted), and activity against KL per dimension, updated in place."""
    runs = {
        (r["warmup"], r["free_bits"]): r
        for r in grid["runs"].values()
        if r["kind"] == "gaussian" and r["iw_samples"] == 1
    }
    k = grid["config"]["gaussian_latents"]
    fig, (ax_b, ax_k, ax_a) = plt.subplots(
        1, 3, figsize=(WIDTH, 2.9), gridspec_kw={"width_ratios": [1, 1.2, 1.1]}
    )
    _style(ax_b, "step", "KL weight beta(t)")
    _style(ax_k, "dimension (sorted)", "KL_k (nats, test)")
    _style(ax_a, "KL_k (nats)", "activity A_k")
    ax_b.set_xlim(0, grid["config"]["steps"])
    ax_b.set_ylim(-0.05, 1.05)
    beta_line = ax_b.plot([], [], color="C0", lw=1.8)[0]
    bars = ax_k.bar(np.arange(k), np.zeros(k), width=0.8)
    kl_max = max(max(r["test"]["kl_per_dim"]) for r in runs.values())
    ax_k.set_ylim(0, kl_max * 1.05)
    ax_k.set_xlim(-1, k)
    free = ax_k.axhline(0, color="C3", ls=":", lw=1.2)
    values = [
        (kl, a)
        for r in runs.values()
        for kl, a in zip(r["test"]["kl_per_dim"], r["test"]["activity"])
    ]
    kls, acts = zip(*values)
    dots = ax_a.scatter(np.full(k, max(kls)), np.full(k, max(acts)), s=10)
    ax_a.set_xscale("log")
    ax_a.set_yscale("log")
    _power_ticks(ax_a.xaxis)
    _power_ticks(ax_a.yaxis)
    ax_a.set_xlim(max(min(kls), 1e-5) / 2, max(kls) * 2)
    ax_a.set_ylim(min(max(min(acts), 1e-6) / 2, ACTIVE_THRESHOLD / 2), max(acts) * 2)
    ax_a.axhline(ACTIVE_THRESHOLD, color="0.4", ls="--", lw=1)
    edge = np.array(ax_a.get_xlim())
    ax_a.plot(edge, 2 * edge, color="C3", ls=":", lw=1.2, label="A_k = 2 KL_k")
    ax_a.legend(fontsize=FONT - 0.5, loc="lower right")
    title = fig.suptitle("", fontsize=FONT + 1)
    fig.tight_layout(rect=(0, 0, 1, 0.86))

    def draw(warmup: float, free_bits: float):
        run = runs[(warmup, free_bits)]
        t = run["test"]
        beta_line.set_data(run["curves"]["step"], run["curves"]["beta"])
        kl = np.array(t["kl_per_dim"])
        act = np.array(t["activity"])
        order = np.argsort(-kl)
        active = act > ACTIVE_THRESHOLD
        for bar, h, on in zip(bars, kl[order], active[order]):
            bar.set_height(h)
            bar.set_color("C0" if on else "0.7")
        free.set_ydata([free_bits, free_bits])
        free.set_visible(free_bits > 0)
        dots.set_offsets(np.c_[np.maximum(kl, 1e-5), np.maximum(act, 1e-6)])
        dots.set_color(np.where(active, "C0", "0.6"))
        title.set_text(
            (f"KL warm-up over {warmup:.0%} of training" if warmup else "no KL warm-up")
            + (f", free bits {free_bits:g} nats/dim" if free_bits else ", no free bits")
            + "\n"
            + f"active units {t['active_units']} of {k}, KL {t['kl']:.1f} nats, "
            f"test -ELBO {t['neg_elbo']:.1f} nats"
        )
        return fig

    return draw


def iw_bounds(grid: dict, title: str = ""):
    """-L_S on the test images against S, for the models trained with K = 1, 5, 50."""
    runs = sorted(
        (
            r
            for r in grid["runs"].values()
            if r["kind"] == "gaussian" and not r["warmup"] and not r["free_bits"]
        ),
        key=lambda r: r["iw_samples"],
    )
    fig, ax = plt.subplots(figsize=(WIDTH * 0.62, 2.9))
    for i, r in enumerate(runs):
        bounds = r["test"]["neg_iw_bound"]
        s = [int(k) for k in bounds]
        ax.plot(
            s,
            list(bounds.values()),
            "o-",
            color=f"C{i}",
            ms=4,
            label=f"trained with K = {r['iw_samples']} "
            f"({r['test']['active_units']} active units)",
        )
    ax.set_xscale("log")
    _style(ax, "S (importance samples at test time)", "-L_S (nats, test)")
    ax.legend(fontsize=FONT - 0.5)
    ax.set_title(
        title or "the bound tightens with S; training with K > 1 lowers it",
        fontsize=FONT,
    )
    fig.tight_layout()
    return fig


def teaching_curves(grid: dict, settings: dict[str, tuple[float, float, float]]):
    """Named settings on one figure: tau(t), hard -ELBO, encoder gradient variance."""
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 2.8))
    ylabels = ("tau(t)", "hard -ELBO (nats, train)", "encoder grad. variance")
    for i, (label, (start, floor, rate)) in enumerate(settings.items()):
        run, _ = lookup(grid, start, floor, rate)
        c = run["curves"]
        axes[0].plot(c["step"], c["temperature"], color=f"C{i}", label=label)
        axes[1].plot(c["step"], c["hard"], color=f"C{i}", lw=1)
        axes[2].plot(
            run["variance"]["step"], run["variance"]["value"], "o-", ms=3, color=f"C{i}"
        )
    for ax, ylabel in zip(axes, ylabels):
        _style(ax, "step", ylabel)
    axes[0].set_yscale("log")
    _plain_log_ticks(axes[0])
    axes[2].set_yscale("log")
    best = min(min(lookup(grid, *s)[0]["curves"]["hard"]) for s in settings.values())
    axes[1].set_ylim(best - 3, best + 50)
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        loc="upper center",
        ncol=3,
        fontsize=FONT,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.8))
    return fig


def live_control(
    grid: dict,
    seconds: float = 30.0,
    device: str = "auto",
    config: LabConfig | None = None,
):
    """Jupyter/Colab: schedule sliders and a "train with these settings" button.

    A click trains the lab's binary VAE under the chosen schedule (at most ``seconds``,
    on the GPU when there is one), with a progress bar and a loss plot that follows
    training, then draws the run in black into the comparison figure, over the shipped
    grid's run of the same setting. Returns the widget box.
    """
    import ipywidgets as widgets
    from IPython.display import display

    config = config or LabConfig(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in grid["config"].items()}
    )
    sliders = {
        name: widgets.SelectionSlider(
            options=list(values),
            value=values[1],
            description=name,
            style={"description_width": "4em"},
            layout=widgets.Layout(width="22em"),
        )
        for name, values in (("start", STARTS), ("floor", FLOORS), ("rate", RATES))
    }
    button = widgets.Button(
        description="train with these settings",
        button_style="primary",
        layout=widgets.Layout(width="22em"),
    )
    progress, curves, comparison = widgets.Output(), widgets.Output(), widgets.Output()
    figure = ScheduleFigure(grid, "temperature")
    plt.close(figure.fig)  # shown only inside the control, never as a stray output
    draw = temperature_draw(grid, figure)

    def on_click(_):
        values = {n: s.value for n, s in sliders.items()}
        progress.clear_output()
        try:
            setting = Setting(values["start"], values["floor"], values["rate"])
        except ValueError as err:
            with progress:
                print("refused:", err)
            return
        fig, ax = plt.subplots(figsize=(WIDTH * 0.6, 2.4))
        _style(ax, "step", "-ELBO (nats, train)")
        relaxed = ax.plot([], [], color="C0", label="relaxed")[0]
        hard = ax.plot([], [], color="C3", ls="--", label="hard")[0]
        ax.legend(fontsize=FONT - 0.5)
        fig.tight_layout()
        plt.close(fig)
        shown = [0.0]

        def follow(run):
            if time.perf_counter() - shown[0] < 1.0:  # at most one redraw a second
                return
            c = run["curves"]
            relaxed.set_data(c["step"], c["relaxed"])
            hard.set_data(c["step"], c["hard"])
            ax.relim()
            ax.autoscale_view()
            ax.set_ylim(
                min(c["relaxed"] + c["hard"]) - 5, min(c["relaxed"] + c["hard"]) + 120
            )
            with curves:
                curves.clear_output(wait=True)
                display(fig)
            shown[0] = time.perf_counter()

        button.disabled = True
        try:
            with progress:
                run = discrete_run(
                    setting,
                    config,
                    device,
                    time_limit=seconds,
                    callback=follow,
                    progress=True,
                )
        finally:
            button.disabled = False
        shown[0] = 0.0
        follow(run)
        figure.add_live(run, f"live: {run['steps']} steps")
        box.live_runs.append(run)
        with comparison:
            comparison.clear_output(wait=True)
            display(draw(**values))

    button.on_click(on_click)
    box = widgets.VBox([*sliders.values(), button, progress, curves, comparison])
    box.live_runs, box.figure = (
        [],
        figure,
    )  # what the clicks trained, and the comparison
    return box
