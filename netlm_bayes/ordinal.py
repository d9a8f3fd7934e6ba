r"""Cumulative-logit (proportional-odds) regression on ordered categories, PR < SD < PD.

    kappa_1  ~ Normal(cutpoint prior);  kappa_{c+1} - kappa_c ~ HalfNormal(same sigma)
    beta_j   ~ the prior set's (or prior file's) prior on log OR_j
    P(y_i <= c) = logistic(kappa_c - x_i' beta)

OR_j = exp(beta_j) > 1 shifts patients towards the worse categories, the direction of the
logistic model's non-response ORs. `category_rate` averages each category's probability
over the cohort's own covariate patterns.
"""

from __future__ import annotations

import itertools

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.distributions import Normal
from netlm_bayes.logistic import coefficient_data, model_data
from netlm_bayes.modeldata import ModelData
from netlm_bayes.specs import OrdinalSpec

__all__ = ["build_model", "model_data", "observed_name"]


def observed_name(spec: OrdinalSpec) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in spec.outcome)


def build_model(spec: OrdinalSpec, data: ModelData, coefficient_priors: list[Normal]) -> pm.Model:
    n_cuts = len(spec.categories) - 1
    coords = {
        "covariate": data.covariates,
        "patient": np.arange(data.n),
        "category": spec.categories,
        "cutpoint": [f"{a}|{b}" for a, b in itertools.pairwise(spec.categories)],
    }
    with pm.Model(coords=coords) as model:
        X, prior_mu, prior_sigma = coefficient_data(data, coefficient_priors)
        # Built as a first cutpoint plus positive gaps: ordered by construction, with no
        # custom initial values (which PyMC's log-likelihood computation refuses).
        first = pm.Normal("first_cutpoint", spec.cutpoints.mu, spec.cutpoints.sigma)
        gaps = pm.HalfNormal("cutpoint_gaps", spec.cutpoints.sigma, shape=n_cuts - 1)
        cutpoints = pm.Deterministic(
            "cutpoints", pt.concatenate([first[None], first + pt.cumsum(gaps)]), dims="cutpoint"
        )
        beta = pm.Normal("beta", prior_mu, prior_sigma, dims="covariate")
        eta = pt.dot(X, beta)
        pm.Deterministic("ratio", pt.exp(beta), dims="covariate")
        below = pt.sigmoid(cutpoints[None, :] - eta[:, None])
        ones = pt.ones((eta.shape[0], 1))
        probs = pt.diff(pt.concatenate([0 * ones, below, ones], axis=1), axis=1)
        pm.Deterministic("category_rate", probs.mean(axis=0), dims="category")
        observed = pm.Data("observed_outcome", data.y, dims="patient")
        pm.OrderedLogistic(
            observed_name(spec),
            eta=eta,
            cutpoints=cutpoints,
            observed=observed,
            compute_p=False,
            dims="patient",
        )
    return model
