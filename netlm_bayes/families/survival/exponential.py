"""Exponential, proportional hazards: the Weibull with shape k = 1 (a constant hazard)."""

from __future__ import annotations

from typing import ClassVar

from netlm_bayes.families.survival.weibull import Weibull


class Exponential(Weibull):
    name = "exponential"
    shape_priors: ClassVar[dict[str, str]] = {}

    def log_shape(self, params, ops):
        return 0.0

    def median_shift_scale(self, params, ops):
        return 1.0

    def event_time(self, cumulative, params, t_ref):
        return super().event_time(cumulative, {**params, "log_shape": 0.0}, t_ref)

    def reported_shape(self, posterior, t_ref):
        return {}
