"""The generic command on a public dataset a user can get: the Rossi recidivism data that
ship with lifelines (432 people, weeks to re-arrest). Under `minimal`, each posterior
median HR lies within 0.2 posterior SD of lifelines' Weibull MLE on the same data."""

from __future__ import annotations

import math
from pathlib import Path

import lifelines
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from lifelines import WeibullAFTFitter
from typer.testing import CliRunner

from netlm_bayes.cli import app

ROSSI = Path(lifelines.__file__).parent / "datasets" / "rossi.csv"
COVARIATES = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


@pytest.mark.slow
def test_weibull_on_rossi_agrees_with_lifelines(tmp_path):
    args = [
        "fit", "hpfs_weibull", "--data", str(ROSSI), "--time", "week", "--event", "arrest",
        "--covariates", ",".join(COVARIATES), "--prior-set", "minimal", "--profile", "quick",
        "--out", str(tmp_path / "rossi"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "rossi" / "summary.csv").set_index("quantity")
    assert (summary["data_origin"] == "as supplied").all()
    assert summary.loc[[f"hr_{c}" for c in COVARIATES], "rhat"].max() <= 1.01

    frame = pd.read_csv(ROSSI)
    mle = WeibullAFTFitter().fit(frame, "week", "arrest", formula=" + ".join(COVARIATES))
    k = math.exp(mle.params_["rho_"]["Intercept"])
    trace = xr.open_datatree(tmp_path / "rossi" / "posterior.nc", engine="h5netcdf")
    beta = trace["posterior"]["beta"]
    for covariate in COVARIATES:
        draws = beta.sel(covariate=covariate).values.ravel()
        expected = -k * mle.params_["lambda_"][covariate]
        assert abs(np.median(draws) - expected) < 0.2 * draws.std(), covariate


FAIR_COVARIATES = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ"]


@pytest.mark.slow
def test_logistic_on_fair_agrees_with_statsmodels(tmp_path):
    """Fair's affairs data (6,366 women; statsmodels ships it), with the outcome that
    statsmodels' own logit example uses: any affair (affairs > 0). Under `minimal`, each
    posterior median log OR lies within 0.2 posterior SD of statsmodels' Logit MLE."""
    import statsmodels.api as sm

    frame = sm.datasets.fair.load_pandas().data
    frame["affair"] = (frame["affairs"] > 0).astype(int)
    # Centred, so that the intercept is the log odds at average covariates: the intercept's
    # own prior, Normal(0, 2.5), which `minimal` does not flatten, is then not at stake.
    frame[FAIR_COVARIATES] -= frame[FAIR_COVARIATES].mean()
    csv = tmp_path / "fair.csv"
    frame[["affair", *FAIR_COVARIATES]].to_csv(csv, index=False)
    args = [
        "fit", "response_logistic", "--data", str(csv), "--outcome", "affair",
        "--covariates", ",".join(FAIR_COVARIATES), "--prior-set", "minimal",
        "--profile", "quick", "--out", str(tmp_path / "fair"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    mle = sm.Logit(frame["affair"], sm.add_constant(frame[FAIR_COVARIATES])).fit(disp=0)
    trace = xr.open_datatree(tmp_path / "fair" / "posterior.nc", engine="h5netcdf")
    posterior = trace["posterior"]
    alpha = posterior["alpha"].values.ravel()
    assert abs(np.median(alpha) - mle.params["const"]) < 0.2 * alpha.std()
    for covariate in FAIR_COVARIATES:
        draws = posterior["beta"].sel(covariate=covariate).values.ravel()
        assert abs(np.median(draws) - mle.params[covariate]) < 0.2 * draws.std(), covariate
