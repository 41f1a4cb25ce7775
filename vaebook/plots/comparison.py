"""The figure of the chapter comparing discrete-latent estimators.

(:mod:`vaebook.experiments.comparison`.) Returns a matplotlib Figure sized for the
book's text column (6.8 in wide at 100 dpi, text at 9 pt or more): test -ELBO against
the optimizer step for every estimator (mean and range over seeds), above bias against
variance of each estimator on the small enumerable model.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.text import Text

from .style import FONT

FAMILY_COLOURS = {
    "score-function": "C1",
    "straight-through": "C0",
    "gumbel-softmax": "C2",
    "straight-through-gumbel": "C3",
    "smoothing-f1": "C4",
    "smoothing-f2": "C5",
    "smoothing-f3": "C6",
    "naive": "C7",
    "score-function-no-baseline": "C8",
    "nvil": "C9",  # the unbiased estimators of book/control_variates
    "rloo": "black",
    "vimco": "C8",
    "disarm": "navy",
}


def _style(label: str, estimator: str) -> dict:
    slow = "anneal" in label or "S = 2" in label
    dashes = "--" if slow else (":" if "0.5" in label else "-")
    return {"color": FAMILY_COLOURS.get(estimator, "C9"), "ls": dashes}


def seed_band(histories: list[list[dict]], key: str = "test_neg_elbo") -> tuple:
    """(steps, mean, lo, hi) of ``key`` per epoch over the seeds' ``histories`` (the
    same steps in each): the mean curve and the seeds' range."""
    steps = [row["step"] for row in histories[0]]
    for history in histories[1:]:
        if [row["step"] for row in history] != steps:
            raise ValueError("the seeds' histories must share their steps")
    values = torch.tensor(
        [[float(row[key]) for row in h] for h in histories]
    )  # (seeds, E)
    return steps, values.mean(0), values.amin(0), values.amax(0)


def _learning_curves(ax, curves: dict[str, tuple[str, list[list[dict]]]]) -> None:
    for label, (estimator, histories) in curves.items():
        steps, mean, lo, hi = seed_band(histories)
        style = _style(label, estimator)
        ax.fill_between(steps, lo, hi, color=style["color"], alpha=0.25, lw=0)
        ax.plot(steps, mean, lw=1.4, label=label, **style)
    ax.set_xlabel("optimizer step", fontsize=FONT)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=FONT)
    ax.legend(
        fontsize=FONT,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        frameon=False,
        handlelength=2.6,
    )


OFFSETS = [
    ((dx, dy), "left" if dx > 0 else "right")
    for dy in (3, -12, 16, -26, 30, -40, 44, -54)
    for dx in (6, -6, 30, -30)
]


def _place_labels(ax, points: list[tuple[str, float, float, float]]) -> None:
    """Label each (text, x, y, error) beside its marker, at the first of :data:`OFFSETS`
    whose box meets no label placed before, no other marker and no error bar (display
    coordinates, after a draw); else at the offset that meets the fewest."""
    renderer = _freeze_layout(ax)
    to_px = ax.transData.transform
    markers = [to_px((x, y)) for _, x, y, _ in points]
    bars = [(to_px((x, y - e))[1], to_px((x, y + e))[1]) for _, x, y, e in points]
    frame = ax.get_window_extent(renderer)
    boxes = []
    for i, (text, x, y, _) in enumerate(points):

        def score(box, i=i) -> int:
            return _clashes(box, i, boxes, markers, bars, frame)

        boxes.append(_place_label(ax, text, x, y, renderer, score))


def _freeze_layout(ax):
    """Lay the figure out, then freeze it (no layout engine, fixed limits), so that
    display coordinates hold; returns the renderer."""
    fig = ax.figure
    fig.canvas.draw()  # lay the figure out, then freeze it: display coordinates hold
    fig.set_layout_engine("none")
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    return fig.canvas.get_renderer()


def _clashes(box, i, boxes, markers, bars, frame) -> int:
    """How badly label box i meets the labels placed (5 each), the other markers (3)
    and error bars (1), and the axes' frame (20 if outside)."""
    n = 5 * sum(box.overlaps(b) for b in boxes)  # weights: labels, markers, bars
    for k, ((mx, my), (y0, y1)) in enumerate(zip(markers, bars)):
        if k != i and box.x0 - 4 < mx < box.x1 + 4 and box.y0 - 4 < my < box.y1 + 4:
            n += 3
        if box.x0 - 2 < mx < box.x1 + 2 and box.y0 < y1 and box.y1 > y0 and k != i:
            n += 1
    return n + (0 if frame.x0 <= box.x0 and box.x1 <= frame.x1 else 20)


def _place_label(ax, text, x, y, renderer, score_of):
    """Try the :data:`OFFSETS` in turn, keep the first that scores 0 (else the
    lowest); returns the kept label's box."""
    best = None
    for offset, ha in OFFSETS:
        far = abs(offset[1]) > 3 or abs(offset[0]) > 6
        leader = {"arrowstyle": "-", "lw": 0.6, "color": "0.45"} if far else None
        ann = ax.annotate(
            text,
            (x, y),
            textcoords="offset points",
            xytext=offset,
            ha=ha,
            va="center",
            fontsize=FONT,
            arrowprops=leader,
        )
        ann.set_in_layout(False)
        ann.update_positions(renderer)
        box = Text.get_window_extent(ann, renderer)  # the text, not its leader
        score = score_of(box)
        if best is None or score < best[0]:
            if best is not None:
                best[1].remove()
            best = (score, ann, box)
        else:
            ann.remove()
        if score == 0:
            break
    return best[2]


