"""Subsampled PSIS-LOO (Magnusson et al. 2019) for cohorts too large to keep every draw's
pointwise log-likelihood: against the full PSIS-LOO on the same fits, and the difference
estimator's variance against repeated subsampling."""

from __future__ import annotations

import copy
import dataclasses

import arviz_stats
import numpy as np
import pytest

from netlm_bayes.checks import family_comparison as families
from netlm_bayes.checks import loo_subsample


def test_the_difference_estimator_is_unbiased_and_its_se_is_the_spread_over_subsamples():
    rng = np.random.default_rng(5)
    n, m = 5000, 250
    exact_all = rng.gamma(2.0, 1.0, n) * -1
    approximation = exact_all + rng.normal(0.1, 0.3, n)  # biased, noisy approximation
    estimates, ses = [], []
    for seed in range(2000):
        indices = loo_subsample.subsample_indices(n, m, seed)
        estimate = loo_subsample.difference_estimate(approximation, exact_all[indices], indices)
        estimates.append(estimate.total)
        ses.append(estimate.subsampling_se)
    estimates = np.array(estimates)
    truth = exact_all.sum()
    assert abs(estimates.mean() - truth) < 4 * estimates.std() / np.sqrt(len(estimates))
    assert np.median(ses) == pytest.approx(estimates.std(), rel=0.08)
    # everyone in the subsample: exact, and the SE is the full-data one
    everyone = np.arange(n)
    full = loo_subsample.difference_estimate(approximation, exact_all, everyone)
    assert full.total == pytest.approx(truth, rel=1e-12)
    assert full.subsampling_se == 0
    assert full.se == pytest.approx(np.sqrt(n * np.var(exact_all, ddof=1)), rel=1e-9)


@pytest.mark.parametrize("name", ["exponential", "weibull"])
def test_the_pointwise_log_likelihood_from_the_draws_is_the_stored_one(weibull_families, name):
    fit = weibull_families.fits[name]
    stored = next(iter(fit.trace["log_likelihood"].to_dataset().data_vars.values()))
    ours = loo_subsample.pointwise_log_likelihood(fit, name, np.arange(fit.data.n))
    np.testing.assert_allclose(ours, stored.values.reshape(ours.shape), rtol=1e-9, atol=1e-9)


def test_with_every_patient_subsampled_loo_is_psis_loo(weibull_families):
    fit = weibull_families.fits["weibull"]
    full = arviz_stats.loo(fit.trace, pointwise=True)
    ours = loo_subsample.subsampled_loo(fit, "weibull", np.arange(fit.data.n))
    assert ours.elpd.total == pytest.approx(full.elpd, rel=1e-9)
    assert ours.p == pytest.approx(full.p, rel=1e-9)
    assert ours.elpd.se == pytest.approx(full.se, rel=0.01)  # ddof 1 against ddof 0
    np.testing.assert_allclose(ours.pareto_k, np.asarray(full.pareto_k).ravel(), atol=1e-9)


def test_a_ranking_without_the_pointwise_group_agrees_with_the_full_one(
    weibull_families, monkeypatch
):
    """Half the patients subsampled: each ELPD within 4 subsampling SEs of the full
    PSIS-LOO, and the Weibull still beats the exponential clearly."""
    monkeypatch.setattr(loo_subsample, "SUBSAMPLE", 100)
    fits = {}
    for name, fit in weibull_families.fits.items():
        trace = copy.deepcopy(fit.trace)
        del trace["log_likelihood"]
        fits[name] = dataclasses.replace(fit, trace=trace)
    table, ranked = families.loo_table(fits)
    full = weibull_families.table.set_index("likelihood")
    table = table.set_index("likelihood")
    assert ranked is None and (table["loo_subsample"] == "100 of 200").all()
    for name in fits:
        gap = abs(table.loc[name, "elpd_loo"] - full.loc[name, "elpd_loo"])
        assert gap < 4 * table.loc[name, "subsampling_se"], (name, gap)
        assert table.loc[name, "subsampling_se"] > 0
    assert table.loc["weibull", "rank"] == 1
    exponential = table.loc["exponential"]
    assert exponential.elpd_diff < -4 * exponential.dse, exponential.to_dict()
