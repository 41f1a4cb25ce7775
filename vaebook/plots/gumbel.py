"""Figures for the Gumbel-softmax chapter (:mod:`vaebook.discrete`,
:mod:`vaebook.annealing`).

Each function returns a matplotlib Figure sized for the book's text column (at most 6.8
in wide at 100 dpi, text of 9 pt or more). Shapes: N samples, K latent variables, C
classes, B images.

The slider figures (:class:`SimplexFigure`, :class:`LatentSweepFigure`) are built once
and updated in place: ``draw(...)`` changes their artists' data and returns the same
Figure (:class:`~vaebook.plots.style.SliderFigure`), so a slider move redraws what
changed, not a new figure (see :func:`vaebook.widgets.explore`). They are plain
:class:`matplotlib.figure.Figure` objects, not registered with pyplot, so a notebook
never shows them on its own at the end of a cell."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..training import column
from .core import _tile, show_images
from .style import FONT, WIDTH, SliderFigure

# corners of the probability simplex of C = 3 classes in the plane: e_1, e_2, e_3
CORNERS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])


def _slider_figure(figsize: tuple[float, float]) -> Figure:
    """A Figure outside pyplot with its own Agg canvas: the canvas keeps its renderer
    (and so its cache of text sizes) from one slider frame to the next."""
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _to_plane(y: torch.Tensor) -> torch.Tensor:
    """Points of the simplex (N, 3) -> barycentric coordinates in the plane (N, 2)."""
    return y.detach().double().cpu() @ CORNERS.double()


class SimplexFigure(SliderFigure):
    """Relaxed samples y (N, 3) on the triangle, coloured by their arg max (the Gumbel-
    max class), beside a histogram of max_i y_i (1 at a corner, 1/3 at the centre).

    ``samples`` maps a temperature to its samples y (N, 3). Everything a frame shows is
    computed here, once; :meth:`update` only hands it to the artists and returns the
    same Figure."""

    bins = 40

    def __init__(
        self,
        probs: torch.Tensor,
        samples: dict[float, torch.Tensor],
        size: tuple[float, float] = (WIDTH, 3.3),
    ):
        edges = torch.linspace(1 / 3, 1, self.bins + 1)
        self.frames = {tau: self._frame(y, edges) for tau, y in samples.items()}
        self.fig = _slider_figure(size)
        ax, self.ax_hist = self.fig.subplots(
            1, 2, gridspec_kw={"width_ratios": [1.1, 1]}
        )
        self._draw_simplex(ax, probs)
        self._draw_histogram(edges)
        self.fig.tight_layout()
        self.moves(*self.points, self.bars, self.title, self.hist_title)

    @staticmethod
    def _frame(y: torch.Tensor, edges: torch.Tensor) -> dict:
        """What one temperature's frame shows: points per class, histogram counts."""
        top = y.max(-1).values.detach().double().cpu()
        xy, cls = _to_plane(y).numpy(), y.argmax(-1).numpy()
        return {
            "points": [xy[cls == c] for c in range(3)],
            "counts": torch.histogram(top.clamp(1 / 3, 1).float(), edges).hist.tolist(),
            "corner": float((top > 0.99).double().mean()),
            "num": len(y),
        }

    def _draw_simplex(self, ax, probs: torch.Tensor):
        """The triangle, its labelled corners and centre, empty scatters per class."""
        ax.fill(
            CORNERS[:, 0].numpy(), CORNERS[:, 1].numpy(), color="0.95", ec="0.4", lw=0.8
        )
        self.points = [
            ax.scatter([], [], s=3, alpha=0.4, color=f"C{c}") for c in range(3)
        ]
        offsets = torch.tensor([[-0.1, -0.07], [0.1, -0.07], [0.0, 0.07]])
        for c in range(3):
            corner = CORNERS[c] + offsets[c]
            ax.text(
                corner[0].item(),
                corner[1].item(),
                f"e{'₁₂₃'[c]}\np={probs[c]:.2f}",
                ha="center",
                va="center",
                fontsize=FONT,
                color=f"C{c}",
            )
        centre = CORNERS.mean(0)
        ax.plot([centre[0].item()], [centre[1].item()], "k+", ms=8)
        ax.set_xlim(-0.22, 1.22)
        ax.set_ylim(-0.17, 1.0)
        ax.set_aspect("equal")
        ax.set_axis_off()
        self.title = ax.set_title(" ", fontsize=10)

    def _draw_histogram(self, edges: torch.Tensor):
        """An empty histogram of max_i y_i between 1/3 and 1 (one step patch; draw
        sets its heights relative to the tallest bin, on a fixed axis: the counts
        are not read off an axis, and a fixed axis keeps moves to a redraw of the
        bars)."""
        zeros = [0.0] * self.bins
        self.bars = self.ax_hist.stairs(zeros, edges.numpy(), fill=True, color="C7")
        self.ax_hist.set_ylim(0, 1.05)
        self.ax_hist.set_xlim(1 / 3, 1)
        self.ax_hist.set_xticks([1 / 3, 0.5, 0.75, 1], ["1/3", "0.5", "0.75", "1"])
        self.ax_hist.set_xlabel("max_i y_i  (1/3: centre, 1: a corner)", fontsize=FONT)
        self.ax_hist.set_yticks([])
        self.ax_hist.tick_params(labelsize=FONT)
        self.hist_title = self.ax_hist.set_title(" ", fontsize=10)

    def draw(self, temperature: float) -> Figure:
        """Show the samples drawn at ``temperature``; returns the same Figure."""
        frame = self.frames[temperature]
        for points, xy in zip(self.points, frame["points"]):
            points.set_offsets(xy)
        tallest = max(max(frame["counts"]), 1)
        self.bars.set_data([count / tallest for count in frame["counts"]])
        self.title.set_text(f"y = softmax((log p + g) / tau), tau = {temperature:g}")
        self.hist_title.set_text(
            f"{frame['num']:,} samples; {frame['corner']:.0%} within 0.01 of a corner"
        )
        return self.fig


