"""The search's fast fits agree with lifelines and statsmodels on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import CoxPHFitter, KaplanMeierFitter

from netlm_bayes.frequentist import fastfit


@pytest.fixture(scope="module")
def simulated():
    rng = np.random.default_rng(4)
    n = 120
    X = (rng.random((n, 3)) < [0.5, 0.3, 0.6]).astype(float)
    time = rng.weibull(1.3, n) * 10 * np.exp(-(X @ [0.8, -0.4, 0.2]) / 1.3)
    follow = rng.uniform(5, 30, n)
    event = (time < follow).astype(int)
    time = np.minimum(time, follow)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + X @ [1.0, -0.5, 0.3])))).astype(float)
    return X, time, event, y


def test_grouped_batch_matches_patient_level_fit(simulated):
    X, _, _, y = simulated
    design = sm.add_constant(X)
    cells, index = np.unique(X, axis=0, return_inverse=True)
    n = np.bincount(index, minlength=len(cells))[None].astype(float)
    events = np.bincount(index, weights=y, minlength=len(cells))[None]
    beta, se, ok = fastfit.grouped_logistic_batch(sm.add_constant(cells), n, events, np.zeros(4))
    reference = sm.Logit(y, design).fit(disp=0)
    assert ok[0]
    np.testing.assert_allclose(beta[0], reference.params, rtol=1e-6)
    np.testing.assert_allclose(se[0], reference.bse, rtol=1e-6)


def test_cox_matches_lifelines(simulated):
    X, time, event, _ = simulated
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(time=time, event=event)
    reference = CoxPHFitter().fit(frame, "time", "event").summary
    beta, se, converged = fastfit.cox(time, event, X)
    assert converged
    np.testing.assert_allclose(beta, reference["coef"], rtol=1e-5)
    np.testing.assert_allclose(se, reference["se(coef)"], rtol=1e-5)


def test_km_median_matches_lifelines(simulated):
    _, time, event, _ = simulated
    reference = KaplanMeierFitter().fit(time, event).median_survival_time_
    assert fastfit.km_median(time, event) == pytest.approx(reference)


def test_km_median_not_reached():
    assert fastfit.km_median(np.array([1.0, 2.0, 3.0]), np.array([1, 0, 0])) == float("inf")


def test_km_curve_matches_lifelines_with_ties_and_censoring():
    rng = np.random.default_rng(11)
    time = np.round(rng.exponential(10, 120))  # whole months: many ties
    event = rng.random(120) < 0.7
    times, survival = fastfit.km_curve(time, event)
    expected = KaplanMeierFitter().fit(time, event).survival_function_.iloc[:, 0]
    np.testing.assert_allclose(times, expected.index.to_numpy())
    np.testing.assert_allclose(survival, expected.to_numpy(), rtol=1e-12)
