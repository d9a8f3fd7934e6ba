"""The Python API: fit a patient-level model to a pandas DataFrame, as one would in lifelines.

    from netlm_bayes import SurvivalModel
    fitted = SurvivalModel("weibull").fit(df, duration_col="time", event_col="status")
    fitted.summary          # one row per quantity: median, 95% intervals, P(HR > 1), R-hat, ESS

Also `reread_paper()` (the paper's printed effects as posteriors, per prior set) and
`plan(prior, criterion)` (assurance for the next cohort), the functions the CLI's
`fit reported_effects` and `plan` call.

Every fit takes the same path as `netlm-bayes fit` (the CLI calls `fit_spec` too): the
bundled model file's baseline priors, the named prior sets or an exported prior, centred
covariates, the diagnostics gate. A DataFrame is read exactly as the same table saved as a
CSV file would be. Nothing is written to disk unless asked (`to_prior(path)`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr

from netlm_bayes import labels
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence.patient_data import (
    ModelData,
    data_warnings,
    frame_model_data,
    ordered_levels,
)
from netlm_bayes.families import curves, specs
from netlm_bayes.families.survival import registry
from netlm_bayes.fitting.patient import (
    Fit,
    Overrides,
    PatientModel,
    columns,
    load,
    with_horizons,
    with_references,
)
from netlm_bayes.fitting.prior_choice import choose_priors
from netlm_bayes.fitting.reported import ReanalysisResult, reread_paper
from netlm_bayes.planning.map_prior import MapResult, map_prior
from netlm_bayes.planning.plan import Plan, plan
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.sampling import sampler as inference

__all__ = [
    "FittedModel", "MapResult", "Plan", "ReanalysisResult", "ResponseModel", "SurvivalModel",
    "fit_spec", "map_prior", "plan", "reread_paper",
]  # fmt: skip
DEFAULT_SEED = 20260101
# The bundled model files whose baseline priors and defaults each kind of model starts from.
SURVIVAL_TEMPLATE = "hpfs_weibull"
RESPONSE_TEMPLATES = {"logistic": "response_logistic", "ordinal": "response_ordinal"}


@dataclass
class FittedModel:
    """One posterior of a patient-level model, with what a user asks of it."""

    spec: specs.PatientLevelSpec
    data: ModelData
    priors: CoefficientPriors
    fit: Fit
    compiled: PatientModel = field(repr=False)
    seed: int = DEFAULT_SEED
    warnings: list[str] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per reported quantity: posterior median, 95% equal-tailed interval and HDI,
        P(ratio > 1) for hazard, acceleration and odds ratios, R-hat and ESS; and where the
        data came from (`data_origin`), as in summary.csv."""
        return self.fit.summary.assign(data_origin=self.data.origin)

    @property
    def posterior(self) -> xr.DataTree:
        """The ArviZ DataTree: posterior, log-likelihood, observed and constant data."""
        return self.fit.trace

    @property
    def diagnostics(self) -> pd.DataFrame:
        return self.fit.diagnostics.frame()

    @property
    def passed(self) -> bool:
        """Whether the sampler's diagnostics passed (R-hat, ESS, divergences, E-BFMI)."""
        return self.fit.diagnostics.passed

    def refit(self, table: pd.DataFrame, seed: int | None = None) -> FittedModel:
        """The same model and priors on another cohort of the same size and columns, without
        compiling again (as the CLI fits a cohort's replicates)."""
        data = frame_model_data(table, columns(self.spec))
        used = self.seed if seed is None else seed
        fit = self.compiled.fit(data, self.priors, used)
        return FittedModel(
            self.spec, data, self.priors, fit, self.compiled, used, data_warnings(data)
        )

    def survival_curves(self) -> pd.DataFrame:
        """Standardised posterior survival curves (median and 95% band) per covariate pattern,
        at times in the data's unit (`spec.time_unit`)."""
        self._survival_only("survival_curves")
        posterior = self.fit.trace["posterior"].to_dataset()
        horizons = curves.horizons(self.spec, self.data)
        table = curves.curve_table(posterior, self.spec.likelihood, self.data, horizons)
        return table.assign(data_origin=self.data.origin)

    def plot_survival(self):
        """The posterior survival bands over the Kaplan-Meier curves (a matplotlib Figure)."""
        from netlm_bayes.report import plots
        from netlm_bayes.report.format import outcome_words

        note = labels.note(self.data.origin, str(self.data.source.name))
        return plots.survival_figure(
            self.survival_curves(), self.data, self.spec.time_unit, note,
            outcome_words(self.spec.time),
        )  # fmt: skip

    def to_prior(
        self, path: Path | str | None = None, effects: list[str] | None = None,
        baseline: bool = True, allow_failed: bool = False,
    ) -> ExportedPrior:  # fmt: skip
        """This posterior as a prior for the next cohort (as `netlm-bayes export-prior`),
        written to `path` (JSON) when given. Weibull and logistic models only."""
        from netlm_bayes.planning import export
        from netlm_bayes.priors import exported

        warning = ""
        if not self.passed:
            failures = "; ".join(self.fit.diagnostics.failures)
            if not allow_failed:
                raise InputError(
                    f"this fit FAILED its diagnostics ({failures}); refit it (e.g. profile="
                    "'thorough'), or pass allow_failed=True to export it anyway, flagged"
                )
            warning = f"built from a fit that FAILED its diagnostics ({failures})"
        manifest = {
            "spec": self.spec.model_dump(mode="json"), "model": self.spec.name,
            "command": "netlm_bayes Python API", "synthetic": self.data.synthetic,
            "priors": {"source": self.priors.label}, "seed": self.seed,
            "diagnostics_passed": self.passed,
        }  # fmt: skip
        source = f"Python API fit of {self.data.source}"
        prior = export.from_posterior(self.fit.trace, manifest, source, effects, baseline, warning)
        if path is not None:
            exported.write(prior, Path(path))
        return prior

    def _survival_only(self, what: str) -> None:
        if self.spec.family != "survival":
            raise InputError(f"{what} needs a survival model; this one is {self.spec.family}")


