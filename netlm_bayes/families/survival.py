r"""Parametric survival regression with right censoring: five families, one likelihood.

Each family declares only its log hazard and log survival (as lifelines' fitters declare
their cumulative hazard); the likelihood, the derived curves and the summaries are shared.
Time is measured in units of the data's median observed time t_ref (`u = t / t_ref`), so
the baseline priors in the model file mean the same in months, weeks or days.

With linear predictor eta = x' beta and m the reference group's median (in units of t_ref):

    weibull       PH   H(u) = ln2 (u/m)^k e^eta                      HR = e^beta
    exponential   PH   the Weibull with k = 1
    gompertz      PH   h(u) = b e^{c u} e^eta, H(u) = b expm1(c u) / c e^eta
    lognormal     AFT  log(u e^eta) ~ Normal(log m, sigma)           AF = e^beta
    loglogistic   AFT  S(u) = 1 / (1 + (u e^eta / m)^k)              AF = e^beta

The Gompertz is parametrised by log b rather than m, because with c < 0 its curve levels
off and may never reach 0.5 (a "cured" fraction); its prior on log b is the one the
log-median prior implies for an exponential (b = ln 2 / m).

An event contributes log h(t) + log S(t) and a censored time log S(t), both with the
Jacobian -log t_ref, so the log-likelihood is on the data's own time scale (and equals
lifelines' for the same parameters). AFT effects are acceleration factors: AF > 1 means
events come sooner, the same direction of harm as HR > 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import joint_vars as jointvars
from netlm_bayes.families.design import (
    baseline_prior,
    design_data,
    design_values,
    independent_coefficients,
    pattern_shift,
)
from netlm_bayes.families.specs import PROPORTIONAL_HAZARDS, SurvivalSpec
from netlm_bayes.fitting.prior_choice import CoefficientPriors

LN2 = math.log(2.0)
# Below this |x|, log(expm1(x) / x) is evaluated by its series, which has no 0/0.
SERIES_BELOW = 1e-3


@dataclass(frozen=True)
class Ops:
    """The few functions the family formulas need, for PyTensor graphs or NumPy draws."""

    exp: object
    log: object
    expm1: object
    log1p: object
    softplus: object
    erfcx: object
    where: object
    minimum: object
    maximum: object
    abs: object


TENSOR = Ops(
    pt.exp, pt.log, pt.expm1, pt.log1p, pt.softplus, pt.erfcx, pt.switch, pt.minimum,
    pt.maximum, pt.abs,
)  # fmt: skip
NUMPY = Ops(
    np.exp, np.log, np.expm1, np.log1p, lambda x: np.logaddexp(0.0, x), special.erfcx,
    np.where, np.minimum, np.maximum, np.abs,
)  # fmt: skip


def _log_expm1_ratio(ops: Ops, x):
    """log(expm1(x) / x), finite at x = 0 (where it is 0) and without 0/0 near it."""
    small = ops.abs(x) < SERIES_BELOW
    safe = ops.where(small, 1.0, x)
    exact = ops.log(ops.expm1(safe) / safe)
    return ops.where(small, x / 2 + x * x / 24, exact)


def _log_normal_sf(ops: Ops, z):
    """log(1 - Phi(z)), accurate in both tails (erfcx for z >= 0, log1p below)."""
    upper = ops.maximum(z, 0.0)
    lower = ops.minimum(z, 0.0)
    right = math.log(0.5) + ops.log(ops.erfcx(upper / math.sqrt(2))) - upper * upper / 2
    left = ops.log1p(-0.5 * ops.erfcx(-lower / math.sqrt(2)) * ops.exp(-lower * lower / 2))
    return ops.where(z >= 0, right, left)


def log_hazard_and_survival(ops: Ops, likelihood: str, log_u, eta, params: dict):
    """(log h, log S) at scaled times u = e^log_u, per unit of u, for linear predictor eta."""
    if likelihood == "gompertz":
        c, log_b = params["rate"], params["log_hazard0"]
        log_cumhaz = log_b + log_u + _log_expm1_ratio(ops, c * ops.exp(log_u)) + eta
        return log_b + c * ops.exp(log_u) + eta, -ops.exp(log_cumhaz)
    log_m = params["log_median"]
    if likelihood in ("weibull", "exponential"):
        log_k = params["log_shape"] if likelihood == "weibull" else 0.0
        k = ops.exp(log_k) if likelihood == "weibull" else 1.0
        log_cumhaz = LN2_LOG + k * (log_u - log_m) + eta
        log_h = LN2_LOG + log_k - log_m + (k - 1.0) * (log_u - log_m) + eta
        return log_h, -ops.exp(log_cumhaz)
    if likelihood == "lognormal":
        log_sigma = params["log_sigma"]
        z = (log_u + eta - log_m) / ops.exp(log_sigma)
        log_s = _log_normal_sf(ops, z)
        log_f = -log_u - log_sigma - z * z / 2 - 0.5 * math.log(2 * math.pi)
        return log_f - log_s, log_s
    if likelihood == "loglogistic":
        log_k = params["log_shape"]
        w = ops.exp(log_k) * (log_u + eta - log_m)
        log_s = -ops.softplus(w)
        log_h = log_k - log_u + w - ops.softplus(w)
        return log_h, log_s
    raise ValueError(f"unknown survival likelihood {likelihood!r}")


LN2_LOG = math.log(LN2)


def sample_times(likelihood: str, params: dict, eta, t_ref: float, rng: np.random.Generator):
    """Event times drawn from the model (inverse transform), on the data's time scale.

    Broadcasts over params and eta; a Gompertz with c < 0 may never see the event (inf).
    """
    eta = np.asarray(eta, dtype=float)
    shape = np.broadcast_shapes(eta.shape, *(np.shape(v) for v in params.values()))
    if likelihood in ("lognormal", "loglogistic"):
        noise = (
            rng.standard_normal(shape) * np.exp(params["log_sigma"])
            if likelihood == "lognormal"
            else special.logit(rng.uniform(size=shape)) / np.exp(params["log_shape"])
        )
        return t_ref * np.exp(params["log_median"] - eta + noise)
    cumulative = rng.exponential(size=shape) * np.exp(-eta)  # H0(u) at the event
    if likelihood == "gompertz":
        c, b = params["rate"], np.exp(params["log_hazard0"])
        with np.errstate(invalid="ignore", divide="ignore"):
            argument = c * cumulative / b
            u = np.where(
                np.abs(c) < SERIES_BELOW,
                cumulative / b,
                np.log1p(argument) / np.where(c == 0, 1, c),
            )
        return t_ref * np.where(argument <= -1, np.inf, u)
    k = np.exp(params["log_shape"]) if likelihood == "weibull" else 1.0
    return t_ref * np.exp(params["log_median"]) * (cumulative / LN2) ** (1.0 / k)


def effect_prefix(likelihood: str) -> str:
    """`hr_` for proportional-hazards families, `af_` (acceleration factor) for AFT ones."""
    return "hr_" if likelihood in PROPORTIONAL_HAZARDS else "af_"


def reference_time(time: np.ndarray) -> float:
    """t_ref: the median observed time, the unit in which the baseline priors are stated."""
    return float(np.median(time))


def log_likelihood(likelihood: str, time, event, eta, params: dict, t_ref: float, ops=NUMPY):
    """Per-patient log-likelihood on the data's own time scale."""
    log_u = ops.log(time / t_ref)
    log_h, log_s = log_hazard_and_survival(ops, likelihood, log_u, eta, params)
    return event * (log_h - ops.log(t_ref)) + log_s


