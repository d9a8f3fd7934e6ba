"""The censored survival likelihoods agree with lifelines on the same data, to 1e-6.

lifelines is fitted by maximum likelihood; its parameters are converted to ours and our
model's log-likelihood (the PyTensor graph PyMC samples) is evaluated there. Exponential
and Gompertz regressions are not built into lifelines, so they are declared the lifelines
way, as a cumulative hazard in a `ParametricRegressionFitter`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import autograd.numpy as anp
import numpy as np
import pandas as pd
import pytest
from lifelines import LogLogisticAFTFitter, LogNormalAFTFitter, WeibullAFTFitter
from lifelines.fitters import ParametricRegressionFitter

from netlm_bayes.evidence import patient_data as modeldata
from netlm_bayes.families import specs
from netlm_bayes.families.survival import model as survival
from netlm_bayes.families.survival import registry
from netlm_bayes.families.survival.ops import NUMPY, log_normal_sf
from netlm_bayes.families.survival.registry import FAMILIES, family
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.priors.distributions import Normal

COVARIATES = ["htb_gt25", "ki67_gt10", "pet_positive", "border_clear"]


class ExponentialRegression(ParametricRegressionFitter):
    _fitted_parameter_names: ClassVar[list[str]] = ["lambda_"]

    def _cumulative_hazard(self, params, T, Xs):
        return T / anp.exp(anp.dot(Xs["lambda_"], params["lambda_"]))


class GompertzRegression(ParametricRegressionFitter):
    """h(t) = b exp(c t), b = exp(x' beta); H(t) = b / c * (exp(c t) - 1)."""

    _fitted_parameter_names: ClassVar[list[str]] = ["b_", "c_"]

    def _cumulative_hazard(self, params, T, Xs):
        b = anp.exp(anp.dot(Xs["b_"], params["b_"]))
        c = anp.dot(Xs["c_"], params["c_"])
        return b / c * (anp.exp(c * T) - 1)


@pytest.fixture(scope="module")
def cohort():
    spec = specs.load_spec("hpfs_weibull")
    columns = modeldata.Columns(tuple(COVARIATES), time=spec.time, event=spec.event)
    data = modeldata.read_model_data(spec.data_path, columns)
    frame = pd.DataFrame(data.X, columns=COVARIATES).assign(T=data.time, E=data.event)
    return spec, data, frame


def _lifelines_fit(likelihood: str, frame: pd.DataFrame):
    """lifelines' MLE, its log-likelihood, and the same point in our parameters."""
    t_ref = float(np.median(frame["T"]))  # the model's t_ref: the median observed time
    formula = " + ".join(COVARIATES)
    if likelihood == "weibull":
        fitter = WeibullAFTFitter().fit(frame, "T", "E", formula=formula)
        lam, rho = fitter.params_["lambda_"], fitter.params_["rho_"]
        k = math.exp(rho["Intercept"])
        beta = -k * lam[COVARIATES].to_numpy()
        log_m = lam["Intercept"] + math.log(math.log(2)) / k - math.log(t_ref)
        params = {"log_median": log_m, "log_shape": math.log(k)}
    elif likelihood == "exponential":
        fitter = ExponentialRegression().fit(
            frame, "T", "E", regressors={"lambda_": "1 + " + formula}
        )
        lam = fitter.params_["lambda_"]
        beta = -lam[COVARIATES].to_numpy()
        params = {"log_median": lam["Intercept"] + math.log(math.log(2)) - math.log(t_ref)}
    elif likelihood == "gompertz":
        fitter = GompertzRegression().fit(
            frame,
            "T",
            "E",
            regressors={"b_": "1 + " + formula, "c_": "1"},
            initial_point=np.array([-3.0, 0, 0, 0, 0, 0.01]),
        )
        b, c = fitter.params_["b_"], fitter.params_["c_"]["Intercept"]
        beta = b[COVARIATES].to_numpy()
        # our b is per unit of u = t / t_ref
        params = {"log_hazard0": b["Intercept"] + math.log(t_ref), "rate": c * t_ref}
    elif likelihood == "lognormal":
        fitter = LogNormalAFTFitter().fit(frame, "T", "E", formula=formula)
        mu, sigma = fitter.params_["mu_"], fitter.params_["sigma_"]
        beta = -mu[COVARIATES].to_numpy()
        params = {
            "log_median": mu["Intercept"] - math.log(t_ref),
            "log_sigma": sigma["Intercept"],
        }
    elif likelihood == "loglogistic":
        fitter = LogLogisticAFTFitter().fit(frame, "T", "E", formula=formula)
        alpha, shape = fitter.params_["alpha_"], fitter.params_["beta_"]
        beta = -alpha[COVARIATES].to_numpy()
        params = {
            "log_median": alpha["Intercept"] - math.log(t_ref),
            "log_shape": shape["Intercept"],
        }
    return fitter.log_likelihood_, beta, params


def _priors(normals: list[Normal]) -> CoefficientPriors:
    return CoefficientPriors(normals, "test")


def _sampled_point(likelihood: str, data, beta: np.ndarray, params: dict) -> dict:
    """Reference-group parameters (covariates 0) as the model samples them: effects per
    cohort SD, the baseline at the cohort's mean pattern (worked out here, by hand)."""
    mean_eta = float(data.covariate_mean @ beta)
    point = {"beta_per_sd": beta * data.covariate_scale}
    point |= {k: float(v) for k, v in params.items() if k in ("log_shape", "log_sigma", "rate")}
    if likelihood == "gompertz":
        point["log_hazard0_at_mean"] = params["log_hazard0"] + mean_eta
    elif likelihood in ("weibull", "exponential"):  # PH: log m moves by eta / k
        k = math.exp(params["log_shape"]) if likelihood == "weibull" else 1.0
        point["log_median_at_mean"] = params["log_median"] - mean_eta / k
    else:  # AFT: log m moves by eta
        point["log_median_at_mean"] = params["log_median"] - mean_eta
    return point


# lifelines has a parametric fitter for each of these; the M-spline is checked against the
# exponential (its constant-hazard case) and Cox in test_mspline.py.
PARAMETRIC = [name for name, f in FAMILIES.items() if not f.vector_parameters]


@pytest.mark.parametrize("likelihood", PARAMETRIC)
def test_model_log_likelihood_equals_lifelines(cohort, likelihood):
    spec, data, frame = cohort
    expected, beta, params = _lifelines_fit(likelihood, frame)
    model = survival.build_model(
        spec.model_copy(update={"likelihood": likelihood}), data, _priors([Normal(0, 2.5)] * 4)
    )
    point = _sampled_point(likelihood, data, beta, params)
    observed = model[survival.observed_name(spec)]
    ours = model.compile_logp(vars=[observed])(point)
    assert ours == pytest.approx(expected, abs=1e-6, rel=0)
    # and the derived reference-group baseline is lifelines' intercept again
    reference = "log_hazard0" if likelihood == "gompertz" else "log_median"
    derived_graph = model.replace_rvs_by_values([model[reference]])[0]
    derived = model.compile_fn(derived_graph, inputs=model.value_vars, on_unused_input="ignore")(
        point
    )
    assert derived == pytest.approx(params[reference], abs=1e-9)
    numpy_side = survival.log_likelihood(
        likelihood, data.time, data.event, data.X @ beta, params, data.reference_time
    )
    assert numpy_side.sum() == pytest.approx(expected, abs=1e-6, rel=0)


def test_gompertz_near_zero_rate_is_the_exponential_without_nan():
    log_u = np.log(np.array([0.1, 1.0, 3.0]))
    eta = np.array([0.0, 0.5, -0.5])
    for rate in (0.0, 1e-9, -1e-9, 1e-4):
        log_hazard0 = math.log(math.log(2)) - 0.2
        g = family("gompertz").log_hazard_and_survival(
            survival.NUMPY, log_u, eta, {"log_hazard0": log_hazard0, "rate": rate}
        )
        e = family("exponential").log_hazard_and_survival(
            survival.NUMPY, log_u, eta, {"log_median": 0.2}
        )
        np.testing.assert_allclose(g, e, atol=1e-3 if rate == 1e-4 else 1e-8)


@pytest.mark.parametrize("likelihood", registry.names())
def test_hazard_is_minus_the_derivative_of_log_survival(likelihood):
    params = {
        "log_median": 0.3, "log_shape": 0.4, "log_sigma": -0.2, "rate": -0.5, "log_hazard0": -1.0,
        "log_hazard_scale": -0.3, "coefficients": np.random.default_rng(1).dirichlet(np.ones(7)),
    }  # fmt: skip
    log_u = np.linspace(-3, 2, 41)  # past the M-spline's boundary knot (6) too
    eta = 0.7
    kind = family(likelihood).configured([0.5, 1.0, 2.0], 6.0, 1.0)
    log_h, _ = kind.log_hazard_and_survival(survival.NUMPY, log_u, eta, params)
    step = 1e-6
    _, above = kind.log_hazard_and_survival(survival.NUMPY, log_u + step, eta, params)
    _, below = kind.log_hazard_and_survival(survival.NUMPY, log_u - step, eta, params)
    # d(-log S)/du = h, and du = u d(log u)
    numeric = -(above - below) / (2 * step) / np.exp(log_u)
    np.testing.assert_allclose(np.exp(log_h), numeric, rtol=1e-5)


def test_lognormal_survival_is_accurate_far_in_both_tails():
    from scipy.special import log_ndtr

    z = np.array([-40.0, -8.0, -1.0, 0.0, 1.0, 8.0, 40.0])
    np.testing.assert_allclose(log_normal_sf(NUMPY, z), log_ndtr(-z), rtol=1e-10)


@pytest.mark.parametrize("mode", ["FAST_RUN", "NUMBA"])
@pytest.mark.parametrize("likelihood", [n for n, f in FAMILIES.items() if f.sufficient])
def test_sufficient_statistic_model_is_the_same_posterior(cohort, likelihood, mode):
    """The model that is sampled (event sums, one exp per patient) against the per-patient
    model that gives LOO and the PPC: the same joint log density and gradient everywhere,
    in PyTensor's default backend and in numba's (the one nutpie samples with)."""
    spec, data, frame = cohort
    spec = spec.model_copy(update={"likelihood": likelihood})
    priors = [Normal(0.3, 1.5), Normal(-0.2, 2.0), Normal(0, 2.5), Normal(0.1, 1.0)]
    per_patient = survival.build_model(spec, data, _priors(priors))
    sampled = survival.build_sampling_model(spec, data, _priors(priors))
    assert not sampled.observed_RVs, "the sampled model's likelihood is a Potential"
    expected, _, _ = _lifelines_fit(likelihood, frame)
    rng = np.random.default_rng(4)
    for model in (per_patient, sampled):
        model_logp = model.compile_logp(mode=mode)
        gradient = model.compile_dlogp(mode=mode)
        if model is per_patient:
            points = [
                {name: value + rng.normal(0, 0.5, np.shape(value)) for name, value in
                 model.initial_point().items()}
                for _ in range(5)
            ]  # fmt: skip
            reference = [(model_logp(p), gradient(p)) for p in points]
        else:
            for point, (value, grad) in zip(points, reference, strict=True):
                assert model_logp(point) == pytest.approx(value, rel=1e-10)
                np.testing.assert_allclose(gradient(point), grad, rtol=1e-8, atol=1e-8)
    # and the summed likelihood alone is lifelines' at lifelines' MLE
    _, beta, params = _lifelines_fit(likelihood, frame)
    point = _sampled_point(likelihood, data, beta, params)
    potential = sampled[f"{survival.observed_name(spec)}_likelihood"]
    summed = sampled.compile_fn(sampled.replace_rvs_by_values([potential])[0])
    assert summed(point) == pytest.approx(expected, abs=1e-6)


def test_sufficient_statistic_model_is_refused_where_it_does_not_exist(cohort):
    spec, data, _ = cohort
    lognormal = spec.model_copy(update={"likelihood": "lognormal"})
    assert survival.build_sampling_model(lognormal, data, _priors([Normal(0, 1)] * 4)) is None
    with pytest.raises(ValueError, match="no sufficient-statistic"):
        survival.build_model(lognormal, data, _priors([Normal(0, 1)] * 4), sufficient=True)