def bias_variance_vs_temperature(
    temperatures: list[float],
    stats: dict[str, list[dict]],
    reference: dict[str, float] | None = None,
    title: str = "",
):
    """Bias norm ||E[g] - grad|| (with its Monte Carlo standard error) and total
    variance of single-sample gradient estimates against the temperature; ``stats`` maps
    an estimator to one :func:`vaebook.experiments.enumeration.bias_and_variance` dict
    per temperature; ``reference``: variances drawn as horizontal lines (an unbiased
    estimator that has no temperature)."""
    fig, (ax_b, ax_v) = plt.subplots(1, 2, figsize=(WIDTH, 3.4))
    _plot_bias_and_variance(ax_b, ax_v, temperatures, stats)
    for j, (name, value) in enumerate((reference or {}).items()):
        ax_v.axhline(value, color=f"C{len(stats) + j}", ls="--", lw=1, label=name)
    ax_b.set_ylabel("bias ||mean - exact|| (bars: s.e.)", fontsize=FONT)
    ax_v.set_ylabel("variance of one estimate", fontsize=FONT)
    for ax in (ax_b, ax_v):
        ax.set_xscale("log")
        ax.set_xlabel("temperature tau", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3, which="both")
    ax_v.set_yscale("log")
    handles, labels = ax_v.get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="lower center", ncol=3, fontsize=FONT, frameon=False
    )
    fig.suptitle(
        title or "single-sample estimates of d/dlogits E_q[f(z)] against tau",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def _plot_bias_and_variance(ax_b, ax_v, temperatures, stats: dict):
    """Per estimator: bias norm with error bars (left), variance (right)."""
    for i, (name, rows) in enumerate(stats.items()):
        bias = [r["bias_norm"] for r in rows]
        se = [r["mean_se_norm"] for r in rows]
        ax_b.errorbar(
            temperatures,
            bias,
            yerr=se,
            fmt="o-",
            ms=3,
            color=f"C{i}",
            label=name,
            capsize=2,
        )
        ax_v.plot(
            temperatures,
            [r["variance"] for r in rows],
            "o-",
            ms=3,
            color=f"C{i}",
            label=name,
        )


def temperature_schedules(schedules: dict, num_steps: int, title: str = ""):
    """tau(step) of each :class:`vaebook.annealing.ExponentialDecay` over ``num_steps``
    training steps."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    steps = torch.arange(0, num_steps + 1, max(1, num_steps // 2000))
    for i, (label, schedule) in enumerate(schedules.items()):
        ax.plot(
            steps.numpy(),
            [schedule(int(t)) for t in steps],
            color=f"C{i}",
            lw=1.2,
            label=label,
            drawstyle="steps-post",
        )
        floor = schedule.steps_to_floor()
        if 0 < floor <= num_steps:
            ax.plot([floor], [schedule(floor)], "o", color=f"C{i}", ms=4)
    ax.set_xlabel("training step t")
    ax.set_ylabel("temperature tau")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT)
    ax.set_title(
        title
        or "tau = max(tau_min, tau_0 exp(-r t)), updated every N steps\n"
        "(dots: first step at the floor)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def decodes_relaxed(history: list[dict]) -> bool:
    """Whether a history's test relaxed -ELBO differs from its hard one in some epoch:
    True for an estimator that decodes relaxed samples (Gumbel-softmax), False for one
    whose forward pass is an exact sample of q (straight-through Gumbel-softmax), where
    the two are one number."""
    return any(
        row["test_relaxed_neg_elbo"] != row["test_hard_neg_elbo"] for row in history
    )


def relaxed_and_hard_curves(
    history: list[dict],
    references: dict[str, float] | None = None,
    title: str = "",
    relaxed: bool | None = None,
):
    """Top: the -ELBO per epoch, with literature values as horizontal lines. Bottom:
    the temperature and the KL weight per epoch.

    ``relaxed`` (default: :func:`decodes_relaxed` of the history): the estimator
    decodes relaxed samples, so the relaxed -ELBO (train and test) is drawn beside the
    exact discrete (hard) test -ELBO. Otherwise the forward pass is an exact one-hot
    sample and the training objective is itself the hard -ELBO: the top panel shows it
    (train) and the hard test -ELBO."""
    relaxed = decodes_relaxed(history) if relaxed is None else relaxed
    fig, (ax, ax_t) = plt.subplots(  # 0.2 in narrower: room for wide tick labels
        2,
        1,
        figsize=(WIDTH - 0.2, 4.8),
        sharex=True,
        gridspec_kw={"height_ratios": [2, 1]},
    )
    _draw_neg_elbo(ax, history, references, relaxed)
    _draw_schedules(ax_t, history)
    for a in (ax, ax_t):
        a.tick_params(labelsize=FONT)
    fig.suptitle(title or "learning curves", fontsize=10)
    fig.tight_layout()
    return fig


def _draw_neg_elbo(ax, history: list[dict], references, relaxed: bool):
    """The -ELBO curves per epoch and the literature values (top panel)."""
    epochs = column(history, "epoch")
    if relaxed:
        curves = [
            ("train_relaxed_neg_elbo", "-", "C0", "train, relaxed y"),
            ("test_relaxed_neg_elbo", "--", "C0", "test, relaxed y"),
        ]
    else:
        curves = [("train_neg_elbo", "-", "C3", "train, one-hot z (the objective)")]
    curves.append(("test_hard_neg_elbo", "--", "C3", "test, one-hot z (exact bound)"))
    for key, style, color, label in curves:
        ax.plot(epochs, column(history, key), style, color=color, label=label)
    for i, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=f"C{i + 4}", lw=1, ls=":", label=label)
    ax.set_ylim(  # the first epochs run far above: show the end of training
        top=min(ax.get_ylim()[1], 1.25 * min(column(history, "test_hard_neg_elbo")))
    )
    ax.set_ylabel("-ELBO, nats per image", fontsize=FONT)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT, ncol=1 + relaxed, loc="upper right")  # curves end low


def _draw_schedules(ax_t, history: list[dict]):
    """The temperature and the KL weight per epoch (bottom panel)."""
    epochs = column(history, "epoch")
    ax_t.plot(
        epochs,
        column(history, "test_temperature"),
        "o-",
        ms=2,
        color="C2",
        label="tau at the end of the epoch",
    )
    ax_t.plot(epochs, column(history, "beta"), "-", color="C7", label="KL weight")
    ax_t.set_xlabel("epoch")
    ax_t.set_ylim(0, 1.45)  # room for the legend above beta = 1
    ax_t.set_yticks([0, 0.5, 1])
    ax_t.grid(alpha=0.3)
    ax_t.legend(fontsize=FONT, ncol=2, loc="upper right")


@torch.no_grad()
def categorical_reconstructions(model, x: torch.Tensor, title: str = ""):
    """Inputs, then E[x|z] for z the mode of q(z|x) (each latent's most probable class),
    then for one sample z ~ q(z|x)."""
    qz = model.encode(x)
    logits = qz.base_dist.logits  # (B, K, C)
    mode = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(
        logits.dtype
    )
    rows = [
        (x, "input x"),
        (model.decode(mode).mean, "E[x|z], z = mode of q(z|x)"),
        (model.decode(qz.sample()).mean, "E[x|z], z ~ q(z|x)"),
    ]
    fig, axes = plt.subplots(
        len(rows), 1, figsize=(min(WIDTH, 0.58 * len(x)), 0.85 * len(rows))
    )
    for ax, (images, label) in zip(axes, rows):
        show_images(images, len(x), label, ax)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


@torch.no_grad()
def latent_sweep(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoded mode of q(z|x) with one latent set to each class in turn, for every
    latent.

    Returns images (K, B, C, D) (latent k set to class c, for image b) and the encoder's
    own class of each latent (B, K)."""
    logits = model.encode(x).base_dist.logits  # (B, K, C)
    num_images, num_latents, num_classes = logits.shape
    mode = torch.nn.functional.one_hot(logits.argmax(-1), num_classes).to(logits.dtype)
    z = mode[None, :, None].repeat(num_latents, 1, num_classes, 1, 1)  # (K, B, C, K, C)
    eye = torch.eye(num_classes, dtype=z.dtype)
    for k in range(num_latents):
        z[k, :, :, k] = eye  # image b, copy c: latent k set to class c
    images = model.decode(z.reshape(-1, num_latents, num_classes)).mean
    return images.reshape(num_latents, num_images, num_classes, -1), logits.argmax(-1)


class LatentSweepFigure(SliderFigure):
    """Rows: images; columns: one latent set to class 0, ..., C - 1, decoded; the column
    of the encoder's own class is framed red. ``images`` and ``own`` come from
    :func:`latent_sweep`; :meth:`update` shows another latent in the same Figure."""

    def __init__(self, images: torch.Tensor, own: torch.Tensor, cell: float = 0.5):
        num_latents, num_images, num_classes, dim = images.shape
        self.mosaics = [
            _tile(images[k].reshape(-1, dim), num_classes).numpy()
            for k in range(num_latents)
        ]  # one (B * 28, C * 28) array per latent
        self.own = own.tolist()  # (B, K)
        self.num_classes = num_classes
        self.fig = _slider_figure((cell * num_classes, cell * num_images + 0.45))
        self.ax = self.fig.subplots()
        show_images(images[0].reshape(-1, dim), num_classes, "", self.ax)
        self.image = self.ax.images[0]
        self.frames = [
            plt.Rectangle((-0.5, row * 28 - 0.5), 28, 28, fill=False, ec="C3", lw=1.5)
            for row in range(num_images)
        ]
        for frame in self.frames:
            self.ax.add_patch(frame)
        self.title = self.ax.set_title(" ", fontsize=FONT)
        self.fig.tight_layout()

    def draw(self, latent: int, title: str = "") -> Figure:
        self.image.set_data(self.mosaics[latent])
        for frame, c in zip(self.frames, [row[latent] for row in self.own]):
            frame.set_x(c * 28 - 0.5)
        self.title.set_text(
            title
            or f"latent {latent} set to class 0, ..., "
            f"{self.num_classes - 1} (red: the encoder's class)"
        )
        return self.fig
