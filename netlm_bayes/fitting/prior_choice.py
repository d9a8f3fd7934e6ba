"""Coefficient priors for patient-level models: from a named prior set, or from a file.

An exported prior (`--prior FILE.json`, written by `export-prior`) is read by
`from_exported`. A hand-written prior file (`--prior FILE.toml`) is TOML holding one prior
per covariate, the scale it is on and where it came from; nothing else:

    scale = "log_hr"                 # log_hr (PH survival), log_af (AFT), or log_or
    source = "why these numbers"
    [coefficients.htb_gt25]
    family = "normal"
    mu = 1.2
    sigma = 0.5
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from netlm_bayes import tomlfiles
from netlm_bayes.errors import InputError, option
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import specs
from netlm_bayes.families.design import covariate_columns
from netlm_bayes.families.specs import PatientLevelSpec, PriorSets
from netlm_bayes.families.survival.registry import family
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.priors.distributions import Normal
from netlm_bayes.priors.exported import (
    CURE_LOGIT_AT_PATTERN,
    PROPORTIONAL_HAZARDS,
    ExportedPrior,
    describe_column,
    parameter_names,
)

Scale = Literal["log_hr", "log_af", "log_or"]


class _NormalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    family: Literal["normal"]
    mu: float
    sigma: float = Field(gt=0)


class PriorFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scale: Scale
    source: str = Field(min_length=3)
    coefficients: dict[str, _NormalEntry] = Field(min_length=1)


def expected_scale(spec: PatientLevelSpec) -> Scale:
    if spec.family == "survival":
        return "log_hr" if family(spec.likelihood).proportional_hazards else "log_af"
    return "log_or"


def from_prior_set(prior_sets: PriorSets, name: str, covariates: list[str]) -> CoefficientPriors:
    priors = [prior_sets.coefficient_prior(name, covariate) for covariate in covariates]
    scale = prior_sets.get(name).baseline_sd_scale
    return CoefficientPriors(priors, f"prior set {name}", baseline_sd_scale=scale)


def from_exported(
    source: Path | ExportedPrior, spec: PatientLevelSpec, data: ModelData,
    fallback: CoefficientPriors,
) -> CoefficientPriors:  # fmt: skip
    """An exported prior (a JSON file from `export-prior`, or the object `to_prior()`
    returns), after checking its coding against this model and cohort; covariates it does
    not cover keep `fallback`'s priors."""
    if isinstance(source, ExportedPrior):
        exported, path = source, Path(f"ExportedPrior from {source.provenance.get('run')}")
    else:
        exported, path = exportedprior.read(source), Path(source)
    check_coding(exported, spec, data, path)
    origin = " (from a SYNTHETIC cohort)" if exported.synthetic else ""
    origin += " (from a cohort RECONSTRUCTED from a KM figure)" if exported.reconstructed else ""
    if exported.provenance.get("illustrative_studies"):
        origin += " (a MAP prior with ILLUSTRATIVE studies: not evidence)"
    if exported.warning:
        origin += f" (WARNING: {exported.warning})"
    return CoefficientPriors(
        fallback.priors, f"exported prior {path}{origin}", exported.prior, exported,
        exported.baseline_pattern,
    )  # fmt: skip


def from_file(path: Path, spec: PatientLevelSpec, covariates: list[str]) -> CoefficientPriors:
    loaded = tomlfiles.load(PriorFile, Path(path))
    scale = expected_scale(spec)
    if loaded.scale != scale:
        raise InputError(
            f"{path}: scale = {loaded.scale!r}, but this model's coefficients are {scale!r}; "
            "a prior on another scale would be silently wrong"
        )
    missing = [c for c in covariates if c not in loaded.coefficients]
    if missing:
        raise InputError(
            f"{path}: no [coefficients.<name>] prior for {', '.join(missing)}; the file has "
            f"{', '.join(loaded.coefficients)}"
        )
    priors = [Normal(loaded.coefficients[c].mu, loaded.coefficients[c].sigma) for c in covariates]
    return CoefficientPriors(priors, f"prior file {path}")


