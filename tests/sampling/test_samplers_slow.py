"""Slow cross-checks (`make test-slow`; CI runs them): PyMC's NUTS against nutpie under
every prior set, at the default profile."""

from __future__ import annotations

import numpy as np
import pytest

from netlm_bayes.families import reported_effects
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Sampler, load_profile
from tests.conftest import SEED

pytestmark = pytest.mark.slow


def test_pymc_nuts_matches_nutpie_under_every_prior_set(
    traces, spec, paper, prior_sets, thresholds
):
    model = reported_effects.build_model(spec, paper, prior_sets, prior_sets.default)
    fallback = Sampler(model, load_profile("default"), sampler="pymc")
    for name in prior_sets.names:
        trace = fallback.sample(reported_effects.prior_data(spec, paper, prior_sets, name), SEED)
        diagnostics = gate.diagnose(trace, thresholds)
        assert diagnostics.passed, (name, diagnostics.failures)
        for quantity in ("log_ratio", "rates"):
            a = trace["posterior"][quantity]
            b = traces[name]["posterior"][quantity]
            se = np.hypot(
                gate.arviz_stats.mcse(a, method="mean"), gate.arviz_stats.mcse(b, method="mean")
            )
            gap = abs(a.mean(("chain", "draw")) - b.mean(("chain", "draw")))
            assert bool((gap < 4 * se).all()), (name, quantity, gap.values, se.values)
