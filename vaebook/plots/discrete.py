"""Figures for the chapters on discrete latents and the straight-through estimator
(:mod:`vaebook.discrete`, :mod:`vaebook.discrete_vae`).

Each function returns a matplotlib Figure sized for the book's text column (at most 6.8
in wide at 100 dpi, text of 9 pt or more). Shapes: S samples, K latents, C classes, N
images. :class:`EstimatorBarsFigure` is a slider figure: built once, updated in place.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .core import show_images
from .style import FONT, WIDTH, SliderFigure


def _np(t) -> "numpy.ndarray":  # noqa: F821
    return torch.as_tensor(t).detach().double().cpu().numpy()


def inverse_cdf_sampler(
    p: torch.Tensor, u: torch.Tensor, title: str = ""
) -> plt.Figure:
    """The unit interval cut into segments of lengths p_1, ..., p_C; each uniform u
    picks the segment it lands in."""
    p, u = _np(p), _np(u)
    edges = [0.0, *p.cumsum()]
    fig, ax = plt.subplots(figsize=(WIDTH, 1.9))
    for j in range(len(p)):
        ax.axvspan(
            edges[j], edges[j + 1], ymin=0.35, ymax=0.95, color=f"C{j}", alpha=0.35
        )
        ax.text(
            (edges[j] + edges[j + 1]) / 2,
            0.65,
            f"e$_{j + 1}$\np = {p[j]:.2f}",
            ha="center",
            va="center",
            fontsize=FONT,
        )
    chosen = (u[:, None] >= torch.as_tensor(edges[1:-1]).numpy()[None]).sum(1)
    ax.scatter(u, [0.15] * len(u), c=[f"C{j}" for j in chosen], marker="|", s=200)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.tick_params(labelsize=FONT)
    ax.set_xlabel(
        f"u ~ U(0, 1) ({len(u)} draws, coloured by the class they select)",
        fontsize=FONT,
    )
    ax.set_title(
        title
        or "inverse-CDF sampling: z = e$_j$ for u in "
        "[p$_1$+...+p$_{j-1}$, p$_1$+...+p$_j$)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def frequencies_vs_probabilities(
    panels: dict[str, tuple[torch.Tensor, torch.Tensor]],
    num_samples: int,
    title: str = "",
) -> plt.Figure:
    """For each panel (p, observed frequencies): bars of p and the frequencies with +-2
    standard errors."""
    fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 3.2), squeeze=False)
    for ax, (label, (p, freq)) in zip(axes[0], panels.items()):
        p, freq = _np(p).reshape(-1), _np(freq).reshape(-1)
        se = (p * (1 - p) / num_samples) ** 0.5
        idx = range(len(p))
        ax.bar(idx, p, color="C7", alpha=0.5, label="probability p")
        ax.errorbar(
            idx,
            freq,
            yerr=2 * se,
            fmt="o",
            color="C3",
            ms=4,
            capsize=3,
            label="frequency (+-2 s.e.)",
        )
        ax.set_xticks(list(idx))
        ax.set_xlabel("latent" if "Bernoulli" in label else "class", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.set_title(label, fontsize=FONT)
        ax.grid(alpha=0.3, axis="y")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=2, fontsize=FONT, frameon=False
    )
    fig.suptitle(title or f"{num_samples:,} samples per latent", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def collapse_curves(
    traces: dict[str, dict[str, list[float]]], title: str = ""
) -> plt.Figure:
    """Per-step training curves of several models: the KL term (log scale) and the -ELBO
    of each batch."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    for i, (label, trace) in enumerate(traces.items()):
        ax1.semilogy(trace["kl"], color=f"C{i}", lw=1, label=label)
        ax2.plot(trace["neg_elbo"], color=f"C{i}", lw=1, label=label)
    late = [
        v
        for trace in traces.values()
        for v in trace["neg_elbo"][len(trace["neg_elbo"]) // 20 :]
    ]
    if late:  # leave out the first few steps, whose -ELBO dwarfs the rest
        ax2.set_ylim(min(late) - 5, max(late) + 5)
    ax1.set_ylabel("KL(q(z|x) || p(z)), nats per image", fontsize=FONT)
    ax2.set_ylabel("-ELBO, nats per image", fontsize=FONT)
    for ax in (ax1, ax2):
        ax.set_xlabel("training step (batch mean)", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3, which="both")
    handles, labels = ax1.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        fontsize=FONT,
        frameon=False,
    )
    fig.suptitle(title or "training, step by step", fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def probability_histograms(
    probs: dict[str, torch.Tensor], title: str = ""
) -> plt.Figure:
    """Histograms of the encoder's probabilities p = q(z_k = 1 | x) over images and
    latents, one panel per model."""
    fig, axes = plt.subplots(1, len(probs), figsize=(WIDTH, 3.0), squeeze=False)
    for i, (ax, (label, p)) in enumerate(zip(axes[0], probs.items())):
        values = _np(p).reshape(-1)
        ax.hist(values, bins=50, range=(0, 1), color=f"C{i}")
        ax.set_yscale("log")
        ax.set_ylim(0.5, 2 * len(values))
        ax.set_xlabel("q(z$_k$ = 1 | x)", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.set_title(label, fontsize=FONT)
    axes[0, 0].set_ylabel("count (images x latents)", fontsize=FONT)
    fig.suptitle(title or "the encoder's Bernoulli probabilities", fontsize=10)
    fig.tight_layout()
    return fig


def image_rows(rows: dict[str, torch.Tensor], title: str = "") -> plt.Figure:
    """Rows of MNIST-sized images (N, 784) of equal length, each with its label."""
    n = len(next(iter(rows.values())))
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(min(WIDTH, 0.58 * n), 0.9 * len(rows)), squeeze=False
    )
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        show_images(images, n, "", ax)
        ax.set_title(label, fontsize=FONT)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


@torch.no_grad()
def hard_reconstructions(
    model, x: torch.Tensor, num_samples: int = 2, title: str = ""
) -> plt.Figure:
    """Inputs above decoder means E[x|z] for ``num_samples`` exact discrete samples
    z ~ q(z|x) each."""
    z = model.encode(x).sample((num_samples,))
    rows = {"input x": x}
    rows.update(
        {
            f"E[x | z], z ~ q(z|x), sample {s + 1}": model.decode(z[s]).mean
            for s in range(num_samples)
        }
    )
    return image_rows(rows, title)


def gradient_histograms(
    samples: dict[str, torch.Tensor],
    exact: torch.Tensor,
    title: str = "",
    bins: int = 40,
    straight_through_mean: torch.Tensor | None = None,
) -> plt.Figure:
    """Single-sample gradient estimates (S, K) of several estimators, one panel per
    coordinate k, with the exact gradient (black) and, if given, the straight-through
    mean (dashed). Each panel's title gives the exact value; one legend names the
    colours."""
    exact = _np(exact).reshape(-1)
    values = {k: _np(v).reshape(len(v), -1) for k, v in samples.items()}
    num = len(exact)
    cols = min(num, 3)
    rows = -(-num // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(WIDTH, 1.9 * rows + 0.9), squeeze=False
    )
    for k, ax in enumerate(axes.flat):
        if k >= num:
            ax.set_axis_off()
            continue
        _coordinate_histograms(ax, k, values, exact, bins, straight_through_mean)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=2, fontsize=FONT, frameon=False
    )
    fig.suptitle(title or "single-sample gradient estimates", fontsize=10)
    fig.tight_layout(rect=(0, 0.5 / (1.9 * rows + 0.9) + 0.06, 1, 1))
    return fig


