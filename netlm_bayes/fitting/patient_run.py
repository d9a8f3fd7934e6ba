"""`netlm-bayes fit MODEL --data CSV ...` for patient-level models: one run folder.

The folder holds `posterior.nc`, `summary.csv`, `diagnostics.csv`, `manifest.json`, and for
survival models `survival_curves.csv` and `survival.png`. With replicate cohorts it also
holds `replicates.csv` (each cohort's posterior) and `replicates_pooled.csv` (all their
draws as one sample: the spread that unknown patient-level detail adds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from netlm_bayes import runs
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import ModelData, data_warnings
from netlm_bayes.families import curves, specs
from netlm_bayes.fitting import prior_choice as priors
from netlm_bayes.fitting.patient import (
    SYNTHETIC,
    Fit,
    Overrides,
    PatientModel,
    apply_overrides,
    pool,
    read_data,
    replicate_table,
    summary_table,
)
from netlm_bayes.report import plots
from netlm_bayes.sampling import sampler as inference


@dataclass
class PatientRun:
    run_dir: Path
    spec: specs.PatientLevelSpec
    fit: Fit
    prior_label: str
    replicates: dict[str, Fit]
    pooled: pd.DataFrame | None
    conflict: Conflict | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.fit.diagnostics.passed and all(
            f.diagnostics.passed for f in self.replicates.values()
        )


def load(model: str, flags: Overrides) -> specs.PatientLevelSpec:
    spec = specs.load_spec(model)
    if spec.family == "reported_effects":
        raise InputError(f"{model} is the reported-effects model; it takes no patient data")
    return apply_overrides(spec, flags)


def with_horizons(spec: specs.PatientLevelSpec, data: ModelData) -> specs.PatientLevelSpec:
    """A survival spec with its RMST horizons fixed from the cohort when the model file's do
    not apply: every replicate is then summarised at the same horizons, and the manifest's
    spec records them."""
    if spec.family != "survival" or spec.rmst_horizons:
        return spec
    return spec.model_copy(update={"rmst_horizons": curves.horizons(spec, data)})


def choose_priors(
    spec: specs.PatientLevelSpec, data: ModelData, prior_set: str | None, prior_file
) -> priors.CoefficientPriors:
    if prior_set and prior_file:
        raise InputError("give --prior-set or --prior, not both")
    covariates = data.covariates
    if prior_file and Path(prior_file).suffix != ".json":
        return priors.from_file(Path(prior_file), spec, covariates)
    prior_sets = specs.load_prior_sets(spec.prior_sets_path)
    name = prior_set or spec.default_prior_set or prior_sets.default
    chosen = priors.from_prior_set(prior_sets, name, covariates)
    if prior_file:  # an exported prior; uncovered covariates keep the default set
        return priors.from_exported(Path(prior_file), spec, data, chosen)
    return chosen


def run(
    model: str,
    flags: Overrides | None = None,
    prior_set: str | None = None,
    prior_file: Path | None = None,
    profile: str = "default",
    sampler: inference.SamplerName | None = None,
    seed: int = 20260101,
    out: Path | None = None,
    replicates_dir: Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> PatientRun:
    spec = load(model, flags or Overrides())
    data = read_data(spec)
    spec = with_horizons(spec, data)
    warnings = data_warnings(data)
    chosen = choose_priors(spec, data, prior_set, prior_file)
    settings = inference.load_profile(profile)
    replicate_data = _read_replicates(spec, replicates_dir)  # all validated before sampling

    on_step("compiling the model")
    patient_model = PatientModel(spec, data, chosen, settings, sampler)
    run_dir = Path(out) if out else runs.default_run_dir(spec.name)
    with runs.run_folder(run_dir) as staging:
        on_step(f"sampling {data.source.name}")
        fit = patient_model.fit(data, chosen, seed)
        if fit.trace.attrs.get("log_likelihood", "stored") != "stored":
            warnings.append(f"pointwise log-likelihood {fit.trace.attrs['log_likelihood']}")
        _write_fit(staging, spec, fit, chosen, seed, patient_model)
        conflict = _conflict(staging, chosen, data, seed)
        fits, pooled = {}, None
        for path, replicate in replicate_data.items():
            on_step(f"sampling replicate {path.name}")
            fits[path.stem] = patient_model.fit(replicate, chosen, seed)
        if fits:
            pooled = summary_table(pool(list(fits.values())), fit.ratios)
            _mark(replicate_table(fits), any(f.data.synthetic for f in fits.values())).to_csv(
                staging / "replicates.csv", index=False
            )
            _mark(pooled, True).to_csv(staging / "replicates_pooled.csv", index=False)
        inputs = [spec.path, data.source, Path(prior_file) if prior_file else spec.prior_sets_path]
        runs.write_manifest(
            staging,
            inputs + list(replicate_data),
            model=spec.name,
            spec=spec.model_dump(mode="json"),
            priors={"source": chosen.label, **chosen.describe(data.covariates)},
            profile=settings.model_dump(),
            sampler=patient_model.runner.sampler,
            seed=seed,
            synthetic=data.synthetic,
            diagnostics_passed=fit.diagnostics.passed,
            diagnostics_retry=fit.diagnostics.retry,
            replicate_diagnostics_passed={name: f.diagnostics.passed for name, f in fits.items()},
            **({"prior_data_conflict": conflict.as_manifest()} if conflict else {}),
            data_warnings=warnings,
            rows_dropped_missing=data.dropped,
        )
    return PatientRun(run_dir, spec, fit, chosen.label, fits, pooled, conflict, warnings)


@dataclass
class Conflict:
    """A cohort against the exported prior it was fitted with (see `priorinfo.conflict`)."""

    table: pd.DataFrame
    informative_weight: float | None  # posterior weight of the informative part
    prior_informative_weight: float

    def as_manifest(self) -> dict:
        joint = self.table.iloc[-1]["box_p"]
        return {
            "box_p_all_effects": float(joint),
            "informative_weight": self.informative_weight,
            "prior_informative_weight": self.prior_informative_weight,
        }


def _conflict(staging: Path, chosen: priors.CoefficientPriors, data: ModelData, seed: int):
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
    _mark(table, data.synthetic or chosen.exported.synthetic).to_csv(
        staging / "conflict.csv", index=False
    )
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


def _mark(table: pd.DataFrame, synthetic: bool) -> pd.DataFrame:
    return table.assign(data_origin=SYNTHETIC if synthetic else "as supplied")


def _write_fit(staging: Path, spec, fit: Fit, chosen, seed: int, patient_model) -> None:
    data = fit.data
    provenance = {
        "model_file": str(spec.path),
        "model_sha256": runs.sha256(spec.path),
        "data_file": str(data.source),
        "data_sha256": data.sha256,
        "data_origin": SYNTHETIC if data.synthetic else "as supplied",
        "priors": chosen.label,
        "seed": seed,
        "versions": runs.package_versions(),
    }
    inference.save_posterior(fit.trace, staging / "posterior.nc", provenance)
    free = [variable.name for variable in patient_model.runner.model.free_RVs]
    plots.rank_plot(fit.trace, free, staging / "rank.png")
    _mark(fit.summary, data.synthetic).to_csv(staging / "summary.csv", index=False)
    fit.diagnostics.frame().to_csv(staging / "diagnostics.csv", index=False)
    if spec.family == "survival":
        posterior = fit.trace["posterior"].to_dataset()
        table = curves.curve_table(posterior, spec.likelihood, data, curves.horizons(spec, data))
        _mark(table, data.synthetic).to_csv(staging / "survival_curves.csv", index=False)
        note = "SYNTHETIC cohort: not patient data." if data.synthetic else str(data.source.name)
        plots.survival_curves(table, data, staging / "survival.png", spec.time_unit, note)
