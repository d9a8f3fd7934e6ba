"""`netlm-bayes compare-families`: every survival family fitted to one cohort and ranked by
PSIS-LOO (`checks.family_comparison`), written as one run folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from netlm_bayes import runner, runs
from netlm_bayes.checks.family_comparison import _origin, loo_table
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.patient_data import ModelData, data_warnings
from netlm_bayes.families import specs
from netlm_bayes.families.specs import PatientLevelSpec
from netlm_bayes.families.survival import registry
from netlm_bayes.fitting.patient import Fit, PatientModel, with_horizons, with_knots
from netlm_bayes.fitting.patient_spec import Overrides, load, read_data
from netlm_bayes.fitting.prior_choice import choose_priors
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.report import plots
from netlm_bayes.sampling.sampler import Profile, SamplerName, load_profile, save_posterior


@dataclass(frozen=True)
class FamilyTask:
    """One survival family to fit to the cohort (picklable, for a worker process)."""

    spec: PatientLevelSpec
    data: ModelData
    priors: CoefficientPriors
    settings: Profile
    sampler: SamplerName | None
    seed: int


def fit_family(task: FamilyTask) -> tuple[Fit | None, str | None]:
    """The family's fit, or why it has none (a family that cannot start, not the run)."""
    try:
        spec = with_knots(task.spec, task.data)
        model = PatientModel(spec, task.data, task.priors, task.settings, task.sampler)
        fit = model.fit(task.data, task.priors, task.seed)
    except RuntimeError as exc:  # e.g. no chain could start
        return None, f"sampling failed: {str(exc).splitlines()[0]}"
    fit.summary  # noqa: B018 - computed in the worker, and sent back with the fit
    return fit, None


@dataclass
class FamilyComparison:
    run_dir: Path
    table: pd.DataFrame
    fits: dict[str, Fit]
    origin: str  # the data's `data_origin` (labels)
    warnings: list[str]


def compare_families(
    model: str = "hpfs_weibull",
    flags: Overrides | None = None,
    prior_set: str | None = None,
    likelihoods: list[str] | None = None,
    profile: str = "default",
    sampler: SamplerName | None = None,
    seed: int = 20260101,
    out: Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
    workers: int = 1,
    dask_address: str | None = None,
) -> FamilyComparison:
    """`workers` local processes (or a Dask cluster) fit the families side by side; the
    numbers do not depend on where each runs."""
    if flags is not None and str(flags.data) == specs.NO_PATIENTS:
        raise InputError(
            f"{option('data', specs.NO_PATIENTS)}: compare-families ranks families by PSIS-LOO "
            "over patients, and there are none (fit each family to the counts with fit)"
        )
    spec = load(model, flags or Overrides())
    if spec.family != "survival":
        raise InputError(f"compare-families compares survival families; {model} is {spec.family}")
    data = read_data(spec)
    spec = with_horizons(spec, data)
    notes = data_warnings(data)
    chosen = choose_priors(spec, data, prior_set, None)
    settings = load_profile(profile)
    names = likelihoods or list(registry.names())
    tasks = [FamilyTask(spec.model_copy(update={"likelihood": name}), data, chosen, settings,
                        sampler, seed) for name in names]  # fmt: skip
    on_step(f"{', '.join(names)}: compiling and sampling")
    fitted = runner.run_tasks(fit_family, tasks, workers, dask_address,
                              lambda: on_step("a family fitted"))  # fmt: skip
    fits = {name: fit for name, (fit, _) in zip(names, fitted, strict=True) if fit is not None}
    failed = {name: why for name, (_, why) in zip(names, fitted, strict=True) if why}
    run_dir = Path(out) if out else runs.default_run_dir(f"families-{spec.name}")
    with runs.run_folder(run_dir) as staging:
        for likelihood, fit in fits.items():
            fit.summary.assign(data_origin=_origin(data)).to_csv(
                staging / f"summary-{likelihood}.csv", index=False
            )
            save_posterior(
                fit.trace,
                staging / f"posterior-{likelihood}.nc",
                {"likelihood": likelihood, "data_sha256": data.sha256, "seed": seed},
            )
        failed |= {name: "diagnostics failed: " + "; ".join(fit.diagnostics.failures)
                   for name, fit in fits.items() if not fit.diagnostics.passed}  # fmt: skip
        table, ranked = loo_table(fits, failed)
        table = table.assign(data_origin=_origin(data))
        table.to_csv(staging / "loo.csv", index=False)
        if ranked is not None:
            plots.compare_plot(ranked, staging / "loo.png")
        runs.write_manifest(
            staging,
            [spec.path, data.source, spec.prior_sets_path],
            model=spec.name,
            likelihoods=list(fits),
            priors=chosen.label,
            profile=settings.model_dump(),
            seed=seed,
            synthetic=data.synthetic,
            data_origin=data.origin,
            coding=data.described_coding(),
            diagnostics_passed={name: fit.diagnostics.passed for name, fit in fits.items()},
            data_warnings=notes,
            rows_dropped_missing=data.dropped,
        )
    return FamilyComparison(run_dir, table, fits, data.origin, notes)
