"""plan: criteria, simulation, assurance and its Monte Carlo error, the same numbers locally,
in parallel and on a Dask cluster, and the Laplace analysis against NUTS."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from netlm_bayes import runner
from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import Columns, read_model_data
from netlm_bayes.paths import PROJECT_ROOT
from netlm_bayes.planning import assurance as planning
from netlm_bayes.priors import exported as exportedprior
from netlm_bayes.priors.exported import ExportedPrior
from netlm_bayes.priors.mixture import Component, MixturePrior

cli = CliRunner()
COHORT = PROJECT_ROOT / "data" / "pseudo_cohort.csv"
EFFECTS = ("htb_gt25", "ki67_gt10")


def _weibull_prior(robust: float = 0.2) -> ExportedPrior:
    """A hand-made prior with the pseudo-cohort's coding: HR_htb about 4, HR_ki67 about 1.4."""
    names = (*EFFECTS, "log_shape", "log_median_at_pattern")
    mean = np.array([1.4, 0.35, 0.0, 2.6])
    cov = np.diag([0.36, 0.1, 0.015, 0.09])
    unit = np.diag([16.0, 5.0, 0.8, 8.0])
    exported = ExportedPrior(
        MixturePrior(names, (Component(1.0, mean, cov),)), "weibull",
        {"time": "hpfs_months", "time_unit": "months", "event": "progressed"},
        {name: {"values": "0/1"} for name in EFFECTS}, EFFECTS, unit,
        {"robust_weight": 0.0, "discount_a0": 1.0},
        {"data_file": str(COHORT), "patients": 84, "events": 46, "synthetic": True},
        dict(zip(EFFECTS, _covariates().mean(axis=0), strict=True)),
    )  # fmt: skip
    return exported.robustify(robust) if robust else exported


def _covariates():
    return read_model_data(COHORT, Columns(EFFECTS)).X


