"""The diagnostics gate passes good runs and fires on bad ones."""

from __future__ import annotations

from netlm_bayes import checks, inference, reported_effects


def test_the_bad_profile_trips_the_gate(sampler, spec, paper, prior_sets, thresholds):
    bad = sampler.with_profile(inference.load_profile("bad"))
    trace = bad.sample(reported_effects.prior_data(spec, paper, prior_sets, "minimal"), seed=3)
    diagnostics = checks.diagnose(trace, thresholds)
    assert not diagnostics.passed
    assert any("ess_bulk" in failure for failure in diagnostics.failures)


def test_thresholds_are_the_documented_ones(thresholds):
    assert thresholds.rhat_max == 1.01
    assert thresholds.ess_bulk_min == thresholds.ess_tail_min == 400
    assert thresholds.divergences_max == 0
    assert thresholds.ebfmi_min == 0.3


def test_every_profile_but_bad_can_reach_the_ess_threshold(thresholds):
    """A profile whose total draws are below the ESS threshold could never pass the gate."""
    for name in inference.profile_names():
        profile = inference.load_profile(name)
        total = profile.chains * profile.draws
        if name == "bad":
            assert total < thresholds.ess_bulk_min
        else:
            assert total >= 2 * thresholds.ess_bulk_min, name
