"""Plots of patient-level posteriors, saved as PNG in the run folder."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from lifelines import KaplanMeierFitter

from netlm_bayes.modeldata import ModelData


def survival_curves(
    table: pd.DataFrame, data: ModelData, path: Path, time_unit: str, note: str
) -> None:
    """Posterior survival bands per standardised pattern, over the data's Kaplan-Meier."""
    binary = [c for c in data.covariates if data.covariate_is_binary(c)]
    panels = ["cohort", *binary]
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows), squeeze=False)
    for axis, panel in zip(axes.flat, panels, strict=False):
        if panel == "cohort":
            _band(axis, table, "cohort", "model", "tab:blue")
            _km(axis, data, None, "Kaplan-Meier", "black")
            axis.set_title("whole cohort")
        else:
            j = data.covariates.index(panel)
            for level, colour in ((0, "tab:blue"), (1, "tab:red")):
                _band(axis, table, f"{panel}={level}", f"{panel}={level}", colour)
                _km(axis, data, data.X[:, j] == level, f"KM {panel}={level}", colour)
            axis.set_title(panel)
        axis.set_xlabel(time_unit)
        axis.set_ylabel("survival")
        axis.set_ylim(0, 1.02)
        axis.legend(fontsize=7, loc="upper right")
    for axis in list(axes.flat)[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle(f"Posterior survival (median, 95% band) over Kaplan-Meier. {note}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _band(axis, table: pd.DataFrame, pattern: str, label: str, colour: str) -> None:
    rows = table[table["pattern"] == pattern]
    axis.fill_between(rows["time"], rows["eti95_low"], rows["eti95_high"], color=colour, alpha=0.2)
    axis.plot(rows["time"], rows["median"], color=colour, label=label)


def _km(axis, data: ModelData, mask, label: str, colour: str) -> None:
    time, event = (data.time, data.event) if mask is None else (data.time[mask], data.event[mask])
    if len(time) == 0:
        return
    fitter = KaplanMeierFitter().fit(time, event)
    curve = fitter.survival_function_.iloc[:, 0]
    axis.step(curve.index, curve.values, where="post", color=colour, lw=1, ls="--", label=label)


def ppc_histograms(replicated: dict, table: pd.DataFrame, path: Path, note: str) -> None:
    """One panel per statistic: replicate histogram, the observed value, the paper's value."""
    import numpy as np

    count = len(replicated)
    columns = min(4, count)
    rows = -(-count // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.7 * rows), squeeze=False)
    for axis, (label, row) in zip(
        axes.flat, zip(replicated, table.itertuples(), strict=True), strict=False
    ):
        values = replicated[label]
        finite = values[np.isfinite(values)]
        # Ratios on the log scale; replicates with a 0 or infinite MLE (separation) are
        # left out of the histogram and counted in the title instead.
        log_scale = row.statistic.startswith(("hr_", "or_"))
        shown = np.log(finite[finite > 0]) if log_scale else finite
        off_scale = int(np.sum(~np.isnan(values))) - len(shown)
        if shown.size:
            axis.hist(shown, bins=30, color="tab:blue", alpha=0.6)
        for value, colour, name in (
            (row.observed, "black", "cohort"),
            (row.paper, "tab:red", "paper"),
        ):
            if np.isfinite(value) and (value > 0 or not log_scale):
                axis.axvline(
                    np.log(value) if log_scale else value, color=colour, lw=1.5, label=name
                )
        extra = f", {off_scale} at 0 or inf" if off_scale else ""
        axis.set_title(f"{label}\np = {row.ppp_value:.2f}{extra}", fontsize=8)
        axis.set_xlabel(("log " if log_scale else "") + row.statistic, fontsize=7)
        axis.tick_params(labelsize=7)
        axis.legend(fontsize=6)
    for axis in list(axes.flat)[count:]:
        axis.set_visible(False)
    figure.suptitle(
        f"Posterior predictive replicates (blue) vs the cohort and the paper. {note}", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
