"""The Python API: a DataFrame in, a posterior out, as the CLI would give it; and a survival
family added as one class, with everything else shared."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines.datasets import load_rossi
from scipy import optimize, stats

from netlm_bayes import ResponseModel, SurvivalModel, plan
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import ordered_levels
from netlm_bayes.families.survival import registry
from netlm_bayes.families.survival.weibull import Weibull
from netlm_bayes.paths import PROJECT_ROOT
from netlm_bayes.study import fit_patient

COHORT = PROJECT_ROOT / "data" / "pseudo_cohort.csv"
LOG2 = math.log(2.0)


def _within(fitted, quantity: str, reference: float, posterior_sds: float) -> None:
    """The posterior median of log(quantity) lies within `posterior_sds` posterior SDs of the
    reference (the posterior SD read from the 95% interval's width)."""
    row = fitted.summary.set_index("quantity").loc[quantity]
    sd = (math.log(row.eti95_high) - math.log(row.eti95_low)) / (2 * 1.96)
    gap = abs(math.log(row["median"]) - reference) / sd
    assert gap < posterior_sds, f"{quantity}: {gap:.2f} posterior SDs from the reference"


@pytest.fixture(scope="module")
def rossi_fit():
    rossi = load_rossi()
    fitted = SurvivalModel("weibull", prior_set="minimal", profile="quick").fit(
        rossi, duration_col="week", event_col="arrest", covariates=["fin", "age", "prio"]
    )
    return rossi, fitted


def test_three_lines_fit_a_dataframe_as_lifelines_does(rossi_fit):
    """lifelines' own dataset as it comes (age in years, weeks): the Weibull PH posterior
    under the nearly flat prior against lifelines' maximum likelihood on the same data."""
    from lifelines import WeibullAFTFitter

    rossi, fitted = rossi_fit
    assert fitted.passed
    aft = WeibullAFTFitter().fit(rossi[["week", "arrest", "fin", "age", "prio"]], "week", "arrest")
    rho = math.exp(aft.params_.loc[("rho_", "Intercept")])
    for covariate in ("fin", "age", "prio"):
        log_hr = -aft.params_.loc[("lambda_", covariate)] * rho
        _within(fitted, f"hr_{covariate}", log_hr, 0.25)
    table = fitted.summary
    assert {"quantity", "median", "eti95_low", "prob_gt_1", "rhat", "ess_bulk"} <= set(table)
    assert fitted.posterior["posterior"]["beta"].sizes["covariate"] == 3
    assert fitted.spec.time_unit.startswith("units of week")


def test_the_api_and_the_cli_give_the_same_posterior(tmp_path):
    """`netlm-bayes fit` reads a CSV; the API takes the same table as a DataFrame. Both take
    `api.fit_spec`, so on one machine and seed their summaries agree."""
    cli = fit_patient.run("hpfs_weibull", profile="quick", out=tmp_path / "run")
    frame = pd.read_csv(COHORT)
    api = SurvivalModel("weibull", profile="quick").fit(
        frame, duration_col="hpfs_months", event_col="progressed",
        covariates=list(cli.spec.covariates),
    )  # fmt: skip
    ours, theirs = api.summary.set_index("quantity"), cli.fit.summary.set_index("quantity")
    assert list(ours.index) == list(theirs.index)
    np.testing.assert_allclose(ours["median"], theirs["median"], rtol=1e-9)
    assert api.data.synthetic  # the pseudo-cohort's rows say so, as a DataFrame too
    assert set(api.summary["data_origin"]) == {"synthetic: not patient data"}
    written = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert list(written.columns) == list(api.summary.columns)
    assert set(api.survival_curves()["data_origin"]) == {"synthetic: not patient data"}


def test_a_fit_becomes_a_prior_that_the_next_fit_accepts(rossi_fit, tmp_path):
    rossi, fitted = rossi_fit
    prior = fitted.to_prior(tmp_path / "rossi.json", effects=["fin"])
    assert (tmp_path / "rossi.json").is_file()
    assert prior.effects == ("fin",)
    assert prior.baseline_pattern["age"] == pytest.approx(rossi["age"].mean())
    again = SurvivalModel("weibull", prior=tmp_path / "rossi.json", profile="quick").fit(
        rossi, duration_col="week", event_col="arrest", covariates=["fin", "age", "prio"]
    )
    assert "exported prior" in again.priors.label
    axes = fitted.plot_survival()  # on a new figure when no ax= is given
    assert axes.lines and axes.figure is not None


def test_refit_reuses_the_compiled_model_on_another_cohort(rossi_fit):
    """The same patients in another row order are the same data: the refit's posterior
    differs from the first only by Monte Carlo error."""
    rossi, fitted = rossi_fit
    shuffled = fitted.refit(rossi.sample(frac=1.0, random_state=0), seed=7)
    assert shuffled.compiled is fitted.compiled and shuffled.seed == 7
    for covariate in ("fin", "age", "prio"):
        first = fitted.summary.set_index("quantity").loc[f"hr_{covariate}"]
        _within(shuffled, f"hr_{covariate}", math.log(first["median"]), 0.15)


def test_plan_from_a_prior_made_in_python(rossi_fit):
    """Assurance for a next cohort, all from a notebook: the fit's prior, the DataFrame's
    covariate rows. Analysed on its own data, a cohort four times larger meets the criterion
    clearly more often."""
    rossi, fitted = rossi_fit
    prior = fitted.to_prior(effects=["fin"])
    result = plan(
        prior, "P(HR_fin < 1) > 0.9", sizes=[60, 240], simulations=40, analysis="own",
        covariates_from=rossi, accrual=52, follow_up=52, workers=1,
    )  # fmt: skip
    table = result.table.set_index("n")
    assert list(table.index) == [60, 240]
    assert table.loc[240, "assurance"] > table.loc[60, "assurance"] + 2 * table["mc_se"].max()
    assert table.loc[240, "median_events"] > 3 * table.loc[60, "median_events"]
    assert (result.draws.groupby("n").size() == 40).all()
    with pytest.raises(InputError, match="covariates_from"):
        plan(prior, "P(HR_fin < 1) > 0.9", sizes=[60], simulations=20)


def test_logistic_response_on_uncentred_covariates_matches_the_mle():
    rng = np.random.default_rng(3)
    n = 400
    age = rng.normal(62, 9, n).round()
    dose = rng.choice([0, 10, 20], n)
    z = -4.0 + 0.05 * age + 0.04 * dose
    table = pd.DataFrame(
        {"age": age, "dose": dose, "resp": rng.uniform(size=n) < 1 / (1 + np.exp(-z))}
    )
    table["resp"] = table["resp"].astype(int)
    fitted = ResponseModel("logistic", prior_set="minimal", profile="quick").fit(table, "resp")
    assert fitted.passed
    mle = sm.Logit(table["resp"], sm.add_constant(table[["age", "dose"]])).fit(disp=0).params
    _within(fitted, "or_age", mle["age"], 0.25)
    _within(fitted, "or_dose", mle["dose"], 0.25)


def test_no_covariates_fits_the_baseline_alone_and_bookkeeping_is_never_a_covariate():
    """covariates=[] means none; by default every other column is a covariate, except
    patient_id and data_origin (a reconstructed cohort has both). The intercept-only
    logistic gives the response rate, here against its exact Beta posterior."""
    rng = np.random.default_rng(8)
    table = pd.DataFrame(
        {
            "patient_id": np.arange(1, 201),
            "resp": (rng.uniform(size=200) < 0.3).astype(int),
            "data_origin": "as supplied",
        }
    )
    default = ResponseModel("logistic", prior_set="minimal", profile="quick").fit(table, "resp")
    explicit = ResponseModel("logistic", prior_set="minimal", profile="quick").fit(
        table, "resp", covariates=[]
    )
    for fitted in (default, explicit):
        assert fitted.passed and fitted.data.covariates == []
        rate = fitted.summary.set_index("quantity").loc["resp_rate"]
        exact = stats.beta(table["resp"].sum() + 1, 200 - table["resp"].sum() + 1)
        assert abs(rate["median"] - exact.median()) < 0.1 * exact.std()


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(InputError, match="DataFrame"):
        SurvivalModel().fit([[1, 2]], duration_col="t", event_col="e")
    with pytest.raises(InputError, match="no column 'weeks'"):
        SurvivalModel().fit(load_rossi(), duration_col="weeks", event_col="arrest")
    with pytest.raises(InputError, match="likelihood 'gamma'"):
        SurvivalModel("gamma")
    with pytest.raises(InputError, match="logistic or ordinal"):
        ResponseModel("poisson")
    with pytest.raises(InputError, match="categories"):
        ordered_levels(pd.DataFrame({"grade": ["low", "high"]}), "grade")
    assert ordered_levels(pd.DataFrame({"ecog": [2, 0, 1, 10]}), "ecog") == ["0", "1", "2", "10"]


class Rayleigh(Weibull):
    """A new family in one class: the Weibull with its shape fixed at 2."""

    name = "rayleigh"
    shape_priors: ClassVar[dict[str, str]] = {}

    def log_shape(self, params, ops):
        return LOG2

    def median_shift_scale(self, params, ops):
        return 2.0

    def event_time(self, cumulative, params, t_ref):
        return super().event_time(cumulative, {**params, "log_shape": LOG2}, t_ref)

    def reported_shape(self, posterior, t_ref):
        return {}


def _rayleigh_mle(table: pd.DataFrame) -> np.ndarray:
    """[log m0, beta_x, beta_age] by maximum likelihood, written independently of the package
    with scipy's Weibull density: S(t) = exp(-ln2 (t/m0)^2 e^eta)."""

    def negative(theta):
        log_m0, beta = theta[0], theta[1:]
        eta = table[["x", "age"]].to_numpy() @ beta
        scale = np.exp(log_m0) * (math.log(2) * np.exp(eta)) ** -0.5
        dist = stats.weibull_min(2.0, scale=scale)
        t, d = table["time"].to_numpy(), table["event"].to_numpy()
        return -(d * dist.logpdf(t) + (1 - d) * dist.logsf(t)).sum()

    return optimize.minimize(negative, [np.log(10.0), 0.0, 0.0], method="Nelder-Mead",
                             options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000}).x  # fmt: skip


