"""Fit a patient-level model (survival, logistic, ordinal) to any cohort CSV.

One `PatientModel` is compiled once and sampled on any cohort of the same size and under
any coefficient priors (its data and priors are `pm.Data`): the bundled cohort, its 20
replicates, each prior set. Its summaries are the contract later features build on:
`summary.csv` with one row per reported quantity.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import arviz_stats
import numpy as np
import pandas as pd
import xarray as xr

from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.external_counts import latest_stop
from netlm_bayes.evidence.patient_data import (
    ModelData,
)
from netlm_bayes.families import curves, logistic, ordinal, specs
from netlm_bayes.families.survival import model as survival
from netlm_bayes.families.survival.base import SurvivalFamily
from netlm_bayes.families.survival.mspline_basis import default_interior_knots
from netlm_bayes.families.survival.mspline_model import spline_data
from netlm_bayes.families.survival.registry import spec_family
from netlm_bayes.fitting import summaries as compare
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Profile, Sampler, SamplerName

MODEL_BUILDERS = {"survival": survival, "logistic": logistic, "ordinal": ordinal}
SUMMARY_COLUMNS = ["quantity", *compare.SUMMARY_COLUMNS, "rhat", "ess_bulk", "ess_tail"]


@dataclass
class Fit:
    """One posterior with its derived quantities, summary and diagnostics."""

    trace: xr.DataTree
    quantities: xr.DataArray
    ratios: list[str]
    diagnostics: gate.Diagnostics
    data: ModelData
    # A survival fit's family as configured for this cohort (an M-spline's knots).
    kind: SurvivalFamily | None = None

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
        profile: Profile,
        sampler: SamplerName | None = None,
    ):
        self.spec = spec
        self.family = MODEL_BUILDERS[spec.family]
        self.covariates = list(data.covariates)
        self.kind = spec_family(spec, data.reference_time) if spec.family == "survival" else None
        self._built_reference_time = data.reference_time if self.kind is not None else None
        profile = family_profile(profile, self.kind)
        model = self.family.build_model(spec, data, coefficient_priors)
        sampling_model = (
            survival.build_sampling_model(spec, data, coefficient_priors)
            if spec.family == "survival"
            else None
        )
        self.runner = Sampler(model, profile, sampler, sampling_model)
        self.thresholds = gate.load_thresholds()

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
        spline = self.kind is not None and bool(self.kind.vector_parameters)
        if spline:  # on the built cohort's basis: its knots, in units of its t_ref
            data = replace(data, fixed_reference_time=self._built_reference_time)
        values = self.family.model_data(data, coefficient_priors)
        if spline:
            values.update(spline_data(self.kind.core, data.time, data.reference_time))
        coords = {"patient": np.arange(data.n)}
        trace, diagnostics = gate.sample_gated(
            self.runner, values, seed, self.thresholds, coords, pointwise
        )
        if self.spec.family == "survival":
            # arviz-plots' censored PPC finds the event status under the observed name.
            constant = trace["constant_data"].to_dataset()
            constant[self.observed_name] = constant["event"]
            trace["constant_data"] = xr.DataTree(constant)
        quantities, ratios = self.quantities(trace["posterior"].to_dataset(), data)
        return Fit(trace, quantities, ratios, diagnostics, data, self.kind)

    def quantities(self, posterior: xr.Dataset, data: ModelData) -> tuple[xr.DataArray, list]:
        """What summary.csv reports, as draws with a `quantity` dim; and which are ratios."""
        spec = self.spec
        prefix = self.kind.effect_prefix if spec.family == "survival" else "or_"
        ratio_draws = posterior["ratio"]
        named = {f"{prefix}{c}": ratio_draws.sel(covariate=c).values for c in data.covariates}
        if "cure_coefficients" in posterior:  # odds ratios of cure, per unit of a column
            cure = posterior["cure_coefficients"]
            named.update({f"cure_or_{c}": np.exp(cure.sel(cure_covariate=c).values)
                          for c in cure["cure_covariate"].values})  # fmt: skip
        ratios = list(named)
        if spec.family == "survival":
            t_ref = data.reference_time
            named.update(self.kind.reported_shape(posterior, t_ref))
            named.update(curves.derived(posterior, self.kind, data, curves.horizons(spec, data)))
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


def with_horizons(spec: specs.PatientLevelSpec, data: ModelData) -> specs.PatientLevelSpec:
    """A survival spec with its RMST horizons fixed from the cohort when the model file's do
    not apply: every replicate is then summarised at the same horizons, and the manifest's
    spec records them."""
    if spec.family != "survival" or spec.rmst_horizons:
        return spec
    return spec.model_copy(update={"rmst_horizons": curves.horizons(spec, data)})


def family_profile(profile: Profile, kind: SurvivalFamily | None) -> Profile:
    """The profile with the family's smallest target_accept, where it declares one."""
    floor = kind.target_accept if kind is not None else None
    if floor is None or profile.target_accept >= floor:
        return profile
    return profile.model_copy(update={"target_accept": floor})


def with_knots(spec: specs.PatientLevelSpec, data: ModelData) -> specs.PatientLevelSpec:
    """An M-spline spec with its knots fixed from the cohort (interior knots at quantiles of
    the event times unless the spec names them, the boundary at the largest follow-up
    time): replicates and a refit then use the same basis, and the manifest records it.

    With external counts that reach past the follow-up (survextrap's placement), the
    boundary is their latest stop time and the follow-up's end one more interior knot, so
    the stretch only they inform has a basis function of its own."""
    if spec.family != "survival" or spec.likelihood != "mspline" or spec.boundary_knot:
        return spec
    if not data.n and not spec.knots:  # a model file's M-spline as much as --likelihood's
        raise InputError(
            f"{option('data', specs.NO_PATIENTS)} with an M-spline: place its interior knots with "
            f"{option('knots')} (there are no event times to place them at)"
        )
    follow_up = float(data.time.max()) if data.n else 0.0
    boundary = max(follow_up, latest_stop(spec.external_path))
    if spec.knots:
        outside = [k for k in spec.knots if k >= boundary]
        if outside:
            raise InputError(
                f"knots {outside} lie at or past the largest follow-up time ({boundary:g} "
                f"{spec.time_unit}): interior knots must lie inside it"
            )
        knots = list(spec.knots)
    else:
        knots = _event_knots(spec, data, follow_up)
        if boundary > follow_up > 0:
            knots.append(follow_up)
    return spec.model_copy(update={"knots": knots, "boundary_knot": boundary})


def _event_knots(spec, data: ModelData, boundary: float) -> list[float]:
    chosen = default_interior_knots(data.time[data.event == 1], spec.df)
    return [float(k) for k in chosen if 0 < k < boundary]


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