def _bias_variance(ax, rows: list[dict]) -> list[tuple]:
    points = []
    for r in sorted(rows, key=lambda r: -r["bias_norm"]):
        style = _style(r["label"], r["estimator"])
        if r["variance"] == 0:  # naive: no point on a log axis, a line instead
            _zero_variance_line(ax, r, style)
            continue
        marker = "o" if r["bias_in_se"] > 3 else "s"
        ax.errorbar(
            r["variance"],
            r["bias_norm"],
            yerr=r["mean_se_norm"],
            fmt=marker,
            color=style["color"],
            ms=6,
            capsize=2,
            mfc=style["color"] if style["ls"] == "-" else "white",
        )
        points.append((r["label"], r["variance"], r["bias_norm"], r["mean_se_norm"]))
    _bias_variance_axes(ax, rows)
    return points


def _zero_variance_line(ax, r: dict, style: dict) -> None:
    """An estimator of variance 0: a dotted line at its bias, labelled."""
    ax.axhline(r["bias_norm"], color=style["color"], ls=":", lw=1.2)
    ax.annotate(
        f"{r['label']}: variance 0, bias = ||exact gradient||",
        (0.02, r["bias_norm"]),
        xycoords=("axes fraction", "data"),
        textcoords="offset points",
        xytext=(0, -11),
        fontsize=FONT,
    )


def _bias_variance_axes(ax, rows: list[dict]) -> None:
    """Log-log axes with room for the labels, their labels and title."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    left, right = ax.get_xlim()
    ax.set_xlim(left / 3, right * 10)  # room for the labels of the outer points
    ax.set_xlabel("variance of one estimate (trace of its covariance)", fontsize=FONT)
    ax.set_ylabel("bias ||E[estimate] - exact gradient||", fontsize=FONT)
    ax.grid(alpha=0.3, which="both")
    ax.tick_params(labelsize=FONT)
    num = rows[0]["num_samples"] if rows else 0
    ax.set_title(
        f"gradient bias vs variance, small model ({num:,} estimates each)\n"
        "squares: bias within 3 Monte Carlo SE of 0; "
        "hollow: annealed or tau 0.5",
        fontsize=FONT + 1,
    )


def estimator_comparison(
    curves: dict[str, tuple[str, list[list[dict]]]],
    rows: list[dict],
    title: str = "",
    top: float | None = None,
) -> plt.Figure:
    """Three panels. Top: test -ELBO (hard, exact discrete bound) after each epoch
    against the optimizer step, ``curves`` = {label: (estimator, [history per
    seed])}: the mean over the seeds as a line, the seeds' range as a band; the
    smoothers (estimators ``smoothing-*``) on the right, the others on the left, a
    legend below each, the y axis shared and cut at ``top`` nats. Bottom: ``rows`` of
    :func:`vaebook.experiments.comparison.gradient_table`, bias ||E[g] - grad|| (its
    Monte Carlo noise level as an error bar) against the variance of one estimate,
    log-log. An estimator with zero variance (the naive one) has no place on a log axis:
    it is a dotted horizontal line at its bias, labelled "variance 0"."""
    fig = plt.figure(figsize=(6.6, 11.0), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.2])
    left = fig.add_subplot(grid[0, 0])
    right = fig.add_subplot(grid[0, 1], sharey=left)
    smoothers = {k: v for k, v in curves.items() if v[0].startswith("smoothing")}
    others = {k: v for k, v in curves.items() if k not in smoothers}
    for ax, group, name in [
        (left, others, "exact samples, Gumbel-softmax"),
        (right, smoothers, "smoothing transformations"),
    ]:
        _learning_curves(ax, group)
        ax.set_title(name, fontsize=FONT + 1)
    left.set_ylabel("test -ELBO, exact discrete z (nats)", fontsize=FONT)
    right.tick_params(labelleft=False)
    if top is not None:
        left.set_ylim(top=top)
    ax2 = fig.add_subplot(grid[1, :])
    points = _bias_variance(ax2, rows)
    fig.suptitle(
        title or "learning curves (mean of the seeds, band: their range)",
        fontsize=FONT + 2,
    )
    _place_labels(ax2, points)
    return fig


def learning_curves(
    curves: dict[str, tuple[str, list[list[dict]]]],
    title: str,
    top: float | None = None,
) -> plt.Figure:
    """One panel of :func:`estimator_comparison`'s top row, for any ``curves`` =
    {label: (estimator, [history per seed])}: the hard test -ELBO after each epoch
    (mean over the seeds, their range as a band), the legend below, cut at ``top``."""
    fig, ax = plt.subplots(figsize=(6.6, 5.4), layout="constrained")
    _learning_curves(ax, curves)
    ax.set_ylabel("test -ELBO, exact discrete z (nats)", fontsize=FONT)
    if top is not None:
        ax.set_ylim(top=top)
    ax.set_title(title, fontsize=FONT + 1)
    return fig
