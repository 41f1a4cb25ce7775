"""Figures for the VQ-VAE chapter (:mod:`vaebook.vq`).

Each function returns a matplotlib Figure sized for the book's column (6.8 in at 100
dpi, text >= 9 pt). The slider figures (:class:`CheckpointPanel`,
:class:`EmaToyFigure`) are built once and updated in place: their ``draw`` returns the
same Figure every call.
Shapes: N images (N, 784), L = 49 code positions (a 7x7 grid), K codes, T training
steps, C code dimension.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import FuncFormatter, NullLocator

from ..training import column
from .core import _tile, show_images
from .style import FONT, WIDTH, SliderFigure, bar_collection, set_bars

PLAIN = FuncFormatter(lambda v, _: f"{v:g}")  # log-axis labels without mathtext (slow)


def code_grid(
    image: torch.Tensor, codes: torch.Tensor, side: int = 7, title: str = ""
) -> plt.Figure:
    """One digit (784,) beside its grid of code indices (L,): each cell is the code of a
    4x4 patch."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(WIDTH, 3.3))
    ax1.imshow(
        image.detach().cpu().reshape(28, 28).numpy(), cmap="gray_r", vmin=0, vmax=1
    )
    for t in range(1, side):
        ax1.axhline(t * 28 / side - 0.5, color="C0", lw=0.4, alpha=0.5)
        ax1.axvline(t * 28 / side - 0.5, color="C0", lw=0.4, alpha=0.5)
    ax1.set_axis_off()
    ax1.set_title("x and the 7x7 cells", fontsize=FONT + 1)
    grid = codes.detach().cpu().reshape(side, side)
    ax2.imshow((grid % 20).numpy(), cmap="tab20", vmin=0, vmax=19)  # 20 colours, cycled
    cells = torch.cartesian_prod(torch.arange(side), torch.arange(side)).tolist()
    for (r, c), v in zip(cells, grid.flatten().tolist()):
        ax2.text(c, r, str(v), ha="center", va="center", fontsize=FONT)
    ax2.set_axis_off()
    ax2.set_title("code z_l = argmin_k ||E(x)_l - e_k||", fontsize=FONT + 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    fig.tight_layout()
    return fig


@torch.no_grad()
def _reconstructions(ckpts: dict, x: torch.Tensor, num_images: int) -> dict:
    """{name: mosaic of the first ``num_images`` of x over their reconstructions}."""
    mosaics = {}
    for name, ckpt in ckpts.items():
        model = ckpt.model
        recon = model.decode(model.codes(x[:num_images])).mean
        both = torch.cat([x[:num_images], recon])
        mosaics[name] = _tile(both, num_images).numpy()
    return mosaics


class CheckpointPanel(SliderFigure):
    """One trained VQ-VAE at a glance, a slider frame that switches between checkpoints.

    Top: test inputs over their reconstructions E[x|z_q]. Bottom: the codebook usage
    (share of positions per code, sorted; dead codes in red) and one history metric per
    epoch (``curve``; the other checkpoints in grey). The numbers (losses, usage) belong
    in a table beside the slider: text in a frame costs most of its rendering time.
    ``ckpts`` {name: checkpoint} and ``stats`` {name: :func:`vaebook.vq.codebook_stats`
    on ``x``}; the reconstructions of the first ``num_images`` of ``x`` are computed
    here, once.
    :meth:`draw` (name, title) updates the one figure in place and returns it.
    """

    @torch.no_grad()
    def __init__(
        self,
        ckpts: dict,
        x: torch.Tensor,
        stats: dict,
        curve: str = "test_encoder_norm",
        curve_label: str = "",
        log: bool = True,
        num_images: int = 8,
    ):
        self.ckpts, self.stats, self.curve, self.x = ckpts, stats, curve, x
        self.mosaics = _reconstructions(ckpts, x, num_images)
        self._build_axes()
        self._draw_images(next(iter(ckpts)))
        self._draw_usage(stats)
        self._draw_curves(ckpts, curve, curve_label, log)
        self.title = self.fig.suptitle("", fontsize=FONT + 1)
        self.fig.subplots_adjust(
            left=0.09, right=0.98, bottom=0.12, top=0.88, hspace=0.4, wspace=0.3
        )
        self.moves(self.image, self.bars, self.usage, *self.lines.values(), self.title)
        # no layout engine: with one, every savefig draws the figure twice

    def _build_axes(self):
        """The figure: the image strip on top, usage and curve below."""
        self.fig = plt.figure(figsize=(WIDTH, 4.3))
        grid = self.fig.add_gridspec(2, 2, height_ratios=[0.8, 1])
        self.ax_img = self.fig.add_subplot(grid[0, :])
        self.ax_bar = self.fig.add_subplot(grid[1, 0])
        self.ax_curve = self.fig.add_subplot(grid[1, 1])

    def _draw_images(self, first: str):
        """The mosaic of inputs over reconstructions, of checkpoint ``first``."""
        ax_img = self.ax_img
        self.image = ax_img.imshow(self.mosaics[first], cmap="gray_r", vmin=0, vmax=1)
        ax_img.set_axis_off()
        ax_img.set_title("test inputs (top), reconstructions", fontsize=FONT)

    def _draw_usage(self, stats: dict):
        """K bars (heights set by :meth:`draw`), the uniform line and its legend."""
        k = len(next(iter(stats.values()))["counts"])
        self.bars = bar_collection(self.ax_bar, width=1.0)  # one artist, not k
        self.ax_bar.set_xlim(-0.5, k - 0.5)
        self.ax_bar.axhline(1 / k, color="C7", ls=":", lw=1, label="uniform 1/K")
        top = max(float(s["counts"].max() / s["counts"].sum()) for s in stats.values())
        self.ax_bar.set_ylim(0, 1.1 * top)
        self.ax_bar.set_ylabel("share of positions", fontsize=FONT)
        self.ax_bar.legend(fontsize=FONT)
        # a title, not the axis label: a new label would redraw the whole figure
        self.usage = self.ax_bar.set_title("codebook usage", fontsize=FONT)
        self.ax_bar.set_xlabel("codes, sorted", fontsize=FONT)
        self.ax_bar.tick_params(labelsize=FONT)

    def _draw_curves(self, ckpts: dict, curve: str, curve_label: str, log: bool):
        """One grey line per checkpoint's history of ``curve``, against the epoch."""
        self.lines = {}
        for name, ckpt in ckpts.items():
            history = ckpt.history
            epochs, values = column(history, "epoch"), column(history, curve)
            (self.lines[name],) = self.ax_curve.plot(
                epochs, values, "o-", ms=3, color="0.8", lw=1
            )
        if log:
            self.ax_curve.set_yscale("log")
            self.ax_curve.yaxis.set_minor_locator(NullLocator())  # fewer artists
            self.ax_curve.yaxis.set_major_formatter(PLAIN)
        self.ax_curve.set_xlabel("epoch", fontsize=FONT)
        label = curve_label or curve.replace("_", " ")
        self.ax_curve.set_title(f"{label}\n(blue; the others in grey)", fontsize=FONT)
        self.ax_curve.grid(alpha=0.3)
        self.ax_curve.tick_params(labelsize=FONT)

    def draw(self, name: str, title: str = ""):
        """Show checkpoint ``name``; returns the same Figure every call."""
        stats = self.stats[name]
        self.image.set_data(self.mosaics[name])
        counts = stats["counts"].sort(descending=True).values
        used = int((counts > 0).sum())
        shares = (counts / counts.sum()).tolist()
        set_bars(self.bars, shares, ["C0" if c > 0 else "C3" for c in shares])
        self.usage.set_text(f"codebook usage ({used} of {len(counts)} used)")
        for other, line in self.lines.items():  # the others in grey, for comparison
            line.set_color("C0" if other == name else "0.8")
            line.set_zorder(3 if other == name else 2)
            line.set_linewidth(1.5 if other == name else 1)
        self.title.set_text(title or name)
        return self.fig


class EmaToyFigure(SliderFigure):
    """EMA k-means on moving 2-D points (:func:`vaebook.experiments.vq.ema_kmeans`),
    runs per decay.

    Left: the last batch, the true centres now, each code's path and where it ended
    (dead codes as red crosses). Right: the quantization error per step, one axis scale
    for all runs. ``runs`` {gamma: output of ema_kmeans}; :meth:`draw` (gamma) updates
    the one figure in place and returns it.
    """

    def __init__(self, points: torch.Tensor, runs: dict, centres: torch.Tensor):
        self.runs = runs
        first = next(iter(runs.values()))
        k = first["trajectory"].shape[1]
        self.fig, (ax1, self.ax2) = plt.subplots(
            1, 2, figsize=(WIDTH, 3.3), gridspec_kw={"width_ratios": [1, 1.2]}
        )
        self.ax1 = ax1
        self._draw_points(points, centres)
        self._draw_codes(k)
        self._set_limits(points, runs)
        self._draw_distortion(first, runs)
        self.title = ax1.set_title("", fontsize=FONT)
        self._legend()
        self.fig.subplots_adjust(
            left=0.08, right=0.98, bottom=0.26, top=0.9, wspace=0.3
        )
        self.moves(*self.paths, self.alive, self.dead, self.curve, self.title)

    def _draw_points(self, points: torch.Tensor, centres: torch.Tensor):
        """The last batch and the true centres (left)."""
        self.ax1.scatter(
            points[:, 0],
            points[:, 1],
            s=4,
            color="C7",
            alpha=0.5,
            label="last batch E(x)",
        )
        self.ax1.scatter(
            centres[:, 0],
            centres[:, 1],
            marker="+",
            s=60,
            color="k",
            label="true centres now",
        )

    def _draw_codes(self, k: int):
        """Empty artists for the k code paths and their end points (set by draw)."""
        ax1 = self.ax1
        self.paths = [
            ax1.plot([], [], lw=0.7, color=f"C{i % 10}", alpha=0.7)[0] for i in range(k)
        ]
        self.alive = ax1.scatter(
            [], [], s=40, color="C0", edgecolor="k", zorder=3, label="codes e_i"
        )
        self.dead = ax1.scatter(
            [], [], s=40, color="C3", marker="X", zorder=3, label="unused codes"
        )

    def _set_limits(self, points: torch.Tensor, runs: dict):
        """Left axis limits that hold every run's paths and the points."""
        every = torch.cat(
            [r["trajectory"].reshape(-1, 2) for r in runs.values()]
            + [points.reshape(-1, 2)]
        )
        low, high = every.min(0).values.tolist(), every.max(0).values.tolist()
        self.ax1.set_xlim(low[0] - 0.2, high[0] + 0.2)  # floats: no tensors in mpl
        self.ax1.set_ylim(low[1] - 0.2, high[1] + 0.2)
        self.ax1.set_aspect("equal")
        self.ax1.tick_params(labelsize=FONT)

    def _draw_distortion(self, first: dict, runs: dict):
        """The quantization error per step (right), one y scale for all runs."""
        steps = len(first["distortion"])
        (self.curve,) = self.ax2.plot(
            range(steps), first["distortion"].tolist(), lw=0.8
        )
        values = torch.cat([r["distortion"] for r in runs.values()])
        self.ax2.set_yscale("log")
        self.ax2.set_ylim(float(values.min()) / 1.5, float(values.max()) * 1.5)
        self.ax2.set_xlabel("step", fontsize=FONT)
        self.ax2.set_ylabel("mean ||E(x) - e_z||^2", fontsize=FONT)
        self.ax2.yaxis.set_minor_locator(NullLocator())  # fewer artists per frame
        self.ax2.yaxis.set_major_formatter(PLAIN)
        self.ax2.grid(alpha=0.3)
        self.ax2.tick_params(labelsize=FONT)
        self.ax2.set_title("quantization error (before each update)", fontsize=FONT)

    def _legend(self):
        """One legend for the left axis' scatters, below both axes."""
        self.fig.legend(
            handles=[*self.ax1.collections],
            fontsize=FONT,
            ncol=4,
            loc="lower center",
            frameon=False,
            columnspacing=1.0,
            handletextpad=0.3,
        )

    def draw(self, gamma: float):
        """Show the run with decay ``gamma``; returns the same Figure every call."""
        out = self.runs[gamma]
        traj = out["trajectory"]  # (T + 1, K, 2)
        for k, path in enumerate(self.paths):
            path.set_data(traj[:, k, 0].numpy(), traj[:, k, 1].numpy())
        dead = out["counts"] == 0
        self.alive.set_offsets(traj[-1, ~dead].numpy())
        self.dead.set_offsets(traj[-1, dead].numpy().reshape(-1, 2))
        self.curve.set_ydata(out["distortion"].numpy())
        self.title.set_text(f"gamma = {gamma:g}: {int(dead.sum())} unused codes")
        return self.fig


def codebook_over_training(
    histories: dict[str, list[dict]], title: str = ""
) -> plt.Figure:
    """Test-set codebook usage, perplexity and dead codes per epoch for several models,
    against the optimizer steps (the epoch where a history does not record them).

    The history records them per test batch of 1,000 images, averaged over 10."""
    keys = [
        ("test_usage", "share of the K codes used"),
        ("test_perplexity", "perplexity exp(H(codes))"),
        ("test_unused_codes", "unused (dead) codes"),
    ]
    rows = [row for history in histories.values() for row in history]
    x_key = "step" if all("step" in row for row in rows) else "epoch"
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 3.4))
    _plot_histories(axes, histories, keys, x_key)
    _label_history_axes(axes, keys, x_key)
    fig.legend(
        *axes[0].get_legend_handles_labels(),
        fontsize=FONT,
        ncol=3,
        loc="lower center",
        frameon=False,
    )
    fig.suptitle(
        title or "the codebook over training (MNIST test set, per epoch)",
        fontsize=FONT + 1,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def _plot_histories(axes, histories: dict, keys: list, x_key: str):
    """One line per model on each axis, one axis per key."""
    for i, (label, history) in enumerate(histories.items()):
        for ax, (key, _) in zip(axes, keys):
            ax.plot(
                [row[x_key] for row in history],
                [row[key] for row in history],
                "o-",
                ms=3,
                color=f"C{i}",
                label=label,
            )


def _label_history_axes(axes, keys: list, x_key: str):
    """The x label, title and grid of each axis."""
    for ax, (_, name) in zip(axes, keys):
        ax.set_xlabel("optimizer steps" if x_key == "step" else "epoch", fontsize=FONT)
        ax.set_title(name, fontsize=FONT)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=FONT)


def sample_rows(rows: dict[str, torch.Tensor], title: str = "") -> plt.Figure:
    """Decoded samples, one row per prior: {label: (n, 784) pixel probabilities}."""
    ncol = max(len(v) for v in rows.values())
    height = WIDTH / ncol * 1.45 * len(rows)
    fig, axes = plt.subplots(len(rows), 1, figsize=(WIDTH, height), squeeze=False)
    for ax, (label, images) in zip(axes[:, 0], rows.items()):
        show_images(images, len(images), "", ax)
        ax.set_title(label, fontsize=FONT + 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    fig.tight_layout()
    return fig
