"""Figures for the smoothing-transformation chapter (:mod:`vaebook.smoothing`).

Each function returns a matplotlib Figure sized for the book's column (6.8 in at 100
dpi, text >= 9 pt). ``u`` ~ U(0, 1) is the noise, ``p`` = q(z=1|x).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .. import smoothing as sm
from ..training import column
from .style import FONT, WIDTH, SliderFigure

NOTES = {"f1": sm.f1, "f2": sm.f2, "f3": sm.f3}
PUBLISHED = {
    "DVAE spike-and-exponential": sm.spike_exp,
    "DVAE++ overlapping exponentials": sm.overlapping_exp,
    "DVAE# power function": sm.power_function,
}
STYLES = (":", "-", "--")  # the notes' Figure 1: dotted < solid < dashed sharpness


def _grid(steps: int = 801) -> torch.Tensor:
    return torch.linspace(0, 1, steps, dtype=torch.float64)


def _step(ax, p: float, u: torch.Tensor):
    (line,) = ax.plot(
        u.numpy(),
        sm.step(torch.tensor(p, dtype=u.dtype), u).numpy(),
        color="0.75",
        lw=3,
        zorder=1,  # under the curves, over the grid (axes.axisbelow)
        label="step 1[u >= 1-p]",
    )
    return line


def figure_one(sharpnesses: tuple[float, float, float], ps=(0.2, 0.5, 0.8)):
    """The notes' Figure 1: f1, f2, f3 (rows) for p in ``ps`` (columns) and three
    sharpnesses kappa (dotted < solid < dashed), with the step they approach in grey."""
    u = _grid()
    fig, axes = plt.subplots(
        len(NOTES),
        len(ps),
        figsize=(WIDTH, 5.6),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for row, (name, f) in enumerate(NOTES.items()):
        for col, p in enumerate(ps):
            ax = axes[row, col]
            _step(ax, p, u)
            for kappa, style in zip(sharpnesses, STYLES):
                zeta = f(kappa, torch.tensor(p, dtype=u.dtype), u)
                ax.plot(
                    u.numpy(), zeta.numpy(), style, color="C0", label=f"κ = {kappa:g}"
                )
            ax.tick_params(labelsize=FONT)
            ax.set_title(f"{name}, p = {p:g}", fontsize=FONT + 1)
            if col == 0:
                ax.set_ylabel(f"zeta = {name}", fontsize=FONT)
            if row == len(NOTES) - 1:
                ax.set_xlabel("u", fontsize=FONT)
    axes[0, 0].legend(fontsize=FONT - 0.5, loc="upper left", handlelength=1.5)
    fig.tight_layout()
    return fig


def _derivatives(sharpness: float, p: float, u: torch.Tensor) -> dict[str, tuple]:
    """{name: (zeta, d zeta / d p)} of f1, f2, f3 at (kappa, p) on the grid u
    (numpy)."""
    out = {}
    for name, f in NOTES.items():
        q = torch.full_like(u, p).requires_grad_(True)  # one p per u: pointwise
        zeta = f(sharpness, q, u)
        (grad,) = torch.autograd.grad(zeta.sum(), q)
        out[name] = (zeta.detach().numpy(), grad.numpy())
    return out


class SmoothersFigure(SliderFigure):
    """Left: f1, f2, f3 and the step against u at (kappa, p); right: d zeta / d p, the
    gradient the encoder receives through the latent (autograd), on a symlog scale.

    One figure, updated in place by :meth:`draw` (a slider's draw function: it returns
    the same Figure every call). The curves of every (kappa, p) asked for are computed
    once and cached (those of ``sharpnesses`` x ``ps`` up front). The gradient axis is
    the same in every frame, up to 3e4: f1's peak, (e^kappa - 1) / (kappa p), leaves it
    at large kappa.
    """

    def __init__(self, sharpnesses=(), ps=(), steps: int = 601):
        self.u = _grid(steps)
        self.cache: dict[tuple[float, float], dict] = {}
        for kappa in sharpnesses:  # compute every frame's curves now, not per move
            for p in ps:
                self._curves(kappa, p)
        self.fig, (self.ax, self.ax_g) = plt.subplots(1, 2, figsize=(WIDTH, 3.0))
        u = self.u.numpy()
        self.step = _step(self.ax, 0.5, self.u)
        self.lines, self.grads = {}, {}
        for i, name in enumerate(NOTES):
            (self.lines[name],) = self.ax.plot(u, u, color=f"C{i}", label=name)
            (self.grads[name],) = self.ax_g.plot(u, u, color=f"C{i}", label=name)
        self.joins = [
            a.axvline(0.5, color="0.5", lw=0.6, ls=":") for a in (self.ax, self.ax_g)
        ]
        for a in (self.ax, self.ax_g):  # few tick labels: each one costs time per frame
            a.set_xlabel("u  (dotted: 1 - p)", fontsize=FONT)
            a.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", "", "0.5", "", "1"])
            a.tick_params(labelsize=FONT)
            a.grid(alpha=0.3)
        self.ax.set_ylim(-0.04, 1.04)
        self.ax.set_yticks([0, 0.25, 0.5, 0.75, 1], ["0", "", "0.5", "", "1"])
        self.ax.legend(fontsize=FONT, loc="upper left")
        self.ax_g.set_title("d zeta / d p (to the encoder)", fontsize=FONT + 1)
        self.ax_g.set_yscale("symlog", linthresh=1.0)
        # fixed ticks, plain labels: symlog's mathtext labels and minor ticks cost most
        # of a frame's rendering time
        self.ax_g.yaxis.set_major_locator(FixedLocator([0, 1, 10, 100, 1000, 10000]))
        self.ax_g.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        self.ax_g.yaxis.set_minor_locator(NullLocator())
        self.ax_g.set_ylim(0, 3e4)  # one scale for all frames; f1's peak may leave it
        # fixed margins, no layout engine: with one, each savefig draws the figure twice
        self.fig.subplots_adjust(
            left=0.075, right=0.99, bottom=0.16, top=0.9, wspace=0.22
        )
        curves = [self.step, *self.lines.values(), *self.grads.values(), *self.joins]
        self.moves(*curves, self.ax.title)  # the first move blits too

    def _curves(self, sharpness: float, p: float) -> dict:
        key = (float(sharpness), float(p))
        if key not in self.cache:
            self.cache[key] = _derivatives(sharpness, p, self.u)
        return self.cache[key]

    def draw(self, sharpness: float, p: float):
        """Update the figure to (kappa, p) and return it (the same Figure every
        call)."""
        curves = self._curves(sharpness, p)
        self.step.set_ydata((self.u.numpy() >= 1 - p).astype(float))
        for name, (zeta, grad) in curves.items():
            self.lines[name].set_ydata(zeta)
            self.grads[name].set_ydata(grad)
        for line in self.joins:
            line.set_xdata([1 - p, 1 - p])
        self.ax.set_title(
            f"zeta = f(κ, p, u): κ = {sharpness:g}, p = {p:g}", fontsize=FONT + 1
        )
        return self.fig


def published_inverse_cdfs(sharpnesses: dict[str, float], ps=(0.2, 0.5, 0.8)):
    """zeta(u) = F^-1(u) of the three published mixtures at their published sharpnesses
    kappa (one panel each), for several q = p, with the step in grey."""
    u = _grid(601)[1:-1]  # open interval: the power function's bisection needs no ends
    fig, axes = plt.subplots(1, len(PUBLISHED), figsize=(WIDTH, 2.9), sharey=True)
    for ax, (name, f) in zip(axes, PUBLISHED.items()):
        kappa = sharpnesses[name]
        for i, p in enumerate(ps):
            q = torch.tensor(p, dtype=u.dtype)
            ax.plot(u.numpy(), sm.step(q, u).numpy(), color=f"C{i}", lw=3, alpha=0.2)
            ax.plot(
                u.numpy(), f(kappa, q, u).numpy(), color=f"C{i}", label=f"q = {p:g}"
            )
        family, _, shape = name.partition(" ")
        ax.set_title(f"{family}\n{shape}\nκ = {kappa:g}", fontsize=FONT)
        ax.set_xlabel("u", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("zeta = F^-1(u)", fontsize=FONT)
    axes[0].legend(fontsize=FONT, loc="upper left")
    fig.tight_layout()
    return fig


def _as_runs(history) -> list[list[dict]]:
    """One history (a list of epoch rows) or several (one per seed): a list of them."""
    return [history] if history and isinstance(history[0], dict) else list(history)


def _style(label: str, colors: dict[str, str]) -> dict:
    """Colour per smoother named in ``label`` (f1, f2, f3: C0, C1, C2 in every figure;
    other estimators get the next colours), dashed for an annealed sharpness, black and
    thick for a long run."""
    if "long" in label:
        return {"color": "k", "ls": "-", "lw": 1.8}
    key = next((f for f in NOTES if f in label), label)
    if key not in colors:
        others = sum(k not in NOTES for k in colors)  # estimators seen before
        index = list(NOTES).index(key) if key in NOTES else len(NOTES) + others
        colors[key] = f"C{index}"
    return {"color": colors[key], "ls": "--" if "anneal" in label else "-", "lw": 1.3}


def _mean_and_range(ax, runs: list[list[dict]], key: str, style: dict, label=None):
    """Mean over the runs (seeds) as a line, their range (min to max) as a band."""
    steps = column(runs[0], "step")
    values = [column(h, key) for h in runs]
    if any(column(h, "step") != steps for h in runs):
        raise ValueError(f"{label}: the seeds' histories are not at the same steps")
    values = np.array(values)  # (seeds, epochs)
    ax.plot(steps, values.mean(0), label=label, **style)
    if len(runs) > 1:
        low, high = values.min(0), values.max(0)
        ax.fill_between(steps, low, high, color=style["color"], alpha=0.18, lw=0)


def smoother_curves(
    histories: dict,
    reference: float | None = None,
    title: str = "",
    log_steps: bool = False,
    top: float = 200.0,
):
    """Left: the test -ELBO with exact binary z (the discrete bound) against optimizer
    steps; right: the sharpness kappa each smoother trained with (end of each epoch).

    ``histories``: {label: history, or a list of histories (one per seed)}; with
    several seeds the line is their mean and the band their range (min to max). One
    colour per smoother named in the label (f1, f2, f3; other labels, e.g. Gumbel
    estimators, get their own and no sharpness curve); dashed: annealed sharpness
    ("anneal" in the label); black: a long run ("long" in the label). ``reference``: a
    literature value (dotted line); ``log_steps``: a log step axis (runs of different
    lengths).
    """
    fig, (ax, ax_b) = plt.subplots(
        1, 2, figsize=(WIDTH, 4.2), gridspec_kw={"width_ratios": [1.7, 1]}
    )
    seeds = _draw_runs(ax, ax_b, histories)
    if reference is not None:
        ax.axhline(
            reference, color="k", lw=1, ls=":", label=f"Jang et al.: {reference:g}"
        )
    low, high = ax.get_ylim()
    ax.set_ylim(low, min(high, top))
    _label_axes(ax, ax_b, log_steps)
    _legend_and_title(fig, ax, seeds, title)
    return fig


def _draw_runs(ax, ax_b, histories: dict) -> set:
    """Each label's -ELBO (left) and, for a smoother, its sharpness (right); returns
    the numbers of seeds seen."""
    colors: dict[str, str] = {}
    seeds = set()
    for label, history in histories.items():
        runs, style = _as_runs(history), _style(label, colors)
        seeds.add(len(runs))
        _mean_and_range(ax, runs, "test_hard_neg_elbo", style, label)
        if any(f in label for f in NOTES):
            _mean_and_range(ax_b, runs, "test_sharpness", style)
    return seeds


def _label_axes(ax, ax_b, log_steps: bool):
    """Axis labels, the step scale, ticks and grids of both panels."""
    ax.set_ylabel("test -ELBO, binary z (nats)", fontsize=FONT)
    ax_b.set_ylabel("sharpness κ", fontsize=FONT)
    for a in (ax, ax_b):
        if log_steps:
            a.set_xscale("log")
        a.set_xlabel(
            "optimizer steps" + (" (log scale)" if log_steps else ""), fontsize=FONT
        )
        a.tick_params(labelsize=FONT)
        a.grid(alpha=0.3)


def _legend_and_title(fig, ax, seeds: set, title: str):
    """The legend below both panels, the title (with the seed note), the layout."""
    handles, labels = ax.get_legend_handles_labels()
    ncol = 3 if len(labels) > 4 else 2
    fig.legend(
        handles, labels, fontsize=FONT, ncol=ncol, loc="lower center", frameon=False
    )
    several = max(seeds, default=1)
    note = f"\nline: mean of {several} seeds, band: their range" if several > 1 else ""
    fig.suptitle(
        (title or "binary VAEs trained with smoothing transformations") + note,
        fontsize=FONT + 1,
    )
    rows = -(-len(labels) // ncol)
    fig.tight_layout(rect=(0, 0.02 + 0.052 * rows, 1, 1))
