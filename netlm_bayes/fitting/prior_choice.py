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

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from netlm_bayes import tomlfiles
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families.specs import PROPORTIONAL_HAZARDS, PatientLevelSpec, PriorSets
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.distributions import Normal
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.priors.mixture import MixturePrior

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


@dataclass(frozen=True)
class CoefficientPriors:
    """One prior per covariate, in covariate order, and a label for where they came from.

    With an exported prior, `joint` covers its parameters (effects and baseline) jointly and
    `exported` keeps the whole file (for the prior-data conflict check); `priors` then
    serves only the covariates the joint prior does not cover.
    """

    priors: list[Normal]
    label: str
    joint: MixturePrior | None = None
    exported: ExportedPrior | None = None
    # The covariate pattern the joint prior's baseline refers to (`design.pattern_shift`).
    pattern: dict[str, float] | None = None
    # The factor on the model file's baseline prior SDs (the prior set's).
    baseline_sd_scale: float = 1.0

    def describe(self, covariates: list[str]) -> dict[str, str]:
        if self.joint is not None:
            own = {
                name: str(prior)
                for name, prior in zip(covariates, self.priors, strict=True)
                if name not in self.joint.names
            }
            return {"joint": str(self.joint), **own}
        return {name: str(prior) for name, prior in zip(covariates, self.priors, strict=True)}


def expected_scale(spec: PatientLevelSpec) -> Scale:
    if spec.family == "survival":
        return "log_hr" if spec.likelihood in PROPORTIONAL_HAZARDS else "log_af"
    return "log_or"


def from_prior_set(prior_sets: PriorSets, name: str, covariates: list[str]) -> CoefficientPriors:
    priors = [prior_sets.coefficient_prior(name, covariate) for covariate in covariates]
    scale = prior_sets.get(name).baseline_sd_scale
    return CoefficientPriors(priors, f"prior set {name}", baseline_sd_scale=scale)


def from_exported(
    path: Path, spec: PatientLevelSpec, data: ModelData, fallback: CoefficientPriors
) -> CoefficientPriors:
    """An exported prior (JSON, from `export-prior`), after checking its coding against
    this model and cohort; covariates it does not cover keep `fallback`'s priors."""
    exported = exportedprior.read(path)
    exportedprior.check_coding(exported, spec, data, path)
    origin = " (from a SYNTHETIC cohort)" if exported.synthetic else ""
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
