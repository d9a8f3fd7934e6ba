r"""Weibull, proportional hazards: H(u) = ln2 (u/m)^k e^eta, so m is the median at eta = 0
and HR = e^beta. Also the pieces the Laplace approximation needs (`laplace_terms`)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from netlm_bayes.families.survival.base import ProportionalHazards, shape_of
from netlm_bayes.families.survival.ops import LN2, LOG_LN2, Ops


class Weibull(ProportionalHazards):
    name = "weibull"
    shape_priors: ClassVar[dict[str, str]] = {"log_shape": "log_shape"}
    sufficient = True

    def log_shape(self, params: dict, ops: Ops):
        return params["log_shape"]

    def median_shift_scale(self, params, ops):
        return ops.exp(self.log_shape(params, ops))

    def log_hazard_and_survival(self, ops, log_u, eta, params):
        log_m, log_k = params["log_median"], self.log_shape(params, ops)
        k = self.median_shift_scale(params, ops)
        log_cumhaz = LOG_LN2 + k * (log_u - log_m) + eta
        log_h = LOG_LN2 + log_k - log_m + (k - 1.0) * (log_u - log_m) + eta
        return log_h, -ops.exp(log_cumhaz)

    def event_time(self, cumulative, params, t_ref):
        k = np.exp(params["log_shape"])
        return t_ref * np.exp(params["log_median"]) * (cumulative / LN2) ** (1.0 / k)

    def reported_shape(self, posterior, t_ref):
        return {"shape": shape_of(posterior, "log_shape")}


def laplace_terms(X, time, event, theta: np.ndarray, derivatives: bool):
    r"""The Weibull PH log-likelihood of many cohorts at once (the value, and with
    `derivatives` its gradient and Hessian), for theta = [beta_1..beta_p, log k, log m0], m0
    the median at x = 0 in the data's time unit:

        l_i = d_i (log ln2 + log k - log t_i + z_i) - ln2 e^{z_i},
        z_i = k (log t_i - log m0) + x_i' beta.

    Arrays are (cohorts, patients[, covariates]); this is `log_hazard_and_survival` summed
    over patients, in the parametrisation `sampling.laplace` works in."""
    p = X.shape[-1]
    beta, log_k, log_m = theta[:, :p], theta[:, p], theta[:, p + 1]
    k = np.exp(log_k)[:, None]
    log_t = np.log(time)
    a = log_t - log_m[:, None]
    z = k * a + np.einsum("snp,sp->sn", X, beta)
    H = np.exp(LOG_LN2 + z)
    d = event
    value = (d * (LOG_LN2 + log_k[:, None] - log_t + z) - H).sum(axis=1)
    if not derivatives:
        return value
    r = d - H
    J = np.concatenate([X, (k * a)[..., None], np.broadcast_to(-k, a.shape)[..., None]], axis=2)
    grad = np.einsum("snd,sn->sd", J, r)
    grad[:, p] += d.sum(axis=1)
    hess = -np.einsum("snd,sn,sne->sde", J, H, J)
    hess[:, p, p] += (r * k * a).sum(axis=1)
    cross = (r * -k).sum(axis=1)
    hess[:, p, p + 1] += cross
    hess[:, p + 1, p] += cross
    return value, grad, hess