def _design():
    """The pseudo-cohort's rows relative to the prior's baseline pattern (as `plan` does)."""
    return planning.Design(_weibull_prior(0).centred(_covariates(), list(EFFECTS)), 36.0, 3.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("P(HR_htb_gt25 > 1)", "write it as"),
        ("P(OR_htb_gt25 > 1) > 0.9", "on the HR scale"),
        ("P(HR_age > 1) > 0.9", "no effect 'age'"),
        ("P(HR_htb_gt25 > 0) > 0.9", "threshold must be > 0"),
        ("P(HR_htb_gt25 > 1) > 1.5", "level must be in (0, 1)"),
    ],
)
def test_a_malformed_criterion_gets_one_clear_message(text, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        planning.parse_criterion(text, _weibull_prior())


def test_the_criterion_reads_both_directions():
    above = planning.parse_criterion("P(HR_htb_gt25 > 1) > 0.95", _weibull_prior())
    below = planning.parse_criterion(" P( HR_ki67_gt10 < 2 ) > 0.8 ", _weibull_prior())
    assert (above.effect, above.above, above.value, above.level) == ("htb_gt25", True, 1.0, 0.95)
    assert (below.effect, below.above, below.value, below.level) == ("ki67_gt10", False, 2.0, 0.8)


def _assurance(workers=1, dask=None, own=False, sizes=(30, 120), simulations=300, seed=3):
    prior = _weibull_prior()
    rule = planning.parse_criterion("P(HR_htb_gt25 > 1) > 0.95", prior)
    tasks = planning.tasks_for(prior, _design(), rule, list(sizes), simulations, seed, own)
    return planning.assurance_table(runner.run_tasks(planning.run_task, tasks, workers, dask))


def test_assurance_grows_with_n_when_each_cohort_stands_on_its_own():
    table, draws = _assurance(own=True)
    small, large = table["assurance"]
    assert large > small + 4 * np.hypot(*table["mc_se"])
    assert len(draws) == 600 and draws["converged"].all()
    a = table["assurance"].to_numpy()
    np.testing.assert_allclose(table["mc_se"], np.sqrt(a * (1 - a) / 300))


def test_simulated_event_counts_follow_the_accrual_and_follow_up():
    """The share of patients with an observed event, against its expectation computed in
    closed form: E over the design prior and the covariate rows of
    1/36 ∫ (1 - S(3 + c)) dc over c in [0, 36], with S(t) = exp(-ln2 (t/m0)^k e^{x'β})."""
    _, draws = _assurance(own=True, sizes=(100,), simulations=1000)
    simulated = draws["events"].sum() / (100 * 1000)
    rng = np.random.default_rng(0)
    theta = planning.design_prior(_weibull_prior().prior).sample(rng, 4000)
    X = _design().covariates
    c = np.linspace(0, 36, 721)
    eta = X[rng.integers(0, len(X), 4000)] @ theta[:, :2].T  # one row per theta draw
    eta = np.diagonal(eta)
    k, m0 = np.exp(theta[:, 2]), np.exp(theta[:, 3])
    survival = np.exp(
        -np.log(2) * ((3 + c[None]) / m0[:, None]) ** k[:, None] * np.exp(eta)[:, None]
    )
    expected = float(np.mean(1 - np.trapezoid(survival, c, axis=1) / 36))
    assert simulated == pytest.approx(expected, abs=0.02)


def test_the_same_seed_gives_the_same_numbers_serially_and_in_parallel():
    serial, serial_draws = _assurance(workers=1)
    parallel, parallel_draws = _assurance(workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
    pd.testing.assert_frame_equal(serial_draws, parallel_draws)


def test_a_dask_cluster_gives_the_same_numbers():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask, _ = _assurance(dask=cluster.scheduler_address)
    local, _ = _assurance(workers=1)
    pd.testing.assert_frame_equal(on_dask, local)


def test_an_unreachable_dask_scheduler_is_a_clear_error():
    with pytest.raises(InputError, match="cannot reach a Dask scheduler"):
        _assurance(dask="tcp://127.0.0.1:9")


def test_planning_needs_the_baseline():
    prior = _weibull_prior(robust=0)
    no_baseline = ExportedPrior(
        prior.prior.marginal(list(EFFECTS)), prior.family, prior.outcome, prior.coding,
        prior.effects, prior.unit_cov[:2, :2], prior.construction, prior.provenance,
        prior.baseline_pattern,
    )  # fmt: skip
    rule = planning.parse_criterion("P(HR_htb_gt25 > 1) > 0.95", no_baseline)
    with pytest.raises(InputError, match="export it with its baseline"):
        planning.tasks_for(no_baseline, _design(), rule, [40], 100, 1)


def test_laplace_agrees_with_nuts_on_simulated_cohorts():
    """The approximation `plan` rests on, against full NUTS fits of the same cohorts."""
    prior = _weibull_prior()
    rule = planning.parse_criterion("P(HR_htb_gt25 > 1) > 0.95", prior)
    task = planning.tasks_for(prior, _design(), rule, [60], 100, 7)[0]
    table = planning.nuts_check(task, 6, profile="quick")
    passed = table[table["nuts_diagnostics_passed"]]
    assert len(passed) >= 4, table
    assert passed["abs_difference"].max() < 0.05, table
    assert passed["abs_difference"].median() < 0.02, table


def test_plan_command_writes_the_table_plot_and_manifest(tmp_path):
    prior = tmp_path / "prior.json"
    exportedprior.write(_weibull_prior(), prior)
    out = tmp_path / "plan"
    args = ["plan", "--prior", str(prior), "--criterion", "P(HR_htb_gt25 > 1) > 0.95",
            "--n", "40,80", "--simulations", "100", "--workers", "1", "--out", str(out)]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "Assurance" in result.output
    table = pd.read_csv(out / "assurance.csv")
    assert list(table["n"]) == [40, 80] and (table["simulations"] == 100).all()
    assert (table["data_origin"] == "synthetic source prior").all()
    assert (out / "assurance.png").stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["criterion"] == "P(HR_htb_gt25 > 1) > 0.95" and manifest["synthetic"] is True


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n", "40,abc"], "comma-separated whole numbers"),
        (["--n", "5"], "at least 10 patients"),
        (["--simulations", "3"], "at least 10 per size"),
        (["--analysis", "mine"], "'prior' or 'own'"),
        (["--follow-up", "0"], "--follow-up > 0"),
        (["--covariates-from", "/nonexistent.csv"], "not here"),
    ],
)
def test_bad_plan_flags_get_one_clear_message(tmp_path, extra, message):
    prior = tmp_path / "prior.json"
    exportedprior.write(_weibull_prior(), prior)
    args = ["plan", "--prior", str(prior), "--criterion", "P(HR_htb_gt25 > 1) > 0.95", *extra,
            "--out", str(tmp_path / "never")]  # fmt: skip
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "never").exists()


def test_a_plan_in_another_time_unit_or_with_no_events_is_warned_about():
    """Accrual and follow-up in days against a source in months: the cohorts see almost no
    events, and the window is far from the source's observed times. Both are said."""
    prior = _weibull_prior()
    prior = dataclasses.replace(prior, outcome={**prior.outcome, "observed_time_median": 9.5})
    sane = planning.Design(_design().covariates, 36.0, 3.0)
    days = planning.Design(_design().covariates, 0.1, 0.05)  # 3 and 1.5 days, read as months
    table = pd.DataFrame({"n": [40, 80], "median_events": [23.0, 46.0]})
    assert planning.plan_warnings(prior, sane, table) == []
    few = pd.DataFrame({"n": [40, 80], "median_events": [0.0, 1.0]})
    warnings = planning.plan_warnings(prior, days, few)
    assert len(warnings) == 2
    assert "almost no events" in warnings[0] and "n = 40 (0)" in warnings[0]
    assert "another unit" in warnings[1] and "months" in warnings[1]


