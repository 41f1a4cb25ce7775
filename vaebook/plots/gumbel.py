"""Figures for the Gumbel-softmax chapter (:mod:`vaebook.discrete`, :mod:`vaebook.annealing`).

Each function returns a matplotlib Figure. Shapes: N samples, K latent variables, C classes.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

from ..training import column
from .core import show_images

# corners of the probability simplex of C = 3 classes in the plane: e_1, e_2, e_3
CORNERS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])


def _to_plane(y: torch.Tensor) -> torch.Tensor:
    """Points of the simplex (N, 3) -> barycentric coordinates in the plane (N, 2)."""
    return y.detach().double().cpu() @ CORNERS.double()


def simplex_samples(y: torch.Tensor, probs: torch.Tensor, temperature: float, size: float = 3.2):
    """Relaxed samples y (N, 3) on the triangle, coloured by their arg max (the Gumbel-max class),
    beside a histogram of max_i y_i (1 at a corner, 1/3 at the centre)."""
    fig, (ax, ax_hist) = plt.subplots(1, 2, figsize=(2.1 * size, size), gridspec_kw={"width_ratios": [1.15, 1]})
    xy, cls = _to_plane(y), y.argmax(-1)
    ax.fill(CORNERS[:, 0].numpy(), CORNERS[:, 1].numpy(), color="0.95", ec="0.4", lw=0.8)
    for c in range(3):
        ax.scatter(xy[cls == c, 0].numpy(), xy[cls == c, 1].numpy(), s=3, alpha=0.4, color=f"C{c}")
        corner = CORNERS[c] + torch.tensor([[-0.09, -0.06], [0.09, -0.06], [0.0, 0.06]])[c]
        ax.text(corner[0].item(), corner[1].item(), f"$e_{c + 1}$\np={probs[c]:.2f}", ha="center", va="center",
                fontsize=7, color=f"C{c}")
    centre = CORNERS.mean(0)
    ax.plot([centre[0].item()], [centre[1].item()], "k+", ms=8)
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.15, 1.0)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"y = softmax((log p + g) / tau), tau = {temperature:g}", fontsize=8)
    top = y.max(-1).values.detach().double().cpu()
    ax_hist.hist(top.numpy(), bins=40, range=(1 / 3, 1), color="C7")
    ax_hist.set_xlabel("max_i y_i  (1/3: centre, 1: a corner)", fontsize=8)
    ax_hist.set_yticks([])
    ax_hist.tick_params(labelsize=7)
    ax_hist.set_title(f"{len(y):,} samples; {float((top > 0.99).double().mean()):.0%} within 0.01 of a corner",
                      fontsize=8)
    fig.tight_layout()
    return fig


def bias_variance_vs_temperature(temperatures: list[float], stats: dict[str, list[dict]],
                                 reference: dict[str, float] | None = None, title: str = ""):
    """Bias norm ||E[g] - grad|| (with its Monte Carlo standard error) and total variance of
    single-sample gradient estimates against the temperature; ``stats`` maps an estimator to
    one :func:`vaebook.experiments.enumeration.bias_and_variance` dict per temperature; ``reference``: variances
    drawn as horizontal lines (an unbiased estimator that has no temperature)."""
    fig, (ax_b, ax_v) = plt.subplots(1, 2, figsize=(9.0, 3.2))
    for i, (name, rows) in enumerate(stats.items()):
        bias = [r["bias_norm"] for r in rows]
        se = [r["mean_se_norm"] for r in rows]
        ax_b.errorbar(temperatures, bias, yerr=se, fmt="o-", ms=3, color=f"C{i}", label=name, capsize=2)
        ax_v.plot(temperatures, [r["variance"] for r in rows], "o-", ms=3, color=f"C{i}", label=name)
    for j, (name, value) in enumerate((reference or {}).items()):
        ax_v.axhline(value, color=f"C{len(stats) + j}", ls="--", lw=1, label=f"{name} (no temperature)")
    ax_b.set_ylabel("bias ||mean - exact|| (bars: s.e.)", fontsize=9)
    ax_v.set_ylabel("variance of one estimate", fontsize=9)
    for ax in (ax_b, ax_v):
        ax.set_xscale("log")
        ax.set_xlabel("temperature tau")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    ax_v.set_yscale("log")
    fig.suptitle(title or "single-sample estimates of d/dlogits E_q[f(z)] against the temperature", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def temperature_schedules(schedules: dict, num_steps: int, title: str = ""):
    """tau(step) of each :class:`vaebook.annealing.ExponentialDecay` over ``num_steps`` training steps."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    steps = torch.arange(0, num_steps + 1, max(1, num_steps // 2000))
    for i, (label, schedule) in enumerate(schedules.items()):
        ax.plot(steps.numpy(), [schedule(int(t)) for t in steps], color=f"C{i}", lw=1.2, label=label,
                drawstyle="steps-post")
        floor = schedule.steps_to_floor()
        if 0 < floor <= num_steps:
            ax.plot([floor], [schedule(floor)], "o", color=f"C{i}", ms=4)
    ax.set_xlabel("training step t")
    ax.set_ylabel("temperature tau")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(title or "tau = max(tau_min, tau_0 exp(-r t)), updated every N steps (dots: floor reached)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def relaxed_and_hard_curves(history: list[dict], references: dict[str, float] | None = None, title: str = ""):
    """Left: the relaxed -ELBO (train and test) and the exact discrete (hard) test -ELBO per epoch,
    with literature values as horizontal lines. Right: the temperature and the KL weight per epoch."""
    epochs = column(history, "epoch")
    fig, (ax, ax_t) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1.6, 1]})
    ax.plot(epochs, column(history, "train_relaxed_neg_elbo"), "-", color="C0", label="train, relaxed z")
    ax.plot(epochs, column(history, "test_relaxed_neg_elbo"), "--", color="C0", label="test, relaxed z")
    ax.plot(epochs, column(history, "test_hard_neg_elbo"), "--", color="C3", label="test, one-hot z (exact bound)")
    for i, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=f"C{i + 4}", lw=1, ls=":", label=label)
    ax.set_ylim(top=min(ax.get_ylim()[1], 1.6 * min(column(history, "test_hard_neg_elbo"))))
    ax.set_xlabel("epoch")
    ax.set_ylabel("-ELBO, nats per image")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax_t.plot(epochs, column(history, "test_temperature"), "o-", ms=2, color="C2", label="tau at the end of the epoch")
    ax_t.plot(epochs, column(history, "beta"), "-", color="C7", label="KL weight")
    ax_t.set_xlabel("epoch")
    ax_t.set_ylim(0, 1.05)
    ax_t.grid(alpha=0.3)
    ax_t.legend(fontsize=7)
    fig.suptitle(title or "learning curves", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


@torch.no_grad()
def categorical_reconstructions(model, x: torch.Tensor, title: str = ""):
    """Inputs, then E[x|z] for z the mode of q(z|x) (each latent's most probable class), then for
    one sample z ~ q(z|x)."""
    qz = model.encode(x)
    logits = qz.base_dist.logits  # (B, K, C)
    mode = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
    rows = [(x, "input x"), (model.decode(mode).mean, "E[x|z], z = mode of q(z|x)"),
            (model.decode(qz.sample()).mean, "E[x|z], z ~ q(z|x)")]
    fig, axes = plt.subplots(len(rows), 1, figsize=(0.6 * len(x), 0.8 * len(rows)))
    for ax, (images, label) in zip(axes, rows):
        show_images(images, len(x), label, ax)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


@torch.no_grad()
def vary_latent(model, x: torch.Tensor, latent: int, title: str = ""):
    """For each image (rows): the mode of q(z|x) with latent ``latent`` set to each class c (columns),
    decoded; the column of the mode's own class is framed."""
    logits = model.encode(x).base_dist.logits  # (B, K, C)
    num_classes = logits.shape[-1]
    z = torch.nn.functional.one_hot(logits.argmax(-1), num_classes).to(logits.dtype)
    z = z[:, None].repeat(1, num_classes, 1, 1)  # (B, C, K, C): one copy per class of the varied latent
    z[:, :, latent] = torch.eye(num_classes, dtype=z.dtype)
    images = model.decode(z).mean.reshape(-1, 784)  # (B * C, D)
    fig, ax = plt.subplots(figsize=(0.55 * num_classes, 0.55 * len(x) + 0.4))
    show_images(images, num_classes, "", ax)
    own = logits[:, latent].argmax(-1)
    for row, c in enumerate(own.tolist()):
        ax.add_patch(plt.Rectangle((c * 28 - 0.5, row * 28 - 0.5), 28, 28, fill=False, ec="C3", lw=1.5))
    ax.set_title(title or f"latent {latent} set to class 0, ..., {num_classes - 1} (red: the encoder's class)",
                 fontsize=8)
    fig.tight_layout()
    return fig
