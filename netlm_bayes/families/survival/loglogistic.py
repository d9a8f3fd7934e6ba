"""Log-logistic, accelerated failure time: S(u) = 1 / (1 + (u e^eta / m)^k), AF = e^beta."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from netlm_bayes.families.survival.base import AcceleratedFailureTime, shape_of


class LogLogistic(AcceleratedFailureTime):
    name = "loglogistic"
    shape_priors: ClassVar[dict[str, str]] = {"log_shape": "log_shape"}

    def log_hazard_and_survival(self, ops, log_u, eta, params):
        log_m, log_k = params["log_median"], params["log_shape"]
        w = ops.exp(log_k) * (log_u + eta - log_m)
        log_s = -ops.softplus(w)
        log_h = log_k - log_u + w - ops.softplus(w)
        return log_h, log_s

    def error(self, params, shape, rng):
        return special.logit(rng.uniform(size=shape)) / np.exp(params["log_shape"])

    def reported_shape(self, posterior, t_ref):
        return {"shape": shape_of(posterior, "log_shape")}
