"""Figures for the reparameterizable families of :mod:`vaebook.reparam`.

Each function returns a matplotlib Figure. The ``*Frame`` classes are slider figures
(:class:`~vaebook.plots.style.SliderFigure`): each builds one figure once and every
``draw`` updates its artists in place and returns the same Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import distributions as D

from .style import FONT, SliderFigure, freeze_layout


def _density_data(
    q: D.Distribution,
    num_samples: int,
    bins: int,
    clip: float,
    limits: tuple[float, float] | None = None,
    draws: torch.Tensor | None = None,
):
    """Histogram heights and edges of ``q.rsample`` draws (or of ``draws``, if given),
    and exp(log_prob) on a grid.

    The range is ``limits`` or the ``clip`` and ``1 - clip`` quantiles of the draws;
    heights are normalized by all draws (mass outside the range is left out).
    """
    with torch.no_grad():
        draws = q.rsample((num_samples,)) if draws is None else draws
        num_samples = draws.numel()
        z = draws.double().reshape(-1)
        if limits is None:
            lo, hi = torch.quantile(
                z, torch.tensor([clip, 1 - clip], dtype=z.dtype)
            ).tolist()
        else:
            lo, hi = limits
        counts, edges = np.histogram(z.numpy(), bins=bins, range=(lo, hi))
        grid = torch.linspace(lo, hi, 400, dtype=draws.dtype)
        inside = grid
        support = q.support
        if isinstance(support, torch.distributions.constraints._Interval):
            inside = grid.clamp(
                float(support.lower_bound) + 1e-6, float(support.upper_bound) - 1e-6
            )
        density = q.log_prob(inside).exp().double()
        density = torch.where(inside == grid, density, torch.zeros_like(density))
    heights = counts / (num_samples * (edges[1] - edges[0]))
    return heights, edges, grid.double().numpy(), density.numpy()


def _samples_and_density(ax, heights, edges, grid, density, label: str):
    """A filled histogram of draws (``label``) under the density: (stairs, line)."""
    hist = ax.stairs(heights, edges, fill=True, alpha=0.35, color="C0", label=label)
    (line,) = ax.plot(grid, density, color="C3", lw=1.5, label="exp(log_prob)")
    return hist, line


def plot_samples_vs_density(
    q: D.Distribution,
    num_samples: int = 20_000,
    ax=None,
    title: str = "",
    bins: int = 60,
    clip: float = 0.005,
):
    """A histogram of ``q.rsample`` draws (normalized by all draws) vs exp(q.log_prob).

    ``q`` is a scalar distribution. The plotted range runs between the ``clip`` and
    ``1 - clip`` quantiles of the draws.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.4, 2.6))
    heights, edges, grid, density = _density_data(q, num_samples, bins, clip)
    _samples_and_density(
        ax, heights, edges, grid, density, f"{num_samples:,} rsample draws"
    )
    ax.set_title(title, fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    return ax.figure


def plot_families(
    families: dict, num_samples: int = 20_000, ncols: int = 3, width: float = 6.8
) -> Figure:
    """One small panel per family of :data:`vaebook.reparam.FAMILIES` at its default
    parameters: rsample draws against exp(log_prob). Cauchy is clipped harder (heavy
    tails)."""
    nrows = -(-len(families) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 1.75 * nrows))
    for ax, (name, family) in zip(axes.flat, families.items()):
        q = family.make(**{k: torch.tensor(v) for k, v in family.params.items()})
        plot_samples_vs_density(
            q, num_samples, ax, name, clip=0.03 if name == "Cauchy" else 0.005
        )
        ax.set_yticks([])
    for ax in list(axes.flat)[len(families) :]:
        ax.set_axis_off()
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=FONT, frameon=False)
    fig.tight_layout()
    return fig


