"""Figures for computing q(z|x) by a change of variables (:mod:`vaebook.flows`).

Each function returns a matplotlib Figure. :class:`PlanarStepFrame` is a slider
figure (:class:`~vaebook.plots.style.SliderFigure`): it builds its figure once and
every ``draw`` updates the artists in place and returns the same Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from torch import distributions as D

from ..flows import constrain_planar_u, density_on_grid, planar_flow_posterior
from ..threads import one_thread
from .style import FONT, SliderFigure, freeze_layout

MASSES = (0.9, 0.7, 0.5, 0.3, 0.1)  # highest-density regions, widest first


def hdr_levels(density: torch.Tensor, cell: float, masses=MASSES) -> list[float]:
    """Density thresholds whose superlevel sets hold each of ``masses`` (on a grid)."""
    ordered = density.flatten().sort(descending=True).values
    mass = ordered.cumsum(0) * cell
    return [
        ordered[min(int((mass < p).sum()), len(ordered) - 1)].item() for p in masses
    ]


def _samples(q: D.Distribution, num_samples: int) -> torch.Tensor:
    """``num_samples`` draws of q, seed 0; the global generator is left as it was."""
    generator_state = torch.random.get_rng_state()
    # the same eps for every figure, so frames differ only by the map
    torch.manual_seed(0)
    with torch.no_grad():
        z = q.sample((num_samples,))
    torch.random.set_rng_state(generator_state)
    return z


def _density_panel(
    ax, q: D.Distribution, limit: float, steps: int, num_samples: int
) -> float:
    """Highest-density regions of q on [-limit, limit]^2 (the darkest holds 10 % of the
    mass, then 30 %, ..., 90 %) with samples on top. Returns the integral of q over a
    square twice as wide (same cell size), which should be close to 1."""
    z1, z2, density, cell = density_on_grid(q, limit, steps)
    levels = hdr_levels(density, cell)
    top = density.max().item()
    ax.contourf(
        z1.numpy(),
        z2.numpy(),
        density.numpy(),
        cmap="Blues",
        levels=[*levels, top],
        extend="max",
    )
    z = _samples(q, num_samples)
    ax.scatter(z[:, 0].numpy(), z[:, 1].numpy(), s=2, color="C3", alpha=0.4)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.tick_params(labelsize=FONT)
    _, _, wide, cell = density_on_grid(q, 2 * limit, 2 * steps - 1)
    return wide.sum().item() * cell


def plot_densities(
    posteriors: dict,
    limit: float = 4.0,
    steps: int = 121,
    num_samples: int = 300,
    width: float = 6.7,  # titles stick out a little: the tight box stays <= 680 px
):
    """One panel per 2-D distribution: its density (filled contours) and samples.

    Each title gives the integral of the density over [-2 limit, 2 limit]^2 (grid).
    """
    n = len(posteriors)
    fig, axes = plt.subplots(1, n, figsize=(width, width / n + 0.6), squeeze=False)
    for ax, (name, q) in zip(axes[0], posteriors.items()):
        total = _density_panel(ax, q, limit, steps, num_samples)
        ax.set_title(f"{name}\nintegral of q on the grid: {total:.4f}", fontsize=FONT)
    fig.tight_layout()
    return fig


class PlanarStepFrame(SliderFigure):
    """A slider figure: one planar step on eps ~ N(0, I_2), raw u = u_scale * direction.

    Left: the density of z = f(eps) (u constrained to u_hat) as highest-density
    regions, with samples. Right: the Jacobian determinant 1 + h'(a) w^T u along
    a = w^T z + b for the raw u and for u_hat: the raw one crosses zero (the map
    folds) once w^T u < -1. ``draw(u_scale)`` updates the artists of one figure
    and returns it; eps and the grid are drawn once, and each value's frame data
    is computed once (``precompute(values)`` does it ahead for a slider).
    """

    def __init__(
        self,
        u_direction=(1.0, 0.5),
        w=(1.0, 0.6),
        b: float = 0.0,
        limit: float = 4.0,
        steps: int = 121,
        num_samples: int = 300,
        det_ylim=(-2.0, 7.2),
        figsize=(6.8, 3.2),
    ):
        self.u_direction, self.w, self.b = torch.tensor(u_direction), torch.tensor(w), b
        self.limit, self.steps = limit, steps
        self.cache: dict[float, dict] = {}
        self.setting = f"{tuple(u_direction)}, w = {tuple(w)}, b = {b:g}"
        base = D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1)
        self.eps = _samples(base, num_samples)
        self.a = torch.linspace(-4, 4, 200)
        # [-2 limit, 2 limit]^2, the plotted grid's cell; its centre is the plotted grid
        z1, z2, _, self.cell = density_on_grid(base, 2 * limit, 2 * steps - 1)
        self.wide_points = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=-1)
        self.wide_shape = z1.shape
        self.slope = 1 - torch.tanh(self.a) ** 2  # h'(a)

        self.fig = Figure(figsize=figsize)
        grid = self.fig.add_gridspec(1, 2, width_ratios=[1, 1.25])
        self.left, self.right = (
            self.fig.add_subplot(grid[0]),
            self.fig.add_subplot(grid[1]),
        )
        self._build_density(limit, steps)
        self._build_determinant(det_ylim)
        self._set_ticks()
        self.title = self.fig.suptitle(" ", fontsize=FONT)
        freeze_layout(self.fig, tight=True)

    def _set_ticks(self) -> None:
        """Few ticks on both axes: tick labels are most of a frame."""
        for ax in (self.left, self.right):
            ax.tick_params(labelsize=FONT)
            ax.set_xticks([-4, -2, 0, 2, 4])
        self.left.set_yticks([-4, -2, 0, 2, 4])
        self.right.set_yticks([0, 2, 4, 6])

    def _build_density(self, limit: float, steps: int) -> None:
        """Left: highest-density regions of q (an image) and the samples."""
        colors = plt.get_cmap("Blues")(np.linspace(0.15, 0.9, len(MASSES)))
        self.cmap = ListedColormap([(1, 1, 1, 0), *colors])
        self.norm = BoundaryNorm(np.arange(len(MASSES) + 2) - 0.5, len(MASSES) + 1)
        extent = (-limit, limit, -limit, limit)
        self.image = self.left.imshow(
            np.zeros((steps, steps)),
            origin="lower",
            extent=extent,
            cmap=self.cmap,
            norm=self.norm,
            interpolation="nearest",
        )
        self.points = self.left.scatter(
            self.eps[:, 0].numpy(), self.eps[:, 1].numpy(), s=2, color="C3", alpha=0.5
        )
        self.left.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")
        self.left.set_xlabel("z₁", fontsize=FONT)
        self.left.set_ylabel("z₂", fontsize=FONT)
        self.left_title = self.left.set_title(" ", fontsize=FONT)

    def _build_determinant(self, det_ylim) -> None:
        """Right: the Jacobian determinant along a, for the raw u and for u_hat."""
        a = self.a.numpy()
        (self.raw_line,) = self.right.plot(
            a, np.ones_like(a), "--", color="C7", label="raw u"
        )
        (self.hat_line,) = self.right.plot(a, np.ones_like(a), color="C0", label="û")
        self.right.axhline(0, color="C3", lw=1)
        self.right.set(xlim=(-4, 4), ylim=det_ylim)
        self.right.set_xlabel("a = w·z + b", fontsize=FONT)
        self.right.set_ylabel("1 + h'(a) w·u", fontsize=FONT)
        self.right.set_title("det of the Jacobian along a", fontsize=FONT)
        self.legend = self.right.legend(fontsize=FONT, loc="upper left")
        self.right.grid(alpha=0.3)

    def posterior(self, u_scale: float) -> D.Distribution:
        u = u_scale * self.u_direction
        return planar_flow_posterior(
            torch.zeros(2), torch.ones(2), u[None], self.w[None], torch.tensor([self.b])
        )

    def frame_data(self, u_scale: float) -> dict:
        """Everything a frame shows at ``u_scale`` (computed once per value, cached)."""
        if u_scale in self.cache:
            return self.cache[u_scale]
        u = u_scale * self.u_direction
        q = self.posterior(u_scale)
        # one grid twice as wide; its centre is the plotted grid
        with torch.no_grad(), one_thread():
            wide = q.log_prob(self.wide_points).exp().reshape(self.wide_shape)
            # the same eps through this step (the affine map before it is I)
            z = q.transforms[1](self.eps)
        inner = slice(self.steps // 2, self.steps // 2 + self.steps)
        density = wide[inner, inner]
        levels = hdr_levels(density, self.cell)  # widest region first
        wu_raw = (self.w * u).sum().item()
        wu_hat = constrain_planar_u(u, self.w)[1].item() - 1
        data = {
            # 0 outside the 90 % region, ..., 5 inside the 10 % region
            "region": np.digitize(density.numpy(), levels),
            "integral": wide.sum().item() * self.cell,
            "points": z.numpy(),
            "wu_raw": wu_raw,
            "wu_hat": wu_hat,
        }
        self.cache[u_scale] = data
        return data

    def precompute(self, u_scales) -> "PlanarStepFrame":
        """Compute the frames of a slider's values ahead, so a move only redraws."""
        for u_scale in u_scales:
            self.frame_data(u_scale)
        return self

    def draw(self, u_scale: float) -> Figure:
        data = self.frame_data(u_scale)
        self.image.set_data(data["region"])
        self.left_title.set_text(
            f"density of z = f(eps); integral {data['integral']:.3f}"
        )
        self.points.set_offsets(data["points"])
        self.raw_line.set_ydata((1 + self.slope * data["wu_raw"]).numpy())
        self.hat_line.set_ydata((1 + self.slope * data["wu_hat"]).numpy())
        raw_text, hat_text = self.legend.get_texts()
        raw_text.set_text(f"raw u: w·u = {data['wu_raw']:.2f}")
        hat_text.set_text(f"û: w·û = {data['wu_hat']:.2f}")
        self.title.set_text(f"one planar step: raw u = {u_scale:g} x {self.setting}")
        return self.fig
