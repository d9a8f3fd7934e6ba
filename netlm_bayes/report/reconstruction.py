"""What `reconstruct` shows: the rebuilt KM over the digitised points, and the accuracy
tables, each marked as reconstructed data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netlm_bayes import labels
from netlm_bayes.evidence.km_figure import DigitisedCurve
from netlm_bayes.evidence.km_reconstruction import GroupReconstruction
from netlm_bayes.evidence.paper import ReportedEffect
from netlm_bayes.frequentist.km_accuracy import Accuracy, kaplan_meier
from netlm_bayes.report import plots

COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def overlay(
    figure: dict[str, DigitisedCurve],
    groups: dict[str, GroupReconstruction],
    path: Path,
    time_unit: str,
) -> None:
    """The digitised points and the reconstructed Kaplan–Meier curve, per group."""
    canvas, (axis,) = plots.panels(1, 1, 7.5, 4.8)
    for (name, curve), colour in zip(figure.items(), COLOURS * 10, strict=False):
        label = "" if len(figure) == 1 else f"{name}: "
        axis.plot(curve.time, curve.survival, "o", ms=3.5, color=colour, alpha=0.55,
                  label=f"{label}digitised points (cleaned)")  # fmt: skip
        fitted = kaplan_meier(groups[name].time, groups[name].event)
        steps = fitted.survival_function_
        axis.step(steps.index, steps.iloc[:, 0], where="post", color=colour, lw=1.4,
                  label=f"{label}reconstructed KM (n = {len(groups[name].time)})")  # fmt: skip
    axis.set_xlabel(f"time ({time_unit})", fontsize=11)
    axis.set_ylabel("survival probability", fontsize=11)
    axis.set_ylim(-0.02, 1.02)
    axis.tick_params(labelsize=10)
    axis.legend(fontsize=9, frameon=False, loc="lower left")
    axis.grid(alpha=0.25)
    plots.save(
        canvas, path,
        "Patients reconstructed from a published KM curve (Guyot et al. 2012)\n"
        "approximate data, not the trial's own", fontsize=10,
    )  # fmt: skip


def print_accuracy(
    accuracy: Accuracy, time_unit: str, cleaning: dict[str, list[str]], console: Console
) -> None:
    console.print(f"[bold yellow]{labels.RECONSTRUCTED_BANNER}[/bold yellow]")
    for group, log in cleaning.items():
        for line in log:
            console.print(f"cleaning{'' if group == 'all' else f' ({group})'}: {escape(line)}")
    table = Table(title="Reconstructed against the figure" + labels.RECONSTRUCTED_TAG)
    for column in ("group", "patients", "events", "KM vs points: max |diff|", "RMS",
                   f"median read ({time_unit})", f"median rebuilt ({time_unit})",
                   "at-risk times met"):  # fmt: skip
        table.add_column(column, justify="left" if column == "group" else "right")
    for row in accuracy.curves.itertuples():
        given = "" if pd.isna(row.events_reported) else f" (given {int(row.events_reported)})"
        table.add_row(
            str(row.group), str(row.patients), f"{row.events_reconstructed}{given}",
            f"{row.km_max_abs_diff:.3f}", f"{row.km_rms_diff:.3f}",
            _time(row.median_read_from_curve), _time(row.median_reconstructed),
            f"{row.risk_times_matched} of {row.risk_times}",
        )  # fmt: skip
    console.print(table)
    for row in accuracy.hazard_ratios.itertuples():
        console.print(
            f"Cox HR, {row.group} vs {row.reference} (univariable, reconstructed data): "
            f"{row.hr:.3f} (95% CI {row.ci95_low:.3f} to {row.ci95_high:.3f}), P = {row.p:.3g}"
        )


def print_paper_effect(effect: ReportedEffect, accuracy: Accuracy, console: Console) -> None:
    """The paper's own HR for this grouping, beside the reconstructed one, with its source."""
    row = accuracy.hazard_ratios.iloc[0]
    low, high = effect.exact.ci95
    console.print(
        f"Paper ({effect.name}): HR {effect.estimate:g} (95% CI {low:.3g} to {high:.3g}, from "
        f"P={effect.p_printed}), {effect.analysis}. Reconstructed curves: HR {row.hr:.3f} "
        f"(95% CI {row.ci95_low:.3f} to {row.ci95_high:.3f}), univariable, so not adjusted "
        "for the paper's other covariates."
    )
    console.print(f"  source: {escape(effect.source)}")
    if effect.wording_note:
        console.print(f"  our reading: {escape(effect.wording_note)}")


def _time(value: float) -> str:
    return "not reached" if not np.isfinite(value) else f"{value:.4g}"