class DensityFrame(SliderFigure):
    """A slider figure: rsample draws of a scalar q against exp(log_prob), in place.

    ``draw(q, title)`` updates the histogram, the density curve and the title and
    returns the same Figure on every call; ``draw(q, title, draws)`` histograms
    draws made beforehand (e.g. cached outside the slider). ``xlim`` fixes the
    plotted range (else the draws' quantiles); ``ylim`` fixes the height (else it
    follows the frame).
    """

    def __init__(
        self,
        xlim: tuple[float, float] | None = None,
        ylim: tuple[float, float] | None = None,
        num_samples: int = 20_000,
        bins: int = 60,
        clip: float = 0.005,
        figsize: tuple[float, float] = (6.4, 2.6),
    ):
        self.xlim, self.ylim = xlim, ylim
        self.num_samples, self.bins, self.clip = num_samples, bins, clip
        self.fig = Figure(figsize=figsize)
        self.ax = self.fig.add_subplot()
        self.hist, self.line = _samples_and_density(
            self.ax,
            np.zeros(bins),
            np.linspace(0, 1, bins + 1),
            [],
            [],
            f"{num_samples:,} rsample draws",
        )
        self.title = self.ax.set_title(" ", fontsize=FONT)
        self.ax.tick_params(labelsize=FONT)
        self.ax.set_xlabel("z", fontsize=FONT)
        self.ax.legend(fontsize=FONT, loc="upper right")
        self.ax.grid(alpha=0.3)
        freeze_layout(self.fig, tight=True)

    def draw(
        self, q: D.Distribution, title: str = "", draws: torch.Tensor | None = None
    ) -> Figure:
        heights, edges, grid, density = _density_data(
            q, self.num_samples, self.bins, self.clip, self.xlim, draws
        )
        self.hist.set_data(heights, edges)
        self.line.set_data(grid, density)
        self.title.set_text(title)
        self.ax.set_xlim(*(self.xlim or (edges[0], edges[-1])))
        top = 1.15 * max(heights.max(), np.nanmax(density[np.isfinite(density)]))
        self.ax.set_ylim(*(self.ylim or (0, top)))
        return self.fig


class InverseCDFFrame(SliderFigure):
    """A slider figure, redrawn in place: left, the map u -> z = F^-1(u) of a
    distribution on (0, 1); right, the draws it makes against the density. The same
    Figure every call."""

    def __init__(
        self,
        num_samples: int = 20_000,
        bins: int = 50,
        ylim: tuple[float, float] = (0, 4),
        figsize: tuple[float, float] = (6.8, 2.8),
    ):
        self.num_samples, self.bins, self.ylim = num_samples, bins, ylim
        self.fig = Figure(figsize=figsize)
        self.left, self.right = self.fig.subplots(1, 2)
        self.u = torch.linspace(0.001, 0.999, 300, dtype=torch.float64)
        (self.map,) = self.left.plot([], [], color="C2")
        self.left.set(xlim=(0, 1), ylim=(0, 1))
        self.left.set_xlabel("u ~ U(0, 1)", fontsize=FONT)
        self.left.set_ylabel("z = F⁻¹(u)", fontsize=FONT)
        self.left.grid(alpha=0.3)
        self.hist, self.line = _samples_and_density(
            self.right,
            np.zeros(bins),
            np.linspace(0, 1, bins + 1),
            [],
            [],
            f"{num_samples:,} draws",
        )
        self.right.set(xlim=(0, 1), ylim=ylim)
        self.right.set_xlabel("z", fontsize=FONT)
        self.right.legend(fontsize=FONT, loc="upper right")
        self.right.set_title("samples against the density", fontsize=FONT)
        for ax in (self.left, self.right):
            ax.tick_params(labelsize=FONT)
            ax.set_xticks([0, 0.5, 1])  # few ticks: tick labels are most of a frame
        self.left.set_yticks([0, 0.5, 1])
        self.title = self.fig.suptitle(" ", fontsize=FONT + 1)
        freeze_layout(self.fig, tight=True)

    def draw(self, q: D.Distribution, title: str = "") -> Figure:
        with torch.no_grad():
            self.map.set_data(
                self.u.numpy(), q.icdf(self.u.to(q.sample().dtype)).double().numpy()
            )
        heights, edges, grid, density = _density_data(
            q, self.num_samples, self.bins, 0.0, (0.0, 1.0)
        )
        self.hist.set_data(heights, edges)
        self.line.set_data(grid, density)
        self.title.set_text(title)
        return self.fig
