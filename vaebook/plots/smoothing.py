"""Figures for the smoothing-transformation chapter (:mod:`vaebook.smoothing`).

Each function returns a matplotlib Figure. ``u`` ~ U(0, 1) is the noise, ``p`` = q(z=1|x).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import smoothing as sm
from ..training import column

NOTES = {"f1": sm.f1, "f2": sm.f2, "f3": sm.f3}
PUBLISHED = {"DVAE spike-and-exponential": sm.spike_exp, "DVAE++ overlapping exponentials": sm.overlapping_exp,
             "DVAE# power function": sm.power_function}
STYLES = (":", "-", "--")  # the notes' Figure 1: dotted < solid < dashed beta


def _grid(steps: int = 801) -> torch.Tensor:
    return torch.linspace(0, 1, steps, dtype=torch.float64)


def _step(ax, p: float, u: torch.Tensor) -> None:
    ax.plot(u.numpy(), sm.step(torch.tensor(p, dtype=u.dtype), u).numpy(), color="0.75", lw=3, zorder=0,
            label="step 1[u >= 1-p]")


def figure_one(betas: tuple[float, float, float], ps=(0.2, 0.5, 0.8), size: float = 2.3):
    """The notes' Figure 1: f1, f2, f3 (rows) for p in ``ps`` (columns) and three betas
    (dotted < solid < dashed), with the step they approach in grey."""
    u = _grid()
    fig, axes = plt.subplots(len(NOTES), len(ps), figsize=(size * len(ps), 0.85 * size * len(NOTES)),
                             sharex=True, sharey=True, squeeze=False)
    for row, (name, f) in enumerate(NOTES.items()):
        for col, p in enumerate(ps):
            ax = axes[row, col]
            _step(ax, p, u)
            for beta, style in zip(betas, STYLES):
                ax.plot(u.numpy(), f(beta, torch.tensor(p, dtype=u.dtype), u).numpy(), style, color="C0",
                        label=f"beta = {beta:g}")
            ax.tick_params(labelsize=7)
            ax.set_title(f"{name}, p = {p:g}", fontsize=8)
            if col == 0:
                ax.set_ylabel("zeta = f(beta, p, u)", fontsize=7)
            if row == len(NOTES) - 1:
                ax.set_xlabel("u", fontsize=7)
    axes[0, 0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    return fig


def smoothers_at(beta: float, p: float):
    """Left: f1, f2, f3 and the step against u at (beta, p). Right: the gradient the encoder
    receives, d zeta / d p (autograd), against u."""
    u = _grid(601)
    fig, (ax, ax_g) = plt.subplots(1, 2, figsize=(8.4, 3.0))
    _step(ax, p, u)
    for i, (name, f) in enumerate(NOTES.items()):
        q = torch.full_like(u, p).requires_grad_(True)  # one p per u: the sum's gradient is pointwise
        zeta = f(beta, q, u)
        (grad,) = torch.autograd.grad(zeta.sum(), q)
        ax.plot(u.numpy(), zeta.detach().numpy(), color=f"C{i}", label=name)
        ax_g.plot(u.numpy(), grad.numpy(), color=f"C{i}", label=name)
    for a in (ax, ax_g):
        a.axvline(1 - p, color="0.5", lw=0.6, ls=":")
        a.set_xlabel("u  (dotted: 1 - p)", fontsize=8)
        a.tick_params(labelsize=7)
        a.grid(alpha=0.3)
    ax.set_title(f"zeta = f(beta, p, u), beta = {beta:g}, p = {p:g}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    ax_g.set_title("d zeta / d p (what the encoder's gradient is made of)", fontsize=9)
    ax_g.set_yscale("symlog", linthresh=1.0)
    fig.tight_layout()
    return fig


def published_inverse_cdfs(betas: dict[str, float], ps=(0.2, 0.5, 0.8), size: float = 2.8):
    """zeta(u) = F^-1(u) of the three published mixtures at their published betas (one panel each),
    for several q = p, with the step in grey."""
    u = _grid(601)[1:-1]  # open interval: the power function's bisection needs no end points
    fig, axes = plt.subplots(1, len(PUBLISHED), figsize=(size * len(PUBLISHED), 0.9 * size), sharey=True)
    for ax, (name, f) in zip(axes, PUBLISHED.items()):
        beta = betas[name]
        for i, p in enumerate(ps):
            ax.plot(u.numpy(), sm.step(torch.tensor(p, dtype=u.dtype), u).numpy(), color=f"C{i}", lw=3, alpha=0.2)
            ax.plot(u.numpy(), f(beta, torch.tensor(p, dtype=u.dtype), u).numpy(), color=f"C{i}", label=f"q = {p:g}")
        ax.set_title(f"{name}\nbeta = {beta:g}", fontsize=8)
        ax.set_xlabel("u", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("zeta = F^-1(u)", fontsize=8)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def smoother_curves(histories: dict[str, list[dict]], reference: float | None = None, title: str = ""):
    """Left: the test -ELBO with exact binary z (the discrete bound) per epoch; right: the
    smoothing beta each model trained with (end of each epoch). One colour per smoother named
    in the label (f1, f2, f3); dashed: annealed beta ("anneal" in the label), dotted: "long"."""
    fig, (ax, ax_b) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1.6, 1]})
    colors: dict[str, str] = {}
    for label, history in histories.items():
        # one colour per smoother (f1, f2, f3 in the label), solid for a fixed beta, dashed when annealed
        smoother = next((f for f in NOTES if f in label), label)
        color = colors.setdefault(smoother, f"C{len(colors)}")
        style = ":" if "long" in label else "--" if "anneal" in label else "-"
        epochs = column(history, "epoch")
        ax.plot(epochs, column(history, "test_hard_neg_elbo"), style, color=color, label=label)
        ax_b.plot(epochs, column(history, "test_smoothing_beta"), style, color=color, label=label)
    if reference is not None:
        ax.axhline(reference, color="k", lw=1, ls=":", label=f"Jang et al., Bernoulli latents: {reference:g}")
    ax.set_ylim(top=min(ax.get_ylim()[1], 200))
    ax.set_ylabel("test -ELBO, exact binary z (nats)")
    ax_b.set_ylabel("smoothing beta")
    for a in (ax, ax_b):
        a.set_xlabel("epoch")
        a.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(title or "binary VAEs trained with smoothing transformations", fontsize=10)
    fig.tight_layout()
    return fig
