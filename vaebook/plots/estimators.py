"""Figures for the chapter on gradient estimators (:mod:`vaebook.gradients`).

Each function returns a matplotlib Figure, sized for the book's column
(:mod:`vaebook.plots.style`: at most ``WIDTH`` wide, text of at least ``FONT`` points).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy
import torch

from .style import FONT, SliderFigure, freeze_layout


def plot_variance(
    num_samples: list[int], variances: dict[str, list[float]], title: str = ""
):
    """Variance of each S-sample estimator against S (log-log), with a 1/S guide through
    the first line."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for i, (label, values) in enumerate(variances.items()):
        ax.loglog(
            num_samples[-len(values) :], values, "o-", color=f"C{i}", label=label, ms=4
        )
    first = next(iter(variances.values()))
    s0 = num_samples[-len(first)]
    guide = [first[0] * s0 / s for s in num_samples]
    ax.loglog(num_samples, guide, ":", color="C7", label="slope 1/S")
    ax.set_xlabel("samples S per estimate")
    ax.set_ylabel("variance of the estimate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=FONT, loc="lower left")  # the lines fall to the right
    ax.set_title(title or "variance of S-sample gradient estimates", fontsize=10)
    fig.tight_layout()
    return fig


class GradientTermsFigure(SliderFigure):
    """Histograms of per-sample gradient terms, one row per estimator, the exact
    gradient marked.

    ``draw(terms, title)`` with ``terms`` ({label: (S,) tensor}) draws them into one
    Figure, the same object on every call, by updating its artists in place
    (:class:`~vaebook.plots.style.SliderFigure`). ``limits`` fixes the
    x-range (values outside are counted in the edge bins); by default it is the 1 %
    to 99 % quantile range of the first call's terms.
    """

    def __init__(
        self, exact: float, bins: int = 60, limits: tuple[float, float] | None = None
    ):
        self.exact, self.bins, self.limits = exact, bins, limits
        self.fig = None
        self.frozen = False

    def _build(self, labels: list[str], title: str) -> None:
        rows = len(labels)
        self.fig, axes = plt.subplots(
            rows, 1, figsize=(6.0, 0.9 + 1.0 * rows), sharex=True, squeeze=False
        )
        self.labels = labels
        self.axes = list(axes[:, 0])
        self.edges = torch.linspace(*self.limits, self.bins + 1).tolist()
        self.steps, self.texts = [], []
        for i, (ax, label) in enumerate(zip(self.axes, labels)):
            self.steps.append(
                ax.stairs(
                    [0.0] * self.bins, self.edges, fill=True, color=f"C{i}", alpha=0.8
                )
            )
            ax.axvline(self.exact, color="k", lw=1)
            ax.set_ylim(0, 1.15)
            ax.set_yticks([])
            ax.set_title(label, fontsize=FONT, loc="left")
            self.texts.append(
                ax.text(
                    0.99,
                    0.72,
                    "",
                    transform=ax.transAxes,
                    ha="right",
                    fontsize=FONT,
                )
            )
        self.axes[-1].set_xlim(*self.limits)
        self.axes[-1].set_xlabel(
            "single-sample gradient estimate (black line: the exact gradient)",
            fontsize=FONT,
        )
        self.title = self.fig.suptitle(title, fontsize=10)
        self.fig.tight_layout()  # once: later frames keep this layout
        self.moves(*self.steps, *self.texts, self.title)

    def draw(self, terms: dict[str, torch.Tensor], title: str = "") -> plt.Figure:
        values = {k: v.detach().double().cpu().reshape(-1) for k, v in terms.items()}
        if self.limits is None:
            pooled = torch.cat(list(values.values()))
            self.limits = (pooled.quantile(0.01).item(), pooled.quantile(0.99).item())
        if self.fig is None:
            self._build(list(values), title)
        if list(values) != self.labels:
            raise ValueError(
                f"terms must have the labels {self.labels}, got {list(values)}"
            )
        for ax, steps, text, v in zip(
            self.axes, self.steps, self.texts, values.values()
        ):
            clamped = v.clamp(*self.limits).numpy()  # edge bins count the outside
            counts, _ = numpy.histogram(clamped, self.bins, self.limits)
            # heights relative to the tallest bin on fixed limits (no y ticks): the
            # picture of set_ylim(0, 1.15 max) without new limits, so a move blits
            steps.set_data(values=counts / max(counts.max(), 1))
            text.set_text(f"mean {v.mean():.2f}, std {v.std():.2f}")
        self.title.set_text(title)
        if not self.frozen:  # the first frame fixes the layout of all others
            freeze_layout(self.fig)
            self.frozen = True
        return self.fig
