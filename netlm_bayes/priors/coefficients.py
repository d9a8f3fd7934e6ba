"""The coefficient priors a patient-level model builder takes: one per covariate, or a
joint (exported) prior over effects and baseline, as plain data."""

from __future__ import annotations

from dataclasses import dataclass

from netlm_bayes.priors.distributions import Normal
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.priors.mixture import MixturePrior


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
