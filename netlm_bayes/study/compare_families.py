"""`netlm-bayes compare-families`: every survival family fitted to one cohort and ranked by
PSIS-LOO (`checks.family_comparison`), written as one run folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from netlm_bayes import runs
from netlm_bayes.checks.family_comparison import _origin, loo_table
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import data_warnings
from netlm_bayes.families.survival import registry
from netlm_bayes.fitting.patient import Fit, Overrides, PatientModel, load, read_data, with_horizons
from netlm_bayes.fitting.prior_choice import choose_priors
from netlm_bayes.report import plots
from netlm_bayes.sampling import sampler as inference


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
    sampler: inference.SamplerName | None = None,
    seed: int = 20260101,
    out: Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> FamilyComparison:
    spec = load(model, flags or Overrides())
    if spec.family != "survival":
        raise InputError(f"compare-families compares survival families; {model} is {spec.family}")
    data = read_data(spec)
    spec = with_horizons(spec, data)
    notes = data_warnings(data)
    chosen = choose_priors(spec, data, prior_set, None)
    settings = inference.load_profile(profile)
    fits: dict[str, Fit] = {}
    failed: dict[str, str] = {}
    run_dir = Path(out) if out else runs.default_run_dir(f"families-{spec.name}")
    with runs.run_folder(run_dir) as staging:
        for likelihood in likelihoods or list(registry.names()):
            on_step(f"{likelihood}: compiling and sampling")
            family_spec = spec.model_copy(update={"likelihood": likelihood})
            try:
                patient_model = PatientModel(family_spec, data, chosen, settings, sampler)
                fit = patient_model.fit(data, chosen, seed)
            except RuntimeError as exc:  # e.g. no chain could start: this family, not the run
                failed[likelihood] = f"sampling failed: {str(exc).splitlines()[0]}"
                continue
            fits[likelihood] = fit
            fit.summary.assign(data_origin=_origin(data)).to_csv(
                staging / f"summary-{likelihood}.csv", index=False
            )
            inference.save_posterior(
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
