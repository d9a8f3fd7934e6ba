"""The diagnostics gate passes good runs and fires on bad ones."""

from __future__ import annotations

import arviz_stats
import numpy as np
import xarray as xr

from netlm_bayes.families import reported_effects
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Sampler, load_profile, profile_names


def test_the_bad_profile_trips_the_gate(sampler, spec, paper, prior_sets, thresholds):
    bad = sampler.with_profile(load_profile("bad"))
    trace = bad.sample(reported_effects.prior_data(spec, paper, prior_sets, "minimal"), seed=3)
    diagnostics = gate.diagnose(trace, thresholds)
    assert not diagnostics.passed
    assert any("ess_bulk" in failure for failure in diagnostics.failures)


def test_thresholds_are_the_documented_ones(thresholds):
    assert thresholds.rhat_max == 1.01
    assert thresholds.ess_bulk_min == thresholds.ess_tail_min == 400
    assert thresholds.divergences_max == 0
    assert thresholds.ebfmi_min == 0.3


def test_every_profile_but_bad_can_reach_the_ess_threshold(thresholds):
    """A profile whose total draws are below the ESS threshold could never pass the gate."""
    for name in profile_names():
        profile = load_profile(name)
        total = profile.chains * profile.draws
        if name == "bad":
            assert total < thresholds.ess_bulk_min
        else:
            assert total >= 2 * thresholds.ess_bulk_min, name


def test_thresholds_include_mcse_and_the_retry_step(thresholds):
    assert thresholds.mcse_sd_ratio_max == 0.1
    assert thresholds.retry_target_accept == 0.95
    assert thresholds.retry_length_factor == 2


def _funnel(log_scale_sd: float):
    import pymc as pm

    with pm.Model() as funnel:
        log_scale = pm.Normal("log_scale", 0, log_scale_sd)
        pm.Normal("x", 0, pm.math.exp(log_scale / 2), shape=9)
    return funnel


def test_divergences_trigger_a_recorded_retry_with_smaller_steps(thresholds):
    """Neal's funnel diverges at target_accept 0.8; the gate samples it again at 0.95 and
    says so. There it no longer diverges but still fails (ESS, E-BFMI), so it is sampled
    once more, twice as long, at the same 0.95. (Whether a retry cures it is the
    diagnostics' business: they still judge.)"""
    sampler = Sampler(_funnel(3), load_profile("quick"))
    first = gate.diagnose(sampler.sample({}, seed=1), thresholds)
    assert first.divergences > 0  # the premise: this model diverges at 0.8
    trace, diagnostics = gate.sample_gated(sampler, {}, 1, thresholds)
    assert diagnostics.retry and "target_accept 0.8, sampled again at 0.95" in diagnostics.retry
    assert "2x longer" in diagnostics.retry
    assert trace.attrs["target_accept"] == 0.95 and trace.attrs["draws"] == 2000
    assert trace.attrs["retry"] == diagnostics.retry
    assert "retry" in diagnostics.frame().columns


def test_a_run_still_diverging_is_retried_with_smaller_steps_again(thresholds):
    """A run already at 0.95 that diverges (a steeper funnel) skips the first retry; the
    longer one halves 1 - target_accept (0.975)."""
    at_095 = load_profile("quick").model_copy(update={"target_accept": 0.95})
    sampler = Sampler(_funnel(8), at_095)
    assert gate.diagnose(sampler.sample({}, seed=1), thresholds).divergences > 0  # premise
    trace, diagnostics = gate.sample_gated(sampler, {}, 1, thresholds)
    assert "sampled again at" not in diagnostics.retry  # no first (smaller-steps) retry
    assert "2x longer" in diagnostics.retry and "target_accept 0.975" in diagnostics.retry
    assert trace.attrs["target_accept"] == 0.975 and trace.attrs["seed"] == 2


def test_a_clean_run_is_not_retried(sampler, spec, paper, prior_sets, thresholds):
    values = reported_effects.prior_data(spec, paper, prior_sets, "weakly-informative")
    trace, diagnostics = gate.sample_gated(sampler, values, 5, thresholds)
    assert diagnostics.passed and diagnostics.retry is None
    assert trace.attrs["target_accept"] == sampler.profile.target_accept
    assert (diagnostics.table["mcse_sd_ratio"] < 0.1).all()


def test_parameter_table_gives_arviz_stats_summary_numbers():
    """The vectorised table is arviz-stats' own summary, in one call per statistic."""
    rng = np.random.default_rng(3)
    noise = rng.normal(size=(4, 500, 3))
    autocorrelated = np.cumsum(noise, axis=1) * 0.05 + noise  # R-hat and ESS away from ideal
    posterior = xr.Dataset(
        {
            "beta": (("chain", "draw", "covariate"), autocorrelated),
            "alpha": (("chain", "draw"), rng.normal(size=(4, 500))),
            "gaps": (("chain", "draw", "gaps_dim_0"), rng.gamma(2, size=(4, 500, 2))),
        },
        coords={"covariate": ["age", "htb_gt25", "ki67"]},
    )
    ours = gate.parameter_table(posterior).set_index("parameter")
    theirs = arviz_stats.summary(
        xr.DataTree(children={"posterior": xr.DataTree(posterior)}),
        kind="all", fmt="wide", round_to="none",
    )  # fmt: skip
    assert list(ours.index) == list(theirs.index)
    for column, theirs_column in (("rhat", "r_hat"), ("ess_bulk", "ess_bulk"),
                                  ("ess_tail", "ess_tail"), ("mcse_mean", "mcse_mean"),
                                  ("sd", "sd")):  # fmt: skip
        np.testing.assert_allclose(ours[column], theirs[theirs_column].astype(float), rtol=1e-12)


def test_a_run_still_failing_is_sampled_once_longer_from_the_next_seed(thresholds):
    """Too few draws for ESS >= 400 fails the gate; the gate's second retry samples the
    same model longer (warm-up and draws times the factor) from seed + 1, and the longer
    run is the one judged and kept."""
    import pymc as pm

    with pm.Model() as normal:
        pm.Normal("x")
    short = load_profile("quick").model_copy(update={"tune": 200, "draws": 50})
    sampler = Sampler(normal, short)
    first = gate.diagnose(sampler.sample({}, seed=5), thresholds)
    assert not first.passed  # the premise: 4 x 50 draws cannot give ESS 400 (R-hat, ESS)
    twentyfold = thresholds.model_copy(update={"retry_length_factor": 20})
    trace, diagnostics = gate.sample_gated(sampler, {}, 5, twentyfold)
    assert diagnostics.passed, diagnostics.failures
    assert "20x longer" in diagnostics.retry and "seed 6" in diagnostics.retry
    assert trace.attrs["draws"] == 1000 and trace.attrs["tune"] == 4000
    assert trace.attrs["seed"] == 6 and trace.attrs["retry"] == diagnostics.retry


def test_without_a_length_factor_a_failing_run_is_returned_as_judged(thresholds):
    import pymc as pm

    with pm.Model() as normal:
        pm.Normal("x")
    short = load_profile("quick").model_copy(update={"tune": 200, "draws": 50})
    once = thresholds.model_copy(update={"retry_length_factor": 1})
    trace, diagnostics = gate.sample_gated(Sampler(normal, short), {}, 5, once)
    assert not diagnostics.passed and diagnostics.retry is None
    assert trace.attrs["draws"] == 50
