"""The frequentist analysis equals lifelines and statsmodels called directly, and says so
when the data cannot support an estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import CoxPHFitter, KaplanMeierFitter

from netlm_bayes.errors import InputError
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence.cohort import COVARIATES
from netlm_bayes.frequentist import analysis as frequentist


def simulated_cohort(seed: int = 5, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 4)) < [0.6, 0.35, 0.35, 0.6]).astype(int)
    time = rng.weibull(1.2, n) * 14 * np.exp(-(X @ [1.0, 0.3, 0.0, -0.2]) / 1.2)
    follow = rng.uniform(4, 36, n)
    non_responder = rng.random(n) < 1 / (1 + np.exp(-(-2 + X @ [0.2, 1.2, 1.5, -1.5])))
    response = np.where(
        non_responder, rng.choice(["SD", "PD"], n), rng.choice(["CR", "PR"], n, p=[0.1, 0.9])
    )
    return pd.DataFrame(
        {
            "patient_id": [f"S{i}" for i in range(n)],
            "hpfs_months": np.round(np.minimum(time, follow), 3) + 0.001,
            "progressed": (time < follow).astype(int),
            "response": response,
            **{c: X[:, j] for j, c in enumerate(COVARIATES)},
        }
    )


@pytest.fixture(scope="module")
def data():
    return cohort.validate_cohort(simulated_cohort())


@pytest.fixture(scope="module")
def result(data):
    return frequentist.analyse(data)


def test_multivariable_cox_equals_lifelines(data, result):
    reference = (
        CoxPHFitter()
        .fit(data[["hpfs_months", "progressed", *COVARIATES]], "hpfs_months", "progressed")
        .summary
    )
    ours = result.cox[result.cox["model"] == "multivariable"].set_index("covariate")
    np.testing.assert_allclose(ours["hr"], reference["exp(coef)"], rtol=1e-8)
    np.testing.assert_allclose(ours["ci95_low"], reference["exp(coef) lower 95%"], rtol=1e-8)
    np.testing.assert_allclose(ours["p"], reference["p"], rtol=1e-8)


def test_univariate_cox_equals_lifelines(data, result):
    reference = CoxPHFitter().fit(
        data[["hpfs_months", "progressed", "ki67_gt10"]], "hpfs_months", "progressed"
    )
    assert result.value("cox", "univariate", "ki67_gt10", "hr") == pytest.approx(
        float(reference.summary.loc["ki67_gt10", "exp(coef)"]), rel=1e-8
    )


def test_multivariable_logistic_equals_statsmodels(data, result):
    outcome = (~data["response"].isin(["CR", "PR"])).astype(float)
    reference = sm.Logit(outcome, sm.add_constant(data[COVARIATES].astype(float))).fit(disp=0)
    ours = result.logistic[result.logistic["model"] == "multivariable"].set_index("covariate")
    np.testing.assert_allclose(ours["or"], np.exp(reference.params[COVARIATES]), rtol=1e-6)
    np.testing.assert_allclose(ours["p"], reference.pvalues[COVARIATES], rtol=1e-6)
    low = np.exp(reference.conf_int().loc[COVARIATES, 0])
    np.testing.assert_allclose(ours["ci95_low"], low, rtol=1e-6)


def test_km_median_and_ci_equal_lifelines(data, result):
    fitter = KaplanMeierFitter().fit(data["hpfs_months"], data["progressed"])
    overall = result.km.set_index("covariate").loc["overall"]
    assert overall["median_months"] == pytest.approx(fitter.median_survival_time_)
    assert overall["ci95_low"] <= overall["median_months"] <= overall["ci95_high"]


def test_response_counts_and_exact_orr(data, result):
    response = result.response.set_index("covariate")
    assert response.loc[["CR", "PR", "SD", "PD"], "count"].sum() == len(data)
    k = int(data["response"].isin(["CR", "PR"]).sum())
    assert response.loc["ORR", "count"] == k
    assert response.loc["ORR", "ci95_low"] < k / len(data) < response.loc["ORR", "ci95_high"]


def test_ph_test_is_reported(result):
    assert result.cox["ph_test_p"].between(0, 1).all()


def test_quasi_separation_is_reported_not_estimated():
    frame = simulated_cohort(seed=6)
    frame.loc[frame["pet_positive"] == 1, "response"] = "SD"  # every PET+ patient a non-responder
    result = frequentist.analyse(cohort.validate_cohort(frame))
    row = result.logistic[
        (result.logistic["model"] == "multivariable")
        & (result.logistic["covariate"] == "pet_positive")
    ].iloc[0]
    assert "separation" in row["separation"]
    assert np.isnan(row["or"])
    assert any("pet_positive" in w and "separation" in w for w in result.warnings)


def test_no_events_is_a_clear_error():
    frame = simulated_cohort().assign(progressed=0)
    with pytest.raises(InputError, match="no patient progressed"):
        frequentist.analyse(cohort.validate_cohort(frame))


def test_constant_covariate_is_left_out_with_a_warning():
    frame = simulated_cohort().assign(border_clear=1)
    result = frequentist.analyse(cohort.validate_cohort(frame))
    assert "border_clear" not in set(result.cox["covariate"])
    assert any("constant" in w for w in result.warnings)


def test_median_not_reached_is_infinite():
    frame = simulated_cohort()
    frame["progressed"] = 0
    frame.loc[frame.index[:5], "progressed"] = 1
    result = frequentist.analyse(cohort.validate_cohort(frame))
    assert np.isinf(result.value("km", None, "overall", "median_months"))
