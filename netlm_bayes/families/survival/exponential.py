"""Exponential, proportional hazards: the Weibull with shape k = 1 (a constant hazard)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from netlm_bayes.families.survival.ops import LN2
from netlm_bayes.families.survival.weibull import Weibull


class Exponential(Weibull):
    name = "exponential"
    shape_priors: ClassVar[dict[str, str]] = {}

    def log_shape(self, params, ops):
        return 0.0

    def median_shift_scale(self, params, ops):
        return 1.0

    def event_time(self, cumulative, params, t_ref):
        return t_ref * np.exp(params["log_median"]) * (cumulative / LN2) ** 1.0

    def reported_shape(self, posterior, t_ref):
        return {}
