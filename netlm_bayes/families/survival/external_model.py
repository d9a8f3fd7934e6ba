r"""Survivor counts from other studies in the likelihood (`evidence.external_counts`):

    r_j ~ Binomial(n_j, S(stop_j | x_j) / S(start_j | x_j))

with S the fitted family's (any family, with or without cure), x_j the row's covariates
centred as the patients' are. The term is a `pm.Potential`: it informs the posterior, and
the pointwise log-likelihood (LOO, `compare-families`) stays the patients' own.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.special import gammaln

from netlm_bayes.evidence.external_counts import ExternalCounts
from netlm_bayes.families.survival.base import SurvivalFamily
from netlm_bayes.families.survival.cure import CURE_BETA, CURE_LOGIT
from netlm_bayes.families.survival.ops import tensor_ops

TENSOR = tensor_ops()
POTENTIAL = "external_counts_likelihood"


def external_likelihood(
    kind: SurvivalFamily, counts: ExternalCounts, design, beta, t_ref, params: dict,
    covariate_mean: np.ndarray, t_ref_value: float,
):  # fmt: skip
    """Declare the counts' log-likelihood as a Potential in the current model."""
    X = counts.design(covariate_mean)
    eta = pt.dot(X, beta) - pt.dot(design.mean, beta)
    named = {kind.baseline if name == kind.centred else name: params[name]
             for name in kind.parameters if name != CURE_LOGIT}  # fmt: skip
    if kind.cure:
        model = pm.modelcontext(None)
        cure_beta = model[CURE_BETA]
        named[CURE_LOGIT] = (model[f"{CURE_LOGIT}_at_mean"] + pt.dot(X, cure_beta)
                             - pt.dot(design.mean, cure_beta))  # fmt: skip
    log_p = _log_survival(kind, counts.stop, eta, named, t_ref, t_ref_value)
    opened = counts.start > 0
    if opened.any():
        start = np.where(opened, counts.start, counts.stop)  # log S(0) = 0: no log 0
        at_start = _log_survival(kind, start, eta, named, t_ref, t_ref_value)
        log_p = log_p - pt.switch(opened, at_start, 0.0)
    n, r = counts.n, counts.r
    constant = gammaln(n + 1) - gammaln(r + 1) - gammaln(n - r + 1)
    # r = n: the (n - r) log(1 - p) term is 0 even where p rounds to 1
    died = pt.switch(n > r, (n - r) * pt.log1mexp(pt.minimum(log_p, -1e-300)), 0.0)
    return pm.Potential(POTENTIAL, pt.sum(constant + r * log_p + died))


def _log_survival(kind, time, eta, named, t_ref, t_ref_value):
    """log S at fixed times; an M-spline's basis evaluated there once, in NumPy."""
    params = dict(named)
    core = kind.core
    if core.vector_parameters:
        hazard, cumulative = core.basis.evaluate(time / t_ref_value)
        params.update(basis_hazard=hazard, basis_cumulative=cumulative)
    _, log_s = kind.log_hazard_and_survival(TENSOR, pt.log(time) - pt.log(t_ref), eta, params)
    return log_s
