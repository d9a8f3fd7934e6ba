"""Model specs and named prior sets: read `models/*.toml` into validated data objects.

This module never imports PyMC: a spec can be read, printed and checked on its own, and
one builder per model family turns it into a `pm.Model`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netlm_bayes import tomlfiles
from netlm_bayes.distributions import Dirichlet, Normal
from netlm_bayes.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_ROOT / "models"


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
        return evidence if evidence.is_absolute() else PROJECT_ROOT / evidence

    @property
    def prior_sets_path(self) -> Path:
        base = self.path.parent if self.path else MODELS_DIR
        return base / self.prior_sets


SPEC_FAMILIES = {"reported_effects": ReportedEffectsSpec}


def resolve_model_path(model: str) -> Path:
    """A model name (`reported_effects`) or a path to a model file."""
    candidate = Path(model)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    named = MODELS_DIR / f"{model}.toml"
    if named.exists():
        return named
    known = sorted(p.stem for p in MODELS_DIR.glob("*.toml") if p.stem != "prior_sets")
    raise InputError(f"unknown model {model!r}: no file {named}; known models: {known}")


def load_spec(model: str | Path) -> ReportedEffectsSpec:
    path = resolve_model_path(str(model))
    raw = tomlfiles.read_toml(path)
    family = raw.get("family")
    if family not in SPEC_FAMILIES:
        raise InputError(f"{path}: family = {family!r} is not one of {sorted(SPEC_FAMILIES)}")
    return tomlfiles.validate(SPEC_FAMILIES[family], {**raw, "path": path}, path)


def load_prior_sets(path: Path | str = MODELS_DIR / "prior_sets.toml") -> PriorSets:
    path = Path(path)
    raw = tomlfiles.read_toml(path)
    sets = raw.get("prior_sets")
    if isinstance(sets, dict):
        raw["prior_sets"] = {
            name: {**body, "name": name} if isinstance(body, dict) else body
            for name, body in sets.items()
        }
    return tomlfiles.validate(PriorSets, {**raw, "path": path}, path)
