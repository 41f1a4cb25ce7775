"""Figures of the priors chapter: the prior hole of a 2-D VAE and the active units of
several models per epoch (:mod:`vaebook.aggregate`, :mod:`vaebook.priors`)."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter

from ..aggregate import unit_activity
from .style import FONT, WIDTH, SliderFigure


def prior_hole(
    axis: torch.Tensor,
    log_q: torch.Tensor,
    log_p: torch.Tensor,
    ratio: float = 0.1,
    title: str = "",
) -> Figure:
    """Left: the aggregate posterior's density q(z) over the plane, with p(z)'s
    1, 2 and 3 sigma circles. Right: log10 q(z)/p(z), the prior hole (q < ``ratio`` p)
    outlined. ``axis`` (G,), ``log_q`` and ``log_p`` (G, G) as from
    :func:`vaebook.aggregate.grid_log_densities`."""
    fig = Figure(figsize=(WIDTH, 3.2))
    left, right = fig.subplots(1, 2)
    extent = [axis[0].item(), axis[-1].item(), axis[0].item(), axis[-1].item()]
    shown = left.imshow(
        log_q.exp().numpy(), origin="lower", extent=extent, cmap="viridis"
    )
    fig.colorbar(shown, ax=left, shrink=0.85).ax.tick_params(labelsize=FONT)
    circle = torch.linspace(0, 2 * math.pi, 200)
    for r in (1, 2, 3):
        left.plot(r * circle.cos(), r * circle.sin(), "w:", lw=1)
    left.set_title("q(z); p(z)'s 1, 2, 3 sigma circles", fontsize=FONT + 1)
    log10_ratio = ((log_q - log_p) / math.log(10)).clamp(-3, 1)
    shown = right.imshow(
        log10_ratio.numpy(),
        origin="lower",
        extent=extent,
        cmap="RdBu",
        vmin=-3,
        vmax=3,
    )
    fig.colorbar(shown, ax=right, shrink=0.85).ax.tick_params(labelsize=FONT)
    right.contour(
        axis.numpy(),
        axis.numpy(),
        (log_q - log_p).numpy(),
        levels=[math.log(ratio)],
        colors="k",
        linewidths=1,
    )
    right.set_title(f"log10 q(z)/p(z); black: q = {ratio:g} p", fontsize=FONT + 1)
    for ax in (left, right):
        ax.set_xlabel("z_1", fontsize=FONT)
        ax.set_ylabel("z_2", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    fig.tight_layout()
    return fig


def active_units_per_epoch(
    curves: dict[str, list[int]], latent_dim: int, title: str = ""
) -> Figure:
    """Active units (of ``latent_dim``) against epoch, one line per model; the epoch
    axis is logarithmic so a 30-epoch run and a 160-epoch one share it."""
    if not curves:
        raise ValueError("no curves to draw")
    fig = Figure(figsize=(WIDTH, 3.0))
    ax = fig.add_subplot()
    for i, (label, counts) in enumerate(curves.items()):
        epochs = range(1, len(counts) + 1)
        ax.plot(epochs, counts, "o-", ms=2.5, color=f"C{i}", label=label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.set_ylim(0, latent_dim * 1.05)
    ax.set_xlabel("epoch", fontsize=FONT)
    ax.set_ylabel("active units", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT, loc="lower left")  # the curves start near the top
    ax.set_title(title or "active units per epoch", fontsize=FONT + 1)
    fig.tight_layout()
    return fig


class ComponentsFigure(SliderFigure):
    """A learned prior at one number of components, against the N(0, I) run: the test
    -ELBO per epoch (left) and the active units per epoch (right), both in grey for
    the reference; the final numbers in the title.

    ``runs`` {(kind, components): a run with ``history`` and ``metrics``} (records or
    checkpoints), ``reference`` the N(0, I) run, ``labels`` {kind: name in the title}.
    ``draw(kind, components)`` moves the two curves and the title in place."""

    def __init__(self, runs: dict, reference, labels: dict, latent_dim: int):
        if not runs:
            raise ValueError("no runs to draw")
        self.runs, self.labels = runs, labels
        self.fig = Figure(figsize=(WIDTH, 3.1))
        self.ax_e, self.ax_u = self.fig.subplots(1, 2)
        every = [*runs.values(), reference]
        epochs = max(len(r.history) for r in every)
        for ax in (self.ax_e, self.ax_u):
            ax.set_xlim(0.5, epochs + 0.5)
            ax.set_xlabel("epoch", fontsize=FONT)
            ax.tick_params(labelsize=FONT)
            ax.grid(alpha=0.3)
        later = [row["test_neg_elbo"] for r in every for row in r.history[2:]]
        self.ax_e.set_ylim(min(later) - 1, max(later) + 1)  # epochs 1-2 run above
        self.ax_e.set_ylabel("test -ELBO (nats)", fontsize=FONT)
        self.ax_u.set_ylim(0, latent_dim * 1.05)
        self.ax_u.set_ylabel(f"active units (of {latent_dim})", fontsize=FONT)
        grey = {"color": "0.6", "lw": 1.2, "label": "N(0, I)"}
        self.ax_e.plot(*self._elbo(reference), **grey)
        self.ax_u.plot(*self._units(reference), **grey)
        (self.elbo,) = self.ax_e.plot([], [], "o-", ms=2.5, color="C0")
        (self.units,) = self.ax_u.plot([], [], "o-", ms=2.5, color="C0")
        self.ax_e.legend(
            [self.ax_e.lines[0], self.elbo],
            ["N(0, I)", "learned prior"],
            fontsize=FONT,
            loc="upper right",
        )
        self.title = self.fig.suptitle(" ", fontsize=FONT + 1)
        self.fig.tight_layout(rect=(0, 0, 1, 0.86))
        self.moves(self.elbo, self.units, self.title)

    @staticmethod
    def _elbo(run) -> tuple[list, list]:
        return [r["epoch"] for r in run.history], [
            r["test_neg_elbo"] for r in run.history
        ]

    @staticmethod
    def _units(run) -> tuple[list, list]:
        return [r["epoch"] for r in run.history], unit_activity(run.history)

    def draw(self, kind: str, components: int) -> Figure:
        """The run of prior ``kind`` with ``components`` components."""
        run = self.runs.get((kind, components))
        if run is None:
            raise ValueError(
                f"no run with prior {kind!r} and {components} components; "
                f"trained: {sorted(self.runs)}"
            )
        self.elbo.set_data(*self._elbo(run))
        self.units.set_data(*self._units(run))
        test = run.metrics["test"]
        self.title.set_text(
            f"{self.labels[kind]}, {components} components: test -ELBO "
            f"{test['neg_elbo']:.2f}, IW NLL {test['iw_nll']:.2f} "
            f"(S = {test['iw_samples']})\n{unit_activity(run.history)[-1]} active "
            f"units after {len(run.history)} epochs"
        )
        return self.fig


def iwae_continuation(
    history: list[dict], start: dict, samples: int, images: int
) -> Figure:
    """A model trained on, further, with the IWAE bound: its test -ELBO and -L_S
    (``samples`` = S, the training bound) per epoch (left) and its active units
    (right) on the first ``images`` test images, from ``start`` at epoch 0 (the
    model it continued from: ``neg_elbo``, ``neg_iw_bound``, ``active_units``);
    ``history`` rows carry ``test_neg_elbo``, ``test_neg_iw_bound`` and
    ``test_activity`` (or, in a record, ``test_active_units``)."""
    if not history:
        raise ValueError("no epochs to draw")
    epochs = range(len(history) + 1)
    elbo = [start["neg_elbo"], *(row["test_neg_elbo"] for row in history)]
    bound = [start["neg_iw_bound"], *(row["test_neg_iw_bound"] for row in history)]
    units = [start["active_units"], *unit_activity(history)]
    fig = Figure(figsize=(WIDTH, 3.0))
    ax_b, ax_u = fig.subplots(1, 2, width_ratios=(1.4, 1))
    ax_b.plot(epochs, elbo, "o-", ms=2.5, color="C0", label="-ELBO")
    ax_b.plot(epochs, bound, "o-", ms=2.5, color="C3", label=f"-L_{samples}")
    ax_b.set_ylabel("nats (test)", fontsize=FONT)
    ax_b.legend(fontsize=FONT, loc="center right")
    ax_u.plot(epochs, units, "o-", ms=2.5, color="C2")
    ax_u.set_ylabel("active units", fontsize=FONT)
    ax_u.set_ylim(0, max(units) + 3)
    for ax in (ax_b, ax_u):
        ax.set_xlabel("epochs on the IWAE bound", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"trained on with the IWAE bound (S = {samples}): first {images:,} test images",
        fontsize=FONT + 1,
    )
    fig.tight_layout()
    return fig
