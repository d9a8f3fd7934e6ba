"""The forest plot: per quantity, the paper's 95% CI beside every analysis's posterior.

Drawn at the report's content width (format.PAGE_WIDTH_PX), so that on the page it is shown
at its natural size and its smallest text (10 pt = 13.9 px) stays readable.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import ticker

from netlm_bayes.families.reported_effects import is_ratio
from netlm_bayes.report.format import FIGURE_DPI, PAGE_WIDTH_IN, label

DPI = FIGURE_DPI
FONT_PT = 10  # the smallest text: 10 pt at 100 dpi is 13.9 px
AXIS_TITLES = {
    "hr_": "hazard ratio (log scale)",
    "or_": "odds ratio of non-response (log scale)",
}
PLAIN_TICKS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000]


def axis_title(quantity: str) -> str:
    return AXIS_TITLES.get(quantity[:3], "proportion of patients")


def forest(table: pd.DataFrame, path: Path, title: str, columns: int = 2) -> None:
    """One panel per quantity: the paper's 95% CI (black, and shaded across the panel) on
    top, then one row per analysis (its `row_label`, in its `colour`): the posterior 95%
    interval and median. Ratios on a log axis with plain ticks and a line at 1."""
    quantities = list(dict.fromkeys(table["quantity"]))
    columns = min(columns, len(quantities))
    rows = -(-len(quantities) // columns)
    heights = [max(len(table[table["quantity"] == q]) for q in quantities[i::columns])
               for i in range(columns)]  # fmt: skip
    panel_height = 0.32 * max(heights) + 1.1
    height = panel_height * rows + 0.8
    figure, axes = plt.subplots(rows, columns, figsize=(PAGE_WIDTH_IN, height), squeeze=False)
    for axis, quantity in zip(axes.flat, quantities, strict=False):
        _panel(axis, quantity, table[table["quantity"] == quantity])
    for axis in list(axes.flat)[len(quantities) :]:
        axis.set_visible(False)
    figure.suptitle(textwrap.fill(title, 130), fontsize=FONT_PT + 1)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.45 / height))  # room for a two-line title
    figure.savefig(path, dpi=DPI)
    plt.close(figure)


def _panel(axis, quantity: str, part: pd.DataFrame) -> None:
    first = part.iloc[0]
    y = np.arange(len(part) + 1)[::-1]
    axis.axvspan(first.paper_ci95_low, first.paper_ci95_high, color="0.85", zorder=0)
    axis.plot([first.paper_ci95_low, first.paper_ci95_high], [y[0]] * 2, color="black", lw=3)
    axis.plot(first.paper_estimate, y[0], "s", color="black", ms=7)
    for position, row in zip(y[1:], part.itertuples(), strict=True):
        axis.plot([row.eti95_low, row.eti95_high], [position] * 2, color=row.colour, lw=2)
        axis.plot(row.median, position, "o", color=row.colour, ms=5)
    if is_ratio(quantity):
        axis.set_xscale("log")
        axis.axvline(1.0, color="grey", ls=":", lw=1)
        low = min(part["eti95_low"].min(), first.paper_ci95_low)
        high = max(part["eti95_high"].max(), first.paper_ci95_high)
        ticks = [t for t in PLAIN_TICKS if low / 1.5 <= t <= high * 1.5]
        axis.xaxis.set_major_locator(ticker.FixedLocator(ticks))
        axis.xaxis.set_minor_locator(ticker.NullLocator())
        axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_yticks(y, ["paper (implied 95% CI)", *part["row_label"]], fontsize=FONT_PT)
    axis.set_title(label(quantity), fontsize=FONT_PT + 1, loc="left")
    axis.set_xlabel(axis_title(quantity), fontsize=FONT_PT)
    axis.tick_params(axis="x", labelsize=FONT_PT)
