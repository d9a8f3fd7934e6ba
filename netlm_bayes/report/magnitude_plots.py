"""How big, drawn: P(effect beyond x) against x, one panel per reported ratio.

Each curve is one prior set; solid for the paper's numbers as printed, dashed for the
selection-adjusted reading (if the effects were reported because significant). x runs in
the direction the paper claims (for a protective ratio, towards smaller ratios), on a log
axis, with the thresholds of data/thresholds.toml marked. Drawn at the report's width.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D

from netlm_bayes.fitting import magnitude
from netlm_bayes.report.format import FIGURE_DPI, PAGE_WIDTH_IN, long_label

FONT_PT = 9
PLAIN_TICKS = [0.003, 0.01, 0.03, 0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20, 30, 100, 300]
LINE_STYLES = ("-", "--", ":")


def exceedance_figure(
    curves: dict[str, dict[str, dict[str, np.ndarray]]],
    estimates: dict[str, float],
    thresholds: magnitude.Thresholds,
    path: Path,
) -> None:
    """`curves`: analysis -> prior set -> quantity -> draws of the ratio."""
    quantities = list(estimates)
    columns = 2
    rows = -(-len(quantities) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(PAGE_WIDTH_IN, 3.1 * rows + 1.0),
                                squeeze=False)  # fmt: skip
    analyses = list(curves)
    prior_sets = list(curves[analyses[0]])
    colours = dict(zip(prior_sets, plt.get_cmap("tab10").colors, strict=False))
    for axis, quantity in zip(axes.flat, quantities, strict=False):
        increase = magnitude.claims_increase(estimates[quantity])
        _panel(axis, quantity, increase, curves, colours, thresholds)
    for axis in list(axes.flat)[len(quantities) :]:
        axis.set_visible(False)
    handles = [Line2D([], [], color=colours[name], lw=2, label=f"{name} prior")
               for name in prior_sets]  # fmt: skip
    handles += [Line2D([], [], color="0.3", ls=style, lw=1.5, label=_reading_words(analysis))
                for analysis, style in zip(analyses, LINE_STYLES, strict=False)]  # fmt: skip
    figure.legend(handles=handles, loc="lower center", ncol=4, fontsize=FONT_PT, frameon=False)
    figure.suptitle(
        "How big? The posterior probability that each effect lies beyond x, in the direction "
        "the paper claims\n(dotted, and marked on top: the thresholds of data/thresholds.toml)",
        fontsize=FONT_PT + 2,
    )
    figure.tight_layout(rect=(0, 0.09 if rows == 1 else 0.06, 1, 0.93))
    figure.savefig(path, dpi=FIGURE_DPI)
    plt.close(figure)


def _short(threshold: float, increase: bool) -> str:
    """A threshold as marked on the axis: 2, or 1/2 for a protective ratio."""
    if increase or threshold == 1:
        return f"{threshold:g}"
    return f"1/{threshold:g}" if float(threshold).is_integer() else f"{1 / threshold:.2g}"


def _reading_words(analysis: str) -> str:
    if analysis.endswith("selection-adjusted"):
        return "if reported because significant"
    return "the paper's numbers as printed"


def _panel(axis, quantity, increase, curves, colours, thresholds) -> None:
    pooled = np.concatenate([d[quantity] for sets in curves.values() for d in sets.values()])
    low, high = np.quantile(pooled, [0.005, 0.995])
    grid = np.geomspace(min(low, 0.9), max(high, 1.1), 400)
    for analysis, style in zip(curves, LINE_STYLES, strict=False):
        for name, draws in curves[analysis].items():
            probability = magnitude.exceedance_curve(draws[quantity], grid, increase)
            axis.plot(grid, probability, color=colours[name], ls=style, lw=1.6)
    marks = [t if increase else 1 / t for t in thresholds.values]
    for x in marks:
        axis.axvline(x, color="0.55", ls=":", lw=1)
    axis.set_xscale("log")
    top = axis.secondary_xaxis("top")
    top.xaxis.set_major_locator(ticker.FixedLocator(marks))
    top.xaxis.set_minor_locator(ticker.NullLocator())
    top.xaxis.set_major_formatter(ticker.FixedFormatter(
        [_short(t, increase) for t in thresholds.values]))  # fmt: skip
    top.tick_params(labelsize=FONT_PT - 1, colors="0.3", length=2)
    ticks = [t for t in PLAIN_TICKS if grid[0] <= t <= grid[-1]]
    axis.xaxis.set_major_locator(ticker.FixedLocator(ticks))
    axis.xaxis.set_minor_locator(ticker.NullLocator())
    axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    if not increase:
        axis.invert_xaxis()  # larger protective effects to the right, as for the others
    measure = quantity[:2].upper()
    axis.set_xlabel(f"x: {long_label(quantity)} (log scale)", fontsize=FONT_PT)
    axis.set_ylabel(f"P({measure} {'>' if increase else '<'} x)", fontsize=FONT_PT)
    axis.set_ylim(0, 1.02)
    axis.set_yticks([0, 0.25, 0.5, 0.75, 1])
    axis.tick_params(labelsize=FONT_PT)
    axis.grid(axis="y", color="0.9")
