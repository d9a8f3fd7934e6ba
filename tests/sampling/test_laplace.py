"""The batched Laplace fits against finite differences, lifelines and statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import WeibullAFTFitter

from netlm_bayes.priors.mixture import Component, MixturePrior
from netlm_bayes.sampling import laplace


def _weibull_data(seed=1, n=300):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, 2)).astype(float)
    cumulative = rng.exponential(size=n) * np.exp(-X @ np.array([0.7, -0.4]))
    t = 10.0 * (cumulative / np.log(2)) ** (1 / 1.4)
    censor = rng.uniform(5, 40, n)
    return X, np.minimum(t, censor), (t <= censor).astype(float)


def _logistic_data(seed=2, n=400):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, 2)).astype(float)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-1 + X @ np.array([1.2, -0.8]))))).astype(float)
    return X, y


def _vague(names, centre):
    return MixturePrior(
        tuple(names), (Component(1.0, np.asarray(centre, float), np.eye(len(names)) * 1e6),)
    )


@pytest.mark.parametrize("family", ["weibull", "logistic"])
def test_gradient_and_hessian_match_finite_differences(family):
    if family == "weibull":
        X, t, d = _weibull_data()
        cohorts = laplace.Cohorts(X[None], time=t[None], event=d[None])
        theta = np.array([[0.5, -0.2, 0.3, 2.0]])
    else:
        X, y = _logistic_data()
        cohorts = laplace.Cohorts(X[None], y=y[None])
        theta = np.array([[-0.5, 0.4, 0.1]])
    _, grad, hess = laplace.log_likelihood(cohorts, theta)
    eps = 1e-5
    steps = np.eye(theta.shape[1]) * eps
    numeric_grad = [
        (
            laplace.log_likelihood(cohorts, theta + h, False)
            - laplace.log_likelihood(cohorts, theta - h, False)
        )[0]
        / (2 * eps)
        for h in steps
    ]
    numeric_hess = [
        (
            laplace.log_likelihood(cohorts, theta + h)[1]
            - laplace.log_likelihood(cohorts, theta - h)[1]
        )[0]
        / (2 * eps)
        for h in steps
    ]
    np.testing.assert_allclose(grad[0], numeric_grad, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(hess[0], numeric_hess, rtol=1e-5, atol=1e-4)


def test_weibull_mode_under_a_vague_prior_is_lifelines_mle():
    X, t, d = _weibull_data()
    cohorts = laplace.Cohorts(X[None], time=t[None], event=d[None])
    fit = laplace.posterior(
        cohorts, _vague(["a", "b", "log_shape", "log_median_at_pattern"], [0, 0, 0, 2])
    )
    frame = pd.DataFrame({"t": t, "d": d, "a": X[:, 0], "b": X[:, 1]})
    aft = WeibullAFTFitter().fit(frame, "t", "d")
    rho = np.exp(aft.params_["rho_"]["Intercept"])
    lam = aft.params_["lambda_"]
    # lifelines' AFT: S(t) = exp(-(t / (e^{λ0 + x'λ}))^ρ); PH β = -ρ λ; median m0 = e^{λ0} (ln 2)^{1/ρ}
    expected = [
        -rho * lam["a"],
        -rho * lam["b"],
        np.log(rho),
        lam["Intercept"] + np.log(np.log(2)) / rho,
    ]
    assert fit.converged.all()
    np.testing.assert_allclose(fit.modes[0, 0], expected, atol=1e-5)


def test_logistic_mode_and_covariance_under_a_vague_prior_are_statsmodels():
    X, y = _logistic_data()
    cohorts = laplace.Cohorts(X[None], y=y[None])
    fit = laplace.posterior(cohorts, _vague(["intercept_at_pattern", "a", "b"], [0, 0, 0]))
    mle = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    np.testing.assert_allclose(fit.modes[0, 0], mle.params, atol=1e-6)
    np.testing.assert_allclose(fit.covs[0, 0], mle.cov_params(), rtol=1e-4)


def test_a_normal_model_gets_the_exact_mixture_posterior_weights():
    """With a Gaussian log-likelihood the Laplace mixture is exact: compare with the
    closed-form conjugate update (`MixturePrior.update`)."""
    X, y = _logistic_data(n=2000)  # a large logistic sample has a near-Gaussian likelihood
    cohorts = laplace.Cohorts(X[None], y=y[None])
    vague = laplace.posterior(cohorts, _vague(["intercept_at_pattern", "a", "b"], [0, 0, 0]))
    estimate, V = vague.modes[0, 0], vague.covs[0, 0]
    prior = MixturePrior(
        ("intercept_at_pattern", "a", "b"),
        (
            Component(0.7, np.array([-1.0, 1.2, -0.8]), np.eye(3) * 0.05),
            Component(0.3, np.array([0.0, 0.0, 0.0]), np.eye(3) * 4.0, "robust"),
        ),
    )
    fit = laplace.posterior(cohorts, prior)
    exact = prior.update(estimate, V)
    np.testing.assert_allclose(fit.weights[0], exact.weights, atol=0.02)
    np.testing.assert_allclose(fit.modes[0, 0], exact.components[0].mean, atol=0.01)
