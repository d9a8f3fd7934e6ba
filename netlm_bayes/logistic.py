r"""Bayesian logistic regression for a binary outcome (here: non-response, SD or PD).

    alpha    ~ Normal(the model file's intercept prior)
    beta_j   ~ the prior set's (or prior file's) prior on log OR_j
    y_i      ~ Bernoulli(logistic(alpha + x_i' beta))

`outcome_rate` is the cohort's average P(y = 1) over its own covariate patterns, and its
complement (the ORR, when y is non-response) is reported beside it. A proper prior on
each log OR keeps the posterior finite under separation (see models/response_logistic.toml).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes import jointvars
from netlm_bayes.distributions import Normal
from netlm_bayes.jointprior import MixturePrior
from netlm_bayes.modeldata import ModelData
from netlm_bayes.specs import BinarySpec


def observed_name(spec: BinarySpec) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in spec.outcome_label)


def build_model(
    spec: BinarySpec,
    data: ModelData,
    coefficient_priors: list[Normal],
    joint: MixturePrior | None = None,
) -> pm.Model:
    """A `joint` (exported) prior replaces the independent priors of what it covers."""
    coords = {"covariate": data.covariates, "patient": np.arange(data.n)}
    with pm.Model(coords=coords) as model:
        X, prior_mu, prior_sigma = coefficient_data(data, coefficient_priors)
        if joint is None:
            alpha = pm.Normal("alpha", spec.intercept.mu, spec.intercept.sigma)
            beta = pm.Normal("beta", prior_mu, prior_sigma, dims="covariate")
        else:
            shared = jointvars.shared_vector(joint)
            alpha = jointvars.view(joint, shared, "intercept", "alpha")
            if alpha is None:
                alpha = pm.Normal("alpha", spec.intercept.mu, spec.intercept.sigma)
            beta = jointvars.coefficients(joint, shared, data.covariates, prior_mu, prior_sigma)
        logit_p = alpha + pt.dot(X, beta)
        pm.Deterministic("ratio", pt.exp(beta), dims="covariate")
        pm.Deterministic("outcome_rate", pt.sigmoid(logit_p).mean())
        observed = pm.Data("observed_outcome", data.y, dims="patient")
        pm.Bernoulli(observed_name(spec), logit_p=logit_p, observed=observed, dims="patient")
    return model


def coefficient_data(data: ModelData, coefficient_priors: list[Normal]):
    """The design matrix and the coefficient priors as `pm.Data` (shared with ordinal)."""
    X = pm.Data("X", data.X, dims=("patient", "covariate"))
    prior_mu = pm.Data("prior_mu", [p.mu for p in coefficient_priors], dims="covariate")
    prior_sigma = pm.Data("prior_sigma", [p.sigma for p in coefficient_priors], dims="covariate")
    return X, prior_mu, prior_sigma


def model_data(data: ModelData, coefficient_priors: list[Normal]) -> dict[str, np.ndarray]:
    return {
        "X": data.X,
        "observed_outcome": data.y,
        "prior_mu": np.array([p.mu for p in coefficient_priors]),
        "prior_sigma": np.array([p.sigma for p in coefficient_priors]),
    }
