"""Figures for the reparameterizable families of :mod:`vaebook.reparam`.

Each function returns a matplotlib Figure.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import distributions as D


def plot_samples_vs_density(q: D.Distribution, num_samples: int = 20_000, ax=None, title: str = "",
                            bins: int = 60, clip: float = 0.005):
    """A histogram of ``q.rsample`` draws (normalized by all draws) against exp(q.log_prob) (a scalar q).

    The plotted range runs between the ``clip`` and ``1 - clip`` quantiles of the draws.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(4.4, 2.6))
    with torch.no_grad():
        draws = q.rsample((num_samples,))
        z = draws.double().reshape(-1)
        lo, hi = z.quantile(clip).item(), z.quantile(1 - clip).item()
        counts, edges = np.histogram(z.numpy(), bins=bins, range=(lo, hi))
        grid = torch.linspace(lo, hi, 400, dtype=draws.dtype)
        density = q.log_prob(grid).exp().double()
    ax.stairs(counts / (num_samples * (edges[1] - edges[0])), edges, fill=True, alpha=0.35, color="C0",
              label=f"{num_samples:,} rsample draws")
    ax.plot(grid.numpy(), density.numpy(), color="C3", lw=1.5, label="exp(log_prob)")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return ax.figure


def plot_inverse_cdf(q: D.Distribution, title: str = "", num_samples: int = 20_000):
    """Left: the map u -> z = F^-1(u). Right: the draws it makes against the density."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 2.6))
    with torch.no_grad():
        u = torch.linspace(0.001, 0.999, 300, dtype=q.sample().dtype)
        left.plot(u.double().numpy(), q.icdf(u).double().numpy(), color="C2")
    left.set_xlabel("u ~ U(0, 1)", fontsize=8)
    left.set_ylabel("z = F^-1(u)", fontsize=8)
    left.grid(alpha=0.3)
    left.tick_params(labelsize=7)
    plot_samples_vs_density(q, num_samples, right, "samples against the density")
    right.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