def build_model(
    spec: SurvivalSpec, data: ModelData, chosen: CoefficientPriors, *, sufficient: bool = False
) -> pm.Model:
    """The PyMC model. Data and coefficient priors are `pm.Data`, so one compilation serves
    any cohort of the same size and any prior set. A joint (exported) prior in `chosen`
    replaces the independent priors of the parameters it covers (Weibull only); its
    baseline refers to the covariate pattern `chosen.pattern` and is moved exactly to this
    cohort's centring.

    Covariates are centred at the cohort's mean (`design`): the baseline parameter sampled
    is `log_median_at_mean` (or `log_hazard0_at_mean`), the median (or hazard) of a patient
    with the mean covariate pattern, and the model file's baseline prior is stated there.
    `log_median` / `log_hazard0` are the reference group's (every covariate 0), derived.

    `sufficient=True` (Weibull and exponential only) builds the same posterior for sampling:
    the likelihood is a `pm.Potential` of the event sums and one exponential per patient,
    about 4x cheaper per gradient at n = 100,000 than the per-patient CustomDist, which
    stays the model for the pointwise log-likelihood, LOO and the PPC (`build_sampling_model`).
    """
    likelihood = spec.likelihood
    if sufficient and likelihood not in SUFFICIENT:
        raise ValueError(f"no sufficient-statistic likelihood for {likelihood!r}")
    base = spec.baseline
    coords = {"covariate": data.covariates, "patient": np.arange(data.n)}
    joint = chosen.joint
    with pm.Model(coords=coords) as model:
        design = design_data(data, chosen)
        t_ref_data = pm.Data("t_ref", reference_time(data.time))
        shared = jointvars.shared_vector(joint) if joint is not None else None
        if shared is None:
            beta = independent_coefficients(design)
        else:
            beta = jointvars.coefficients(joint, shared, data.covariates, design)
        params = _baseline(likelihood, base, joint, shared, design)
        params[_CENTRED[likelihood]] = _centred_baseline(
            likelihood, base, joint, shared, t_ref_data, params, design,
            pattern_shift(design, beta, data.covariates, chosen.pattern),
        )  # fmt: skip
        _reference_baseline(likelihood, params, pt.dot(design.mean, beta))
        eta = pt.dot(design.centred, beta)
        pm.Deterministic("ratio", pt.exp(beta), dims="covariate")

        initial = model_data(data, chosen)
        if sufficient:
            stats = {name: pm.Data(name, initial[name], dims=SUFFICIENT_DIMS[name])
                     for name in SUFFICIENT_DIMS}  # fmt: skip
            pm.Potential(
                f"{observed_name(spec)}_likelihood",
                _weibull_sufficient_loglik(stats, design, eta, beta, t_ref_data, params,
                                           likelihood),
            )  # fmt: skip
            return model
        event = pm.Data("event", initial["event"], dims="patient")
        at_mean = {_REFERENCE.get(name, name): params[name] for name in _PARAMS[likelihood]}

        def logp(value, eta, event, t_ref, *values):
            named = dict(zip(at_mean, values, strict=True))
            return log_likelihood(likelihood, value, event, eta, named, t_ref, TENSOR)

        pm.CustomDist(
            observed_name(spec),
            eta,
            event,
            t_ref_data,
            *at_mean.values(),
            logp=logp,
            observed=pm.Data("observed_time", data.time, dims="patient"),
            dims="patient",
        )
    return model


