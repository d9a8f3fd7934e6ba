"""The cure model's own PyMC variables: the logit of the cure fraction per patient, with a
logistic regression on the named cure covariates. See `cure`."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from netlm_bayes.errors import option
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import joint_vars as jointvars
from netlm_bayes.families.design import Design, baseline_prior, covariate_columns, pattern_shift
from netlm_bayes.families.survival.cure import CURE_BETA, CURE_LOGIT
from netlm_bayes.priors.exported import CURE_LOGIT_AT_PATTERN


def cure_logit(spec, data: ModelData, design: Design, joint=None, shared=None, pattern=None):
    """Declare, in the current model: `cure_logit_at_mean` (at the cohort's mean pattern,
    the model file's `cure_logit` prior, or a joint (exported) prior's logit at its
    `pattern` moved along the cure covariates to this cohort's mean), `cure_coefficients`
    (dims `cure_covariate`, per unit of each column, sampled per cohort SD as `beta` is;
    both priors widened by the prior set's `baseline_sd_scale`), `cure_beta` over every
    covariate (0 outside the cure part) and the reference group's `cure_logit`. Returns the
    logit per patient."""
    named = covariate_columns(spec.cure_covariates, data, f"{option('cure_covariates')} column")
    base = spec.baseline
    beta = pt.zeros(len(data.covariates))
    if named:
        model = pm.modelcontext(None)
        model.add_coord("cure_covariate", named)
        index = np.array([data.covariates.index(c) for c in named])
        scale = design.scale[index]
        prior = base.cure_log_odds
        # widened with the baseline priors by the prior set (`minimal`: 10 times)
        sigma = prior.sigma * design.baseline_sd_scale
        per_sd = pm.Normal("cure_coefficients_per_sd", prior.mu * scale, sigma * scale,
                           dims="cure_covariate")  # fmt: skip
        coefficients = pm.Deterministic("cure_coefficients", per_sd / scale, dims="cure_covariate")
        beta = pt.set_subtensor(beta[index], coefficients)
    beta = pm.Deterministic(CURE_BETA, beta, dims="covariate")
    # logit at the mean = logit at the pattern + (xbar - p)' gamma
    shift = pattern_shift(design, beta, data.covariates, pattern)
    at_mean = jointvars.view(joint, shared, CURE_LOGIT_AT_PATTERN, f"{CURE_LOGIT}_at_mean", -shift)
    if at_mean is None:
        at_mean = baseline_prior(f"{CURE_LOGIT}_at_mean", base.cure_logit, design)
    pm.Deterministic(CURE_LOGIT, at_mean - pt.dot(design.mean, beta))
    return at_mean + design.linear_predictor(beta)
