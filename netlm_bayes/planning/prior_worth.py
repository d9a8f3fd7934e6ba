r"""What a prior is worth, and whether a new cohort agrees with it.

Effective sample size of one parameter's marginal p(θ) = Σ w_k N(m_k, s_k²), in the units
its unit information is stated in (events for survival, patients for logistic), with σ²
the variance one unit carries:

- moment:  σ² / Var_p(θ)   (the normal with the mixture's variance);
- ELIR:    σ² E_p[-(log p)''(θ)]  (Neuenschwander, Weber, Schmidli and O'Hagan, 2020),
           the expected local information ratio. For a single normal both are σ²/s²; for a
           mixture, ELIR is the one whose expectation after n more units is ESS + n.

Prior-data conflict for a cohort fitted with an exported prior: the cohort's own estimate
θ̂ (a Laplace fit under a prior 100 times vaguer than one unit) with covariance V, and

- Box's prior predictive p: P(f(Y) <= f(θ̂)) with f the prior predictive density of the
  estimate under the prior's informative part (the carried evidence; a robust component
  is there to absorb conflict, not to judge it), Σ w_k N(m_k, S_k + V); small p means the
  cohort is surprising given the earlier evidence;
- for a robust prior, the posterior weight of the informative component(s).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from scipy import special

from netlm_bayes.families.survival.ops import LOG_LN2
from netlm_bayes.priors.exported import ExportedPrior, parameter_names
from netlm_bayes.priors.mixture import Component, MixturePrior
from netlm_bayes.sampling import laplace

HERMITE_NODES = 101
BOX_DRAWS = 100_000
VAGUE_FACTOR = 100.0
UNCARRIED_BASELINE_SD = 5.0


def _univariate(prior: MixturePrior, name: str):
    marginal = prior.marginal([name])
    w = marginal.weights
    m = np.array([c.mean[0] for c in marginal.components])
    s = np.array([np.sqrt(c.cov[0, 0]) for c in marginal.components])
    return w, m, s


def ess_moment(prior: MixturePrior, name: str, unit_var: float) -> float:
    i = prior.index(name)
    return float(unit_var / prior.cov()[i, i])


@functools.cache
def _hermite() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and weights for E[f(Z)], Z ~ N(0, 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(HERMITE_NODES)
    return nodes, weights / weights.sum()


def ess_elir(prior: MixturePrior, name: str, unit_var) -> float:
    """`unit_var` is σ², or a function of θ giving it where one unit's information varies
    with θ (a rate on the logit scale: 1 / (p(1 - p))); ELIR is then E_p[σ²(θ) i_p(θ)]."""
    w, m, s = _univariate(prior, name)
    nodes, node_weights = _hermite()
    expected = 0.0
    for wk, mk, sk in zip(w, m, s, strict=True):
        theta = mk + sk * nodes
        ratio = _neg_log_density_curvature(theta, w, m, s)
        ratio = ratio * unit_var(theta) if callable(unit_var) else ratio * unit_var
        expected += wk * np.sum(node_weights * ratio)
    return float(expected)


def ess_beta_elir(weights: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """ELIR of a Beta mixture for a rate, in patients, on the logit scale phi as for the
    MAP priors of rates: E[-(log q)''(phi) / (p(1 - p))], q the density of phi and
    p(1 - p) one Bernoulli's information there. For one Beta(a, b) it is a + b, Beta(1, 1)
    included (on the rate scale the curvature of a flat density is 0 and ELIR would be)."""
    from scipy import integrate, stats

    def integrand(x: float) -> float:
        densities = weights * stats.beta.pdf(x, a, b)
        total = densities.sum()
        if not total > 0:
            return 0.0
        r = densities / total
        slope = a - (a + b) * x  # d/dphi log g_k, g_k the density of phi under component k
        curvature = slope**2 - (a + b) * x * (1 - x)  # g_k'' / g_k
        negative = -((r * curvature).sum() - (r * slope).sum() ** 2)
        return total * negative / (x * (1 - x))

    return float(integrate.quad(integrand, 0.0, 1.0, limit=200, epsabs=1e-10)[0])


def _neg_log_density_curvature(theta, w, m, s):
    """-(d²/dθ²) log Σ w_k N(θ; m_k, s_k²), stably (responsibilities in log space)."""
    z = (theta[:, None] - m) / s
    log_terms = np.log(w) - np.log(s) - 0.5 * z * z
    r = np.exp(log_terms - special.logsumexp(log_terms, axis=1, keepdims=True))
    first = -(z / s)  # d/dθ log N_k
    second = z * z / s**2 - 1 / s**2  # N_k''/N_k
    mean_first = (r * first).sum(axis=1)
    return -((r * second).sum(axis=1) - mean_first**2)


def ess_table(exported: ExportedPrior) -> pd.DataFrame:
    """Per effect: ESS by ELIR and by moments, in the prior's units and in patients."""
    provenance = exported.provenance
    per_patient = 1.0
    if exported.unit == "event" and provenance.get("events"):
        per_patient = provenance["patients"] / provenance["events"]
    rows = []
    for name in exported.effects:
        unit_var = exported.unit_sd(name) ** 2
        elir = ess_elir(exported.prior, name, unit_var)
        moment = ess_moment(exported.prior, name, unit_var)
        rows.append(
            {
                "effect": name,
                "unit": exported.unit,
                "unit_sd": exported.unit_sd(name),
                "ess_elir": elir,
                "ess_moment": moment,
                "ess_elir_patients": elir * per_patient,
                "ess_moment_patients": moment * per_patient,
            }
        )
    return pd.DataFrame(rows)


