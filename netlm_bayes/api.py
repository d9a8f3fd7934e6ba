"""The Python API: fit a patient-level model to a pandas DataFrame, as one would in lifelines.

    from netlm_bayes import SurvivalModel
    fitted = SurvivalModel("weibull").fit(df, duration_col="time", event_col="status")
    fitted                  # model, data, priors and the diagnostics verdict in a few lines
    fitted.print_summary()  # every column of `fitted.summary`, a DataFrame
    fitted.predict_survival(new_patients, times=[12, 24])

Also `reread_paper()` (the paper's printed effects as posteriors, per prior set),
`plan(prior, criterion)` (assurance for the next cohort), and the next cohort's decision:
`oc_design(...)` with `oc_table`, `borrowing_table`, its `probability_of_success()` and
`critical_table()`, and `survival_oc(...)`: the functions the CLI's `fit
reported_effects`, `plan` and `oc` call.

Every fit takes the same path as `netlm-bayes fit` (both call `fitting.patient_fit`): the
bundled model file's baseline priors, the named prior sets or an exported prior, centred
covariates, the diagnostics gate. A DataFrame is read exactly as the same table saved as a
CSV file would be. Nothing is written to disk unless asked (`to_prior(path)`).

This module is the notebook's front door and nothing else: it holds no computation of its
own, and no stage of the package imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd
import xarray as xr

from netlm_bayes import labels, paths
from netlm_bayes.errors import InputError
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence.patient_data import data_warnings, frame_model_data, ordered_levels
from netlm_bayes.families import curves, specs
from netlm_bayes.families.survival import registry
from netlm_bayes.fitting import prediction
from netlm_bayes.fitting.patient_fit import DEFAULT_SEED, PatientFit, fit_patient
from netlm_bayes.fitting.patient_spec import (
    Overrides,
    columns,
    load,
    read_data,
    with_outcome_coding,
)
from netlm_bayes.fitting.reported import ReanalysisResult, reread_paper
from netlm_bayes.planning.map_prior import MapResult, map_prior
from netlm_bayes.planning.operating_characteristics import borrowing_table, oc_design, oc_table
from netlm_bayes.planning.plan import Plan, plan
from netlm_bayes.planning.survival_oc import SurvivalOC, survival_oc
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.sampling.sampler import SamplerName

__all__ = [
    "ExportedPrior", "FittedModel", "MapResult", "Plan", "ReanalysisResult", "ResponseModel",
    "SurvivalModel", "SurvivalOC", "borrowing_table", "load_pseudo_cohort", "map_prior",
    "oc_design", "oc_table", "plan", "reread_paper", "survival_oc",
]  # fmt: skip
# The bundled model files whose baseline priors and defaults each kind of model starts from.
SURVIVAL_TEMPLATE = "hpfs_weibull"
RESPONSE_TEMPLATES = {"logistic": "response_logistic", "ordinal": "response_ordinal"}
PriorSource = Path | str | ExportedPrior | None


class FittedModel(PatientFit):
    """One posterior of a patient-level model, with what a user asks of it."""

    def __repr__(self) -> str:
        return "\n".join(self._described())

    def _repr_html_(self) -> str:
        """In Jupyter: the description, then the summary table with every column."""
        import html

        described = html.escape("\n".join(self._described()))
        return f"<pre>{described}</pre>" + self.summary.round(3).to_html(index=False)

    def _described(self) -> list[str]:
        spec, data = self.spec, self.data
        kind = f"{spec.likelihood} survival" if spec.family == "survival" else spec.family
        counts = f"{data.n} patients"
        if data.n == 0:
            counts = "no patients, external survivor counts alone"
        elif data.event is not None:
            counts += f", {int(data.event.sum())} events"
        elif data.y is not None and spec.family == "logistic":
            counts += f", {int(data.y.sum())} with the outcome"
        failures = "; ".join(self.fit.diagnostics.failures)
        verdict = "passed" if self.passed else f"FAILED ({failures})"
        lines = [
            f"<netlm_bayes FittedModel: {kind} ({spec.name})>",
            f"  data         {data.source.name}: {counts} [{data.origin}]",
            f"  covariates   {', '.join(data.covariates) or 'none'}",
            f"  priors       {self.priors.label}",
            f"  diagnostics  {verdict}: {self.fit.diagnostics.summary_line()}",
        ]
        if spec.family == "survival":
            lines.insert(3, f"  time unit    {spec.time_unit}")
        return lines + [f"  warning      {w}" for w in self.warnings]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per reported quantity: posterior median, 95% equal-tailed interval and HDI,
        P(ratio > 1) for hazard, acceleration and odds ratios, R-hat and ESS; and where the
        data came from (`data_origin`), as in summary.csv."""
        return self.fit.summary.assign(data_origin=self.data.origin)

    def print_summary(self, decimals: int = 3) -> None:
        """Print the model's description and the summary table with every column."""
        print(repr(self))
        with pd.option_context(
            "display.max_columns", None, "display.width", 250, "display.max_colwidth", 60
        ):  # fmt: skip
            print(self.summary.round(decimals).to_string(index=False))

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
        compiling again (as the CLI fits a cohort's replicates; an M-spline on this fit's
        basis: its knots and t_ref)."""
        data = frame_model_data(table, columns(self.spec))
        used = self.seed if seed is None else seed
        fit = self.compiled.fit(data, self.priors, used)
        # fit.data: the cohort as fitted (an M-spline's carries this fit's t_ref)
        refitted = PatientFit(
            self.spec, fit.data, self.priors, fit, self.compiled, used, data_warnings(data)
        )
        return _fitted(refitted)

    def predict_survival(self, table: pd.DataFrame, times) -> pd.DataFrame:
        """S(t) for each row of `table` (new patients, coded as the fitted cohort) at each
        of `times` (in `time_unit`): posterior median and 95% interval."""
        return prediction.survival(self, table, times)

    def predict_median(self, table: pd.DataFrame) -> pd.DataFrame:
        """Median survival for each row of `table`: posterior median and 95% interval."""
        return prediction.median_survival(self, table)

    def predict_proba(self, table: pd.DataFrame) -> pd.DataFrame:
        """P(outcome) for each row of `table` (logistic), or P(each category) (ordinal):
        posterior median and 95% interval."""
        return prediction.probabilities(self, table)

    def survival_curves(self) -> pd.DataFrame:
        """Standardised posterior survival curves (median and 95% band) per covariate pattern,
        at times in the data's unit (`spec.time_unit`)."""
        if self.spec.family != "survival":
            raise InputError(
                f"survival_curves needs a survival model; this one is {self.spec.family}"
            )
        posterior = self.fit.trace["posterior"].to_dataset()
        end = curves.curve_end(self.spec, self.data)
        table = curves.curve_table(posterior, self.fit.kind, self.data, end)
        return table.assign(data_origin=self.data.origin)

    def hazard_ratios(self, covariates: list[str] | None = None) -> pd.DataFrame:
        """HR(t) per covariate (median and 95% band on a time grid, in `spec.time_unit`),
        other covariates at the cohort's mean: changing with t for the `nonprop`
        covariates (default: those), constant for the others."""
        if self.spec.family != "survival":
            raise InputError(
                f"hazard_ratios needs a survival model; this one is {self.spec.family}"
            )
        chosen = covariates if covariates is not None else self.spec.nonprop
        unknown = [c for c in chosen if c not in self.data.covariates]
        if unknown or not chosen:
            raise InputError(
                f"hazard_ratios: name covariates among {self.data.covariates}"
                + (f" ({unknown} are not)" if unknown else "")
            )
        posterior = self.fit.trace["posterior"].to_dataset()
        end = curves.curve_end(self.spec, self.data)
        table = curves.hazard_ratio_table(posterior, self.fit.kind, self.data, chosen, end)
        return table.assign(time_unit=self.spec.time_unit, data_origin=self.data.origin)

    def plot_survival(self, by: str | None = None, ax=None):
        """Posterior survival (median, 95% band) over Kaplan-Meier, for the whole cohort or
        for each level of the covariate `by`, on `ax` (a new figure when None). Returns the
        matplotlib Axes."""
        import matplotlib.pyplot as plt

        from netlm_bayes.report import plots
        from netlm_bayes.report.format import outcome_words

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.2))
        plots.survival_panel(
            ax, self.survival_curves(), self.data, by or curves.COHORT, self.spec.time_unit,
            outcome_words(self.spec.time),
        )  # fmt: skip
        note = labels.note(self.data.origin)
        if note:
            ax.set_title(f"{ax.get_title()}\n{note}", fontsize=8)
        return ax

    def to_prior(
        self, path: Path | str | None = None, effects: list[str] | None = None,
        baseline: bool = True, allow_failed: bool = False,
    ) -> ExportedPrior:  # fmt: skip
        """This posterior as a prior for the next cohort (as `netlm-bayes export-prior`),
        written to `path` (JSON) when given; pass the result as `prior=` to the next fit.
        Weibull and logistic models only."""
        from netlm_bayes.planning import export

        return export.from_patient_fit(self, path, effects, baseline, allow_failed)


