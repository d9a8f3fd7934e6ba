r"""Cumulative-logit (proportional-odds) regression on ordered categories, PR < SD < PD.

    kappa_1  ~ Normal(cutpoint prior);  kappa_{c+1} - kappa_c ~ HalfNormal(same sigma)
    beta_j   ~ the prior set's (or prior file's) prior on log OR_j
    P(y_i <= c) = logistic(kappa_c - (x_i - xbar)' beta)

The cutpoints are stated (and their prior set) at the cohort's mean covariate pattern xbar
(`cutpoints_at_mean`); `cutpoints` are the reference group's (every covariate 0).

OR_j = exp(beta_j) > 1 shifts patients towards the worse categories, the direction of the
logistic model's non-response ORs. `category_rate` averages each category's probability
over the cohort's own covariate patterns.
"""

from __future__ import annotations

import itertools

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families.design import baseline_prior, design_data, independent_coefficients
from netlm_bayes.families.logistic import model_data
from netlm_bayes.families.specs import OrdinalSpec
from netlm_bayes.priors.coefficients import CoefficientPriors

__all__ = ["build_model", "model_data", "observed_name"]


def observed_name(spec: OrdinalSpec) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in spec.outcome)


def build_model(spec: OrdinalSpec, data: ModelData, chosen: CoefficientPriors) -> pm.Model:
    n_cuts = len(spec.categories) - 1
    coords = {
        "covariate": data.covariates,
        "patient": np.arange(data.n),
        "category": spec.categories,
        "cutpoint": [f"{a}|{b}" for a, b in itertools.pairwise(spec.categories)],
    }
    with pm.Model(coords=coords) as model:
        design = design_data(data, chosen)
        # Built as a first cutpoint plus positive gaps: ordered by construction, with no
        # custom initial values (which PyMC's log-likelihood computation refuses).
        first = baseline_prior("first_cutpoint", spec.cutpoints, design)
        gap_sd = spec.cutpoints.sigma * design.baseline_sd_scale
        gaps = pm.HalfNormal("cutpoint_gaps", gap_sd, shape=n_cuts - 1)
        cutpoints = pm.Deterministic(
            "cutpoints_at_mean",
            pt.concatenate([first[None], first + pt.cumsum(gaps)]),
            dims="cutpoint",
        )
        beta = independent_coefficients(design)
        pm.Deterministic("cutpoints", cutpoints + pt.dot(design.mean, beta), dims="cutpoint")
        eta = design.linear_predictor(beta)
        pm.Deterministic("ratio", pt.exp(beta), dims="covariate")
        below = pt.sigmoid(cutpoints[None, :] - eta[:, None])
        ones = pt.ones((eta.shape[0], 1))
        probs = pt.diff(pt.concatenate([0 * ones, below, ones], axis=1), axis=1)
        pm.Deterministic("category_rate", probs.mean(axis=0), dims="category")
        observed = pm.Data("observed_outcome", data.y, dims="patient")
        pm.CustomDist(
            observed_name(spec), eta, cutpoints, logp=category_logp, observed=observed,
            dims="patient",
        )  # fmt: skip
    return model


# Stands in for the infinite cutpoints below the first category and above the last: far
# enough that logistic() is exactly 0 or 1, finite so that no gradient meets inf - inf.
OUTER_CUTPOINT = 1e10


def category_logp(value, eta, cutpoints):
    """log P(y = c) = log(F(kappa_c - eta) - F(kappa_{c-1} - eta)), F logistic, computed as
    log F(a) + log(1 - F(b) / F(a)) in log space. PyMC's OrderedLogistic takes the
    difference of probabilities, which underflows to log 0 when the cutpoints are far apart
    (a wide prior's starting point, or a rare category), and then no chain can start."""
    padded = pt.concatenate([[-OUTER_CUTPOINT], cutpoints, [OUTER_CUTPOINT]])
    index = pt.cast(value, "int64")
    log_upper = -pt.softplus(eta - padded[index + 1])  # log F(kappa_c - eta)
    log_lower = -pt.softplus(eta - padded[index])  # log F(kappa_{c-1} - eta)
    return log_upper + pt.log1mexp(log_lower - log_upper)