def test_survival_oc_simulates_at_the_true_hr_it_names():
    """Pooled over 20 x 100 simulated cohorts at a fixed HR of 2.5, lifelines' Cox fit
    recovers that HR: the truth is fixed, not drawn from the prior (whose centre is 4)."""
    from lifelines import CoxPHFitter

    from netlm_bayes.planning.survival_oc import truth_at

    prior = _weibull_prior(0)
    rule = planning.parse_criterion("P(HR_htb_gt25 > 1) > 0.95", prior)
    truth = truth_at(prior, "htb_gt25", 2.5)
    (task,) = planning.tasks_for(prior, _design(), rule, [100], 20, 5, truth=truth)
    cohorts, drawn = planning.simulate(task, np.random.default_rng(1))
    assert np.allclose(drawn, truth)
    frame = pd.DataFrame(cohorts.X.reshape(-1, 2), columns=list(EFFECTS)).assign(
        time=cohorts.time.ravel(), event=cohorts.event.ravel())  # fmt: skip
    fit = CoxPHFitter().fit(frame, "time", "event")
    low, high = np.exp(fit.confidence_intervals_.loc["htb_gt25"])
    assert low < 2.5 < high and high / low < 1.6


def test_survival_oc_on_its_own_data_decides_as_a_one_sided_cox_test():
    """Analysed with one unit of information (no borrowing), P(HR > 1) > 0.95 is close to a
    one-sided 5% Wald test: on the same 300 cohorts at a true HR of 1.6, lifelines' Cox
    test and our decision agree on at least 95% of them and their shares within 0.03.
    Borrowing an informative prior centred on HR 4 inflates the type-I error, as it must."""
    from lifelines import CoxPHFitter

    from netlm_bayes.planning.survival_oc import survival_oc, truth_at

    prior = _weibull_prior(0)
    rule = planning.parse_criterion("P(HR_htb_gt25 > 1) > 0.95", prior)
    truth = truth_at(prior, "htb_gt25", 1.6)
    tasks = planning.tasks_for(prior, _design(), rule, [80], 300, 4, True, truth)
    ours, cox = [], []
    for task in tasks:
        ours.append(planning.run_task(task)["success"])
        rng = np.random.default_rng(np.random.SeedSequence(task.seed[0],
                                                           spawn_key=task.seed[1:]))  # fmt: skip
        cohorts, _ = planning.simulate(task, rng)
        for s in range(task.count):
            frame = pd.DataFrame(cohorts.X[s], columns=list(EFFECTS)).assign(
                time=cohorts.time[s], event=cohorts.event[s])  # fmt: skip
            z = CoxPHFitter().fit(frame, "time", "event").summary.loc["htb_gt25", "z"]
            cox.append(z > 1.644854)
    ours, cox = np.concatenate(ours), np.array(cox)
    assert np.mean(ours == cox) >= 0.95 and abs(ours.mean() - cox.mean()) < 0.03
    result = survival_oc(prior, "P(HR_htb_gt25 > 1) > 0.95", 80, [1.0], simulations=300,
                         robust_weights=[0, 1], covariates_from=COHORT, accrual=36.0,
                         follow_up=3.0, workers=1, seed=2)  # fmt: skip
    by = result.table.set_index("analysis_prior")["p_success"]
    assert by["as given"] > 0.2 > 0.1 > by["unit information"]


def test_the_oc_command_for_survival_writes_its_run_folder(tmp_path):
    prior_path = tmp_path / "prior.json"
    exportedprior.write(_weibull_prior(0), prior_path)
    args = ["oc", "--endpoint", "survival", "--prior-treatment", str(prior_path),
            "--n-treatment", "40", "--success", "P(HR_htb_gt25 > 1) > 0.95",
            "--hazard-ratios", "1,3", "--simulations", "50", "--accrual", "36",
            "--follow-up", "3", "--covariates-from", str(COHORT), "--workers", "1"]  # fmt: skip
    result = cli.invoke(app, [*args, "--out", str(tmp_path / "oc")])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "oc" / "oc.csv")
    assert table["hazard_ratio"].round(6).tolist() == [1.0, 3.0]
    assert table["p_success"].iloc[0] < table["p_success"].iloc[1]
    assert len(pd.read_csv(tmp_path / "oc" / "simulations.csv")) == 100
    again = cli.invoke(app, [*args, "--out", str(tmp_path / "oc")])
    assert again.exit_code == 2 and "--overwrite" in again.output
    two = cli.invoke(app, [*args, "--success", "P(HR_htb_gt25 > 2) > 0.5",
                           "--out", str(tmp_path / "two")])  # fmt: skip
    assert two.exit_code == 2 and "takes one criterion" in two.output
