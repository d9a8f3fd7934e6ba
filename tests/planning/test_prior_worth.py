"""Effective sample size against its closed form and its defining property."""

from __future__ import annotations

import numpy as np
import pytest

from netlm_bayes.planning import prior_worth as priorinfo
from netlm_bayes.priors.mixture import Component, MixturePrior


def _normal(mean, var):
    return MixturePrior(("t",), (Component(1.0, np.array([mean]), np.array([[var]])),))


def _robust():
    return MixturePrior(
        ("t",),
        (
            Component(0.8, np.array([1.0]), np.array([[0.25]])),
            Component(0.2, np.array([0.0]), np.array([[1.0]]), "robust"),
        ),
    )


def test_one_normal_is_worth_unit_variance_over_its_variance():
    prior = _normal(0.7, 0.2)
    assert priorinfo.ess_elir(prior, "t", 4.0) == pytest.approx(20.0, rel=1e-9)
    assert priorinfo.ess_moment(prior, "t", 4.0) == pytest.approx(20.0, rel=1e-12)


@pytest.mark.parametrize("n", [1, 5, 20])
def test_elir_is_predictively_consistent(n):
    """Neuenschwander et al. (2020): averaged over the prior predictive, the posterior after
    n units is worth the prior's ESS plus n (normal likelihood, unit variance 1)."""
    prior = _robust()
    before = priorinfo.ess_elir(prior, "t", 1.0)
    rng = np.random.default_rng(n)
    theta = prior.sample(rng, 3000)[:, 0]
    estimates = theta + rng.standard_normal(theta.size) / np.sqrt(n)
    after = [priorinfo.ess_elir(_posterior(prior, y, 1.0 / n), "t", 1.0) for y in estimates]
    gain, se = np.mean(after) - before, np.std(after) / np.sqrt(len(after))
    assert abs(gain - n) < 4 * se + 0.02, (gain, se)


def _posterior(prior: MixturePrior, y: float, v: float) -> MixturePrior:
    """The conjugate update of a 1-D normal mixture, written out."""
    w, m, s2 = (
        prior.weights,
        np.array([c.mean[0] for c in prior.components]),
        np.array([c.cov[0, 0] for c in prior.components]),
    )
    log_w = np.log(w) - 0.5 * np.log(s2 + v) - 0.5 * (y - m) ** 2 / (s2 + v)
    w_post = np.exp(log_w - log_w.max())
    w_post /= w_post.sum()
    var = 1 / (1 / s2 + 1 / v)
    mean = var * (m / s2 + y / v)
    return MixturePrior(
        ("t",),
        tuple(
            Component(wk, np.array([mk]), np.array([[vk]]))
            for wk, mk, vk in zip(w_post, mean, var, strict=True)
        ),
    )


def test_a_robust_mixture_has_a_smaller_moment_ess_than_elir():
    prior = _robust()
    assert priorinfo.ess_moment(prior, "t", 1.0) < priorinfo.ess_elir(prior, "t", 1.0)
    assert priorinfo.ess_elir(prior, "t", 1.0) < priorinfo.ess_elir(_normal(1.0, 0.25), "t", 1.0)


def test_the_conflict_checks_cohort_estimate_is_the_weibull_mle_for_an_effect_only_prior():
    """A MAP prior carries an effect and no baseline. The cohort's own estimate must still
    be its maximum-likelihood estimate when times are in days (log median near 6): it
    was 0.012 against lifelines' 0.060 when the baseline started at 0."""
    import statsmodels.api as sm
    from lifelines import WeibullAFTFitter

    from netlm_bayes.priors.exported import ExportedPrior
    from netlm_bayes.sampling import laplace

    heart = sm.datasets.heart.load_pandas().data
    aft = WeibullAFTFitter().fit(heart, "survival", "censors")
    rho = np.exp(aft.params_["rho_"]["Intercept"])
    log_hr = -aft.params_["lambda_"]["age"] * rho  # AFT to PH
    prior = MixturePrior(("age",), (Component(1.0, np.array([0.044]), np.array([[4e-4]])),))
    exported = ExportedPrior(prior, "weibull", {}, {}, ("age",), np.array([[0.017]]), {}, {},
                             {})  # fmt: skip
    X = heart[["age"]].to_numpy(float)
    cohort = laplace.Cohorts(
        exported.centred(X, ["age"])[None], time=heart["survival"].to_numpy(float)[None],
        event=heart["censors"].to_numpy(float)[None],
    )  # fmt: skip
    estimate, cov = priorinfo.cohort_estimate(exported, cohort, ["age"])
    se = aft.standard_errors_["lambda_"]["age"] * rho
    assert estimate[0] == pytest.approx(log_hr, abs=0.05 * se)
    assert np.sqrt(cov[0, 0]) == pytest.approx(se, rel=0.05)
