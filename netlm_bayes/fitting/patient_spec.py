"""A model file as a user's flags change it: which columns, which outcome coding, which
time unit. Light on purpose (no PyMC, no ArviZ): the CLI reads and checks a user's CSV
with it before the heavy imports, so a wrong column name is refused at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from netlm_bayes import tomlfiles
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.external_counts import external_only_data
from netlm_bayes.evidence.patient_data import (
    Columns,
    ModelData,
    holds_zero_one,
    ordered_levels,
    read_model_data,
)
from netlm_bayes.families import specs


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
    allow_outliers: bool = False
    knots: list[float] | None = None  # an M-spline's interior knots, in the time's unit
    df: int | None = None  # an M-spline's number of basis functions
    cure: bool = False  # a mixture cure model
    cure_covariates: list[str] | None = None  # the cure fraction's covariates (imply cure)
    external: Path | None = None  # survivor counts from other studies (a CSV)
    nonprop: list[str] | None = None  # covariates whose HR may change with time (mspline)


def apply_overrides(spec: specs.PatientLevelSpec, flags: Overrides) -> specs.PatientLevelSpec:
    updates: dict = {}
    if flags.drop_missing:
        updates["drop_missing"] = True
    if flags.allow_outliers:
        updates["allow_outliers"] = True
    if flags.data is not None:
        updates["data"] = str(Path(flags.data).resolve())
        if str(flags.data) == specs.NO_PATIENTS:
            updates |= _no_patients(spec, flags)
    if flags.covariates is not None and flags.formula is not None:
        raise InputError(
            f"{option('covariates')} and {option('formula')}: give one (a formula names its "
            "columns)"
        )
    if flags.covariates is not None:
        updates["covariates"] = flags.covariates
        updates["formula"] = None
    if flags.formula is not None:
        if not flags.formula.strip():
            raise InputError(
                f"{option('formula')} is empty; e.g. {option('formula', 'age + C(grade) + sex')}"
            )
        updates["formula"], updates["covariates"] = flags.formula, []
    if flags.references:
        updates["references"] = flags.references
    survival_flags = {
        "time": flags.time, "event": flags.event, "likelihood": flags.likelihood,
        "time_unit": flags.time_unit, "rmst_horizons": flags.horizons,
        "knots": flags.knots, "df": flags.df,
        "cure": (flags.cure or flags.cure_covariates is not None) or None,
        "cure_covariates": flags.cure_covariates,
        "external": str(Path(flags.external).resolve()) if flags.external else None,
        "nonprop": flags.nonprop,
    }  # fmt: skip
    given = {k: v for k, v in survival_flags.items() if v is not None}
    if flags.categories is not None and spec.family != "ordinal":
        raise InputError(
            f"{option('categories')} applies to ordinal models; {spec.name} is {spec.family}"
        )
    if spec.family == "survival":
        updates.update(given)
        _check_spline_flags(spec, flags, updates)
        if flags.time is not None and flags.time != spec.time and flags.time_unit is None:
            updates["time_unit"] = f"units of {flags.time} (unnamed)"
        if _other_times(spec, flags) and flags.horizons is None:
            updates["rmst_horizons"] = []  # the file's horizons are in its own unit: from data
        if flags.outcome is not None:
            raise InputError(
                f"{option('outcome_col')} applies to response models; {spec.name} is survival"
            )
    else:
        if given:
            flags_named = ", ".join(
                option("horizons" if k == "rmst_horizons" else k) for k in given
            )
            raise InputError(
                f"{flags_named} apply to survival models; {spec.name} is {spec.family}"
            )
        if flags.outcome is not None and flags.outcome != spec.outcome:
            updates["outcome"] = flags.outcome
            if spec.family == "logistic":
                updates |= _zero_one_outcome(flags.outcome)
        if spec.family == "ordinal":
            updates |= _ordinal_categories(spec, flags, updates)
    if not updates:
        return spec
    return tomlfiles.validate(type(spec), {**spec.model_dump(), **updates}, spec.path)


def _no_patients(spec, flags: Overrides) -> dict:
    """`--data none`: a survival model fitted to external survivor counts alone, the
    baseline only (no cohort to centre covariates on, so none)."""
    if spec.family != "survival":
        raise InputError(
            f"{option('data', specs.NO_PATIENTS)} fits a survival model to external counts "
            f"alone; {spec.name} is {spec.family}"
        )
    if flags.external is None and spec.external is None:
        raise InputError(
            f"{option('data', specs.NO_PATIENTS)}: give the survivor counts to fit, "
            f"{option('external', 'FILE.csv')}"
        )
    given = {"covariates": flags.covariates, "formula": flags.formula,
             "nonprop": flags.nonprop, "cure_covariates": flags.cure_covariates}  # fmt: skip
    named = [option(name) for name, value in given.items() if value]
    if named:
        raise InputError(
            f"{', '.join(named)}: with {option('data', specs.NO_PATIENTS)} there is no cohort "
            "to centre covariates on; the fit is the baseline alone"
        )
    updates = {"data": specs.NO_PATIENTS, "covariates": [], "formula": None}
    if flags.time is None:  # the model file's column names its own cohort's outcome
        updates["time"] = "time"
    if flags.time_unit is None:
        updates["time_unit"] = "units of start/stop (unnamed)"
        if flags.horizons is None:  # the file's horizons are in its own unit
            updates["rmst_horizons"] = []
    return updates


def _check_spline_flags(spec, flags: Overrides, updates: dict) -> None:
    if flags.nonprop and updates.get("likelihood", spec.likelihood) != "mspline":
        raise InputError(
            f"{option('nonprop')} lets a hazard ratio change with time by moving an M-spline "
            f"baseline's coefficients: give {option('likelihood', 'mspline')} too"
        )
    if flags.knots is None and flags.df is None:
        return
    if updates.get("likelihood", spec.likelihood) != "mspline":
        raise InputError(
            f"{option('knots')} and {option('df')} place an M-spline baseline's knots: give "
            f"{option('likelihood', 'mspline')} too"
        )
    if flags.knots is not None and flags.df is not None:
        raise InputError(
            f"{option('knots')} and {option('df')}: give one (the knots fix the number of "
            "basis functions)"
        )


def _zero_one_outcome(column: str) -> dict:
    """A 0/1 outcome column: named for itself, with none of the model file's labels (such
    as the paper's CR/PR/SD/PD) or their names (non-response, ORR)."""
    return {"outcome_events": [], "outcome_labels": [], "outcome_label": column,
            "complement_label": None}  # fmt: skip


def with_outcome_coding(spec: specs.PatientLevelSpec, source) -> specs.PatientLevelSpec:
    """A logistic model file's outcome labels describe its own cohort. A user's column of
    the same name that holds 0/1 (a CSV path or a DataFrame) is a 0/1 outcome, not a
    column of those labels."""
    if spec.family != "logistic" or not spec.outcome_labels:
        return spec
    if not holds_zero_one(source, spec.outcome):
        return spec
    return spec.model_copy(update=_zero_one_outcome(spec.outcome))


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
        "allow_outliers": spec.allow_outliers,
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
    if path is None and not spec.has_patients:
        return external_only_data(spec.external_path)
    return read_model_data(path or spec.data_path, columns(spec))


def load(model: str, flags: Overrides) -> specs.PatientLevelSpec:
    spec = specs.load_spec(model)
    if spec.family == "reported_effects":
        raise InputError(f"{model} is the reported-effects model; it takes no patient data")
    spec = apply_overrides(spec, flags)
    return with_outcome_coding(spec, flags.data) if spec.has_patients and flags.data else spec
