"""Figures for the chapter on gradient estimators (:mod:`vaebook.gradients`).

Each function returns a matplotlib Figure.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch


def plot_variance(num_samples: list[int], variances: dict[str, list[float]], title: str = ""):
    """Variance of each S-sample estimator against S (log-log), with a 1/S guide through the first line."""
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    for i, (label, values) in enumerate(variances.items()):
        ax.loglog(num_samples[-len(values):], values, "o-", color=f"C{i}", label=label, ms=4)
    first = next(iter(variances.values()))
    s0 = num_samples[-len(first)]
    ax.loglog(num_samples, [first[0] * s0 / s for s in num_samples], ":", color="C7", label="slope 1/S")
    ax.set_xlabel("samples S per estimate")
    ax.set_ylabel("variance of the estimate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title or "variance of S-sample gradient estimates", fontsize=10)
    fig.tight_layout()
    return fig


def plot_gradient_terms(terms: dict[str, torch.Tensor], exact: float, title: str = "", bins: int = 60,
                        limits: tuple[float, float] | None = None):
    """Histograms of per-sample gradient terms, one row per estimator, with the exact gradient marked."""
    values = {k: v.detach().double().cpu().reshape(-1) for k, v in terms.items()}
    if limits is None:
        pooled = torch.cat(list(values.values()))
        limits = (pooled.quantile(0.01).item(), pooled.quantile(0.99).item())
    fig, axes = plt.subplots(len(values), 1, figsize=(5.2, 0.8 + 0.9 * len(values)), sharex=True, squeeze=False)
    for i, (ax, (label, v)) in enumerate(zip(axes[:, 0], values.items())):
        ax.hist(v.clamp(*limits).numpy(), bins=bins, range=limits, color=f"C{i}", alpha=0.8)
        ax.axvline(exact, color="k", lw=1)
        ax.set_yticks([])
        ax.set_title(label, fontsize=8, loc="left")
        ax.text(0.99, 0.75, f"mean {v.mean():.2f}, std {v.std():.2f}", transform=ax.transAxes, ha="right", fontsize=8)
    axes[-1, 0].set_xlabel("single-sample gradient estimate (black line: the exact gradient)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