def cohort_estimate(exported: ExportedPrior, cohort: laplace.Cohorts, covariates: list[str]):
    """The cohort's own estimate of the prior's parameters and its covariance."""
    if exported.cure:
        return cure_estimate(cohort, covariates, list(exported.prior.names))[:2]
    names = parameter_names(exported.family, covariates)
    mean = np.zeros(len(names))
    cov = np.eye(len(names))
    for i, name in enumerate(names):
        if name in exported.prior.names:
            j = exported.prior.index(name)
            mean[i] = exported.prior.mean()[j]
            cov[i, i] = exported.unit_cov[j, j]
        elif name in covariates:  # a covariate the prior does not cover: the widest unit
            cov[i, i] = np.max(np.diag(exported.unit_cov))
        else:
            # a baseline the prior does not carry (a MAP prior of an effect alone): the
            # effect's unit says nothing of its scale (a log median in days is ~6), so a
            # wide prior centred on the cohort's crude value, where Newton also starts
            mean[i] = _crude_baseline(name, cohort)
            cov[i, i] = UNCARRIED_BASELINE_SD**2 / VAGUE_FACTOR
    vague = MixturePrior(tuple(names), (Component(1.0, mean, cov * VAGUE_FACTOR),))
    fit = laplace.posterior(cohort, vague)
    idx = [names.index(n) for n in exported.prior.names]
    return fit.modes[0, 0, idx], fit.covs[0, 0][np.ix_(idx, idx)]


