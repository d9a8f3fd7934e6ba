"""Survival from external survivor counts alone, with no patient data (`fit --data none
--external FILE`, API `SurvivalModel(external=...).fit_external()`): the model's density is
the prior times the binomials exactly, the exponential's posterior equals the one computed
on a grid, and the commands that need patients say so."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.external_counts import life_table, read_external_counts
from netlm_bayes.families.survival import model as survival
from netlm_bayes.fitting.patient import with_horizons
from netlm_bayes.fitting.patient_spec import Overrides, load, read_data
from netlm_bayes.fitting.prior_choice import choose_priors
from tests.families.exact_grid import assert_quantiles_on_the_grid

runner = CliRunner()
# A published life table, as a reader would copy it: of 200 patients, 150 event-free at
# 12 months, 110 of those 150 at 24, 85 of those 110 at 36.
LIFE_TABLE = "start,stop,n,r\n0,12,200,150\n12,24,150,110\n24,36,110,85\n"


@pytest.fixture
def counts_file(tmp_path) -> Path:
    path = tmp_path / "life_table.csv"
    path.write_text(LIFE_TABLE)
    return path


def _log_posterior_kernel(grid, counts, t_ref, prior):
    """log prior + log binomials of the exponential at log(m / t_ref) = grid, written out."""
    rate = np.log(2) / (t_ref * np.exp(grid))
    total = stats.norm.logpdf(grid, prior.mu, prior.sigma)
    for start, stop, n, r in zip(counts.start, counts.stop, counts.n, counts.r, strict=True):
        total = total + stats.binom.logpmf(r, n, np.exp(-rate * (stop - start)))
    return total


def test_the_density_is_the_prior_times_the_binomials(counts_file):
    """No patients: the model's whole log density (not only the counts' term) at several
    points equals the model file's normal prior on log(m / t_ref) plus the binomials, with
    t_ref the counts' median stop time (24)."""
    spec = load("hpfs_weibull", Overrides(data=Path("none"), likelihood="exponential",
                                          external=counts_file))  # fmt: skip
    data = read_data(spec)
    spec = with_horizons(spec, data)
    assert data.n == 0 and data.covariates == [] and data.reference_time == 24.0
    model = survival.build_model(spec, data, choose_priors(spec, data, None, None))
    logp = model.compile_logp(sum=True)
    counts = read_external_counts(counts_file, [])
    prior = spec.baseline.log_median
    for x in (-1.3, -0.2, 0.0, 0.4, 2.1):
        point = {**model.initial_point(), "log_median_at_mean": np.asarray(x)}
        expected = _log_posterior_kernel(np.asarray(x), counts, 24.0, prior)
        assert float(logp(point)) == pytest.approx(float(expected), rel=1e-10, abs=1e-9)


def test_the_exponential_posterior_from_counts_alone_is_the_one_on_a_grid(counts_file):
    """One parameter, so the exact posterior is a sum on a fine grid. (The binomial is not
    conjugate to the model's normal prior on the log median, so the exact answer is the
    grid's.) The sampled 5%, 50% and 95% quantiles within 4 Monte Carlo SEs of it."""
    from netlm_bayes.api import SurvivalModel

    fitted = SurvivalModel(
        "exponential", external=pd.read_csv(counts_file), time_unit="months"
    ).fit_external()
    assert fitted.passed, fitted.fit.diagnostics.failures
    assert fitted.data.n == 0 and "no patients" in repr(fitted)
    draws = fitted.fit.trace["posterior"]["log_median_at_mean"]
    counts = read_external_counts(counts_file, [])
    prior = load("hpfs_weibull", Overrides()).baseline.log_median
    grid = np.linspace(-4, 4, 400_001)
    log_post = _log_posterior_kernel(grid, counts, 24.0, prior)
    cdf = assert_quantiles_on_the_grid(draws, grid, log_post)
    median = fitted.summary.set_index("quantity").loc["median_survival", "median"]
    assert median == pytest.approx(24.0 * np.exp(np.interp(0.5, cdf, grid)), rel=0.03)