def test_a_family_added_as_one_class_fits_through_the_shared_code(monkeypatch):
    """Registering the class is all it takes: the likelihood, centring, time sampling,
    curves and summaries come from the shared base and model."""
    monkeypatch.setitem(registry.FAMILIES, "rayleigh", Rayleigh())
    rng = np.random.default_rng(11)
    n = 300
    x = rng.integers(0, 2, n)
    age = rng.normal(60, 10, n).round()
    eta = 0.7 * x + 0.03 * (age - 60)
    params = {"log_median": math.log(10.0)}  # median 10 at x = 0, age 60 (eta = 0)
    times = registry.family("rayleigh").sample_times(params, eta, 1.0, rng)
    censor = rng.uniform(5, 30, n)
    table = pd.DataFrame(
        {"time": np.minimum(times, censor).round(3), "event": (times <= censor).astype(int),
         "x": x, "age": age}
    )  # fmt: skip
    fitted = SurvivalModel("rayleigh", prior_set="minimal", profile="quick").fit(
        table, duration_col="time", event_col="event", covariates=["x", "age"]
    )
    assert fitted.passed
    mle = _rayleigh_mle(table)
    _within(fitted, "hr_x", mle[1], 0.25)
    _within(fitted, "hr_age", mle[2], 0.25)
    assert "median_survival" in set(fitted.summary["quantity"])
    assert "shape" not in set(fitted.summary["quantity"])


