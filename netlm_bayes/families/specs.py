"""Model specs and named prior sets: read `models/*.toml` into validated data objects.

This module never imports PyMC: a spec can be read, printed and checked on its own, and
one builder per model family turns it into a `pm.Model`.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netlm_bayes import paths, tomlfiles
from netlm_bayes.errors import InputError
from netlm_bayes.families.survival import registry
from netlm_bayes.priors.distributions import Dirichlet, Normal


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hypothesis(_Strict):
    direction: Literal["increases", "decreases"]
    why: str = Field(min_length=10)

    @property
    def sign(self) -> int:
        return 1 if self.direction == "increases" else -1


class LogEffectPrior(_Strict):
    centre_ratio: float = Field(gt=0)
    sd_log: float = Field(gt=0)


class PriorSet(_Strict):
    """One named set of priors; `effect_prior` resolves it for a given covariate."""

    name: str = ""
    rationale: str = Field(min_length=10)
    log_effect: LogEffectPrior
    response: dict[str, float]
    # Multiplies the model files' baseline prior SDs (intercept, baseline median and shape,
    # cutpoints, all stated at the cohort's mean covariate pattern): > 1 flattens them.
    baseline_sd_scale: float = Field(default=1.0, gt=0)

    def effect_prior(self, hypothesis: Hypothesis) -> Normal:
        mu = hypothesis.sign * math.log(self.log_effect.centre_ratio)
        # + 0.0 turns -0.0 into 0.0, so a centred prior prints as "mu: 0".
        return Normal(mu=mu + 0.0, sigma=self.log_effect.sd_log)

    def response_prior(self, categories: list[str]) -> Dirichlet:
        missing = [c for c in categories if c not in self.response]
        if missing:
            raise InputError(f"prior set {self.name!r}: response prior lacks {missing}")
        return Dirichlet({c: self.response[c] for c in categories})


class PriorSets(_Strict):
    default: str
    hypotheses: dict[str, Hypothesis]
    prior_sets: dict[str, PriorSet]
    path: Path | None = None

    @model_validator(mode="after")
    def _default_exists(self) -> PriorSets:
        if self.default not in self.prior_sets:
            raise ValueError(f"default {self.default!r} is not one of {list(self.prior_sets)}")
        return self

    @property
    def names(self) -> list[str]:
        return list(self.prior_sets)

    def get(self, name: str) -> PriorSet:
        if name not in self.prior_sets:
            raise InputError(f"unknown prior set {name!r}; choose one of {self.names}")
        return self.prior_sets[name]

    def coefficient_prior(self, prior_set: str, covariate: str) -> Normal:
        """The named set's prior on one covariate's log hazard or log odds ratio.

        A set centred on no effect needs no hypothesis, so a user's own covariates (age,
        sex, ...) work under `minimal`, `weakly-informative` and `skeptical` as they are.
        """
        chosen = self.get(prior_set)
        if chosen.log_effect.centre_ratio == 1.0 and covariate not in self.hypotheses:
            return chosen.effect_prior(
                Hypothesis(direction="increases", why="centred: no direction")
            )
        return chosen.effect_prior(self.hypothesis(covariate))

    def hypothesis(self, covariate: str) -> Hypothesis:
        if covariate not in self.hypotheses:
            where = self.path or "the prior-set file"
            raise InputError(
                f"{where}: no [hypotheses.{covariate}] entry for covariate {covariate!r}"
            )
        return self.hypotheses[covariate]


class ReportedEffectsSpec(_Strict):
    """What the reported-effects model contains (see models/reported_effects.toml)."""

    family: Literal["reported_effects"]
    evidence: str
    effects: list[str] = Field(min_length=1)
    se: Literal["rounded-p", "fixed"]
    response_categories: list[str] = Field(min_length=2)
    responders: list[str] = Field(min_length=1)
    prior_sets: str
    path: Path | None = None

    @model_validator(mode="after")
    def _responders_are_categories(self) -> ReportedEffectsSpec:
        unknown = set(self.responders) - set(self.response_categories)
        if unknown:
            raise ValueError(f"responders {sorted(unknown)} are not response_categories")
        return self

    @property
    def evidence_path(self) -> Path:
        evidence = Path(self.evidence)
        return evidence if evidence.is_absolute() else paths.PROJECT_ROOT / evidence

    @property
    def prior_sets_path(self) -> Path:
        base = self.path.parent if self.path else paths.MODELS_DIR
        return base / self.prior_sets


class NormalPrior(_Strict):
    mu: float = 0.0
    sigma: float = Field(gt=0)
    why: str = Field(min_length=10)

    def to_normal(self) -> Normal:
        return Normal(mu=self.mu, sigma=self.sigma)


NO_PATIENTS = "none"  # `data` of a survival model fitted to external survivor counts alone


class _PatientLevelSpec(_Strict):
    """What every patient-level model file holds: data, covariates, priors."""

    data: str
    covariates: list[str] = Field(min_length=0)
    # A formula (formulaic) for the covariates, in place of `covariates`, e.g.
    # "age + C(tgrade) + horTh + tsize:pnodes"; and reference levels of categorical columns.
    formula: str | None = None
    references: dict[str, str] = Field(default_factory=dict)
    prior_sets: str
    default_prior_set: str | None = None
    # Leave out rows with a missing value in a used column (`fit --drop-missing`).
    drop_missing: bool = False
    # Fit values far outside their column's bulk as they are (`fit --allow-outliers`).
    allow_outliers: bool = False
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.path else self.family

    @property
    def has_patients(self) -> bool:
        return self.data != NO_PATIENTS

    @property
    def data_path(self) -> Path:
        data = Path(self.data)
        return data if data.is_absolute() else paths.PROJECT_ROOT / data

    @property
    def prior_sets_path(self) -> Path:
        base = self.path.parent if self.path else paths.MODELS_DIR
        return base / self.prior_sets


class SurvivalBaseline(_Strict):
    """Priors on the reference group's curve, in units of the data's median observed time."""

    log_median: NormalPrior
    log_shape: NormalPrior
    log_sigma: NormalPrior
    gompertz_rate: NormalPrior
    # A mixture cure model's (`fit --cure`); a model file without them gets these.
    cure_logit: NormalPrior = NormalPrior(
        mu=0.0,
        sigma=1.5,
        why="logit of the cure fraction at the cohort's mean pattern: between 0.05 and 0.95 "
        "with 95% prior probability, centred on a half.",
    )
    cure_log_odds: NormalPrior = NormalPrior(
        mu=0.0,
        sigma=1.5,
        why="log odds ratio of cure per unit of a cure covariate: an odds ratio between "
        "0.05 and 19 for a 0/1 column with 95% prior probability.",
    )


class SurvivalSpec(_PatientLevelSpec):
    """Right-censored survival regression (see models/hpfs_weibull.toml)."""

    family: Literal["survival"]
    likelihood: str  # a family in `families.survival.registry`
    time: str
    event: str
    time_unit: str = "time units"
    rmst_horizons: list[float] = Field(default_factory=list)
    baseline: SurvivalBaseline
    # The M-spline baseline (likelihood "mspline"): interior knots in the time column's
    # unit (empty: at quantiles of the event times, `df` basis functions) and the boundary
    # knot (None: the largest follow-up time). `fit` resolves both from the data.
    knots: list[float] = Field(default_factory=list)
    df: int = Field(default=10, ge=4)
    boundary_knot: float | None = Field(default=None, gt=0)
    # A mixture cure model (any family as the uncured part), its cure fraction with a
    # logistic regression on `cure_covariates` (a subset of the covariates; empty: one
    # fraction for every patient).
    cure: bool = False
    cure_covariates: list[str] = Field(default_factory=list)
    # Covariates whose hazard ratio may change with time (M-spline only): they move the
    # spline's coefficients (`mspline_model.nonprop_coefficients`).
    nonprop: list[str] = Field(default_factory=list)
    # Survivor counts from other studies (a CSV of start, stop, n, r[, covariates]; see
    # `evidence.external_counts`), in the likelihood beside the patients.
    external: str | None = None

    @property
    def external_path(self) -> Path | None:
        if self.external is None:
            return None
        path = Path(self.external)
        return path if path.is_absolute() else paths.PROJECT_ROOT / path

    @field_validator("likelihood")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in registry.FAMILIES:
            raise ValueError(f"unknown likelihood {value!r}; known: {', '.join(registry.names())}")
        return value

    @model_validator(mode="after")
    def _horizons_positive(self) -> SurvivalSpec:
        if any(h <= 0 for h in self.rmst_horizons):
            raise ValueError(f"rmst_horizons must be > 0, got {self.rmst_horizons}")
        if any(b <= a for a, b in itertools.pairwise(self.knots)) or any(
            k <= 0 for k in self.knots
        ):
            raise ValueError(f"knots must be positive and increasing, got {self.knots}")
        if self.cure_covariates and not self.cure:
            raise ValueError("cure_covariates need cure = true")
        if self.nonprop and self.likelihood != "mspline":
            raise ValueError(
                'nonprop (effects that change over time) needs likelihood = "mspline": its '
                "covariates move the spline's coefficients"
            )
        return self


class BinarySpec(_PatientLevelSpec):
    """Logistic regression for a 0/1 outcome, or for labels counted as events."""

    family: Literal["logistic"]
    outcome: str
    outcome_events: list[str] = Field(default_factory=list)
    # Every label the outcome column may hold (empty: any); another label is an error.
    outcome_labels: list[str] = Field(default_factory=list)
    outcome_label: str = "outcome"
    complement_label: str | None = None
    intercept: NormalPrior


class OrdinalSpec(_PatientLevelSpec):
    """Cumulative-logit (proportional odds) regression on ordered categories."""

    family: Literal["ordinal"]
    outcome: str
    categories: list[str] = Field(min_length=3)
    # The categories counted as response (the paper's ORR); empty for another outcome.
    responders: list[str] = Field(default_factory=list)
    cutpoints: NormalPrior

    @model_validator(mode="after")
    def _responders_are_categories(self) -> OrdinalSpec:
        unknown = set(self.responders) - set(self.categories)
        if unknown:
            raise ValueError(f"responders {sorted(unknown)} are not categories")
        return self


PatientLevelSpec = SurvivalSpec | BinarySpec | OrdinalSpec
Spec = ReportedEffectsSpec | PatientLevelSpec
SPEC_FAMILIES = {
    "reported_effects": ReportedEffectsSpec,
    "survival": SurvivalSpec,
    "logistic": BinarySpec,
    "ordinal": OrdinalSpec,
}


def resolve_model_path(model: str) -> Path:
    """A model name (`reported_effects`) or a path to a model file."""
    candidate = Path(model)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    named = paths.MODELS_DIR / f"{model}.toml"
    if named.exists():
        return named
    known = sorted(p.stem for p in paths.MODELS_DIR.glob("*.toml") if p.stem != "prior_sets")
    raise InputError(f"unknown model {model!r}: no file {named}; known models: {known}")


def load_spec(model: str | Path) -> Spec:
    path = resolve_model_path(str(model))
    raw = tomlfiles.read_toml(path)
    family = raw.get("family")
    if family not in SPEC_FAMILIES:
        raise InputError(f"{path}: family = {family!r} is not one of {sorted(SPEC_FAMILIES)}")
    return tomlfiles.validate(SPEC_FAMILIES[family], {**raw, "path": path}, path)


def load_prior_sets(path: Path | str = paths.PRIOR_SETS_FILE) -> PriorSets:
    path = Path(path)
    raw = tomlfiles.read_toml(path)
    sets = raw.get("prior_sets")
    if isinstance(sets, dict):
        raw["prior_sets"] = {
            name: {**body, "name": name} if isinstance(body, dict) else body
            for name, body in sets.items()
        }
    return tomlfiles.validate(PriorSets, {**raw, "path": path}, path)
