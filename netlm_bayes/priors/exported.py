"""The exported-prior file: one cohort's posterior, as a prior for the next cohort.

The file is JSON and holds the prior (a normal mixture over named parameters, see
`priors.mixture`), the coding it assumes, its unit information (what one event or patient
is worth, for ESS and for robustification) and its provenance; nothing else. `robustify`
and `discount` return new priors. `planning.export.from_run` makes one from a run folder;
`fitting.prior_choice.check_coding` refuses a model whose coding differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netlm_bayes import labels
from netlm_bayes.errors import InputError, option
from netlm_bayes.priors.mixture import Component, MixturePrior

FORMAT = "netlm-bayes exported prior"
# 2: the baseline (log reference median, intercept) is stated at `baseline_pattern`, the
# source cohort's mean covariates, no longer at every covariate = 0.
VERSION = 2
SCALES = {"weibull": "log_hr", "logistic": "log_or"}
UNITS = {"weibull": "event", "logistic": "patient"}
# Survival likelihoods whose coefficients are proportional-hazards log HRs: a "weibull"
# prior's effects mean the same in each (its baseline is the Weibull's alone).
PROPORTIONAL_HAZARDS = ("weibull", "mspline")
# A cure-model run's cure fraction, as a logit at `baseline_pattern` (a nuisance parameter,
# like the baseline: no null to robustify toward).
CURE_LOGIT_AT_PATTERN = "cure_logit_at_pattern"


@dataclass(frozen=True)
class ExportedPrior:
    prior: MixturePrior
    family: str  # weibull | logistic
    outcome: dict  # time column and unit, or the outcome's events and label
    coding: dict  # per covariate: its values, and its share or range in the source cohort
    effects: tuple[str, ...]
    unit_cov: np.ndarray  # over prior.names: the information in one unit (event / patient)
    construction: dict
    provenance: dict
    # The covariate pattern (the source cohort's means) at which the baseline is stated.
    baseline_pattern: dict[str, float]
    # Set when the source run failed its diagnostics and the user exported it anyway.
    warning: str = ""

    def centred(self, X: np.ndarray, covariates: list[str]) -> np.ndarray:
        """X with each covariate the pattern names taken relative to it, and any other
        centred at X's own mean (as `fit --prior` does): the coordinates in which the
        prior's baseline sits at 0 (`sampling.laplace`, `planning`, the conflict check)."""
        if X.shape[-1] == 0:  # no covariates: nothing to shift
            return X
        own_mean = X.reshape(-1, X.shape[-1]).mean(axis=0)
        shift = [self.baseline_pattern.get(name, own_mean[j]) for j, name in enumerate(covariates)]
        return X - np.array(shift)

    @property
    def scale(self) -> str:
        return SCALES[self.family]

    @property
    def unit(self) -> str:
        return UNITS[self.family]

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic"))

    @property
    def reconstructed(self) -> bool:
        """Built from patients rebuilt from a published KM figure (`reconstruct`)."""
        return self.provenance.get("data_origin") == labels.RECONSTRUCTED

    @property
    def cure(self) -> bool:
        """From a mixture cure model's run: its HRs and median are the uncured patients'."""
        return bool(self.outcome.get("cure_model"))

    def refuse_cure(self, source: str, what: str) -> None:
        """`what` (a planning step) simulates cohorts without a cure fraction, so a cure
        model's prior would be read there as the whole cohort's."""
        if self.cure:
            raise InputError(
                f"{source}: a prior from a cure-model run (its HRs and median are the uncured "
                f"patients'); {what} simulates cohorts without a cure fraction, so it cannot "
                f"use it. Fit a next cohort with it (`fit` {option('cure', True)} "
                f"{option('prior')}), or export a run without cure for planning"
            )

    @property
    def nuisance(self) -> list[str]:
        return [n for n in self.prior.names if n not in self.effects]

    def unit_sd(self, name: str) -> float:
        i = self.prior.index(name)
        return float(np.sqrt(self.unit_cov[i, i]))

    def robustify(self, weight: float) -> ExportedPrior:
        """Add a unit-information component of weight `weight`, centred on no effect for
        the effects and on the informative mean for the baseline (which has no null)."""
        if any(c.label == "robust" for c in self.prior.components):
            raise InputError("this prior is already robust; robustify the original once")
        vague = self.unit_information_component()
        prior = self.prior.robustify(weight, vague.cov, vague.mean)
        return replace(
            self, prior=prior, construction={**self.construction, "robust_weight": weight}
        )

    def unit_information_component(self) -> Component:
        """One unit of information, centred on no effect (and on the informative mean of the
        baseline, which has no null): RBesT's unit-information prior."""
        informative = [c for c in self.prior.components if c.label != "robust"]
        total = sum(c.weight for c in informative)
        centre = sum(c.weight * c.mean for c in informative) / total
        for name in self.effects:
            centre[self.prior.index(name)] = 0.0
        return Component(1.0, centre, self.unit_cov, "robust")

    def discount(self, a0: float) -> ExportedPrior:
        prior = self.prior.discount(a0)
        return replace(self, prior=prior, construction={**self.construction, "discount_a0": a0})

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "family": self.family,
            "scale": self.scale,
            "outcome": self.outcome,
            "coding": self.coding,
            "effects": list(self.effects),
            "prior": self.prior.to_dict(),
            "unit_information": {
                "per": self.unit,
                "cov": [[float(v) for v in row] for row in self.unit_cov],
            },
            "construction": self.construction,
            "provenance": self.provenance,
            "baseline_pattern": self.baseline_pattern,
            **({"warning": self.warning} if self.warning else {}),
        }


