"""The M-spline survival family: exact against the exponential where its hazard is
constant, its event times invert its cumulative hazard, its knots come from the data, and
on real data its hazard ratios agree with Cox's partial likelihood."""

from __future__ import annotations

import json
from pathlib import Path

import lifelines
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from lifelines import CoxPHFitter, KaplanMeierFitter
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError
from netlm_bayes.families.survival.mspline import MSpline
from netlm_bayes.families.survival.ops import LOG_LN2, NUMPY
from netlm_bayes.families.survival.registry import family
from netlm_bayes.fitting.patient import with_knots
from netlm_bayes.fitting.patient_spec import Overrides, load, read_data

KNOTS, BOUNDARY, T_REF = [2.0, 5.0, 9.0, 14.0], 30.0, 7.5
LIFELINES = Path(lifelines.__file__).parent / "datasets"
runner = CliRunner()


@pytest.fixture(scope="module")
def spline() -> MSpline:
    return family("mspline").configured(KNOTS, BOUNDARY, T_REF)


def test_a_constant_hazard_is_the_exponential_exactly(spline):
    """With the constant-hazard coefficients and eta_scale = b ln2 / m, log h and log S are
    the exponential's with median m, inside the knots and past the boundary."""
    rng = np.random.default_rng(0)
    log_u = np.log(rng.uniform(0.01, 2 * BOUNDARY / T_REF, 200))
    eta = rng.normal(0, 0.7, 200)
    log_m = 0.4
    params = {
        "coefficients": spline.basis.constant_hazard_coefficients(),
        "log_hazard_scale": np.log(BOUNDARY / T_REF) + LOG_LN2 - log_m,
    }
    log_h, log_s = spline.log_hazard_and_survival(NUMPY, log_u, eta, params)
    expected_h, expected_s = family("exponential").log_hazard_and_survival(
        NUMPY, log_u, eta, {"log_median": log_m}
    )
    np.testing.assert_allclose(log_h, expected_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(log_s, expected_s, rtol=1e-12, atol=1e-14)


def test_the_model_at_zero_smoothing_deviations_is_the_exponential_model():
    """The PyMC model's likelihood (basis as data, the simplex from the smoothing prior)
    against the exponential model's, at the point where every deviation is 0."""
    from netlm_bayes.families.survival import model as survival
    from netlm_bayes.fitting.prior_choice import choose_priors

    spec = load("hpfs_weibull", Overrides(likelihood="mspline"))
    data = read_data(spec)
    spec = with_knots(spec, data)
    chosen = choose_priors(spec, data, None, None)
    spline_model = survival.build_model(spec, data, chosen)
    exponential = survival.build_model(spec.model_copy(update={"likelihood": "exponential"}),
                                       data, chosen)  # fmt: skip
    boundary_u = spec.boundary_knot / data.reference_time
    for log_m in (-0.5, 0.3):
        point = spline_model.initial_point()
        point["smoothness_steps"] = np.zeros_like(point["smoothness_steps"])
        point["log_hazard_scale_at_mean"] = np.log(boundary_u) + LOG_LN2 - log_m
        reference = exponential.initial_point()
        reference["log_median_at_mean"] = np.array(log_m)
        reference["beta_per_sd"] = point["beta_per_sd"] = np.array([0.5, -0.2, 0.1, 0.3])
        ours = spline_model.compile_logp(vars=spline_model.observed_RVs)(point)
        theirs = exponential.compile_logp(vars=exponential.observed_RVs)(reference)
        assert ours == pytest.approx(theirs, rel=1e-10)


def test_event_times_invert_the_cumulative_hazard(spline):
    rng = np.random.default_rng(2)
    coefficients = rng.dirichlet(np.ones(spline.basis.size), size=(300, 1))
    params = {"coefficients": coefficients, "log_hazard_scale": rng.normal(0, 0.5, (300, 1))}
    cumulative = rng.exponential(size=(300, 1)) * 3  # some past the boundary's H0 = scale
    times = spline.event_time(cumulative, params, T_REF)
    _, integral = spline.basis.evaluate(times / T_REF)
    reached = np.exp(params["log_hazard_scale"]) * (integral * coefficients).sum(axis=-1)
    np.testing.assert_allclose(reached, cumulative, rtol=1e-9)
    assert (times > BOUNDARY).any() and (times < BOUNDARY).any()


def test_knots_default_to_quantiles_of_the_event_times_and_are_recorded():
    spec = load("hpfs_weibull", Overrides(likelihood="mspline", df=6))
    data = read_data(spec)
    resolved = with_knots(spec, data)
    events = data.time[data.event == 1]
    np.testing.assert_allclose(resolved.knots, np.quantile(events, [1 / 3, 2 / 3]))
    assert resolved.boundary_knot == data.time.max()
    assert with_knots(resolved, data) is resolved  # resolved once, for replicates too


def test_knots_past_the_follow_up_are_refused():
    spec = load("hpfs_weibull", Overrides(likelihood="mspline", knots=[5.0, 500.0]))
    with pytest.raises(InputError, match="past the largest follow-up"):
        with_knots(spec, read_data(spec))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--knots", "5,10"], "--likelihood 'mspline' too"),
        (["--likelihood", "mspline", "--knots", "5,10", "--df", "6"], "give one"),
        (["--likelihood", "mspline", "--knots", "10,5"], "increasing"),
    ],
)
def test_spline_flags_are_checked(flags, message, tmp_path):
    result = runner.invoke(app, ["fit", "hpfs_weibull", *flags, "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def _fit_cli(csv: Path, out: Path, *flags: str) -> tuple[xr.Dataset, str]:
    result = runner.invoke(app, ["fit", "hpfs_weibull", "--data", str(csv), "--likelihood",
                                 "mspline", *flags, "--prior-set", "minimal", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["diagnostics_passed"] is True
    tree = xr.open_datatree(out / "posterior.nc", engine="h5netcdf")
    return tree["posterior"].to_dataset(), result.output


def _cox_gaps(posterior: xr.Dataset, frame, time: str, event: str, covariates) -> dict:
    """Each log HR's posterior median minus Cox's estimate, in posterior SDs; `frame`'s
    columns named as the fit's coefficients."""
    cox = CoxPHFitter().fit(frame[[time, event, *covariates]], time, event)
    gaps = {}
    for c in covariates:
        draws = posterior["beta"].sel(covariate=c).values.ravel()
        gaps[c] = (np.median(draws) - cox.params_[c]) / draws.std()
    return gaps


@pytest.mark.slow
def test_rossi_hazard_ratios_agree_with_cox_and_the_curve_stays_in_the_km_band(tmp_path):
    """Rossi (432 people, weeks to re-arrest, raw covariates): every log HR within 0.2
    posterior SD of Cox's partial-likelihood estimate, and the cohort's survival curve
    inside the Kaplan-Meier curve's pointwise 95% band."""
    covariates = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    posterior, output = _fit_cli(LIFELINES / "rossi.csv", tmp_path / "run", "--time", "week",
                                 "--event", "arrest", "--covariates", ",".join(covariates))  # fmt: skip
    frame = pd.read_csv(LIFELINES / "rossi.csv")
    gaps = _cox_gaps(posterior, frame, "week", "arrest", covariates)
    assert max(abs(g) for g in gaps.values()) < 0.2, gaps
    assert "held at its value there" in " ".join(output.split())
    curves = pd.read_csv(tmp_path / "run" / "survival_curves.csv")
    # Before the first event the KM band is the single point S = 1, which no continuous
    # hazard meets; from the first event on it has a width to be inside of.
    first_event = frame.week[frame.arrest == 1].min()
    cohort = curves[(curves.pattern == "cohort") & (curves.time >= first_event)]
    km = KaplanMeierFitter().fit(frame.week, frame.arrest)
    band = km.confidence_interval_survival_function_
    at = np.searchsorted(band.index.values, cohort.time.values, side="right") - 1
    low, high = band.iloc[at, 0].values, band.iloc[at, 1].values
    inside = (cohort["median"].values >= low - 1e-9) & (cohort["median"].values <= high + 1e-9)
    assert inside.all(), cohort[~inside]


@pytest.mark.slow
def test_gbsg2_hazard_ratios_agree_with_cox(tmp_path):
    """GBSG2 (686 women, days to recurrence): age in years, tumour size in mm, positive
    nodes and two receptor counts as they come, and hormone therapy."""
    from lifelines.datasets import load_gbsg2

    csv = tmp_path / "gbsg2.csv"
    load_gbsg2().to_csv(csv, index=False)  # hormone therapy as its labels, yes / no
    covariates = ["horTh", "age", "tsize", "pnodes", "progrec", "estrec"]
    posterior, _ = _fit_cli(csv, tmp_path / "run", "--time", "time", "--event", "cens",
                            "--covariates", ",".join(covariates))  # fmt: skip
    # Cox needs numbers: the same treatment coding the fit chose (reference: no)
    frame = pd.read_csv(csv).assign(**{"horTh[yes]": lambda f: (f.horTh == "yes").astype(int)})
    coded = ["horTh[yes]", *covariates[1:]]
    gaps = _cox_gaps(posterior, frame, "time", "cens", coded)
    assert max(abs(g) for g in gaps.values()) < 0.2, gaps


def test_the_spline_samples_with_smaller_steps_and_other_families_do_not():
    from netlm_bayes.fitting.patient import family_profile
    from netlm_bayes.sampling.sampler import load_profile

    default = load_profile("default")
    assert family_profile(default, family("mspline")).target_accept == 0.99
    assert family_profile(default, family("weibull")) is default
    assert family_profile(default, None) is default