def test_the_life_table_chains_rows_from_zero(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("start,stop,n,r\n12,24,150,110\n0,12,200,150\n30,40,10,5\n")
    times, estimates = life_table(read_external_counts(path, []))
    assert times.tolist() == [12.0, 24.0]  # the row from 30 is reached by no chain
    assert estimates == pytest.approx([0.75, 0.75 * 110 / 150])


@pytest.fixture(scope="module")
def counts_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("external_alone")
    counts = folder / "life_table.csv"
    counts.write_text(LIFE_TABLE)
    out = folder / "run"
    args = ["fit", "hpfs_weibull", "--data", "none", "--external", str(counts),
            "--likelihood", "exponential", "--profile", "quick", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, counts, result.output


def test_the_command_line_fits_the_counts_alone(counts_run):
    out, _, output = counts_run
    assert "no patients: external counts alone" in " ".join(output.split())
    for name in ("posterior.nc", "summary.csv", "survival_curves.csv", "survival.png"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "manifest.json").read_text())
    spec = manifest["spec"]
    assert spec["data"] == "none" and spec["covariates"] == []
    # not the model file's own outcome or unit: the counts name neither
    assert spec["time"] == "time" and "unnamed" in spec["time_unit"]
    summary = pd.read_csv(out / "summary.csv").set_index("quantity")
    # the counts' own 36-month estimate 0.425 implies a median of about 29 under a
    # constant hazard; the posterior median is there
    assert 24 < summary.loc["median_survival", "median"] < 35


def test_a_check_that_needs_patients_says_so(counts_run):
    out, _, _ = counts_run
    result = runner.invoke(app, ["ppc", str(out)])
    assert result.exit_code == 2 and "there are none" in " ".join(result.output.split())
    result = runner.invoke(app, ["compare-families", "hpfs_weibull", "--data", "none"])
    assert result.exit_code == 2 and "PSIS-LOO over patients" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ([], "give the survivor counts to fit"),
        (["--external", "{counts}", "--covariates", "age"], "no cohort to centre covariates"),
        (["--external", "{counts}", "--likelihood", "mspline"], "place its interior knots"),
    ],
)
def test_no_patients_without_what_it_needs_is_refused(counts_file, extra, expected):
    args = ["fit", "hpfs_weibull", "--data", "none",
            *(a.format(counts=counts_file) for a in extra)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_response_model_takes_no_counts_alone(counts_file):
    with pytest.raises(InputError, match="fits a survival model to external counts alone"):
        load("response_logistic", Overrides(data=Path("none"), external=counts_file))


def test_fit_external_needs_the_counts():
    from netlm_bayes.api import SurvivalModel

    with pytest.raises(InputError, match=r"SurvivalModel\(external=\.\.\.\)"):
        SurvivalModel("exponential").fit_external()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--likelihood", "weibull", "--cure"], "Cure fraction from counts alone"),
        (["--likelihood", "mspline", "--knots", "12,24"], "M-spline baseline"),
    ],
)
def test_counts_alone_work_with_cure_and_the_m_spline(tmp_path, counts_file, extra, said):
    """Every family takes counts alone; a cure fraction there is an assumption and says so
    (no patients to show a plateau), and its draws with no cure covariates summarise."""
    out = tmp_path / "run"
    args = ["fit", "hpfs_weibull", "--data", "none", "--external", str(counts_file),
            "--time-unit", "months", "--profile", "quick", "--out", str(out), *extra]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert said in " ".join(result.output.split())
    summary = pd.read_csv(out / "summary.csv").set_index("quantity")
    assert np.isfinite(summary.loc["median_survival", "median"])
    if "--cure" in extra:
        assert 0 < summary.loc["cure_fraction", "median"] < 1


def test_an_m_spline_without_knots_is_refused_from_the_api_too(counts_file):
    """The knots check sits where knots are placed, so every way in meets it."""
    from netlm_bayes.api import SurvivalModel

    with pytest.raises(InputError, match="place its interior knots"):
        SurvivalModel("mspline", external=counts_file).fit_external()
