"""`netlm-bayes oc`'s run folder: oc.csv (P(success) at each pair of true rates),
critical_values.csv (per control outcome, the fewest treatment responders that succeed),
oc.png and manifest.json, written together or not at all."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from netlm_bayes import paths, runs
from netlm_bayes.errors import InputError, option
from netlm_bayes.planning.decisions import Design
from netlm_bayes.report import prior_plots

METHOD = (
    "exact: binomial outcomes enumerated, Beta-mixture posteriors; P(difference > q) by "
    "8,000-bin quadrature (error <= 1e-5)"
)


def oc_table(design: Design, rates: list[float], differences: list[float]) -> pd.DataFrame:
    """One row per true pair: `rates` are the control rates and treatment = control +
    difference (one sample: `rates` are the treatment rates themselves), and P(success)."""
    rows = []
    for difference in differences:
        control = np.asarray(rates, float)
        treatment = control + difference if design.n_control is not None else control
        outside = treatment[(treatment < 0) | (treatment > 1)]
        if outside.size:
            raise InputError(
                f"{option('differences', difference)}: treatment rate {outside[0]:g} lies "
                "outside [0, 1]"
            )
        p = design.p_success(treatment, control if design.n_control is not None else None)
        for c, t, value in zip(control, treatment, p, strict=True):
            rows.append({"control": c if design.n_control is not None else np.nan,
                         "treatment": t, "difference": difference, "p_success": value,
                         "method": METHOD})  # fmt: skip
    return pd.DataFrame(rows)


def borrowing_table(
    design: Design, control_rates: list[float], differences: list[float], weights: list[float]
) -> pd.DataFrame:
    """The same design with its control prior robustified at each weight (1: flat Beta(1,
    1), no borrowing), P(success) at every true pair: type-I error (difference 0) and
    power as the true control rate moves away from the prior's centre."""
    parts = []
    for weight in weights:
        robust = replace(design, prior_control=design.prior_control.robustified(weight))
        label = "flat Beta(1, 1)" if weight == 1 else (
            "as given" if weight == 0 else f"robust, weight {weight:g}")  # fmt: skip
        table = oc_table(robust, control_rates, differences)
        parts.append(table.assign(control_prior=label, robust_weight=weight))
    return pd.concat(parts, ignore_index=True)


def critical_table(design: Design) -> pd.DataFrame:
    """The boundary: per control outcome, the fewest treatment responders that succeed."""
    regions = design.success_regions()
    controls = range(len(regions)) if design.n_control is not None else [None]
    return pd.DataFrame(
        [{"control_responders": c, "n_control": design.n_control,
          "treatment_responders_to_succeed": region, "n_treatment": design.n_treatment}
         for c, region in zip(controls, regions, strict=True)]
    )  # fmt: skip


def write(
    design: Design, table: pd.DataFrame, critical: pd.DataFrame, out: Path | None,
    overwrite: bool, manifest: dict, borrowing: pd.DataFrame | None = None,
) -> Path:  # fmt: skip
    run_dir = out or paths.RESULTS_DIR / f"oc-{runs.timestamp()}"
    with runs.run_folder(run_dir, overwrite) as staging:
        table.to_csv(staging / "oc.csv", index=False)
        critical.to_csv(staging / "critical_values.csv", index=False)
        centre = (design.prior_control or design.prior_treatment).mean()
        prior_plots.operating_characteristics(table, centre, design.n_control is not None,
                                              staging / "oc.png")  # fmt: skip
        if borrowing is not None:
            borrowing.to_csv(staging / "borrowing.csv", index=False)
            prior_plots.borrowing(borrowing, centre, staging / "borrowing.png")
        runs.write_manifest(staging, [], command_name="oc", **manifest)
    return run_dir
