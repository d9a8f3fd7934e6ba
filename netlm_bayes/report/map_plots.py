"""The MAP forest plot: each study's reported estimate and its shrinkage estimate, the
mean, and the MAP prior for a new study, with the fitted mixture's density beneath."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from scipy import special

from netlm_bayes.report.format import long_label

AXIS_TITLE = {"ratio_hr": "hazard ratio (log scale)", "ratio_or": "odds ratio (log scale)",
              "median": "median, {unit} (log scale)", "rate": "{label}"}  # fmt: skip


def map_forest(result, path: Path) -> None:
    q, table = result.quantity, result.table
    studies = table[table["row"] == "study"]
    summary = table[table["row"].isin(["mean (mu)", "MAP: a new study (theta*)"])]
    figure, (axis, density) = plt.subplots(
        2, 1, figsize=(10, 1.2 + 0.45 * (len(studies) + 3)), sharex=True,
        gridspec_kw={"height_ratios": [len(studies) + 2, 1.6]},
    )  # fmt: skip
    y = np.arange(len(studies) + len(summary))[::-1]
    for position, row in zip(y, studies.itertuples(), strict=False):
        axis.plot([row.reported_ci95_low, row.reported_ci95_high], [position + 0.15] * 2,
                  color="black", lw=1.5)  # fmt: skip
        axis.plot(row.reported, position + 0.15, "s", color="black", ms=4)
        axis.plot([row.ci95_low, row.ci95_high], [position - 0.15] * 2, color="tab:blue", lw=2)
        axis.plot(row.median, position - 0.15, "o", color="tab:blue", ms=4)
    for position, row in zip(y[len(studies) :], summary.itertuples(), strict=True):
        colour = "tab:red" if row.row.startswith("MAP") else "0.35"
        axis.plot([row.ci95_low, row.ci95_high], [position] * 2, color=colour, lw=3)
        axis.plot(row.median, position, "D", color=colour, ms=6)
    names = [f"{s}{' (ILLUSTRATIVE)' if i else ''}"
             for s, i in zip(studies["study"], studies["illustrative"], strict=True)]  # fmt: skip
    axis.set_yticks(y, [*names, "mean (mu)", "MAP: next study"], fontsize=11)
    axis.plot([], [], "s-", color="black", label="reported (95% CI)")
    axis.plot([], [], "o-", color="tab:blue", label="shrinkage estimate (95%)")
    axis.plot([], [], "D-", color="tab:red", label="MAP prior (95%)")
    _density(result, density)
    density.legend(*_handles(axis, density), fontsize=9, loc="upper left",
                   bbox_to_anchor=(1.01, 1.0), frameon=False)  # fmt: skip
    kind = q.kind if q.kind != "ratio" else f"ratio_{q.name[:2]}"
    unit = next((m.time_unit for m in result.measurements if m.time_unit), "")
    density.set_xlabel(AXIS_TITLE[kind].format(unit=unit, label=q.label), fontsize=11)
    if q.kind != "rate":
        axis.set_xscale("log")
        density.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        density.xaxis.set_minor_formatter(ticker.NullFormatter())
        if q.kind == "ratio":
            for a in (axis, density):
                a.axvline(1.0, color="grey", ls=":", lw=1)
    words = long_label(q.name)
    words = q.label if words == q.name else words  # a quantity of the user's own
    title = f"MAP prior for a new study: {words}\ntau ~ {result.tau_prior}"
    if result.illustrative:
        title += f"\nILLUSTRATIVE studies ({', '.join(result.illustrative)}): not evidence"
    axis.set_title(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _handles(*axes):
    handles, names = [], []
    for a in axes:
        h, n = a.get_legend_handles_labels()
        handles += h
        names += n
    return handles, names


def _density(result, axis) -> None:
    """The predictive draws and the fitted mixture, on the natural scale."""
    q, mix = result.quantity, result.fitted.mixture
    draws = result.draws["theta_new"]
    lo, hi = np.quantile(draws, [0.002, 0.998])
    grid = np.linspace(lo, hi, 400)
    natural = special.expit if q.kind == "rate" else np.exp
    # densities per unit of the log (logit) scale, drawn against the natural value
    inside = draws[(draws > lo) & (draws < hi)]
    axis.hist(natural(inside), bins=natural(np.linspace(lo, hi, 60)),
              weights=np.full(inside.size, 1.0 / len(draws)), color="0.85",
              label="predictive draws")  # fmt: skip
    step = (hi - lo) / 59
    axis.plot(natural(grid), np.exp(mix.logpdf(grid)) * step, color="tab:red",
              label=f"{len(mix.weights)}-component mixture")  # fmt: skip
    axis.set_yticks([])