def fit_spec(
    spec: specs.PatientLevelSpec,
    data: ModelData,
    prior_set: str | None = None,
    prior: Path | str | None = None,
    profile: str = "default",
    sampler: inference.SamplerName | None = None,
    seed: int = DEFAULT_SEED,
    on_step: Callable[[str], None] = lambda step: None,
) -> FittedModel:
    """The one path every patient-level fit takes, from the CLI's `fit` and from the API."""
    spec = with_references(with_horizons(spec, data), data)
    warnings = data_warnings(data)
    chosen = choose_priors(spec, data, prior_set, prior)
    settings = inference.load_profile(profile)
    on_step("compiling the model")
    compiled = PatientModel(spec, data, chosen, settings, sampler)
    on_step(f"sampling {data.source.name}")
    fit = compiled.fit(data, chosen, seed)
    if fit.trace.attrs.get("log_likelihood", "stored") != "stored":
        warnings.append(f"pointwise log-likelihood {fit.trace.attrs['log_likelihood']}")
    return FittedModel(spec, data, chosen, fit, compiled, seed, warnings)


@dataclass
class _Options:
    prior_set: str | None = None
    prior: Path | str | None = None
    profile: str = "default"
    sampler: inference.SamplerName | None = None
    seed: int = DEFAULT_SEED


