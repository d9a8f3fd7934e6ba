"""Fit a patient-level model (survival, logistic, ordinal) to any cohort CSV.

One `PatientModel` is compiled once and sampled on any cohort of the same size and under
any coefficient priors (its data and priors are `pm.Data`): the bundled cohort, its 20
replicates, each prior set. Its summaries are the contract later features build on:
`summary.csv` with one row per reported quantity.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from netlm_bayes import (
    checks,
    compare,
    curves,
    inference,
    logistic,
    ordinal,
    priors,
    specs,
    survival,
    tomlfiles,
)
from netlm_bayes.errors import InputError
from netlm_bayes.modeldata import Columns, ModelData, read_model_data

FAMILIES = {"survival": survival, "logistic": logistic, "ordinal": ordinal}
SUMMARY_COLUMNS = ["quantity", *compare.SUMMARY_COLUMNS, "rhat", "ess_bulk", "ess_tail"]
SYNTHETIC = "synthetic: not patient data"


@dataclass(frozen=True)
class Overrides:
    """Command-line flags that replace what the model file says."""

    data: Path | None = None
    time: str | None = None
    event: str | None = None
    outcome: str | None = None
    covariates: list[str] | None = None
    likelihood: str | None = None
    time_unit: str | None = None


def apply_overrides(spec: specs.PatientLevelSpec, flags: Overrides) -> specs.PatientLevelSpec:
    updates: dict = {}
    if flags.data is not None:
        updates["data"] = str(Path(flags.data).resolve())
    if flags.covariates is not None:
        if not flags.covariates:
            raise InputError("--covariates is empty; name at least one column, e.g. A,B")
        updates["covariates"] = flags.covariates
    survival_flags = {
        "time": flags.time, "event": flags.event, "likelihood": flags.likelihood,
        "time_unit": flags.time_unit,
    }  # fmt: skip
    given = {k: v for k, v in survival_flags.items() if v is not None}
    if spec.family == "survival":
        updates.update(given)
        if flags.time is not None and flags.time != spec.time and flags.time_unit is None:
            updates["time_unit"] = f"{flags.time} (the data's units)"
        if flags.outcome is not None:
            raise InputError(f"--outcome applies to response models; {spec.name} is survival")
    else:
        if given:
            flags_named = ", ".join(f"--{k.replace('_', '-')}" for k in given)
            raise InputError(
                f"{flags_named} apply to survival models; {spec.name} is {spec.family}"
            )
        if flags.outcome is not None:
            updates["outcome"] = flags.outcome
            if spec.family == "logistic":
                updates["outcome_events"] = []  # --outcome names a 0/1 column
                updates["outcome_labels"] = []
    if not updates:
        return spec
    return tomlfiles.validate(type(spec), {**spec.model_dump(), **updates}, spec.path)


def columns(spec: specs.PatientLevelSpec) -> Columns:
    covariates = tuple(spec.covariates)
    if spec.family == "survival":
        return Columns(covariates, time=spec.time, event=spec.event)
    if spec.family == "logistic":
        return Columns(
            covariates,
            outcome=spec.outcome,
            outcome_events=tuple(spec.outcome_events),
            labels=tuple(spec.outcome_labels),
        )
    return Columns(covariates, outcome=spec.outcome, categories=tuple(spec.categories))


def read_data(spec: specs.PatientLevelSpec, path: Path | None = None) -> ModelData:
    return read_model_data(path or spec.data_path, columns(spec))


@dataclass
class Fit:
    """One posterior with its derived quantities, summary and diagnostics."""

    trace: xr.DataTree
    quantities: xr.DataArray
    ratios: list[str]
    diagnostics: checks.Diagnostics
    data: ModelData

    @functools.cached_property
    def summary(self) -> pd.DataFrame:
        """summary.csv's table. Computed when first asked for: the 20 replicate fits of a
        run need only `intervals`, and R-hat, ESS and HDI of every quantity cost 0.5 s a fit."""
        return summary_table(self.quantities, self.ratios)

    @functools.cached_property
    def intervals(self) -> pd.DataFrame:
        """Median and 95% equal-tailed interval per quantity."""
        stacked = self.quantities.stack(sample=("chain", "draw")).transpose("quantity", "sample")
        low, median, high = np.quantile(stacked.values, [0.025, 0.5, 0.975], axis=1)
        return pd.DataFrame(
            {"quantity": stacked["quantity"].values, "median": median,
             "eti95_low": low, "eti95_high": high}
        )  # fmt: skip


class PatientModel:
    """A patient-level spec compiled once, sampled on any same-size cohort and prior."""

    def __init__(
        self,
        spec: specs.PatientLevelSpec,
        data: ModelData,
        coefficient_priors: priors.CoefficientPriors,
        profile: inference.Profile,
        sampler: inference.SamplerName | None = None,
    ):
        self.spec = spec
        self.family = FAMILIES[spec.family]
        self.covariates = list(data.covariates)
        joint = {"joint": coefficient_priors.joint} if coefficient_priors.joint else {}
        model = self.family.build_model(spec, data, coefficient_priors.priors, **joint)
        sampling_model = (
            survival.build_sampling_model(spec, data, coefficient_priors.priors, **joint)
            if spec.family == "survival"
            else None
        )
        self.runner = inference.Sampler(model, profile, sampler, sampling_model)
        self.thresholds = checks.load_thresholds()

    @property
    def observed_name(self) -> str:
        return self.family.observed_name(self.spec)

    def fit(self, data: ModelData, coefficient_priors: priors.CoefficientPriors, seed: int) -> Fit:
        if data.covariates != self.covariates:
            raise InputError(
                f"{data.source}: covariates {data.covariates}, but this compiled model has "
                f"{self.covariates}"
            )
        values = self.family.model_data(data, coefficient_priors.priors)
        coords = {"patient": np.arange(data.n)}
        trace, diagnostics = checks.sample_gated(self.runner, values, seed, self.thresholds, coords)
        if self.spec.family == "survival":
            # arviz-plots' censored PPC finds the event status under the observed name.
            constant = trace["constant_data"].to_dataset()
            constant[self.observed_name] = constant["event"]
            trace["constant_data"] = xr.DataTree(constant)
        quantities, ratios = self.quantities(trace["posterior"].to_dataset(), data)
        return Fit(trace, quantities, ratios, diagnostics, data)

    def quantities(self, posterior: xr.Dataset, data: ModelData) -> tuple[xr.DataArray, list]:
        """What summary.csv reports, as draws with a `quantity` dim; and which are ratios."""
        spec = self.spec
        prefix = survival.effect_prefix(spec.likelihood) if spec.family == "survival" else "or_"
        ratio_draws = posterior["ratio"]
        named = {f"{prefix}{c}": ratio_draws.sel(covariate=c).values for c in data.covariates}
        ratios = list(named)
        if spec.family == "survival":
            named.update(_shape(posterior, spec.likelihood, data))
            named.update(curves.derived(posterior, spec.likelihood, data, spec.rmst_horizons))
        elif spec.family == "logistic":
            rate = posterior["outcome_rate"].values
            named[f"{logistic.observed_name(spec)}_rate"] = rate
            if spec.complement_label:
                named[spec.complement_label] = 1 - rate
        else:
            rates = posterior["category_rate"]
            for category in spec.categories:
                named[f"{category.lower()}_rate"] = rates.sel(category=category).values
            named["orr"] = rates.sel(category=spec.responders).sum("category").values
        stacked = np.stack([np.asarray(v, dtype=float) for v in named.values()], axis=-1)
        draws = xr.DataArray(
            stacked, dims=("chain", "draw", "quantity"), coords={"quantity": list(named)}
        )
        return draws, ratios


def _shape(posterior: xr.Dataset, likelihood: str, data: ModelData) -> dict[str, np.ndarray]:
    if likelihood in ("weibull", "loglogistic"):
        return {"shape": np.exp(posterior["log_shape"].values)}
    if likelihood == "lognormal":
        return {"sigma": np.exp(posterior["log_sigma"].values)}
    if likelihood == "gompertz":  # per unit of the data's time
        return {"gompertz_rate": posterior["rate"].values / survival.reference_time(data.time)}
    return {}


def summary_table(draws: xr.DataArray, ratios: list[str]) -> pd.DataFrame:
    """summary.csv: median, 95% ETI and HDI, P(> 1) for ratios, R-hat and ESS per quantity."""
    with warnings.catch_warnings():
        # Medians that are infinite (a curve that never reaches 0.5) have no R-hat or HDI.
        warnings.simplefilter("ignore", RuntimeWarning)
        table = compare.summarise_draws(draws, "quantity", ratios)
        table["rhat"] = arviz_stats.rhat(draws).values
        table["ess_bulk"] = arviz_stats.ess(draws, method="bulk").values
        table["ess_tail"] = arviz_stats.ess(draws, method="tail").values
    return table[SUMMARY_COLUMNS]


def pool(fits: list[Fit]) -> xr.DataArray:
    """Every fit's draws as one sample, its chains renumbered: the mixture over cohorts."""
    parts = [fit.quantities.assign_coords(chain=np.arange(fit.quantities.sizes["chain"]) + i * 100)
             for i, fit in enumerate(fits)]  # fmt: skip
    return xr.concat(parts, dim="chain")


def replicate_table(fits: dict[str, Fit]) -> pd.DataFrame:
    """Each replicate cohort's posterior median and 95% ETI per quantity, with its verdict."""
    rows = []
    for name, fit in fits.items():
        frame = fit.intervals.copy()
        frame.insert(0, "cohort", name)
        frame["diagnostics_passed"] = fit.diagnostics.passed
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)