def check_coding(exported: ExportedPrior, spec, data, path: Path) -> None:
    """Refuse a model whose outcome, time unit or covariate coding differs from the prior's."""
    problems = []
    likelihood = getattr(spec, "likelihood", None)
    family = "weibull" if likelihood in PROPORTIONAL_HAZARDS else spec.family
    if family != exported.family:
        what = f"{spec.family} ({spec.likelihood})" if spec.family == "survival" else spec.family
        raise InputError(
            f"{path}: a {exported.family} prior ({exported.scale}); this model is {what}"
        )
    cure = bool(getattr(spec, "cure", False))
    _check_cure_matches(exported, cure, path)
    baseline = set(parameter_names(family, [], cure))
    if likelihood == "mspline":
        _check_spline_takes(exported, spec, data, path)
    unknown = [n for n in exported.nuisance if n not in baseline]
    if unknown:
        raise InputError(
            f"{path}: parameters {unknown} are neither effects nor a {family} baseline "
            f"({', '.join(sorted(baseline))}); this model would silently ignore them"
        )
    if family == "weibull":
        unit = exported.outcome.get("time_unit")
        # A hazard ratio has no unit; a baseline (a median) does.
        has_baseline = any(n in baseline for n in exported.prior.names)
        if has_baseline and unit != spec.time_unit:
            problems.append(
                f"time unit: the prior's is {unit!r}, this model's {spec.time_unit!r} (if your "
                f"times are in {unit!r}, say so with {option('time_unit')})"
            )
    else:
        ours = {"outcome_events": list(spec.outcome_events), "outcome_label": spec.outcome_label}
        for key, value in ours.items():
            if exported.outcome.get(key) != value:
                problems.append(
                    f"{key}: the prior's is {exported.outcome.get(key)!r}, this model's {value!r}"
                )
    ours_coded = data.described_coding()["effects"]
    for name in exported.effects:
        theirs = exported.coding.get(name, {})
        if name not in data.covariates:
            problems.append(_missing_effect(name, theirs, data))
            continue
        mismatch = _term_mismatch(name, theirs, ours_coded.get(name, {}))
        if mismatch:
            problems.append(mismatch)
            continue
        ours = describe_column(data.X[:, data.covariates.index(name)])
        if theirs.get("values") != ours["values"]:
            problems.append(
                f"covariate {name}: the prior codes it {theirs.get('values')}, this cohort "
                f"has {ours['values']} values"
            )
        elif ours["values"] == "continuous" and (
            ours["max"] < theirs["min"] or ours["min"] > theirs["max"]
        ):
            problems.append(
                f"covariate {name}: this cohort's range {ours['min']:g} to {ours['max']:g} does "
                f"not overlap the prior's {theirs['min']:g} to {theirs['max']:g}: another unit?"
            )
    if problems:
        raise InputError(
            f"{path}: the prior's coding does not match this model: " + "; ".join(problems)
        )


def _check_cure_matches(exported: ExportedPrior, cure: bool, path: Path) -> None:
    """A cure model's HRs and median are the uncured patients', any other's the whole
    cohort's: a prior goes only into a model of its own kind."""
    if exported.cure and not cure:
        raise InputError(
            f"{path}: a prior from a cure-model run: its HRs and median are the uncured "
            f"patients', which a model without a cure fraction would read as everyone's; fit "
            f"with {option('cure', True)}"
        )
    if cure and not exported.cure:
        raise InputError(
            f"{path}: a prior from a run without a cure fraction: its HRs and median are the "
            "whole cohort's, which this cure model would read as the uncured patients'; fit "
            f"without {option('cure', True)}, or export the prior from a cure-model run"
        )


