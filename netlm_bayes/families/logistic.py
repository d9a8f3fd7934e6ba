r"""Bayesian logistic regression for a binary outcome (here: non-response, SD or PD).

    alpha    ~ Normal(the model file's intercept prior), at the cohort's mean pattern xbar
    beta_j   ~ the prior set's (or prior file's) prior on log OR_j
    y_i      ~ Bernoulli(logistic(alpha + (x_i - xbar)' beta))

`outcome_rate` is the cohort's average P(y = 1) over its own covariate patterns, and its
complement (the ORR, when y is non-response) is reported beside it. A proper prior on
each log OR keeps the posterior finite under separation (see models/response_logistic.toml).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import joint_vars as jointvars
from netlm_bayes.families.design import (
    baseline_prior,
    design_data,
    design_values,
    independent_coefficients,
    pattern_shift,
)
from netlm_bayes.families.specs import BinarySpec
from netlm_bayes.priors.coefficients import CoefficientPriors


def observed_name(spec: BinarySpec) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in spec.outcome_label)


def build_model(spec: BinarySpec, data: ModelData, chosen: CoefficientPriors) -> pm.Model:
    """Covariates are centred at the cohort's mean (`design`): the intercept sampled is
    `alpha_at_mean`, the log odds for the mean covariate pattern, where the model file's
    intercept prior is stated; `alpha` (every covariate 0) is derived. A joint (exported)
    prior in `chosen` replaces the independent priors of what it covers; its intercept
    refers to the covariate pattern `chosen.pattern` and is moved exactly to this cohort's
    centring."""
    joint = chosen.joint
    coords = {"covariate": data.covariates, "patient": np.arange(data.n)}
    with pm.Model(coords=coords) as model:
        design = design_data(data, chosen)
        alpha = None
        if joint is None:
            beta = independent_coefficients(design)
        else:
            shared = jointvars.shared_vector(joint)
            beta = jointvars.coefficients(joint, shared, data.covariates, design)
            shift = pattern_shift(design, beta, data.covariates, chosen.pattern)
            alpha = jointvars.view(joint, shared, "intercept_at_pattern", "alpha_at_mean", -shift)
        if alpha is None:
            alpha = baseline_prior("alpha_at_mean", spec.intercept, design)
        pm.Deterministic("alpha", alpha - pt.dot(design.mean, beta))
        logit_p = alpha + design.linear_predictor(beta)
        pm.Deterministic("ratio", pt.exp(beta), dims="covariate")
        pm.Deterministic("outcome_rate", pt.sigmoid(logit_p).mean())
        observed = pm.Data("observed_outcome", data.y, dims="patient")
        pm.Bernoulli(observed_name(spec), logit_p=logit_p, observed=observed, dims="patient")
    return model


def model_data(data: ModelData, chosen: CoefficientPriors) -> dict[str, np.ndarray]:
    return {**design_values(data, chosen), "observed_outcome": data.y}