class SurvivalModel:
    """A Bayesian parametric survival regression with right censoring.

    likelihood: weibull (default), exponential, gompertz, lognormal or loglogistic.
    prior_set: a named prior set (`netlm-bayes prior-sets`), or prior: an exported prior
    (JSON) or a per-coefficient prior file (TOML). profile: the sampler settings
    (quick, default, thorough). time_unit: what the duration column counts, e.g. "days".
    """

    def __init__(
        self, likelihood: str = "weibull", *, prior_set: str | None = None,
        prior: Path | str | None = None, profile: str = "default",
        sampler: inference.SamplerName | None = None, seed: int = DEFAULT_SEED,
        time_unit: str | None = None, horizons: list[float] | None = None,
    ):  # fmt: skip
        if likelihood not in registry.names():
            raise InputError(
                f"likelihood {likelihood!r}: choose one of {', '.join(registry.names())}"
            )
        self.likelihood, self.time_unit, self.horizons = likelihood, time_unit, horizons
        self.options = _Options(prior_set, prior, profile, sampler, seed)

    def fit(
        self, table: pd.DataFrame, duration_col: str, event_col: str,
        covariates: list[str] | None = None, drop_missing: bool = False,
        formula: str | None = None, references: dict[str, str] | None = None,
    ) -> FittedModel:  # fmt: skip
        """Fit to `table`: `duration_col` > 0, `event_col` 1 for an event and 0 for censored,
        and covariates (default: every other column), or a `formula` such as
        "age + C(grade) + sex". Columns of labels are treatment-coded against their most
        frequent level, or the one `references` names ({"grade": "I"})."""
        used = [duration_col, event_col]
        chosen = _chosen(table, used, covariates, formula)
        unit = self.time_unit
        if unit is None and duration_col != specs.load_spec(SURVIVAL_TEMPLATE).time:
            unit = f"units of {duration_col} (unnamed: pass time_unit)"
        flags = Overrides(
            time=duration_col, event=event_col, covariates=chosen,
            likelihood=self.likelihood, time_unit=unit,
            horizons=self.horizons, drop_missing=drop_missing, formula=formula,
            references=references,
        )  # fmt: skip
        return _fit(SURVIVAL_TEMPLATE, flags, table, self.options)


class ResponseModel:
    """A Bayesian regression for a response: `logistic` (a 0/1 outcome, or labels counted
    as events) or `ordinal` (ordered categories, cumulative logit). Options as for
    `SurvivalModel`."""

    def __init__(
        self, kind: str = "logistic", *, prior_set: str | None = None,
        prior: Path | str | None = None, profile: str = "default",
        sampler: inference.SamplerName | None = None, seed: int = DEFAULT_SEED,
    ):  # fmt: skip
        if kind not in RESPONSE_TEMPLATES:
            raise InputError(f"kind {kind!r}: choose logistic or ordinal")
        self.kind = kind
        self.options = _Options(prior_set, prior, profile, sampler, seed)

    def fit(
        self, table: pd.DataFrame, outcome_col: str, covariates: list[str] | None = None,
        categories: list[str] | None = None, drop_missing: bool = False,
        formula: str | None = None, references: dict[str, str] | None = None,
    ) -> FittedModel:  # fmt: skip
        """Fit to `table`. For `ordinal`, `categories` gives the outcome's levels in order
        (default: a numeric column's values in numeric order). Covariates, `formula` and
        `references` as for `SurvivalModel.fit`."""
        chosen = _chosen(table, [outcome_col], covariates, formula)
        if self.kind == "ordinal" and categories is None:
            categories = ordered_levels(table, outcome_col)
        flags = Overrides(
            outcome=outcome_col, covariates=chosen, drop_missing=drop_missing,
            categories=categories if self.kind == "ordinal" else None, formula=formula,
            references=references,
        )  # fmt: skip
        return _fit(RESPONSE_TEMPLATES[self.kind], flags, table, self.options)


def _fit(template: str, flags: Overrides, table: pd.DataFrame, options: _Options):
    spec = load(template, flags)
    data = frame_model_data(table, columns(spec))
    return fit_spec(
        spec, data, options.prior_set, options.prior, options.profile, options.sampler,
        options.seed,
    )  # fmt: skip


def _chosen(table, used: list[str], covariates, formula) -> list[str] | None:
    """The covariates: as given, none with a formula, else every other column."""
    if formula is not None:
        if covariates is not None:
            raise InputError("covariates and formula: give one (a formula names its columns)")
        return None
    return list(_other_columns(table, used) if covariates is None else covariates)


def _other_columns(table: pd.DataFrame, used: list[str]) -> list[str]:
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, got {type(table).__name__}")
    return [c for c in table.columns if c not in [*used, *cohort.BOOKKEEPING]]