def load_pseudo_cohort() -> pd.DataFrame:
    """The bundled SYNTHETIC pseudo-cohort (84 rows, every row marked in `data_origin`):
    simulated to match the paper's published summaries, not patient data. Installed with
    the package, so a notebook outside the clone has it too."""
    return pd.read_csv(paths.PSEUDO_COHORT_FILE)


def _fitted(fitted: PatientFit) -> FittedModel:
    return FittedModel(**{f.name: getattr(fitted, f.name) for f in fields(PatientFit)})


@dataclass
class _Options:
    prior_set: str | None = None
    prior: PriorSource = None
    profile: str = "default"
    sampler: SamplerName | None = None
    seed: int = DEFAULT_SEED


class SurvivalModel:
    """A Bayesian parametric survival regression with right censoring.

    likelihood: weibull (default), exponential, gompertz, lognormal, loglogistic, or
    mspline (a flexible M-spline baseline hazard; `knots` (interior knots, in the time
    column's unit) or `df` (basis functions, default 10) place it).
    cure: a mixture cure model, S(t) = pi + (1 - pi) S_u(t) with S_u the `likelihood`
    family; cure_covariates: covariates of pi's logistic regression (implies cure).
    nonprop: covariates whose hazard ratio may change with time (mspline only; HR(t) from
    `hazard_ratios()`).
    external: survivor counts from other studies, a DataFrame or CSV with columns start,
    stop, n, r (r of n event-free at start still so at stop) and optional covariates.
    prior_set: a named prior set (`netlm-bayes prior-sets`), or prior: an exported prior
    (the `ExportedPrior` that `to_prior()` returns, or its JSON file) or a per-coefficient
    prior file (TOML). profile: the sampler settings
    (quick, default, thorough). time_unit: what the duration column counts, e.g. "days".
    """

    def __init__(
        self, likelihood: str = "weibull", *, prior_set: str | None = None,
        prior: PriorSource = None, profile: str = "default",
        sampler: SamplerName | None = None, seed: int = DEFAULT_SEED,
        time_unit: str | None = None, horizons: list[float] | None = None,
        knots: list[float] | None = None, df: int | None = None, cure: bool = False,
        cure_covariates: list[str] | None = None,
        external: pd.DataFrame | str | Path | None = None,
        nonprop: list[str] | None = None,
    ):  # fmt: skip
        if likelihood not in registry.names():
            raise InputError(
                f"likelihood {likelihood!r}: choose one of {', '.join(registry.names())}"
            )
        self.likelihood, self.time_unit, self.horizons = likelihood, time_unit, horizons
        self.knots, self.df = knots, df
        self.cure, self.cure_covariates = cure, cure_covariates
        self.external, self.nonprop = external, nonprop
        self.options = _Options(prior_set, prior, profile, sampler, seed)

    def fit(
        self, table: pd.DataFrame, duration_col: str, event_col: str,
        covariates: list[str] | None = None, drop_missing: bool = False,
        formula: str | None = None, references: dict[str, str] | None = None,
        allow_outliers: bool = False,
    ) -> FittedModel:  # fmt: skip
        """Fit to `table`: `duration_col` > 0, `event_col` 1 (or True) for an event and 0
        (False) for censored, and covariates (default: every other column), or a `formula`
        such as "age + C(grade) + sex". Columns of labels are treatment-coded against their
        most frequent level, or the one `references` names ({"grade": "I"}). A value more
        than 10 robust SDs from its column's median is warned about, or refused when it
        would make the column's effect vanish, unless `allow_outliers`."""
        used = [duration_col, event_col]
        chosen = _chosen(table, used, covariates, formula)
        unit = self.time_unit
        if unit is None and duration_col != specs.load_spec(SURVIVAL_TEMPLATE).time:
            unit = f"units of {duration_col} (unnamed: pass time_unit)"
        flags = Overrides(
            time=duration_col, event=event_col, covariates=chosen,
            likelihood=self.likelihood, time_unit=unit,
            horizons=self.horizons, drop_missing=drop_missing, formula=formula,
            references=references, allow_outliers=allow_outliers, knots=self.knots, df=self.df,
            cure=self.cure, cure_covariates=self.cure_covariates,
            external=_external_file(self.external), nonprop=self.nonprop,
        )  # fmt: skip
        return _fit(SURVIVAL_TEMPLATE, flags, table, self.options)

    def fit_external(self) -> FittedModel:
        """Fit to the `external` survivor counts alone, with no patient data: the baseline
        survival curve they imply (no covariates; time in `time_unit`, t_ref the counts'
        median stop time). An M-spline needs `knots`. There is no pointwise
        log-likelihood to score (LOO) and no Kaplan-Meier curve to check against."""
        if self.external is None:
            raise InputError("fit_external: give the counts as SurvivalModel(external=...)")
        flags = Overrides(
            data=Path(specs.NO_PATIENTS), likelihood=self.likelihood,
            time_unit=self.time_unit,
            horizons=self.horizons, knots=self.knots, df=self.df, cure=self.cure,
            cure_covariates=self.cure_covariates, external=_external_file(self.external),
            nonprop=self.nonprop,
        )  # fmt: skip
        spec = load(SURVIVAL_TEMPLATE, flags)
        options = self.options
        fitted = fit_patient(spec, read_data(spec), options.prior_set, options.prior,
                             options.profile, options.sampler, options.seed)  # fmt: skip
        return _fitted(fitted)


