"""`netlm-bayes oc`'s run folder: oc.csv (P(success), and P(futility) when futility
criteria are given, at each pair of true values), critical_values.csv (where the decision
flips), oc.png, borrowing.csv/png (with --robust-weights) and manifest.json, written
together or not at all; and what a prior file says about its source. The tables are
`planning.operating_characteristics`'s."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from netlm_bayes import labels, paths, runs
from netlm_bayes.planning.operating_characteristics import AnyDesign
from netlm_bayes.report import prior_plots


def prior_warnings(*priors: str | None) -> list[str]:
    """What the prior files among `priors` say about their source: synthetic or
    reconstructed patients, or ILLUSTRATIVE (invented) studies in a MAP prior."""
    import json

    from netlm_bayes.priors import exported as exportedprior

    warnings = []
    for text in priors:
        if not text or not str(text).lower().endswith(".json"):
            continue
        raw = json.loads(Path(text).read_text(encoding="utf-8"))
        if raw.get("format") == exportedprior.FORMAT:
            prior = exportedprior.read(Path(text))
            if prior.synthetic:
                warnings.append(f"{Path(text).name}: {labels.SYNTHETIC_SOURCE}")
            if prior.reconstructed:
                warnings.append(f"{Path(text).name}: {labels.RECONSTRUCTED_SOURCE}")
            illustrative = prior.provenance.get("illustrative_studies")
        else:
            illustrative = "ILLUSTRATIVE" in str(raw.get("data_origin", ""))
        if illustrative:
            warnings.append(f"{Path(text).name}: a MAP prior with {labels.ILLUSTRATIVE}")
    return warnings


def write(
    design: AnyDesign, table: pd.DataFrame, out: Path | None, overwrite: bool, manifest: dict,
    borrowing: pd.DataFrame | None = None,
) -> Path:  # fmt: skip
    run_dir = out or paths.RESULTS_DIR / f"oc-{runs.timestamp()}"
    origin = "; ".join(manifest.get("prior_warnings", [])) or labels.AS_SUPPLIED
    with runs.run_folder(run_dir, overwrite) as staging:
        table.assign(data_origin=origin).to_csv(staging / "oc.csv", index=False)
        design.critical_table().to_csv(staging / "critical_values.csv", index=False)
        centre = (design.prior_control or design.prior_treatment).mean()
        two = design.n_control is not None
        prior_plots.operating_characteristics(table, centre, two, staging / "oc.png",
                                              design.value_label)  # fmt: skip
        if borrowing is not None:
            borrowing.to_csv(staging / "borrowing.csv", index=False)
            prior_plots.borrowing(borrowing, centre, staging / "borrowing.png", two,
                                  design.value_label)  # fmt: skip
        runs.write_manifest(staging, [], command_name="oc", **manifest)
    return run_dir


def check_out(out: Path | None, overwrite: bool) -> None:
    """Refuse an --out that holds an earlier run before any simulation."""
    if out is not None:
        runs.check_destination(out, overwrite)


def write_survival(result, prior_file: Path, out: Path | None, overwrite: bool,
                   warned: list[str]) -> Path:  # fmt: skip
    """oc.csv (per analysis prior and true HR), simulations.csv, oc.png, manifest.json."""
    run_dir = out or paths.RESULTS_DIR / f"oc-{runs.timestamp()}"
    origin = "; ".join(warned) or labels.AS_SUPPLIED
    with runs.run_folder(run_dir, overwrite) as staging:
        result.table.assign(method=result.method, data_origin=origin).to_csv(
            staging / "oc.csv", index=False)  # fmt: skip
        result.draws.to_csv(staging / "simulations.csv", index=False)
        prior_plots.simulated_operating_characteristics(
            result.table, str(result.criterion), result.n, staging / "oc.png")  # fmt: skip
        runs.write_manifest(
            staging, [prior_file], command_name="oc", endpoint="survival",
            success=[str(result.criterion)], n_treatment=result.n,
            simulations=result.simulations, seed=result.seed, accrual=result.design.accrual,
            follow_up=result.design.follow_up, where=result.where, method=result.method,
            synthetic=result.exported.synthetic, warnings=result.warnings, prior_warnings=warned,
        )  # fmt: skip
    return run_dir
