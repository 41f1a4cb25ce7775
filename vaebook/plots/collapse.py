"""Posterior collapse during training: active units per epoch beside the KL weight.

A latent dimension k is *active* when its test KL, KL(q(z_k|x) || p(z_k)) averaged over
the test images, exceeds a threshold (0.01 nats, the cut of Burda et al. 2016's
activity statistic). The trainer records that KL per dimension every epoch
(``history[i]["test_kl_per_dim"]``) and the KL weight beta it used (``"beta"``), so
when units switch off, and how that lines up with a KL warm-up, can be read from a
checkpoint's history alone.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from ..runs import count_above
from .style import FONT


def active_per_epoch(history: list[dict], threshold: float = 0.01) -> list[int]:
    """Number of latent dimensions whose test KL exceeds ``threshold`` nats, per
    history row (epoch)."""
    if not history or "test_kl_per_dim" not in history[0]:
        raise ValueError("the history has no per-dimension test KL ('test_kl_per_dim')")
    if threshold <= 0:
        raise ValueError(f"threshold is a KL in nats > 0, got {threshold}")
    return [count_above(row["test_kl_per_dim"], threshold) for row in history]


def active_units_curve(
    history: list[dict], threshold: float = 0.01, title: str = ""
) -> Figure:
    """Active units (left axis) and the KL weight beta (right axis) against epoch.

    The epoch axis is logarithmic, so that a warm-up of a few epochs and a run of
    hundreds fit one figure; a dotted line marks the first epoch at which beta
    reaches its final value.
    """
    counts = active_per_epoch(history, threshold)
    epochs = [row["epoch"] for row in history]
    betas = [row["beta"] for row in history]
    latent_dim = len(history[0]["test_kl_per_dim"])

    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.add_subplot()
    _draw_active_units(ax, epochs, counts, latent_dim, threshold)
    beta_ax = _draw_beta(ax, epochs, betas)

    lines = ax.get_lines()[:1] + beta_ax.get_lines()
    ax.legend(
        lines, [line.get_label() for line in lines], fontsize=FONT, loc="lower right"
    )
    ax.set_title(
        title or f"active units of {latent_dim} and the KL weight, per epoch",
        fontsize=FONT + 1,
    )
    fig.tight_layout()
    return fig


def _draw_active_units(ax, epochs, counts, latent_dim: int, threshold: float):
    """The active units per epoch on a log epoch axis (left axis)."""
    ax.plot(epochs, counts, "o-", color="C0", ms=3, label="active units")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))  # 1, 10, 100, not 10^k
    ax.set_ylim(0, latent_dim * 1.05)
    ax.set_xlabel("epoch", fontsize=FONT)
    ax.set_ylabel(f"units with KL > {threshold:g} nats", fontsize=FONT, color="C0")
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)


def _draw_beta(ax, epochs, betas):
    """The KL weight on a twin right axis, a dotted line where it reaches its final
    value; returns the twin axis."""
    beta_ax = ax.twinx()
    beta_ax.plot(epochs, betas, "-", color="C3", lw=1.5, label="KL weight beta")
    beta_ax.set_ylim(0, max(betas) * 1.05)
    beta_ax.set_ylabel("KL weight beta", fontsize=FONT, color="C3")
    beta_ax.tick_params(labelsize=FONT)
    warm = next(e for e, b in zip(epochs, betas) if b >= max(betas) - 1e-9)
    ax.axvline(warm, color="C7", ls=":", lw=1)
    return beta_ax
