"""Figures for book/control_variates: the error of each gradient estimator against
the number of decoder passes, with REINFORCE's baseline chosen by a slider.

The numbers come from :func:`vaebook.experiments.control_variates.error_table`: a
DataFrame with columns ``method``, ``baseline``, ``S``, ``bias_sq``, ``variance``,
``mse`` and ``relative`` (MSE / |exact gradient|^2).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from .style import FONT, WIDTH, SliderFigure, freeze_layout

REINFORCE = "REINFORCE"


class MSEFigure(SliderFigure):
    """Left: MSE / |grad|^2 against the decoder passes S (log-log), one line per
    method, REINFORCE's at the baseline chosen, a vertical line at the S chosen.
    Right: at that S, each method's squared bias (dark) and variance (light) as
    stacked bars, as shares of that S's largest total (REINFORCE without a baseline
    aside: bars past the axis are cut and labelled), each labelled with its value in
    the left panel's units; the axis stays fixed (``xmax``: a fixed axis in those
    units instead), so that a move redraws bars and labels only.

    ``draw(S, baseline)`` moves the artists built once in ``__init__``."""

    def __init__(self, table, xmax: float | None = None):
        self.table = table
        self.methods = list(dict.fromkeys(table["method"]))
        self.passes = sorted(set(table["S"]))
        norm = table["mse"] / table["relative"]  # |exact|^2 of each row
        self.table = table.assign(
            rel_bias=table["bias_sq"] / norm, rel_var=table["variance"] / norm
        )
        self.xmax = xmax  # None: shares of each S's largest bar but "none"
        self.fig, (self.ax, self.bars_ax) = plt.subplots(
            1, 2, figsize=(WIDTH - 0.5, 3.6), width_ratios=(1.25, 1)
        )
        self._lines()
        self._bars()
        self.fig.tight_layout(rect=(0, 0, 1, 0.86))
        freeze_layout(self.fig)
        bars = [*self.bias_bars, *self.var_bars, *self.labels]
        self.moves(self.curves[REINFORCE], self.marker, *bars, self.title)

    def _curve(self, method: str, baseline: str) -> list[float]:
        rows = self.table[self.table["method"] == method]
        if method == REINFORCE:
            rows = rows[rows["baseline"] == baseline]
        by_s = dict(zip(rows["S"], rows["relative"]))
        return [by_s.get(s, math.nan) for s in self.passes]

    def _lines(self) -> None:
        ax = self.ax
        self.curves = {}
        for i, method in enumerate(self.methods):
            dashed = "straight" in method or "Gumbel" in method  # the biased ones
            (self.curves[method],) = ax.plot(
                self.passes,
                self._curve(method, "none"),
                "--o" if dashed else "-o",
                color=f"C{i}",
                ms=3,
                label=method,
            )
        values = self.table["relative"]
        ax.set(
            xscale="log", yscale="log", ylim=(values.min() / 1.5, values.max() * 1.5)
        )
        ax.set_xticks(self.passes, [str(s) for s in self.passes])
        ax.minorticks_off()
        self.marker = ax.axvline(self.passes[0], color="k", lw=0.8, alpha=0.6)
        ax.set_xlabel("decoder passes S per estimate", fontsize=FONT)
        ax.set_ylabel("MSE / |exact gradient|²", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3, which="both")
        self.fig.legend(
            fontsize=FONT, loc="upper center", ncol=3, frameon=False, borderaxespad=0.2
        )

    def _bars(self) -> None:
        ax = self.bars_ax
        rows = range(len(self.methods))
        self.bias_bars = ax.barh(rows, [0] * len(rows), color="C7", label="bias²")
        self.var_bars = ax.barh(
            rows, [0] * len(rows), color="C0", alpha=0.45, label="variance"
        )
        for bar, i in zip(self.var_bars, rows):
            bar.set_facecolor(f"C{i}")
        self.labels = [
            ax.text(0, i, "", va="center", fontsize=FONT, clip_on=False) for i in rows
        ]
        ax.set_yticks(list(rows), [m.replace(" tau", "\ntau") for m in self.methods])
        ax.invert_yaxis()
        ax.tick_params(labelsize=FONT)
        units = "/ |grad|²" if self.xmax else "÷ max"
        ax.set_xlabel(f"bias² (grey) + variance, {units}", fontsize=FONT)
        ax.set_xlim(0, self.xmax or 1.15)
        self.title = ax.set_title("", fontsize=FONT, loc="right")

    def draw(self, S: int, baseline: str = "none"):
        """The figure at S decoder passes with REINFORCE's ``baseline``."""
        self.curves[REINFORCE].set_ydata(self._curve(REINFORCE, baseline))
        self.marker.set_xdata([S, S])
        at = self.table[self.table["S"] == S]
        largest = float(at[at["baseline"] != "none"]["relative"].max())
        scale, xmax = (1.0, self.xmax) if self.xmax else (largest, 1.15)
        for i, method in enumerate(self.methods):
            rows = at[at["method"] == method]
            if method == REINFORCE:
                rows = rows[rows["baseline"] == baseline]
            bias, var = (
                (float(rows["rel_bias"].iloc[0]), float(rows["rel_var"].iloc[0]))
                if len(rows)
                else (math.nan, math.nan)
            )
            self.bias_bars[i].set_width(0 if math.isnan(bias) else bias / scale)
            self.var_bars[i].set_x(0 if math.isnan(bias) else bias / scale)
            self.var_bars[i].set_width(0 if math.isnan(var) else var / scale)
            total = bias + var
            text = "not run at this S" if math.isnan(total) else f"{total:.2g}"
            cut = total / scale > xmax
            self.labels[i].set_position(
                (0.02 * xmax if cut or math.isnan(total) else total / scale, i)
            )
            self.labels[i].set_text(f" {text} (cut)" if cut else f" {text}")
        self.title.set_text(f"S = {S}; REINFORCE baseline: {baseline}")
        return self.fig
