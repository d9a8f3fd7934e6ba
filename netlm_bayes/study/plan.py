"""`netlm-bayes plan`'s run folder: assurance.csv, simulations.csv, assurance.png, the NUTS
check when asked for, and manifest.json, written together or not at all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from netlm_bayes import paths, runs
from netlm_bayes.planning.plan import Plan
from netlm_bayes.report import prior_plots


def origin_marker(result: Plan) -> str:
    """Every row says where the prior came from."""
    exported = result.exported
    marker = "synthetic source prior" if exported.synthetic else "as supplied"
    if exported.provenance.get("illustrative_studies"):
        marker += "; MAP prior with ILLUSTRATIVE studies"
    return marker


def write(
    result: Plan, prior_file: Path, nuts: pd.DataFrame | None = None, out: Path | None = None
) -> Path:
    """The run folder (default results/plan-<time>); returns its path."""
    run_dir = out or paths.RESULTS_DIR / f"plan-{runs.timestamp()}"
    exported, design = result.exported, result.design
    marker = origin_marker(result)
    with runs.run_folder(run_dir) as staging:
        result.table.assign(data_origin=marker).to_csv(staging / "assurance.csv", index=False)
        result.draws.assign(data_origin=marker).to_csv(staging / "simulations.csv", index=False)
        if nuts is not None:
            nuts.to_csv(staging / "nuts_check.csv", index=False)
        counted = "events" if exported.family == "weibull" else "outcomes"
        note = (
            f"{result.analysis} analysis; {result.simulations} cohorts per n; seed {result.seed}"
            + ("; SYNTHETIC source prior" if exported.synthetic else "")
        )
        prior_plots.assurance(
            result.table, str(result.criterion), staging / "assurance.png", note, counted
        )
        runs.write_manifest(
            staging, [Path(prior_file)], criterion=str(result.criterion), sizes=result.sizes,
            simulations=result.simulations, analysis=result.analysis, seed=result.seed,
            accrual=design.accrual, follow_up=design.follow_up, where=result.where,
            synthetic=exported.synthetic, warnings=result.warnings,
        )  # fmt: skip
    return run_dir
