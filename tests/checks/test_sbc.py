"""Simulation-based calibration: the committed results of `make validate`, the power of
its uniformity test, and a reduced SBC run (slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from netlm_bayes.checks import sbc
from netlm_bayes.cli.app import app
from netlm_bayes.paths import PROJECT_ROOT

VALIDATION = PROJECT_ROOT / "validation"


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(VALIDATION / "sbc.csv"), pd.read_csv(VALIDATION / "sbc_ranks.csv")


def test_every_model_was_calibrated_with_at_least_200_simulations(committed):
    table, _ = committed
    assert set(table["model"]) == set(sbc.MODELS)
    assert (table["simulations"] >= 200).all()


def test_every_parameter_has_uniform_ranks_after_correction(committed):
    table, _ = committed
    assert table["uniform"].all(), table[~table["uniform"]]
    assert (table["p_corrected"] > sbc.PASS_P).all()


def test_the_95_intervals_cover_95_percent(committed):
    """Per model, the mean coverage over its parameters lies in the 99.9% binomial range
    of one parameter's simulations (the parameters' intervals are not independent)."""
    _, ranks = committed
    for model, group in ranks.groupby("model"):
        per_parameter = group.groupby("parameter")["covered"].mean()
        s = group["simulation"].nunique()
        low, high = stats.binom.ppf([0.0005, 0.9995], s, 0.95) / s
        assert low <= per_parameter.mean() <= high, (model, per_parameter.mean(), low, high)


def test_the_table_is_computed_from_the_committed_ranks(committed):
    table, ranks = committed
    again = sbc.summarise(ranks)
    pd.testing.assert_frame_equal(
        again[["model", "parameter", "chi2_p", "coverage95"]].reset_index(drop=True),
        table[["model", "parameter", "chi2_p", "coverage95"]].reset_index(drop=True),
    )


def test_the_uniformity_test_catches_an_overconfident_posterior():
    """A posterior 30% too narrow: truths land in the tails, ranks pile up at 0 and L."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(200):
        truth = rng.normal()
        data_mean = truth + rng.normal()  # one observation, sd 1, prior N(0, 1)
        draws = rng.normal(data_mean / 2, np.sqrt(0.5) * 0.7, size=sbc.THINNED)
        rows.append({"model": "m", "simulation": s, "parameter": "theta",
                     "rank": int(np.sum(draws < truth)), "covered": True, "diagnostics_passed": True})  # fmt: skip
    assert not sbc.summarise(pd.DataFrame(rows))["uniform"].iloc[0]


SPARSE_EVENTS = 5  # of 84 patients: a data set that says almost nothing about the baseline


def test_at_least_98_percent_of_fits_pass_the_gate_and_the_weibull_failures_are_sparse_data(
    committed,
):
    """Of every committed SBC fit, at least 98% pass the diagnostics gate. The Weibull's
    failures are all data sets with at most 5 events among 84 patients: prior draws whose
    median lies far beyond the simulated follow-up. Every data set with more events passes."""
    _, ranks = committed
    fits = ranks.groupby(["model", "simulation"]).first()
    assert fits["diagnostics_passed"].mean() >= 0.98, fits.groupby("model")[
        "diagnostics_passed"
    ].mean()
    weibull = fits.loc["hpfs_weibull"]
    assert weibull["events"].notna().all()
    failed = weibull[~weibull["diagnostics_passed"]]
    assert (failed["events"] <= SPARSE_EVENTS).all(), failed[["events", "failures"]]
    assert weibull[weibull["events"] > SPARSE_EVENTS]["diagnostics_passed"].all()


def _validate(out, *options: str):
    return CliRunner().invoke(
        app, ["validate", "--simulations", "40", "--workers", "2", "--out", str(out), *options]
    )


@pytest.mark.slow
def test_a_reduced_sbc_passes(tmp_path):
    """40 data sets per model through `validate`, as a user runs it, judged as `validate`
    judges: each model's ranks uniform at a familywise 1% (Bonferroni over its parameters).
    A calibrated model therefore fails a block of 40 by chance about 1% of the time, and one
    of the four about 4%: seen on one CPU, whose floating-point path gave the ordinal
    model's first cutpoint a corrected p of 0.007 where another CPU gives 0.053 from the same
    seeds (and 1.000 over 200 simulations). So a model that fails is run again on 40 other
    data sets (the next seed) and must pass there: a calibrated model fails both blocks about
    once in 10,000; a miscalibration 40 simulations can see fails both."""
    out = tmp_path / "validation"
    result = _validate(out)
    table = pd.read_csv(out / "sbc.csv")
    assert set(table["model"]) == set(sbc.MODELS)
    assert (out / "sbc.png").stat().st_size > 20_000
    assert result.exit_code in (0, 3), result.output
    failed = sorted(set(table.loc[~table["uniform"], "model"]))
    assert (result.exit_code == 3) == bool(failed), result.output
    if failed:
        again = _validate(tmp_path / "again", "--models", ",".join(failed), "--seed", "20260102")
        assert again.exit_code == 0, (result.output, again.output)


def test_the_m_spline_case_simulates_what_its_model_samples():
    """The optional M-spline case: every true value it ranks is a variable of the model,
    its simplex sums to 1, and the basis it hands the model is the one at the simulated
    times (the knots fixed, so the model is the same in every simulation)."""
    case = sbc._case("hpfs_mspline", "sbc")
    truth, data = sbc.simulate("hpfs_mspline", case, np.random.default_rng(3))
    model = case.sampler.model
    names = {name.partition("[")[0] for name in truth}
    assert names <= {v.name for v in model.free_RVs + model.deterministics}
    coefficients = [v for k, v in truth.items() if k.startswith("coefficients")]
    assert sum(coefficients) == pytest.approx(1.0)
    assert data["basis_hazard"].shape == (len(data["observed_time"]), len(coefficients))
    # I-splines at sorted times: each rises from 0 towards 1 (all times lie inside the knots;
    # 1e-12 for the antiderivative's rounding, a few ulp)
    rising = data["basis_cumulative"][np.argsort(data["observed_time"])]
    assert np.diff(rising, axis=0).min() > -1e-12
    assert rising.min() > -1e-12 and rising.max() < 1 + 1e-12
    assert data["observed_time"].max() <= sbc.CENSOR_RANGE[1]
    assert "hpfs_mspline" not in sbc.MODELS  # optional: its cost (make validate-optional)


def test_the_m_spline_cure_case_leaves_its_cured_fraction_event_free():
    """Its cure logit is ranked as a variable of the model, and the simulated data carry
    the cured: over many simulations the share of censored patients rises with pi."""
    case = sbc._case("hpfs_mspline_cure", "sbc")
    model = case.sampler.model
    rng = np.random.default_rng(4)
    shares, fractions = [], []
    for _ in range(60):
        truth, data = sbc.simulate("hpfs_mspline_cure", case, rng)
        assert "cure_logit_at_mean" in truth
        assert {n.partition("[")[0] for n in truth} <= {v.name for v in model.free_RVs +
                                                          model.deterministics}  # fmt: skip
        shares.append(1 - data["event"].mean())
        fractions.append(1 / (1 + np.exp(-truth["cure_logit_at_mean"])))
    assert np.corrcoef(fractions, shares)[0, 1] > 0.5
    assert "hpfs_mspline_cure" not in sbc.MODELS