def _coordinate_histograms(ax, k, values, exact, bins, straight_through_mean):
    """Panel k: each estimator's histogram and mean, the exact gradient, the
    straight-through mean if given."""
    pooled = torch.cat([torch.as_tensor(v[:, k]) for v in values.values()])
    lo, hi = pooled.quantile(0.005).item(), pooled.quantile(0.995).item()
    lo, hi = min(lo, exact[k]) - 1e-3, max(hi, exact[k]) + 1e-3
    for i, (label, v) in enumerate(values.items()):
        ax.hist(
            v[:, k].clip(lo, hi),
            bins=bins,
            range=(lo, hi),
            color=f"C{i}",
            alpha=0.5,
            density=True,
            label=f"{label} (line: its mean)",
        )
        ax.axvline(v[:, k].mean(), color=f"C{i}", lw=1.5)
    ax.axvline(exact[k], color="k", lw=1.5, label="exact gradient")
    if straight_through_mean is not None:
        ax.axvline(
            _np(straight_through_mean).reshape(-1)[k],
            color="k",
            ls="--",
            lw=1,
            label="straight-through, exact mean",
        )
    ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=FONT)
    ax.set_title(f"coordinate {k + 1}: exact {exact[k]:+.3f}", fontsize=FONT)


def bias_curves(
    x_values,
    curves: dict[str, torch.Tensor],
    xlabel: str,
    ylabel: str = "bias of straight-through",
    title: str = "",
    points: dict[str, tuple] | None = None,
) -> plt.Figure:
    """Curves (one per label) against ``x_values``; ``points`` adds markers (x, y) or
    (x, y, standard error), e.g. Monte Carlo estimates, drawn with +-2 standard errors.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for i, (label, y) in enumerate(curves.items()):
        ax.plot(_np(x_values), _np(y), color=f"C{i}", label=label)
    for label, (xs, ys, *se) in (points or {}).items():
        ax.errorbar(
            _np(xs),
            _np(ys),
            yerr=2 * _np(se[0]) if se else None,
            fmt="o",
            color="k",
            ms=4,
            capsize=3,
            label=label,
        )
    ax.axhline(0, color="C7", lw=0.8)
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


class EstimatorBarsFigure(SliderFigure):
    """Per coordinate: the exact gradient (grey bar), each estimator's mean with +-2
    standard errors, and optional markers (e.g. an estimator's exact mean). Built once
    for ``num`` coordinates and the given labels; :meth:`update` moves every artist and
    returns the same Figure (a slider frame)."""

    def __init__(
        self,
        num: int,
        estimates: list[str],
        markers: list[str] = (),
        ylim: tuple[float, float] | None = None,
        size=(WIDTH, 3.6),
    ):
        self.idx = torch.arange(num).double().numpy()
        self.fig = Figure(figsize=size)
        ax = self.ax = self.fig.subplots()
        self._draw_artists(num, estimates, markers)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(self.idx, [str(i + 1) for i in range(num)])
        ax.set_xlabel("coordinate k of d/dlogits", fontsize=FONT)
        ax.set_ylabel("gradient", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        self.fixed_ylim = ylim is not None
        if ylim is not None:
            ax.set_ylim(*ylim)
        labels = self._legend(estimates, markers)
        ax.grid(alpha=0.3, axis="y")
        self.title = ax.set_title(" ", fontsize=10)
        rows = -(-len(labels) // 2)  # legend rows below the axes
        self.fig.tight_layout(rect=(0, 0.065 * rows, 1, 1))
        errorbars = [a for c in self.errorbars.values() for a in c.get_children()]
        self.moves(*self.bars, *errorbars, *self.markers.values(), self.title)

    def _draw_artists(self, num: int, estimates: list[str], markers: list[str]):
        """Zero-height bars, error bars and markers, moved by :meth:`draw`."""
        ax = self.ax
        self.bars = ax.bar(
            self.idx, [0.0] * num, color="C7", alpha=0.5, label="exact (enumeration)"
        )
        width = 0.5 / max(len(estimates), 1)
        self.offsets = {
            label: -0.25 + (i + 0.5) * width for i, label in enumerate(estimates)
        }
        zeros = [0.0] * num
        self.errorbars = {
            label: ax.errorbar(
                self.idx + self.offsets[label],
                zeros,
                yerr=zeros,
                fmt="o",
                color=f"C{i}",
                ms=4,
                capsize=2,
                label=label,
            )
            for i, label in enumerate(estimates)
        }
        self.markers = {
            label: ax.plot(
                self.idx, zeros, "_", color=f"C{i}", ms=14, mew=2, label=label
            )[0]
            for i, label in enumerate(markers)
        }

    def _legend(self, estimates: list[str], markers: list[str]) -> list[str]:
        """The figure legend below the axes; returns its labels."""
        # plain proxy handles: a legend of error-bar containers costs a third of a frame
        handles = [Patch(color="C7", alpha=0.5)]
        handles += [
            Line2D([], [], marker="o", ls="", ms=4, color=f"C{i}")
            for i in range(len(estimates))
        ]
        handles += [
            Line2D([], [], marker="_", ls="", ms=14, mew=2, color=f"C{i}")
            for i in range(len(markers))
        ]
        labels = [
            "exact (enumeration)",
            *[f"{e} (+-2 s.e.)" for e in estimates],
            *markers,
        ]
        self.fig.legend(
            handles, labels, loc="lower center", ncol=2, fontsize=FONT, frameon=False
        )
        return labels

    def draw(
        self,
        exact,
        estimates: dict[str, tuple],
        markers: dict | None = None,
        title: str = "",
    ) -> Figure:
        """``exact`` (num,), ``estimates``: label -> (mean (num,), standard error
        (num,)), ``markers``: label -> values (num,)."""
        for bar, value in zip(self.bars, _np(exact).reshape(-1).tolist()):
            bar.set_height(value)
        for label, (mean, se) in estimates.items():
            x = self.idx + self.offsets[label]
            y, err = _np(mean).reshape(-1), 2 * _np(se).reshape(-1)
            line, (cap_lo, cap_hi), (segments,) = self.errorbars[label]
            line.set_data(x, y)
            cap_lo.set_data(x, y - err)
            cap_hi.set_data(x, y + err)
            segments.set_segments(
                [[(a, b - e), (a, b + e)] for a, b, e in zip(x, y, err)]
            )
        for label, values in (markers or {}).items():
            self.markers[label].set_ydata(_np(values).reshape(-1))
        if not self.fixed_ylim:  # fit every value shown (errorbars are not autoscaled)
            values = [_np(exact).reshape(-1), 0 * self.idx]
            values += [
                _np(m).reshape(-1) + s * 2 * _np(e).reshape(-1)
                for m, e in estimates.values()
                for s in (-1, 1)
            ]
            values += [_np(v).reshape(-1) for v in (markers or {}).values()]
            lo, hi = min(v.min() for v in values), max(v.max() for v in values)
            self.ax.set_ylim(lo - 0.08 * (hi - lo), hi + 0.08 * (hi - lo))
        self.title.set_text(title)
        return self.fig
