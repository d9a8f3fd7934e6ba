r"""Gompertz, proportional hazards: h(u) = b e^{c u} e^eta, H(u) = b expm1(c u) / c e^eta.

Parametrised by log b rather than a median, because with c < 0 its curve levels off and
may never reach 0.5 (a "cured" fraction); its prior on log b is the one the log-median
prior implies for an exponential (b = ln 2 / m)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from netlm_bayes.families.survival.base import ProportionalHazards
from netlm_bayes.families.survival.ops import LOG_LN2, SERIES_BELOW, log_expm1_ratio


class Gompertz(ProportionalHazards):
    name = "gompertz"
    baseline = "log_hazard0"
    shape_priors: ClassVar[dict[str, str]] = {"rate": "gompertz_rate"}

    def log_hazard_and_survival(self, ops, log_u, eta, params):
        c, log_b = params["rate"], params["log_hazard0"]
        log_cumhaz = log_b + log_u + log_expm1_ratio(ops, c * ops.exp(log_u)) + eta
        return log_b + c * ops.exp(log_u) + eta, -ops.exp(log_cumhaz)

    def event_time(self, cumulative, params, t_ref):
        c, b = params["rate"], np.exp(params["log_hazard0"])
        with np.errstate(invalid="ignore", divide="ignore"):
            argument = c * cumulative / b
            u = np.where(
                np.abs(c) < SERIES_BELOW,
                cumulative / b,
                np.log1p(argument) / np.where(c == 0, 1, c),
            )
        return t_ref * np.where(argument <= -1, np.inf, u)

    def reference_baseline(self, at_mean, mean_eta, params, ops):
        return at_mean - mean_eta  # a hazard moves against the linear predictor

    def baseline_prior(self, base):
        implied = LOG_LN2 - base.log_median.mu  # b = ln 2 / m for the exponential
        return base.log_median.model_copy(update={"mu": implied})

    def reported_shape(self, posterior, t_ref):  # per unit of the data's time
        return {"gompertz_rate": posterior["rate"].values / t_ref}
