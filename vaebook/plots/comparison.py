"""The figure of the chapter comparing discrete-latent estimators (:mod:`vaebook.comparison`).

Returns a matplotlib Figure: test -ELBO against training seconds for every trained model, beside
bias against variance of each estimator on the small enumerable model.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch

FAMILY_COLOURS = {"score-function": "C1", "straight-through": "C0", "gumbel-softmax": "C2",
                  "straight-through-gumbel": "C3", "smoothing-f1": "C4", "smoothing-f2": "C5", "smoothing-f3": "C6",
                  "naive": "C7", "score-function-no-baseline": "C8"}


def _style(label: str, estimator: str) -> dict:
    dashes = "--" if "anneal" in label else (":" if "0.5" in label else "-")
    return {"color": FAMILY_COLOURS.get(estimator, "C9"), "ls": dashes}


def estimator_comparison(curves: dict[str, tuple[str, list[dict]]], rows: list[dict], title: str = "") -> plt.Figure:
    """Left: test -ELBO (hard, exact discrete bound) per epoch against cumulative training seconds,
    ``curves`` = {label: (estimator name, history)}. Right: ``rows`` of
    :func:`vaebook.comparison.gradient_table`, bias ||E[g] - grad|| (with its Monte Carlo noise level
    as an error bar) against the variance of one estimate, log-log; an estimator with zero variance
    (the naive one) is drawn at the left edge."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [1.25, 1]})
    for label, (estimator, history) in curves.items():
        seconds = torch.tensor([row["seconds"] for row in history]).cumsum(0).tolist()
        ax1.plot(seconds, [row["test_neg_elbo"] for row in history], lw=1.3, label=label, **_style(label, estimator))
    ax1.set_ylim(top=min(200, ax1.get_ylim()[1]))
    ax1.set_xlabel("training seconds (one H200 shared by 13 trainings; test passes excluded)", fontsize=8)
    ax1.set_ylabel("test -ELBO, exact discrete z (nats)", fontsize=8)
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7, ncol=2)
    ax1.set_title("learning curves: MNIST test set, one pass per epoch", fontsize=9)
    positive = [r["variance"] for r in rows if r["variance"] > 0]
    floor = min(positive) / 10 if positive else 1e-3
    placed: list[tuple[float, float]] = []  # label anchors in log10 units, to push overlapping labels apart
    for r in sorted(rows, key=lambda r: -r["bias_norm"]):
        var = r["variance"] if r["variance"] > 0 else floor
        style = _style(r["label"], r["estimator"])
        marker = "o" if r["bias_in_se"] > 3 else "s"
        ax2.errorbar(var, r["bias_norm"], yerr=r["mean_se_norm"], fmt=marker, color=style["color"], ms=6,
                     mfc=style["color"] if style["ls"] == "-" else "white", capsize=2)
        lx, ly = math.log10(var), math.log10(r["bias_norm"])
        shift = 0
        while any(abs(lx - px) < 1.4 and abs(ly - shift * 0.06 - py) < 0.05 for px, py in placed):
            shift += 1
        placed.append((lx, ly - shift * 0.06))
        ax2.annotate(r["label"], (var, r["bias_norm"]), textcoords="offset points", xytext=(5, 3 - 9 * shift),
                     fontsize=7)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("variance of one estimate (trace of its covariance)", fontsize=8)
    ax2.set_ylabel("bias ||E[estimate] - exact gradient||", fontsize=8)
    ax2.grid(alpha=0.3, which="both")
    num = rows[0]["num_samples"] if rows else 0
    ax2.set_title(f"gradient bias vs variance, small model ({num:,} estimates each;\n"
                  "squares: bias within 3 Monte Carlo SE of 0; hollow: annealed or tau 0.5 settings)", fontsize=9)
    fig.suptitle(title or "the discrete-latent estimators compared", fontsize=10)
    fig.tight_layout()
    return fig
