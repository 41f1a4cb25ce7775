"""Figures for computing q(z|x) by a change of variables (:mod:`vaebook.flows`).

Each function returns a matplotlib Figure.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import distributions as D

from ..flows import constrain_planar_u, density_on_grid, planar_flow_posterior


def _density_panel(ax, q: D.Distribution, limit: float, steps: int, num_samples: int) -> float:
    """Highest-density regions of q on [-limit, limit]^2 (the darkest holds 10 % of the
    mass, then 20 %, ..., 90 %) with samples on top. Returns the integral of q over a
    square twice as wide (same cell size), which should be close to 1."""
    z1, z2, density, cell = density_on_grid(q, limit, steps)
    ordered = density.flatten().sort(descending=True).values
    mass = ordered.cumsum(0) * cell
    levels = [ordered[min(int((mass < p).sum()), len(ordered) - 1)].item() for p in (0.9, 0.7, 0.5, 0.3, 0.1)]
    ax.contourf(z1.numpy(), z2.numpy(), density.numpy(), cmap="Blues", levels=[*levels, ordered[0].item()],
                extend="max")
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)  # the same eps for every figure, so frames differ only by the map
    with torch.no_grad():
        z = q.sample((num_samples,))
    torch.random.set_rng_state(generator_state)
    ax.scatter(z[:, 0].numpy(), z[:, 1].numpy(), s=2, color="C3", alpha=0.4)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=7)
    _, _, wide, cell = density_on_grid(q, 2 * limit, 2 * steps - 1)
    return wide.sum().item() * cell


def plot_densities(posteriors: dict, limit: float = 4.0, steps: int = 121, num_samples: int = 300,
                   size: float = 2.8):
    """One panel per 2-D distribution: its density (filled contours) and samples from it.

    Each title gives the integral of the density over [-2 limit, 2 limit]^2 on the grid.
    """
    fig, axes = plt.subplots(1, len(posteriors), figsize=(size * len(posteriors), size), squeeze=False)
    for ax, (name, q) in zip(axes[0], posteriors.items()):
        total = _density_panel(ax, q, limit, steps, num_samples)
        ax.set_title(f"{name}\nintegral of q on the grid: {total:.4f}", fontsize=9)
    fig.tight_layout()
    return fig


def planar_step_figure(u_scale: float, u_direction=(1.0, 0.5), w=(1.0, 0.6), b: float = 0.0,
                       limit: float = 4.0, steps: int = 121):
    """One planar step on eps ~ N(0, I_2) with raw u = u_scale * u_direction.

    Left: the density of z = f(eps) (u constrained to u_hat) with samples.
    Right: the Jacobian determinant 1 + h'(a) w^T u along a = w^T z + b, for the
    raw u and for u_hat: the raw one crosses zero (the map folds) once w^T u < -1.
    """
    u, w_t = u_scale * torch.tensor(u_direction), torch.tensor(w)
    q = planar_flow_posterior(torch.zeros(2), torch.ones(2), u[None], w_t[None], torch.tensor([b]))
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.6, 3.0), gridspec_kw={"width_ratios": [1, 1.2]})
    total = _density_panel(left, q, limit, steps, 300)
    left.set_title(f"density of z = f(eps); its integral: {total:.3f}", fontsize=9)
    a = torch.linspace(-4, 4, 200)
    slope = 1 - torch.tanh(a) ** 2  # h'(a)
    wu_raw = (w_t * u).sum().item()
    wu_hat = constrain_planar_u(u, w_t)[1].item() - 1
    right.plot(a.numpy(), (1 + slope * wu_raw).numpy(), "--", color="C7", label=f"raw u: $w^T u$ = {wu_raw:.2f}")
    right.plot(a.numpy(), (1 + slope * wu_hat).numpy(), color="C0", label=f"$\\hat u$: $w^T \\hat u$ = {wu_hat:.2f}")
    right.axhline(0, color="C3", lw=1)
    right.set_xlabel("$a = w^T z + b$", fontsize=8)
    right.set_ylabel("$\\det\\, \\partial f/\\partial z = 1 + h'(a)\\, w^T u$", fontsize=8)
    right.legend(fontsize=7, loc="lower right")
    right.tick_params(labelsize=7)
    fig.suptitle(f"one planar step: raw u = {u_scale:g} x {tuple(u_direction)}, w = {tuple(w)}, b = {b:g}",
                 fontsize=9)
    fig.tight_layout()
    return fig