# The parameters each family's likelihood takes, by the name of the variable sampled: the
# baseline is at the mean covariate pattern (`_CENTRED`), the family formulas call it by
# its reference-group name (`_REFERENCE`), and they agree once eta is centred too.
_CENTRED = {
    "weibull": "log_median_at_mean", "exponential": "log_median_at_mean",
    "lognormal": "log_median_at_mean", "loglogistic": "log_median_at_mean",
    "gompertz": "log_hazard0_at_mean",
}  # fmt: skip
_REFERENCE = {"log_median_at_mean": "log_median", "log_hazard0_at_mean": "log_hazard0"}
_PARAMS = {
    "weibull": ("log_median_at_mean", "log_shape"),
    "exponential": ("log_median_at_mean",),
    "gompertz": ("rate", "log_hazard0_at_mean"),
    "lognormal": ("log_median_at_mean", "log_sigma"),
    "loglogistic": ("log_median_at_mean", "log_shape"),
}


def _baseline(likelihood: str, base, joint, shared, design) -> dict:
    """The family's shape parameter (from the joint prior where it covers it)."""
    if likelihood in ("weibull", "loglogistic"):
        borrowed = jointvars.view(joint, shared, "log_shape", "log_shape")
        if borrowed is None:
            borrowed = baseline_prior("log_shape", base.log_shape, design)
        return {"log_shape": borrowed}
    if likelihood == "lognormal":
        return {"log_sigma": baseline_prior("log_sigma", base.log_sigma, design)}
    if likelihood == "gompertz":
        return {"rate": baseline_prior("rate", base.gompertz_rate, design)}
    return {}


