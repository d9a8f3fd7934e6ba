"""What a user watching a long fit sees: the draws per chain, divergences and the time
left, from nutpie's own progress reports."""

from __future__ import annotations

import numpy as np

from netlm_bayes.sampling.sampler import Sampler, load_profile, progress_line


def test_the_progress_line_counts_draws_per_chain_and_the_time_left():
    line = progress_line([500, 250], [2000, 2000], 1, True, 30.0)
    assert line.startswith("750/4,000 draws (2 chains: 500, 250), warm-up, 1 divergence")
    # the slowest chain has done 1/8 in 30 s: 7/8 more at that pace is 210 s
    assert line.endswith("about 3 min 30 s left")
    assert "left" not in progress_line([2000, 2000], [2000, 2000], 0, False, 90.0)


def test_a_sampler_reports_its_draws_while_it_samples():
    import pymc as pm

    with pm.Model() as model:
        pm.Normal("x", 0, 1)
    sampler = Sampler(model, load_profile("quick"))
    heard = []
    sampler.on_draws = heard.append
    trace = sampler.sample({}, seed=1, pointwise=False)
    assert trace["posterior"]["x"].size > 0
    assert heard and all("draws (" in line for line in heard)
    finished = int(heard[-1].split("/")[0].replace(",", ""))
    assert 0 < finished <= np.prod(trace["posterior"]["x"].shape) * 2  # tune + draws