def _check_spline_takes(exported: ExportedPrior, spec, data, path: Path) -> None:
    """An M-spline model takes a prior's effects (and a cure model's cure fraction), never a
    Weibull baseline, and not for an effect that changes over time (there the coefficient
    is not one HR)."""
    weibull = [name for name in exported.nuisance if name != CURE_LOGIT_AT_PATTERN]
    if weibull:
        raise InputError(
            f"{path}: carries a Weibull baseline ({', '.join(weibull)}), which an "
            f"M-spline baseline cannot take; export the effects alone "
            f"({option('baseline', False)}) for an M-spline model"
        )
    changing = covariate_columns(spec.nonprop, data, f"{option('nonprop')} covariate")
    borrowed = [name for name in exported.effects if name in changing]
    if borrowed:
        raise InputError(
            f"{path}: a prior for {', '.join(borrowed)}, whose effect this model lets change "
            f"over time ({option('nonprop')}); a single HR's prior does not describe it"
        )


def _missing_effect(name: str, theirs: dict, data) -> str:
    """Why the prior's effect is not in this model: a level or reference that differs, or
    a covariate the model does not have."""
    level, reference = theirs.get("level"), theirs.get("reference")
    column = (theirs.get("columns") or [None])[0]
    levels = (data.coding.levels if data.coding else {}).get(column)
    if level is not None and levels is not None:
        absent = [value for value in (reference, level) if value not in levels]
        if absent:
            return (
                f"covariate {name}: level {absent[0]!r} of {column!r} is not in this cohort "
                f"(its levels: {', '.join(map(repr, levels))})"
            )
        if next(iter(levels)) != reference:
            return (
                f"covariate {name}: the prior codes {column!r} against reference level "
                f"{reference!r}, this cohort against {next(iter(levels))!r} (give "
                f"{option('references')} "
                f"{column}={reference})"
            )
    transformed = [
        e.term for e in (data.coding.effects if data.coding else [])
        if column in e.columns and e.term != theirs.get("term")
    ]  # fmt: skip
    if column is not None and transformed:
        return (
            f"covariate {name}: the prior takes column {column!r} as {theirs.get('term')!r}, "
            f"this model as {transformed[0]!r}: a transform that differs"
        )
    return (
        f"covariate {name}: in the prior but not in this model ({data.covariates}); "
        f"export only the effects you model ({option('effects')} of export-prior or to_prior)"
    )


def _term_mismatch(name: str, theirs: dict, ours: dict) -> str | None:
    for key, what in (("term", "term (transform)"), ("reference", "reference level"),
                      ("contrast", "contrast")):  # fmt: skip
        if key in theirs and theirs.get(key) != ours.get(key):
            return (
                f"covariate {name}: the prior's {what} is {theirs.get(key)!r}, this "
                f"cohort's {ours.get(key)!r}"
            )
    return None


def choose_priors(
    spec: specs.PatientLevelSpec, data: ModelData, prior_set: str | None,
    prior_file: Path | str | ExportedPrior | None,
) -> CoefficientPriors:  # fmt: skip
    if prior_set and prior_file is not None:
        raise InputError(f"give {option('prior_set')} or {option('prior')}, not both")
    covariates = data.covariates
    if isinstance(prior_file, ExportedPrior):
        return from_exported(prior_file, spec, data, _named_set(spec, prior_set, covariates))
    if prior_file and Path(prior_file).suffix != ".json":
        return from_file(Path(prior_file), spec, covariates)
    chosen = _named_set(spec, prior_set, covariates)
    if prior_file:  # an exported prior; uncovered covariates keep the default set
        return from_exported(Path(prior_file), spec, data, chosen)
    return chosen


def _named_set(spec, prior_set: str | None, covariates: list[str]) -> CoefficientPriors:
    prior_sets = specs.load_prior_sets(spec.prior_sets_path)
    name = prior_set or spec.default_prior_set or prior_sets.default
    return from_prior_set(prior_sets, name, covariates)