def _centred_baseline(likelihood, base, joint, shared, t_ref, params, design, shift):
    """The baseline at the cohort's mean pattern; from a joint prior, its median at the
    prior's pattern moved along the linear predictor by `shift` (PH: log m moves by
    -shift / k)."""
    name = _CENTRED[likelihood]
    if likelihood == "gompertz":
        implied = LN2_LOG - base.log_median.mu  # b = ln 2 / m for the exponential
        return baseline_prior(name, base.log_median.model_copy(update={"mu": implied}), design)
    k = pt.exp(params["log_shape"]) if likelihood == "weibull" else 1.0
    moved = pt.log(t_ref) + shift / k
    borrowed = jointvars.view(joint, shared, "log_median_at_pattern", name, moved)
    if borrowed is None:
        borrowed = baseline_prior(name, base.log_median, design)
    return borrowed


def _reference_baseline(likelihood: str, params: dict, mean_eta) -> None:
    """The reference group's (covariates = 0) baseline, from the one at the mean pattern."""
    if likelihood == "gompertz":
        pm.Deterministic("log_hazard0", params["log_hazard0_at_mean"] - mean_eta)
        return
    # PH Weibull: log m moves by eta / k; the exponential (k = 1) and the AFT families by eta.
    per_shape = pt.exp(params["log_shape"]) if likelihood == "weibull" else 1.0
    pm.Deterministic("log_median", params["log_median_at_mean"] + mean_eta / per_shape)


SUFFICIENT = ("weibull", "exponential")
SUFFICIENT_DIMS = {
    "log_scaled_time": "patient",
    "event_count": None,
    "event_log_time_sum": None,
    "event_covariate_sum": "covariate",
}


def _weibull_sufficient_loglik(stats: dict, design, eta, beta, t_ref, params, likelihood):
    """The summed Weibull PH log-likelihood, on the data's time scale, from sufficient stats
    (x centred at the cohort mean xbar, m the median there):

        D (log ln2 + log k - k log m - log t_ref) + (k - 1) sum_events log u
          + beta' (sum_events x - D xbar) - sum_all exp(log ln2 + k (log u - log m) + eta)

    It equals the sum of `log_likelihood` (a test checks value and gradient); only the last
    sum needs every patient, once per gradient.
    """
    log_k = params["log_shape"] if likelihood == "weibull" else 0.0
    k = pt.exp(log_k) if likelihood == "weibull" else 1.0
    log_m = params["log_median_at_mean"]
    centred_sum = stats["event_covariate_sum"] - stats["event_count"] * design.mean
    return (
        stats["event_count"] * (LN2_LOG + log_k - k * log_m - pt.log(t_ref))
        + (k - 1.0) * stats["event_log_time_sum"]
        + pt.dot(centred_sum, beta)
        - pt.sum(pt.exp(LN2_LOG + k * (stats["log_scaled_time"] - log_m) + eta))
    )


def build_sampling_model(
    spec: SurvivalSpec, data: ModelData, chosen: CoefficientPriors
) -> pm.Model | None:
    """The cheaper model to sample where one exists (Weibull, exponential), else None."""
    if spec.likelihood not in SUFFICIENT:
        return None
    return build_model(spec, data, chosen, sufficient=True)


def observed_name(spec: SurvivalSpec) -> str:
    """The observed variable is named after the time column (its event status sits beside
    it in `constant_data`, where arviz-plots' censored PPC looks for it)."""
    return "".join(ch if ch.isalnum() else "_" for ch in spec.time)


def model_data(data: ModelData, chosen: CoefficientPriors) -> dict[str, np.ndarray]:
    """`pm.Data` values for another cohort or prior set, for `inference.Sampler.sample`
    (both the per-patient and the sufficient-statistic model's; each takes its own)."""
    event = data.event.astype(float)
    t_ref = reference_time(data.time)
    log_scaled_time = np.log(data.time / t_ref)
    return {
        **design_values(data, chosen),
        "event": event,
        "t_ref": np.asarray(t_ref),
        "observed_time": data.time,
        "log_scaled_time": log_scaled_time,
        "event_count": np.asarray(event.sum()),
        "event_log_time_sum": np.asarray(event @ log_scaled_time),
        "event_covariate_sum": data.X.T @ event,
    }
