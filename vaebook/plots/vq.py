"""Figures for the VQ-VAE chapter (:mod:`vaebook.vq`).

Each function returns a matplotlib Figure. Shapes: N images (N, 784), L = 49 code positions
(a 7x7 grid), K codes, T training steps, C code dimension.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .core import _tile, show_images


def code_grid(image: torch.Tensor, codes: torch.Tensor, side: int = 7, title: str = "") -> plt.Figure:
    """One digit (784,) beside its grid of code indices (L,): each cell is the code of a 4x4 patch."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(5.4, 2.6))
    ax1.imshow(image.detach().cpu().reshape(28, 28).numpy(), cmap="gray_r", vmin=0, vmax=1)
    for t in range(1, side):
        ax1.axhline(t * 28 / side - 0.5, color="C0", lw=0.4, alpha=0.5)
        ax1.axvline(t * 28 / side - 0.5, color="C0", lw=0.4, alpha=0.5)
    ax1.set_axis_off()
    ax1.set_title("x and the 7x7 cells", fontsize=9)
    grid = codes.detach().cpu().reshape(side, side)
    ax2.imshow((grid % 20).numpy(), cmap="tab20", vmin=0, vmax=19)  # 20 colours, cycled over the K codes
    for (r, c), v in zip(torch.cartesian_prod(torch.arange(side), torch.arange(side)).tolist(), grid.flatten().tolist()):
        ax2.text(c, r, str(v), ha="center", va="center", fontsize=7)
    ax2.set_axis_off()
    ax2.set_title("code z_l = argmin_k ||E(x)_l - e_k||", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def model_panel(title: str, x: torch.Tensor, recon: torch.Tensor, counts: torch.Tensor, history: list[dict],
                curve: str = "test_encoder_norm", curve_label: str = "", log: bool = True,
                notes: str = "") -> plt.Figure:
    """One trained VQ-VAE at a glance (a slider frame): inputs over reconstructions, the code
    counts sorted, one metric per epoch from the history, and a text box of numbers."""
    fig, axes = plt.subplots(1, 4, figsize=(12.5, 3.0), gridspec_kw={"width_ratios": [1.5, 1.2, 1.1, 0.9]})
    axes[0].imshow(_tile(torch.cat([x, recon]), len(x)).numpy(), cmap="gray_r", vmin=0, vmax=1)
    axes[0].set_axis_off()
    axes[0].set_title("test inputs (top), reconstructions E[x|z_q]", fontsize=9)
    k = len(counts)
    sorted_counts = counts.sort(descending=True).values
    used = int((counts > 0).sum())
    axes[1].bar(range(k), (sorted_counts / sorted_counts.sum()).tolist(),
                color=["C0" if c > 0 else "C3" for c in sorted_counts.tolist()], width=1.0)
    axes[1].axhline(1 / k, color="C7", ls=":", lw=1, label="uniform 1/K")
    axes[1].set_xlabel(f"codes, sorted ({used} of {k} used)", fontsize=8)
    axes[1].set_ylabel("share of positions", fontsize=8)
    axes[1].legend(fontsize=7)
    axes[1].set_title("codebook usage", fontsize=9)
    epochs = [row["epoch"] for row in history]
    axes[2].plot(epochs, [row[curve] for row in history], "o-", ms=3)
    if log:
        axes[2].set_yscale("log")
    axes[2].set_xlabel("epoch", fontsize=8)
    axes[2].set_title(curve_label or curve.replace("_", " "), fontsize=9)
    axes[2].grid(alpha=0.3, which="both")
    axes[3].text(0.0, 1.0, notes, va="top", ha="left", family="monospace", fontsize=8.5, transform=axes[3].transAxes)
    axes[3].set_axis_off()
    for ax in axes[1:3]:
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def codebook_over_training(histories: dict[str, list[dict]], title: str = "") -> plt.Figure:
    """Test-set codebook usage, perplexity and dead codes per epoch for several models.

    The history records them per test batch of 1,000 images, averaged over the 10 batches."""
    keys = [("test_usage", "share of the K codes used"), ("test_perplexity", "perplexity exp(H(codes))"),
            ("test_unused_codes", "unused (dead) codes")]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    for i, (label, history) in enumerate(histories.items()):
        seconds = torch.tensor([row["seconds"] for row in history]).cumsum(0).tolist()
        for ax, (key, _) in zip(axes, keys):
            ax.plot(seconds, [row[key] for row in history], "o-", ms=3, color=f"C{i}", label=label)
    for ax, (_, name) in zip(axes, keys):
        ax.set_xlabel("training seconds (shared GPU)", fontsize=8)
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle(title or "the codebook over training (MNIST test set, per epoch)", fontsize=10)
    fig.tight_layout()
    return fig


def ema_toy(points: torch.Tensor, out: dict, centres: torch.Tensor, gamma: float, title: str = "") -> plt.Figure:
    """EMA k-means on 2-D points (:func:`vaebook.vq.ema_kmeans`): the last batch, the code
    trajectories, and the distortion per step against the moving cluster centres."""
    traj = out["trajectory"]  # (T + 1, K, 2)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.4, 3.4), gridspec_kw={"width_ratios": [1, 1.3]})
    ax1.scatter(points[:, 0], points[:, 1], s=4, color="C7", alpha=0.5, label="last batch E(x)")
    ax1.scatter(centres[:, 0], centres[:, 1], marker="+", s=60, color="k", label="true centres now")
    for k in range(traj.shape[1]):
        ax1.plot(traj[:, k, 0], traj[:, k, 1], lw=0.7, color=f"C{k % 10}", alpha=0.7)
    dead = out["counts"] == 0
    ax1.scatter(traj[-1, ~dead, 0], traj[-1, ~dead, 1], s=40, color="C0", edgecolor="k", zorder=3, label="codes e_i")
    ax1.scatter(traj[-1, dead, 0], traj[-1, dead, 1], s=40, color="C3", marker="X", zorder=3,
                label=f"unused codes ({int(dead.sum())})")
    ax1.set_aspect("equal")
    ax1.legend(fontsize=6, loc="lower left")
    ax1.set_title(f"codes and their paths, gamma = {gamma:g}", fontsize=9)
    ax2.plot(out["distortion"].tolist(), lw=0.8)
    ax2.set_yscale("log")
    ax2.set_xlabel("step", fontsize=8)
    ax2.set_ylabel("mean ||E(x) - e_z||^2 of the batch", fontsize=8)
    ax2.grid(alpha=0.3, which="both")
    ax2.set_title("quantization error (before each update)", fontsize=9)
    fig.suptitle(title or "EMA codebook on moving 2-D clusters", fontsize=10)
    fig.tight_layout()
    return fig


def sample_rows(rows: dict[str, torch.Tensor], title: str = "") -> plt.Figure:
    """Decoded samples, one row per prior: {label: (n, 784) pixel probabilities}."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.6 * max(len(v) for v in rows.values()), 0.95 * len(rows)),
                             squeeze=False)
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        show_images(images, len(images), label, ax)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


@torch.no_grad()
def checkpoint_panel(ckpt, x: torch.Tensor, stats: dict, title: str, curve: str = "test_encoder_norm",
                     curve_label: str = "", log: bool = True, num_images: int = 8) -> plt.Figure:
    """:func:`model_panel` for a shipped VQ-VAE checkpoint: reconstructions of the first ``num_images``
    of ``x``, the code counts of ``stats`` (from :func:`vaebook.vq.codebook_stats` on ``x``), one
    history metric per epoch, and the last epoch's test losses beside the recounted usage."""
    model, last = ckpt.model, ckpt.history[-1]
    recon = model.decode(model.codes(x[:num_images])).mean
    notes = (f"test, last epoch ({len(ckpt.history)} epochs):\n"
             f" -log p(x|z_q)  {-last['test_log_px_given_z']:9.2f}\n"
             f" codebook loss  {last['test_codebook_loss']:9.3g}\n"
             f" commitment     {last['test_commitment_loss']:9.3g}\n"
             f" ||E(x)||       {last['test_encoder_norm']:9.3g}\n"
             f" -ELBO          {last['test_neg_elbo']:9.2f}\n"
             f"{len(x):,} test images:\n"
             f" codes used     {stats['usage']:9.0%}\n"
             f" perplexity     {stats['perplexity']:9.1f}")
    return model_panel(title, x[:num_images], recon, stats["counts"], ckpt.history, curve, curve_label, log, notes)
