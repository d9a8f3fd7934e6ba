"""Fit a patient-level model (survival, logistic, ordinal) to any cohort CSV.

One `PatientModel` is compiled once and sampled on any cohort of the same size and under
any coefficient priors (its data and priors are `pm.Data`): the bundled cohort, its 20
replicates, each prior set. Its summaries are the contract later features build on:
`summary.csv` with one row per reported quantity.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from netlm_bayes import tomlfiles
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import Columns, ModelData, ordered_levels, read_model_data
from netlm_bayes.families import curves, logistic, ordinal, specs
from netlm_bayes.families.survival import model as survival
from netlm_bayes.families.survival.registry import family
from netlm_bayes.fitting import summaries as compare
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.sampling import gate as checks
from netlm_bayes.sampling import sampler as inference

MODEL_BUILDERS = {"survival": survival, "logistic": logistic, "ordinal": ordinal}
SUMMARY_COLUMNS = ["quantity", *compare.SUMMARY_COLUMNS, "rhat", "ess_bulk", "ess_tail"]


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
    categories: list[str] | None = None  # an ordinal outcome's labels, in order
    horizons: list[float] | None = None  # RMST horizons, in the time column's unit
    drop_missing: bool = False
    formula: str | None = None  # covariates as a formula, in place of `covariates`
    references: dict[str, str] | None = None  # categorical column -> reference level


def apply_overrides(spec: specs.PatientLevelSpec, flags: Overrides) -> specs.PatientLevelSpec:
    updates: dict = {}
    if flags.drop_missing:
        updates["drop_missing"] = True
    if flags.data is not None:
        updates["data"] = str(Path(flags.data).resolve())
    if flags.covariates is not None and flags.formula is not None:
        raise InputError("--covariates and --formula: give one (a formula names its columns)")
    if flags.covariates is not None:
        updates["covariates"] = flags.covariates
        updates["formula"] = None
    if flags.formula is not None:
        if not flags.formula.strip():
            raise InputError("--formula is empty; e.g. --formula 'age + C(grade) + sex'")
        updates["formula"], updates["covariates"] = flags.formula, []
    if flags.references:
        updates["references"] = flags.references
    survival_flags = {
        "time": flags.time, "event": flags.event, "likelihood": flags.likelihood,
        "time_unit": flags.time_unit, "rmst_horizons": flags.horizons,
    }  # fmt: skip
    given = {k: v for k, v in survival_flags.items() if v is not None}
    if flags.categories is not None and spec.family != "ordinal":
        raise InputError(f"--categories applies to ordinal models; {spec.name} is {spec.family}")
    if spec.family == "survival":
        updates.update(given)
        if flags.time is not None and flags.time != spec.time and flags.time_unit is None:
            updates["time_unit"] = f"units of {flags.time} (unnamed: say with --time-unit)"
        if _other_times(spec, flags) and flags.horizons is None:
            updates["rmst_horizons"] = []  # the file's horizons are in its own unit: from data
        if flags.outcome is not None:
            raise InputError(f"--outcome applies to response models; {spec.name} is survival")
    else:
        if given:
            flags_named = ", ".join(
                "--horizons" if k == "rmst_horizons" else f"--{k.replace('_', '-')}" for k in given
            )
            raise InputError(
                f"{flags_named} apply to survival models; {spec.name} is {spec.family}"
            )
        if flags.outcome is not None and flags.outcome != spec.outcome:
            updates["outcome"] = flags.outcome
            if spec.family == "logistic":
                # --outcome names a 0/1 column: its own name, and no paper label (such as ORR)
                updates |= {"outcome_events": [], "outcome_labels": [],
                            "outcome_label": flags.outcome, "complement_label": None}  # fmt: skip
        if spec.family == "ordinal":
            updates |= _ordinal_categories(spec, flags, updates)
    if not updates:
        return spec
    return tomlfiles.validate(type(spec), {**spec.model_dump(), **updates}, spec.path)


def _other_times(spec: specs.SurvivalSpec, flags: Overrides) -> bool:
    """Whether the times are not the model file's own column and unit (the file's
    horizons, stated in that unit, then do not apply)."""
    other_column = flags.time is not None and flags.time != spec.time
    other_unit = flags.time_unit is not None and flags.time_unit != spec.time_unit
    return other_column or other_unit


def _ordinal_categories(spec: specs.OrdinalSpec, flags: Overrides, updates: dict) -> dict:
    """An ordinal outcome other than the model file's: its categories from --categories or,
    for a numeric column, its values in numeric order; no responder rate (a paper label)."""
    if flags.categories is None and "outcome" not in updates:
        return {}
    categories = flags.categories
    if categories is None:
        data = Path(updates.get("data", spec.data_path))
        categories = ordered_levels(data, updates["outcome"])
    responders = [c for c in spec.responders if c in categories and "outcome" not in updates]
    return {"categories": categories, "responders": responders}


def columns(spec: specs.PatientLevelSpec) -> Columns:
    shared = {
        "covariates": tuple(spec.covariates), "drop_missing": spec.drop_missing,
        "formula": spec.formula, "references": tuple(spec.references.items()),
    }  # fmt: skip
    if spec.family == "survival":
        return Columns(time=spec.time, event=spec.event, **shared)
    if spec.family == "logistic":
        return Columns(
            outcome=spec.outcome,
            outcome_events=tuple(spec.outcome_events),
            labels=tuple(spec.outcome_labels),
            **shared,
        )
    return Columns(outcome=spec.outcome, categories=tuple(spec.categories), **shared)


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
        coefficient_priors: CoefficientPriors,
        profile: inference.Profile,
        sampler: inference.SamplerName | None = None,
    ):
        self.spec = spec
        self.family = MODEL_BUILDERS[spec.family]
        self.covariates = list(data.covariates)
        model = self.family.build_model(spec, data, coefficient_priors)
        sampling_model = (
            survival.build_sampling_model(spec, data, coefficient_priors)
            if spec.family == "survival"
            else None
        )
        self.runner = inference.Sampler(model, profile, sampler, sampling_model)
        self.thresholds = checks.load_thresholds()

    @property
    def observed_name(self) -> str:
        return self.family.observed_name(self.spec)

    def fit(
        self, data: ModelData, coefficient_priors: CoefficientPriors, seed: int,
        pointwise: bool = True,
    ) -> Fit:  # fmt: skip
        """`pointwise=False`: no log-likelihood or log-prior groups (a fit only summarised)."""
        if data.covariates != self.covariates:
            raise InputError(
                f"{data.source}: covariates {data.covariates}, but this compiled model has "
                f"{self.covariates}"
            )
        values = self.family.model_data(data, coefficient_priors)
        coords = {"patient": np.arange(data.n)}
        trace, diagnostics = checks.sample_gated(
            self.runner, values, seed, self.thresholds, coords, pointwise
        )
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
        prefix = family(spec.likelihood).effect_prefix if spec.family == "survival" else "or_"
        ratio_draws = posterior["ratio"]
        named = {f"{prefix}{c}": ratio_draws.sel(covariate=c).values for c in data.covariates}
        ratios = list(named)
        if spec.family == "survival":
            t_ref = survival.reference_time(data.time)
            named.update(family(spec.likelihood).reported_shape(posterior, t_ref))
            named.update(
                curves.derived(posterior, spec.likelihood, data, curves.horizons(spec, data))
            )
        elif spec.family == "logistic":
            rate = posterior["outcome_rate"].values
            named[f"{logistic.observed_name(spec)}_rate"] = rate
            if spec.complement_label:
                named[spec.complement_label] = 1 - rate
        else:
            rates = posterior["category_rate"]
            for category in spec.categories:
                named[f"{category.lower()}_rate"] = rates.sel(category=category).values
            if spec.responders:
                named["orr"] = rates.sel(category=spec.responders).sum("category").values
        stacked = np.stack([np.asarray(v, dtype=float) for v in named.values()], axis=-1)
        draws = xr.DataArray(
            stacked, dims=("chain", "draw", "quantity"), coords={"quantity": list(named)}
        )
        return draws, ratios


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


def with_references(spec: specs.PatientLevelSpec, data: ModelData) -> specs.PatientLevelSpec:
    """A spec with every categorical column's reference level fixed from the cohort, so that
    replicates, a refit and the PPC code their columns as this cohort was coded."""
    levels = data.coding.levels if data.coding else {}
    chosen = {column: next(iter(order)) for column, order in levels.items()}
    if not chosen or chosen == spec.references:
        return spec
    return spec.model_copy(update={"references": {**spec.references, **chosen}})


@dataclass
class Conflict:
    """A cohort against the exported prior it was fitted with (`planning.prior_worth`)."""

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
