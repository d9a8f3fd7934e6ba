"""Log-normal, accelerated failure time: log(u e^eta) ~ Normal(log m, sigma), AF = e^beta."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from netlm_bayes.families.survival.base import AcceleratedFailureTime, shape_of
from netlm_bayes.families.survival.ops import log_normal_sf


class LogNormal(AcceleratedFailureTime):
    name = "lognormal"
    shape_priors: ClassVar[dict[str, str]] = {"log_sigma": "log_sigma"}

    def log_hazard_and_survival(self, ops, log_u, eta, params):
        log_m, log_sigma = params["log_median"], params["log_sigma"]
        z = (log_u + eta - log_m) / ops.exp(log_sigma)
        log_s = log_normal_sf(ops, z)
        log_f = -log_u - log_sigma - z * z / 2 - 0.5 * math.log(2 * math.pi)
        return log_f - log_s, log_s

    def error(self, params, shape, rng):
        return rng.standard_normal(shape) * np.exp(params["log_sigma"])

    def reported_shape(self, posterior, t_ref):
        return {"sigma": shape_of(posterior, "log_sigma")}
