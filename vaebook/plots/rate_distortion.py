"""The KL weight beta as a slider: rate against distortion, reconstructions and samples.

:class:`BetaFrame` builds one figure once; every ``draw`` updates its artists in place
and returns the same Figure (:class:`~vaebook.plots.style.SliderFigure`).
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from .core import _tile
from .style import FONT, SliderFigure


class BetaFrame(SliderFigure):
    """Rate-distortion curve with the current beta marked; reconstructions and samples.

    ``points`` are (beta, rate = test KL, distortion = test -E[log p(x|z)]) for every
    trained beta; ``x`` (N, 784) the images to reconstruct. The prior draws z are made
    once (seed ``seed``), so frames differ only by the model. ``draw(beta, model)``
    updates the figure for the model trained with that beta and returns it; each
    beta's images are decoded once (``precompute(models)`` does it ahead).
    """

    def __init__(
        self,
        points,
        x: torch.Tensor,
        latent_dim: int,
        num_samples: int | None = None,
        seed: int = 0,
        figsize=(6.8, 3.0),
    ):
        self.points = {b: (r, d) for b, r, d in points}
        self.x = x
        self.ncol = len(x)
        self.cache: dict[float, tuple] = {}
        generator = torch.Generator().manual_seed(seed)
        self.z = torch.randn(num_samples or 2 * len(x), latent_dim, generator=generator)

        self.fig = Figure(figsize=figsize)
        grid = self._grid()
        self._draw_curve(grid)
        self._draw_image_axes(grid)
        self.moves(self.marker, self.title, self.recon, self.samples)

    def _grid(self):
        """Two columns: the curve on the left, two image rows on the right."""
        return self.fig.add_gridspec(
            2,
            2,
            width_ratios=[1, 1.45],
            left=0.1,
            right=0.99,
            bottom=0.15,
            top=0.9,
            wspace=0.08,
            hspace=0.25,
        )

    def _draw_curve(self, grid):
        """Rate against distortion, each point labelled by its beta; the marker."""
        ax = self.ax = self.fig.add_subplot(grid[:, 0])
        betas = sorted(self.points)
        rates = [self.points[b][0] for b in betas]
        distortions = [self.points[b][1] for b in betas]
        ax.plot(rates, distortions, "o-", color="C7", ms=4)
        for b, r, d in zip(betas, rates, distortions):
            ax.annotate(
                f"{b:g}",
                (r, d),
                fontsize=FONT,
                xytext=(4, 3),
                textcoords="offset points",
            )
        (self.marker,) = ax.plot([], [], "o", color="C3", ms=9)
        ax.set_xlabel("rate: KL, nats", fontsize=FONT)
        ax.set_ylabel("distortion: -E[log p(x|z)], nats", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.1)
        self.title = ax.set_title(" ", fontsize=FONT)

    def _draw_image_axes(self, grid):
        """Blank mosaics of reconstructions and samples (filled by ``draw``)."""
        self.recon_ax, self.sample_ax = (
            self.fig.add_subplot(grid[0, 1]),
            self.fig.add_subplot(grid[1, 1]),
        )
        blank = _tile(torch.zeros(2 * self.ncol, 784), self.ncol).numpy()
        self.recon = self.recon_ax.imshow(
            blank, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest"
        )
        self.samples = self.sample_ax.imshow(
            _tile(torch.zeros(len(self.z), 784), self.ncol).numpy(),
            cmap="gray_r",
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        self.recon_ax.set_title("inputs (top) and reconstructions", fontsize=FONT)
        self.sample_ax.set_title("samples: z ~ p(z), shown as E[x|z]", fontsize=FONT)
        for image_ax in (self.recon_ax, self.sample_ax):
            image_ax.set_axis_off()

    @torch.no_grad()
    def mosaics(self, beta: float, model) -> tuple:
        """(inputs over reconstructions, prior samples) of ``model``: computed once
        per beta, then cached."""
        if beta not in self.cache:
            device = next(model.parameters()).device
            x = self.x.to(device)
            recon = model.decode(model.encode(x).mean).mean
            samples = model.decode(self.z.to(device)).mean
            self.cache[beta] = (
                _tile(torch.cat([x, recon]), self.ncol).numpy(),
                _tile(samples, self.ncol).numpy(),
            )
        return self.cache[beta]

    def precompute(self, models: dict) -> "BetaFrame":
        """Decode every beta's images ahead (``models``: beta -> model), so a move
        only redraws."""
        for beta, model in models.items():
            self.mosaics(beta, model)
        return self

    def draw(self, beta: float, model) -> Figure:
        if beta not in self.points:
            raise ValueError(
                f"beta={beta!r} is not among the trained betas {sorted(self.points)}"
            )
        rate, distortion = self.points[beta]
        self.marker.set_data([rate], [distortion])
        self.title.set_text(
            f"beta = {beta:g}: rate {rate:.1f}, distortion {distortion:.1f}"
        )
        recon, samples = self.mosaics(beta, model)
        self.recon.set_data(recon)
        self.samples.set_data(samples)
        return self.fig
