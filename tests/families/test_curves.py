"""Medians, RMST and curves from draws, against closed forms and numerical integration."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy import integrate

from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import curves
from netlm_bayes.families.survival import model as survival
from netlm_bayes.families.survival.registry import family

DATA = ModelData(
    source=Path("toy"), sha256="", covariates=["x"], X=np.array([[0.0], [1.0], [1.0], [0.0]]),
    synthetic=True, time=np.array([2.0, 4.0, 6.0, 8.0]), event=np.array([1, 0, 1, 1]),
)  # fmt: skip
T_REF = DATA.reference_time  # 5.0


def _posterior(**scalars: list[float]) -> xr.Dataset:
    beta = scalars.pop("beta")
    variables = {name: (("chain", "draw"), [values]) for name, values in scalars.items()}
    variables["beta"] = (("chain", "draw", "covariate"), [[[b] for b in beta]])
    return xr.Dataset(variables, coords={"covariate": ["x"]})


def test_weibull_medians_match_the_closed_form():
    log_m, log_k, beta = [0.1, -0.3], [0.2, 0.5], [0.7, -0.4]
    derived = curves.derived(
        _posterior(log_median=log_m, log_shape=log_k, beta=beta), "weibull", DATA, []
    )
    for i in range(2):
        k = math.exp(log_k[i])
        reference = T_REF * math.exp(log_m[i])
        exposed = reference * math.exp(-beta[i] / k)  # H = ln2 (t/m)^k e^beta = ln2
        assert derived["median_survival[x=0]"][0, i] == pytest.approx(reference, rel=1e-8)
        assert derived["median_survival[x=1]"][0, i] == pytest.approx(exposed, rel=1e-8)


def test_cohort_median_is_where_the_average_curve_crosses_one_half():
    posterior = _posterior(log_median=[0.1], log_shape=[0.2], beta=[0.9])
    median = curves.derived(posterior, "weibull", DATA, [])["median_survival"][0, 0]
    params = {"log_median": 0.1, "log_shape": 0.2}
    _, log_s = family("weibull").log_hazard_and_survival(
        survival.NUMPY, np.log(median / T_REF), np.array([0.0, 0.9]), params
    )
    assert np.exp(log_s).mean() == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("likelihood", ["weibull", "lognormal", "loglogistic", "gompertz"])
def test_rmst_is_the_area_under_the_curve(likelihood):
    values = {"log_median": [0.3], "log_shape": [0.4], "log_sigma": [-0.1], "rate": [-0.6],
              "log_hazard0": [-1.2], "beta": [0.5]}  # fmt: skip
    posterior = _posterior(**values)
    horizon = 7.5
    got = curves.derived(posterior, likelihood, DATA, [horizon])[f"rmst_{horizon:g}[x=1]"][0, 0]
    params = {name: v[0] for name, v in values.items() if name != "beta"}

    def survival_at(t: float) -> float:
        if t == 0:
            return 1.0
        _, log_s = family(likelihood).log_hazard_and_survival(
            survival.NUMPY, math.log(t / T_REF), 0.5, params
        )
        return math.exp(log_s)

    expected, _ = integrate.quad(survival_at, 0, horizon, epsabs=1e-12)
    assert got == pytest.approx(expected, rel=1e-6)


def test_a_curve_that_never_reaches_one_half_has_an_infinite_median():
    """A Gompertz with a strongly falling hazard levels off above 0.5: no median."""
    posterior = _posterior(log_hazard0=[-3.0], rate=[-2.0], beta=[0.0])
    median = curves.derived(posterior, "gompertz", DATA, [])["median_survival"]
    assert np.isinf(median).all()


def test_curve_table_bands_contain_their_medians_and_start_at_one():
    posterior = _posterior(log_median=[0.0, 0.2, 0.4], log_shape=[0.1, 0.2, 0.3], beta=[0.5] * 3)
    table = curves.curve_table(posterior, "weibull", DATA, 10.0, points=20)
    assert set(table["pattern"]) == {"cohort", "x=0", "x=1"}
    assert (table["eti95_low"] <= table["median"]).all()
    assert (table["median"] <= table["eti95_high"]).all()
    assert np.allclose(table.loc[table["time"] == 0, "median"], 1.0)
    assert table["time"].max() == 10.0


def test_unique_rows_match_numpy_on_ties_and_without_covariates():
    rng = np.random.default_rng(3)
    rows = np.column_stack([rng.integers(0, 3, 500), rng.normal(size=500).round(1),
                            rng.integers(0, 2, 500)]).astype(float)  # fmt: skip
    for case in (rows, rows[:, :0], rows[:1]):
        ours = curves._unique_rows(case)
        theirs = np.unique(case, axis=0, return_counts=True)
        for mine, numpys in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(mine, numpys)
