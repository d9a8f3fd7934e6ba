"""export-prior from a mixture cure run: the effects (log HRs among the uncured), the Weibull
baseline and the cure fraction's logit carry forward, into a cure model only; A, then B with
A's prior, agrees with A and B jointly; planning, which simulates cohorts without a cure
fraction, refuses such a prior."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.exported import CURE_LOGIT_AT_PATTERN, ExportedPrior
from netlm_bayes.priors.mixture import Component, MixturePrior
from tests.families.test_cure import simulated_cure

runner = CliRunner()
COLUMNS = ("--time", "time", "--event", "status", "--covariates", "x,age")


def _cure_prior(cure_logit_sd: float = 0.3, pattern_x: float = 0.2) -> ExportedPrior:
    """A hand-made prior as export-prior writes one from a cure run (x a 0/1 column)."""
    names = ("x", "log_shape", "log_median_at_pattern", CURE_LOGIT_AT_PATTERN)
    mean = np.array([0.4, 0.4, np.log(9.0), -0.3])
    cov = np.diag([0.04, 0.01, 0.02, cure_logit_sd**2])
    prior = MixturePrior(names, (Component(1.0, mean, cov, "informative"),))
    return ExportedPrior(
        prior, "weibull",
        {"time": "time", "time_unit": "months", "event": "status", "cure_model": True},
        {"x": {"values": "0/1", "share_of_1": 0.5}}, ("x",), cov * 100,
        {"method": "by hand, for a test"}, {"run": "a test"}, {"x": pattern_x, "age": 60.0},
    )  # fmt: skip


def _spec_and_data(tmp_path, **overrides):
    from netlm_bayes.fitting.patient_spec import Overrides, load, read_data

    data_path = tmp_path / "cure.csv"
    simulated_cure(200, seed=8).to_csv(data_path, index=False)
    flags = Overrides(data=data_path, time="time", event="status", covariates=["x", "age"],
                      time_unit="months", **overrides)  # fmt: skip
    spec = load("hpfs_weibull", flags)
    return spec, read_data(spec)


@pytest.mark.parametrize("cure_covariates", [None, ["x"]])
def test_the_borrowed_cure_logit_is_moved_exactly_to_this_cohorts_mean(tmp_path, cure_covariates):
    """logit at this cohort's mean = the prior's logit at its pattern + (xbar - p)' gamma,
    at a random point of the model; and its prior SD is the exported one."""
    from netlm_bayes.families.survival import model as survival
    from netlm_bayes.fitting.prior_choice import choose_priors

    spec, data = _spec_and_data(tmp_path, cure=True, cure_covariates=cure_covariates)
    exported = _cure_prior()
    model = survival.build_model(spec, data, choose_priors(spec, data, None, exported))
    rng = np.random.default_rng(3)
    point = {name: rng.normal(0, 0.4, np.shape(value))
             for name, value in model.initial_point().items()}  # fmt: skip
    named = ["shared", "cure_logit_at_mean", "cure_beta"]
    graphs = model.replace_rvs_by_values([model[n] for n in named])
    derive = model.compile_fn(graphs, inputs=model.value_vars, on_unused_input="ignore")
    shared, at_mean, gamma = derive(point)
    x_mean = data.X[:, data.covariates.index("x")].mean()
    moved = shared[3] + (x_mean - 0.2) * gamma[data.covariates.index("x")]
    assert at_mean == pytest.approx(moved, rel=1e-12, abs=1e-12)
    if cure_covariates:
        assert gamma[data.covariates.index("x")] != 0.0  # the move was exercised
    if not cure_covariates:  # one cure fraction for all: its prior is the exported normal
        draws = pm_prior_draws(model, "cure_logit_at_mean")
        assert draws.mean() == pytest.approx(-0.3, abs=4 * 0.3 / np.sqrt(draws.size))
        assert draws.std() == pytest.approx(0.3, rel=0.05)


def pm_prior_draws(model, name: str) -> np.ndarray:
    import pymc as pm

    with model:
        prior = pm.sample_prior_predictive(draws=4000, var_names=[name], random_seed=5)
    return prior["prior"][name].values.ravel()


@pytest.mark.parametrize(
    ("exported_cure", "model_cure", "message"),
    [
        (True, False, "a model without a cure fraction would read as everyone's"),
        (False, True, "this cure model would read as the uncured patients'"),
    ],
)
def test_a_prior_goes_only_into_a_model_of_its_own_kind(tmp_path, exported_cure, model_cure,
                                                       message):  # fmt: skip
    from netlm_bayes.fitting.prior_choice import choose_priors

    spec, data = _spec_and_data(tmp_path, cure=model_cure)
    exported = _cure_prior()
    if not exported_cure:
        outcome = {k: v for k, v in exported.outcome.items() if k != "cure_model"}
        kept = [n for n in exported.prior.names if n != CURE_LOGIT_AT_PATTERN]
        exported = replace(exported, outcome=outcome, prior=exported.prior.marginal(kept),
                           unit_cov=exported.unit_cov[:3, :3])  # fmt: skip
    with pytest.raises(InputError, match=message):
        choose_priors(spec, data, None, exported)


def test_an_m_spline_cure_model_takes_the_cure_fraction_but_not_the_weibull_baseline(tmp_path):
    from netlm_bayes.fitting.prior_choice import choose_priors

    spec, data = _spec_and_data(tmp_path, cure=True, likelihood="mspline")
    exported = _cure_prior()
    with pytest.raises(InputError, match=r"Weibull baseline \(log_shape, log_median_at_pattern\)"):
        choose_priors(spec, data, None, exported)
    kept = ["x", CURE_LOGIT_AT_PATTERN]
    effects_and_cure = replace(exported, prior=exported.prior.marginal(kept),
                               unit_cov=exported.unit_cov[np.ix_([0, 3], [0, 3])])  # fmt: skip
    chosen = choose_priors(spec, data, None, effects_and_cure)
    assert chosen.joint.names == tuple(kept)


def test_planning_refuses_a_cure_models_prior(tmp_path):
    from netlm_bayes.planning import plan, survival_oc

    path = tmp_path / "cure_prior.json"
    exportedprior.write(_cure_prior(), path)
    assert exportedprior.read(path).cure
    for call in (
        lambda: plan.plan(path, "P(HR_x > 1) > 0.95", sizes=[50], simulations=10),
        lambda: survival_oc.survival_oc(path, "P(HR_x > 1) > 0.95", 50, [1.0], simulations=10),
    ):
        with pytest.raises(InputError, match="simulates cohorts without a cure fraction"):
            call()


def _fit(folder, name: str, csv, *extra: str):
    out = folder / name
    args = ["fit", "hpfs_weibull", "--data", str(csv), *COLUMNS, "--time-unit", "months",
            "--cure", "--seed", "11", "--out", str(out), *extra]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["diagnostics_passed"] is True
    return out, " ".join(result.output.split())


def _medians_and_sds(run_dir) -> dict:
    """log HRs, log shape and the cure logit (one for everyone: no cure covariates)."""
    tree = xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf")
    post = tree["posterior"].to_dataset()
    draws = {c: post["beta"].sel(covariate=c).values.ravel() for c in ("x", "age")}
    draws |= {name: post[name].values.ravel() for name in ("log_shape", "cure_logit")}
    return {k: (float(np.median(v)), float(np.std(v))) for k, v in draws.items()}


@pytest.fixture(scope="module")
def cure_runs(tmp_path_factory):
    """Two cohorts of 300 with a plateau (a third cured at x = 0): B fitted with the prior
    exported from A, and A and B fitted together."""
    folder = tmp_path_factory.mktemp("cure_carry")
    a, b = simulated_cure(300, seed=21), simulated_cure(300, seed=22)
    paths = {}
    for name, frame in {"a": a, "b": b, "ab": pd.concat([a, b])}.items():
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    run_a, _ = _fit(folder, "run_a", paths["a"])
    prior = folder / "prior.json"
    result = runner.invoke(app, ["export-prior", str(run_a), "--out", str(prior), "--robust", "0"])
    assert result.exit_code == 0, result.output
    sequential, output = _fit(folder, "run_b", paths["b"], "--prior", str(prior))
    pooled = _medians_and_sds(_fit(folder, "run_ab", paths["ab"])[0])
    return prior, output, _medians_and_sds(sequential), pooled


def _agree(carried: dict, pooled: dict, names: list[str]) -> None:
    for name in names:
        median, (joint_median, joint_sd) = carried[name][0], pooled[name]
        print(f"{name}: A then B {median:.4f}, A and B {joint_median:.4f} (SD {joint_sd:.4f})")
        assert abs(median - joint_median) <= 0.1 * joint_sd, (name, median, joint_median, joint_sd)


@pytest.mark.slow
def test_a_then_b_with_a_cure_runs_prior_matches_a_and_b_jointly(cure_runs):
    """The log HRs (among the uncured) and the cure fraction's logit, within 0.1 SD of the
    joint fit, the tolerance the Weibull runs are held to (tests/planning/test_export.py)."""
    path, output, carried, pooled = cure_runs
    written = json.loads(path.read_text())
    assert written["prior"]["parameters"][-1] == CURE_LOGIT_AT_PATTERN
    assert "uncured patients'" in written["construction"]["cure"]
    assert "exported prior" in output and "Prior-data conflict" in output
    _agree(carried, pooled, ["x", "age", "cure_logit"])


@pytest.mark.slow
def test_a_cure_runs_posterior_under_a_weak_prior_is_worth_about_its_events(cure_runs):
    """As for a Weibull run (test_export.py), with one event's information from the cure
    MLE on the source cohort, not from the posterior being exported."""
    from netlm_bayes.planning import prior_worth

    loaded = exportedprior.read(cure_runs[0])
    events = loaded.provenance["events"]
    assert "did not converge" not in loaded.construction["cure"]
    for row in prior_worth.ess_table(loaded).itertuples():
        print(f"{row.effect}: ESS {row.ess_elir:.1f} of {events} events")
        assert 0.85 * events <= row.ess_elir <= 1.25 * events, (row.effect, row.ess_elir, events)


@pytest.mark.slow
@pytest.mark.xfail(
    reason="measured 0.134 posterior SD (log shape 0.3913 against 0.3976, SD 0.0467): the "
    "multivariate normal summary of A's posterior, as for the Weibull baseline "
    "(test_export.py, 0.095-0.143 SD)",
    strict=False,
)
def test_a_then_b_cure_runs_shape_matches_a_and_b_jointly(cure_runs):
    _agree(cure_runs[2], cure_runs[3], ["log_shape"])


def test_the_conflict_check_says_so_when_the_cohort_gives_no_cure_estimate(monkeypatch):
    """A cohort whose cure MLE does not converge (no plateau) is not judged against the
    prior: Box p is missing, not 0 (which would read as a conflict)."""
    from netlm_bayes.frequentist import cure as reference
    from netlm_bayes.planning import prior_worth
    from netlm_bayes.sampling import laplace

    fitted = reference.fit_weibull_cure
    monkeypatch.setattr(reference, "fit_weibull_cure",
                        lambda *a, **k: replace(fitted(*a, **k), converged=False))  # fmt: skip
    frame = simulated_cure(200, seed=4)
    cohort = laplace.Cohorts(frame[["x", "age"]].to_numpy(float)[None] - [0.2, 60.0],
                             time=frame.time.to_numpy()[None],
                             event=frame.status.to_numpy(float)[None])  # fmt: skip
    table, weight = prior_worth.conflict(_cure_prior(), cohort, ["x", "age"])
    assert table["box_p"].isna().all() and weight is None
    assert list(table["parameter"]) == list(_cure_prior().prior.names)