class _UnitInformation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per: str
    cov: list[list[float]]


class _PriorFile(BaseModel):
    """The file's schema, for one clear message when a file is broken or hand-edited."""

    model_config = ConfigDict(extra="forbid")
    format: str
    version: int
    family: str = Field(pattern="^(weibull|logistic)$")
    scale: str
    outcome: dict
    coding: dict[str, dict]
    effects: list[str]  # none for a MAP prior of a baseline (a median, a rate)
    prior: dict
    unit_information: _UnitInformation
    construction: dict
    provenance: dict
    baseline_pattern: dict[str, float]
    warning: str = ""


def write(exported: ExportedPrior, path: Path) -> list[Path]:
    """The prior file, and beside it `<stem>.rbest/`, one RBesT mixture file per effect for
    R users (`for_r`). Each is written whole to a temporary place first, so a failure leaves
    nothing partial."""
    import shutil
    import tempfile

    from netlm_bayes.priors import for_r

    path = Path(path)
    if path.suffix != ".json":
        raise InputError(
            f"{option('out', str(path))}: an exported prior is JSON; name it <something>.json"
        )
    rbest = path.with_name(f"{path.stem}.rbest")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(json.dumps(exported.to_dict(), indent=2) + "\n")
        staging = Path(tempfile.mkdtemp(prefix=f".{rbest.name}.", dir=path.parent))
        for_r.write_rbest_folder(exported, staging)
        if rbest.exists():
            shutil.rmtree(rbest)
        staging.replace(rbest)
        partial.replace(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the prior file ({exc.strerror})") from exc
    return [path, rbest]


def read(path: Path) -> ExportedPrior:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a JSON prior file ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError(
            f'{path}: not a netlm-bayes exported prior (no "format": {FORMAT!r}); make one '
            "with `netlm-bayes export-prior`, or `to_prior(path)` in Python"
        )
    if raw.get("version") != VERSION:
        raise InputError(
            f"{path}: version {raw.get('version')}; this netlm-bayes reads {VERSION} (re-export "
            "it with `netlm-bayes export-prior RUN`)"
        )
    try:
        checked = _PriorFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: {problems}") from exc
    try:
        prior = MixturePrior.from_dict(checked.prior)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: prior: malformed ({exc})") from exc
    except InputError as exc:
        raise InputError(f"{path}: prior: {exc.message}") from exc
    unit_cov = np.asarray(checked.unit_information.cov, float)
    if unit_cov.shape != (len(prior.names),) * 2:
        raise InputError(f"{path}: unit_information.cov must be square over {prior.names}")
    missing = [e for e in checked.effects if e not in prior.names]
    if missing:
        raise InputError(f"{path}: effects {missing} are not parameters of the prior")

    if checked.scale != SCALES[checked.family]:
        raise InputError(f"{path}: scale {checked.scale!r} does not fit family {checked.family}")
    return ExportedPrior(
        prior, checked.family, checked.outcome, checked.coding, tuple(checked.effects),
        unit_cov, checked.construction, checked.provenance, checked.baseline_pattern,
        checked.warning,
    )  # fmt: skip


# ---- from a run folder ---------------------------------------------------------------------


def describe_column(values: np.ndarray) -> dict:
    if np.isin(values, [0, 1]).all():
        return {"values": "0/1", "share_of_1": round(float(values.mean()), 4)}
    return {
        "values": "continuous",
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": round(float(values.mean()), 4),
    }


def parameter_names(family: str, covariates: list[str], cure: bool = False) -> list[str]:
    """The prior's parameter vector, in order: the effects (log HR or log OR) and the
    baseline at `baseline_pattern` (Weibull shape and median, or the logistic intercept;
    with `cure`, the cure fraction's logit there too)."""
    if family == "weibull":
        return [*covariates, "log_shape", "log_median_at_pattern",
                *([CURE_LOGIT_AT_PATTERN] if cure else [])]  # fmt: skip
    return ["intercept_at_pattern", *covariates]