class ResponseModel:
    """A Bayesian regression for a response: `logistic` (a 0/1 outcome, or labels counted
    as events) or `ordinal` (ordered categories, cumulative logit). Options as for
    `SurvivalModel`."""

    def __init__(
        self, kind: str = "logistic", *, prior_set: str | None = None,
        prior: PriorSource = None, profile: str = "default",
        sampler: SamplerName | None = None, seed: int = DEFAULT_SEED,
    ):  # fmt: skip
        if kind not in RESPONSE_TEMPLATES:
            raise InputError(f"kind {kind!r}: choose logistic or ordinal")
        self.kind = kind
        self.options = _Options(prior_set, prior, profile, sampler, seed)

    def fit(
        self, table: pd.DataFrame, outcome_col: str, covariates: list[str] | None = None,
        categories: list[str] | None = None, drop_missing: bool = False,
        formula: str | None = None, references: dict[str, str] | None = None,
        allow_outliers: bool = False,
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
            references=references, allow_outliers=allow_outliers,
        )  # fmt: skip
        return _fit(RESPONSE_TEMPLATES[self.kind], flags, table, self.options)


def _fit(template: str, flags: Overrides, table: pd.DataFrame, options: _Options):
    spec = with_outcome_coding(load(template, flags), table)
    data = frame_model_data(table, columns(spec))
    fitted = fit_patient(
        spec, data, options.prior_set, options.prior, options.profile, options.sampler,
        options.seed,
    )  # fmt: skip
    return _fitted(fitted)


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


def _external_file(external: pd.DataFrame | str | Path | None) -> Path | None:
    """The external counts as a file, which the model reads (a DataFrame is written to a
    temporary CSV that lasts the session, as a notebook's table has no path of its own)."""
    if external is None or not isinstance(external, pd.DataFrame):
        return None if external is None else Path(external)
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix="-external.csv", delete=False) as handle:
        external.to_csv(handle, index=False)
    return Path(handle.name)
