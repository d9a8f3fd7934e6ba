r"""The covariates as every patient-level model sees them: centred, and scaled for sampling.

A user's columns come as they are: age in years, tumour size in mm, a count of nodes. With
x = 0 far outside the data, an intercept (or baseline median) stated at x = 0 is strongly
correlated with every effect, a prior on it is a strong statement about an extrapolation,
and NUTS struggles with the geometry. So, as brms and rstanarm do, each model works with

    eta_i = (x_i - xbar)' beta          xbar: the cohort's mean covariate pattern

and states its intercept or baseline prior at xbar. Each effect is sampled per cohort SD
of its column, beta_j = b_j / s_j with b_j ~ Normal(mu_j s_j, sigma_j s_j): exactly the
prior Normal(mu_j, sigma_j) on beta_j, per unit of the user's own column, on a scale where
the posterior of b_j is O(1) whatever the column's unit. The reference-group quantities
(covariates = 0) are deterministic transforms of these, so nothing downstream changes.

An exported prior states its baseline at its source cohort's mean pattern p
(`baseline_pattern`); `pattern_shift` gives (xbar - p)' beta, the exact move of that
baseline to this cohort's centring. Covariates the pattern does not name are centred at
this cohort's own mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.priors.coefficients import CoefficientPriors


@dataclass(frozen=True)
class Design:
    """The design's `pm.Data`: the raw covariates, their centring and scale, the
    independent coefficient priors (per unit of each raw column), and the factor on the
    model file's baseline prior SDs (the prior set's `baseline_sd_scale`)."""

    X: object
    mean: object
    scale: object
    prior_mu: object
    prior_sigma: object
    baseline_sd_scale: object

    def linear_predictor(self, beta):
        """(x_i - xbar)' beta for every patient, as X beta - xbar' beta: one pass over X,
        where centring X first would write an n x p array in every gradient evaluation."""
        return pt.dot(self.X, beta) - pt.dot(self.mean, beta)


def design_data(data: ModelData, chosen: CoefficientPriors) -> Design:
    """Declare the design's `pm.Data` in the current model (dims `patient`, `covariate`)."""
    values = design_values(data, chosen)
    return Design(
        pm.Data("X", values["X"], dims=("patient", "covariate")),
        pm.Data("covariate_mean", values["covariate_mean"], dims="covariate"),
        pm.Data("covariate_scale", values["covariate_scale"], dims="covariate"),
        pm.Data("prior_mu", values["prior_mu"], dims="covariate"),
        pm.Data("prior_sigma", values["prior_sigma"], dims="covariate"),
        pm.Data("baseline_sd_scale", values["baseline_sd_scale"]),
    )


def design_values(data: ModelData, chosen: CoefficientPriors) -> dict[str, np.ndarray]:
    """The same values for another cohort or prior set (`sampling.sampler.Sampler.sample`)."""
    return {
        "X": data.X,
        "covariate_mean": data.covariate_mean,
        "covariate_scale": data.covariate_scale,
        "prior_mu": np.array([p.mu for p in chosen.priors]),
        "prior_sigma": np.array([p.sigma for p in chosen.priors]),
        "baseline_sd_scale": np.asarray(chosen.baseline_sd_scale),
    }


def baseline_prior(name: str, prior, design: Design, dims=None):
    """A baseline parameter's Normal prior from the model file, its SD times the prior
    set's `baseline_sd_scale`."""
    return pm.Normal(name, prior.mu, prior.sigma * design.baseline_sd_scale, dims=dims)


def independent_coefficients(design: Design, name: str = "beta", dims: str = "covariate"):
    """`beta` with independent normal priors, sampled per cohort SD of each column."""
    scaled = pm.Normal(
        f"{name}_per_sd", design.prior_mu * design.scale, design.prior_sigma * design.scale,
        dims=dims,
    )  # fmt: skip
    return pm.Deterministic(name, scaled / design.scale, dims=dims)


def pattern_shift(design: Design, beta, covariates: list[str], pattern: dict[str, float] | None):
    """(xbar - p)' beta over the covariates the pattern names: how far this cohort's mean
    pattern lies from the one an exported baseline refers to, on the linear predictor."""
    if not pattern:
        return 0.0
    named = np.array([name in pattern for name in covariates], dtype=float)
    values = np.array([pattern.get(name, 0.0) for name in covariates])
    return pt.dot(named * (design.mean - values), beta)


def covariate_columns(names: list[str], data: ModelData, role: str) -> list[str]:
    """The model's covariates a part of the model uses (a cure fraction's, an effect that
    changes over time): a covariate by its name, or a categorical column by its own (each
    of its coded levels, e.g. horTh -> horTh[yes])."""
    levels = data.coding.levels if data.coding else {}
    chosen = []
    for name in names:
        coded = [c for c in data.covariates if name in levels and c.startswith(f"{name}[")]
        if name in data.covariates:
            coded = [name]
        if not coded:
            raise InputError(
                f"{role} {name!r} is not among the model's covariates {data.covariates}: a "
                f"{role} must also be a covariate of the model"
            )
        chosen += [c for c in coded if c not in chosen]
    return chosen
