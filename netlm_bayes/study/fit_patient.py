"""`netlm-bayes fit MODEL --data CSV ...` for patient-level models: one run folder.

The folder holds `posterior.nc`, `summary.csv`, `diagnostics.csv`, `manifest.json`, and for
survival models `survival_curves.csv` and `survival.png`. With replicate cohorts it also
holds `replicates.csv` (each cohort's posterior) and `replicates_pooled.csv` (all their
draws as one sample: the spread that unknown patient-level detail adds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from netlm_bayes import labels, runs
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import curves
from netlm_bayes.families.design import covariate_columns
from netlm_bayes.fitting.patient import (
    Conflict,
    Fit,
    PatientRun,
    pool,
    replicate_table,
    summary_table,
    with_references,
)
from netlm_bayes.fitting.patient_fit import DEFAULT_SEED, fit_patient
from netlm_bayes.fitting.patient_spec import Overrides, load, read_data
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.report import plots
from netlm_bayes.report.format import FIGURE_DPI, outcome_words
from netlm_bayes.sampling.sampler import SamplerName, save_posterior


def run(
    model: str,
    flags: Overrides | None = None,
    prior_set: str | None = None,
    prior_file: Path | None = None,
    profile: str = "default",
    sampler: SamplerName | None = None,
    seed: int = DEFAULT_SEED,
    out: Path | None = None,
    replicates_dir: Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
    data: ModelData | None = None,
    overwrite: bool = False,
    on_draws: Callable[[str], None] | None = None,
) -> PatientRun:
    """`data`: the cohort, when the caller has read it already (from the same flags);
    `overwrite`: replace `out` if it holds an earlier run; `on_draws`: the sampler's
    progress, a line every second."""
    if out is not None:
        runs.check_destination(Path(out), overwrite)  # before sampling, not after
    spec = load(model, flags or Overrides())
    data = read_data(spec) if data is None else data
    spec = with_references(spec, data)  # replicates coded as this cohort
    replicate_data = _read_replicates(spec, replicates_dir)  # all validated before sampling
    fitted = fit_patient(spec, data, prior_set, prior_file, profile, sampler, seed, on_step,
                         on_draws)  # fmt: skip
    spec, fit, chosen, warnings = fitted.spec, fitted.fit, fitted.priors, fitted.warnings
    run_dir = Path(out) if out else runs.default_run_dir(spec.name)
    with runs.run_folder(run_dir, overwrite) as staging:
        _write_fit(staging, spec, fit, chosen, seed, fitted.compiled)
        conflict = _conflict(staging, chosen, data, seed)
        fits, pooled = {}, None
        for path, replicate in replicate_data.items():
            on_step(f"sampling replicate {path.name}")
            # pooled and summarised only: no pointwise log densities (0.05 s a fit)
            fits[path.stem] = fitted.compiled.fit(replicate, chosen, seed, pointwise=False)
        if fits:
            pooled = summary_table(pool(list(fits.values())), fit.ratios)
            origin = labels.combined(f.data.origin for f in fits.values())
            _mark(replicate_table(fits), origin).to_csv(staging / "replicates.csv", index=False)
            _mark(pooled, labels.SYNTHETIC).to_csv(staging / "replicates_pooled.csv", index=False)
        inputs = [spec.path, data.source, Path(prior_file) if prior_file else spec.prior_sets_path]
        runs.write_manifest(
            staging,
            inputs + list(replicate_data),
            model=spec.name,
            spec=spec.model_dump(mode="json"),
            priors={"source": chosen.label, **chosen.describe(data.covariates)},
            profile=fitted.compiled.runner.profile.model_dump(),
            sampler=fitted.compiled.runner.sampler,
            seed=seed,
            synthetic=data.synthetic,
            data_origin=data.origin,
            coding=data.described_coding(),
            diagnostics_passed=fit.diagnostics.passed,
            diagnostics_retry=fit.diagnostics.retry,
            replicate_diagnostics_passed={name: f.diagnostics.passed for name, f in fits.items()},
            **({"prior_data_conflict": conflict.as_manifest()} if conflict else {}),
            data_warnings=warnings,
            separated=data.separated,
            rows_dropped_missing=data.dropped,
        )
    return PatientRun(run_dir, spec, fit, chosen.label, fits, pooled, conflict, warnings)


def _conflict(staging: Path, chosen: CoefficientPriors, data: ModelData, seed: int):
    """conflict.csv, for a fit with an exported prior."""
    if chosen.exported is None:
        return None
    from netlm_bayes.planning import prior_worth as priorinfo
    from netlm_bayes.sampling import laplace

    cohort = laplace.Cohorts(
        chosen.exported.centred(data.X, data.covariates)[None],
        time=None if data.time is None else data.time[None],
        event=None if data.event is None else data.event[None].astype(float),
        y=None if data.y is None else data.y[None].astype(float),
    )
    table, weight = priorinfo.conflict(chosen.exported, cohort, data.covariates, seed)
    table = table.assign(informative_weight_posterior=weight)
    origin = labels.combined([data.origin, labels.origin(chosen.exported.synthetic)])
    _mark(table, origin).to_csv(staging / "conflict.csv", index=False)
    prior_weight = sum(c.weight for c in chosen.exported.prior.components if c.label != "robust")
    return Conflict(table, weight, prior_weight)


def _read_replicates(spec, folder: Path | None) -> dict:
    if folder is None:
        return {}
    folder = Path(folder)
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        raise InputError(f"{folder}: no replicate cohort CSV files here")
    return {path: read_data(spec, path) for path in files}


def _mark(table: pd.DataFrame, origin: str) -> pd.DataFrame:
    return table.assign(data_origin=origin)


def _write_fit(staging: Path, spec, fit: Fit, chosen, seed: int, patient_model) -> None:
    data = fit.data
    provenance = {
        "model_file": str(spec.path),
        "model_sha256": runs.sha256(spec.path),
        "data_file": str(data.source),
        "data_sha256": data.sha256,
        "data_origin": data.origin,
        "coding": json.dumps(data.described_coding()),
        "priors": chosen.label,
        "seed": seed,
        "versions": runs.package_versions(),
    }
    save_posterior(fit.trace, staging / "posterior.nc", provenance)
    free = [variable.name for variable in patient_model.runner.model.free_RVs]
    plots.rank_plot(fit.trace, free, staging / "rank.png")
    _mark(fit.summary, data.origin).to_csv(staging / "summary.csv", index=False)
    fit.diagnostics.frame().to_csv(staging / "diagnostics.csv", index=False)
    if spec.family == "survival":
        posterior = fit.trace["posterior"].to_dataset()
        table = curves.curve_table(posterior, fit.kind, data, curves.curve_end(spec, data))
        _mark(table, data.origin).to_csv(staging / "survival_curves.csv", index=False)
        note = labels.note(data.origin, str(data.source.name))
        plots.survival_curves(table, data, staging / "survival.png", spec.time_unit, note,
                              outcome_words(spec.time))  # fmt: skip
        if spec.nonprop:
            _hazard_ratios(posterior, fit, spec, data, staging, note)


def _hazard_ratios(posterior, fit, spec, data, staging: Path, note: str) -> None:
    """hazard_ratios.csv and .png: HR(t) of the covariates whose effect may change."""
    names = covariate_columns(spec.nonprop, data, f"{option('nonprop')} covariate")
    end = curves.curve_end(spec, data)
    table = curves.hazard_ratio_table(posterior, fit.kind, data, names, end)
    _mark(table.assign(time_unit=spec.time_unit), data.origin).to_csv(
        staging / "hazard_ratios.csv", index=False
    )
    figure = plots.hazard_ratio_figure(table, spec.time_unit, note)
    figure.savefig(staging / "hazard_ratios.png", dpi=FIGURE_DPI)
    plt.close(figure)