def test_the_readme_example_runs_as_written(monkeypatch, capsys):
    """The README's Python API block, executed as a user would paste it (from any folder),
    prints the fit's description and its full summary, predicts for two new patients and
    draws on the given Axes."""
    import matplotlib.pyplot as plt

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Your own cohort", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    for shown in ("print(fitted)", "print_summary()", "predict_survival(", "plot_survival("):
        assert shown in block
    monkeypatch.chdir(PROJECT_ROOT / "docs")  # the block needs no project-relative path
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["fitted"].passed
    printed = capsys.readouterr().out
    assert "FittedModel: weibull survival" in printed and "SYNTHETIC" in printed.upper()
    assert "hr_htb_gt25" in printed and "ess_tail" in printed
    survival = namespace["survival"]
    assert len(survival) == 4 and set(survival["time_unit"]) == {"months"}
    assert namespace["ax"].lines  # the bands and Kaplan-Meier curves were drawn
    plt.close("all")


def test_a_design_and_its_operating_characteristics_from_python():
    """The issue's binary design as a notebook writes it: the same numbers as `oc`."""
    import netlm_bayes

    design = netlm_bayes.oc_design(
        "binary", "P(treatment - control > 0) > 0.975", "beta:1,1", 40, "beta:4,16", 20
    )
    table = netlm_bayes.oc_table(design, [0.2, 0.6], [0.0, 0.3])
    null = table[table["difference"] == 0].set_index("control")["p_success"]
    assert null[0.2] < 0.025 < null[0.6]
    assert 0 < design.probability_of_success() < 1
    assert design.critical_table()["treatment_responders_to_succeed"].iloc[0].startswith(">= ")
    with pytest.raises(InputError, match="binary or normal"):
        netlm_bayes.oc_design("survival", "P(treatment > 0) > 0.9", "beta:1,1", 40)