def cure_estimate(cohort: laplace.Cohorts, covariates: list[str], names: list[str]):
    """A cure model's own estimate of `names` (of `parameter_names(.., cure=True)`) and its
    covariance: the Weibull mixture cure MLE (`frequentist.cure`, one cure fraction for all,
    covariates as `cohort` has them: relative to the prior's pattern), moved by the delta
    method from its log scale to the log median of the uncured, log m = log lam +
    log(ln 2) / k. With whether the MLE converged (no plateau: the cure fraction runs along
    a ridge, and the estimate and covariance are NaN)."""
    from netlm_bayes.frequentist.cure import fit_weibull_cure

    X, time, event = cohort.X[0], cohort.time[0], cohort.event[0]
    mle = fit_weibull_cure(time, event, X, np.zeros((len(time), 0)))
    p = X.shape[1]
    jacobian = np.eye(p + 3)
    k = np.exp(mle.estimate[p])
    jacobian[p + 1, p] = -LOG_LN2 / k  # d log m / d log k
    estimate = mle.estimate.copy()
    estimate[p + 1] += LOG_LN2 / k
    cov = jacobian @ mle.cov @ jacobian.T
    if not mle.converged:
        estimate, cov = np.full_like(estimate, np.nan), np.full_like(cov, np.nan)
    ours = parameter_names("weibull", covariates, cure=True)
    idx = [ours.index(n) for n in names]
    return estimate[idx], cov[np.ix_(idx, idx)], mle.converged


def _crude_baseline(name: str, cohort: laplace.Cohorts) -> float:
    """A baseline parameter's crude value in the (first) cohort: the exponential median's
    log for a Weibull's, a shape of 1, the outcome's logit for a logistic intercept."""
    if name == "log_median_at_pattern":
        return float(np.log(np.log(2) * cohort.time[0].sum() / max(cohort.event[0].sum(), 1)))
    if name == "intercept_at_pattern":
        rate = np.clip(cohort.y[0].mean(), 0.01, 0.99)
        return float(np.log(rate / (1 - rate)))
    return 0.0  # log_shape: a constant hazard


def conflict(
    exported: ExportedPrior, cohort: laplace.Cohorts, covariates: list[str], seed: int = 0
) -> tuple[pd.DataFrame, float | None]:
    """Per parameter and jointly over the effects: the cohort's estimate beside the prior and
    Box's p; and, for a robust prior, the posterior weight of its informative part."""
    estimate, V = cohort_estimate(exported, cohort, covariates)
    if not np.isfinite(estimate).all():  # no estimate to judge by (`cure_estimate`)
        rows = [{"parameter": name, "is_effect": name in exported.effects, "box_p": np.nan}
                for name in exported.prior.names]  # fmt: skip
        return pd.DataFrame(rows), None
    prior = exported.prior
    informative = [c for c in prior.components if c.label != "robust"]
    total = sum(c.weight for c in informative)
    predictive = MixturePrior(
        prior.names,
        tuple(Component(c.weight / total, c.mean, c.cov + V, c.label) for c in informative),
    )
    rng = np.random.default_rng(seed)
    mean = predictive.mean()  # of the informative part; its sd without the cohort's V:
    sd = np.sqrt(np.maximum(np.diag(predictive.cov()) - np.diag(V), 0.0))
    rows = []
    for name in prior.names:
        i = prior.index(name)
        rows.append(
            {
                "parameter": name,
                "is_effect": name in exported.effects,
                "prior_mean": mean[i],  # of the informative part
                "prior_sd": sd[i],
                "cohort_estimate": estimate[i],
                "cohort_se": float(np.sqrt(V[i, i])),
                "box_p": _box_p(predictive.marginal([name]), estimate[[i]], rng),
            }
        )
    effects = list(exported.effects)
    if effects:  # a MAP prior of a baseline (a median, a rate) has none
        idx = [prior.index(n) for n in effects]
        rows.append(
            {
                "parameter": "all effects jointly",
                "is_effect": True,
                "box_p": _box_p(predictive.marginal(effects), estimate[idx], rng),
            }
        )
    table = pd.DataFrame(rows)
    labels = [c.label for c in prior.components]
    informative_weight = None
    if "robust" in labels:
        updated = prior.update(estimate, V)
        informative_weight = float(sum(c.weight for c in updated.components if c.label != "robust"))
    return table, informative_weight


def _box_p(predictive: MixturePrior, observed: np.ndarray, rng) -> float:
    draws = predictive.sample(rng, BOX_DRAWS)
    return float(np.mean(predictive.logpdf(draws) <= predictive.logpdf(observed)[0]))
