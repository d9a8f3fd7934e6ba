"""The forest plot: per quantity, the paper's 95% CI beside every analysis's posterior."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

RATIO_PREFIXES = ("hr_", "or_")


def forest(
    table: pd.DataFrame, path: Path, title: str, *,
    panel_title: Callable[[str], str] = str, label_size: float = 8, dpi: int = 110,
) -> None:  # fmt: skip
    """One panel per quantity: the paper's 95% CI (black) on top, then one row per analysis
    (its `row_label`, drawn in its `colour`): the posterior 95% ETI and median. Ratios are
    drawn on a log axis with a line at 1."""
    quantities = list(dict.fromkeys(table["quantity"]))
    columns = min(4, len(quantities))
    rows = -(-len(quantities) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for axis, quantity in zip(axes.flat, quantities, strict=False):
        part = table[table["quantity"] == quantity]
        first = part.iloc[0]
        y = np.arange(len(part) + 1)[::-1]
        axis.plot([first.paper_ci95_low, first.paper_ci95_high], [y[0]] * 2, color="black", lw=2)
        axis.plot(first.paper_estimate, y[0], "s", color="black")
        for position, row in zip(y[1:], part.itertuples(), strict=True):
            axis.plot([row.eti95_low, row.eti95_high], [position] * 2, color=row.colour, lw=2)
            axis.plot(row.median, position, "o", color=row.colour, ms=4)
        if quantity.startswith(RATIO_PREFIXES):
            axis.set_xscale("log")
            axis.axvline(1.0, color="grey", ls=":", lw=1)
        axis.set_yticks(y, ["paper", *part["row_label"]], fontsize=label_size)
        axis.set_title(panel_title(quantity), fontsize=9)
        axis.tick_params(axis="x", labelsize=7)
    for axis in list(axes.flat)[len(quantities) :]:
        axis.set_visible(False)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
