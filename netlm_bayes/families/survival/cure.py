r"""Mixture cure: a fraction pi of patients never has the event, the rest follow a family.

    S(t | x) = pi(x) + (1 - pi(x)) S_u(t | x),   logit pi(x) = c + z' gamma

S_u is any registered family (with its effects, so `hr_` is a hazard ratio among the
uncured), z the covariates named for the cure part (`--cure-covariates`; none: one pi for
everyone). The population hazard is h = (1 - pi) f_u / S, so

    log S = log(pi + (1 - pi) S_u),   log h = log(1 - pi) + log h_u + log S_u - log S,

and each patient keeps a log-likelihood term (PSIS-LOO ranks a cure model with the rest).
Written from Farewell (1982) and Lambert (2007); the model samples c at the cohort's mean
cure-covariate pattern (`cure_logit_at_mean`), and `cure_beta` spans every covariate with
zeros where a column is not in the cure part, so a curve needs no column bookkeeping.
"""

from __future__ import annotations

import numpy as np

from netlm_bayes.families.survival.base import SurvivalFamily

CURE_LOGIT = "cure_logit"  # the reference group's (covariates 0), or per patient in the model
CURE_BETA = "cure_beta"  # (covariate,) log odds ratios of cure, 0 outside the cure part


class MixtureCure(SurvivalFamily):
    """A family with a cure fraction; everything not about the cure is the uncured's."""

    def __init__(self, uncured: SurvivalFamily):
        self.uncured = uncured
        self.name = uncured.name
        self.effect = uncured.effect
        self.baseline = uncured.baseline
        self.shape_priors = uncured.shape_priors
        self.vector_parameters = uncured.vector_parameters
        self.target_accept = uncured.target_accept

    sufficient = False
    cure = True

    @property
    def core(self) -> SurvivalFamily:
        return self.uncured

    def configured(self, knots, boundary, t_ref: float) -> MixtureCure:
        return MixtureCure(self.uncured.configured(knots, boundary, t_ref))

    @property
    def parameters(self) -> tuple[str, ...]:
        return (*self.uncured.parameters, CURE_LOGIT)

    def log_hazard_and_survival(self, ops, log_u, eta, params):
        log_h_u, log_s_u = self.uncured.log_hazard_and_survival(ops, log_u, eta, params)
        logit = params[CURE_LOGIT]
        log_cured, log_uncured = -ops.softplus(-logit), -ops.softplus(logit)
        # log(pi + (1 - pi) S_u) as log pi + softplus(...): no overflow either way
        log_s = log_cured + ops.softplus(log_uncured + log_s_u - log_cured)
        return log_uncured + log_h_u + log_s_u - log_s, log_s

    def sample_times(self, params, eta, t_ref, rng):
        """The uncured family's times, and inf (never) for a cured patient."""
        uncured = {k: v for k, v in params.items() if k != CURE_LOGIT}
        times = self.uncured.sample_times(uncured, eta, t_ref, rng)
        cured = rng.uniform(size=times.shape) < cure_probability(params[CURE_LOGIT])
        return np.where(cured, np.inf, times)

    def at_rows(self, params: dict, draws: dict, rows: np.ndarray) -> dict:
        """The cure logit of each covariate row, (S, rows), from the reference group's (and
        whatever the uncured family evaluates per row)."""
        logit = draws[CURE_LOGIT][:, None] + draws[CURE_BETA] @ rows.T
        return {**self.uncured.at_rows(params, draws, rows), CURE_LOGIT: logit}

    def median_shift_scale(self, params, ops):
        return self.uncured.median_shift_scale(params, ops)

    def reference_baseline(self, at_mean, mean_eta, params, ops):
        return self.uncured.reference_baseline(at_mean, mean_eta, params, ops)

    def baseline_prior(self, base):
        return self.uncured.baseline_prior(base)

    def reported_shape(self, posterior, t_ref):
        return self.uncured.reported_shape(posterior, t_ref)

    def event_time(self, cumulative, params, t_ref):
        return self.uncured.event_time(cumulative, params, t_ref)


def cure_probability(logit):
    return 1.0 / (1.0 + np.exp(-logit))
