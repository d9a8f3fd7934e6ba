"""Power-scaling verdicts on exact conjugate posteriors, where the answer is known.

y ~ Normal(theta, s), theta ~ Normal(m, sigma): the posterior is Normal with precision
1/sigma^2 + 1/s^2, so its draws need no sampler. Raising the prior to a power moves the
posterior in proportion to the prior's share of that precision; the verdict must follow.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from netlm_bayes.checks import prior_sensitivity

Y = np.log(4.188)
S = 0.6157  # the paper's HR and its SE from P = 0.02


def exact_trace(prior_mean: float, prior_sd: float, se: float = S, seed: int = 1):
    precision = 1 / prior_sd**2 + 1 / se**2
    mean = (prior_mean / prior_sd**2 + Y / se**2) / precision
    theta = np.random.default_rng(seed).normal(mean, precision**-0.5, size=(4, 5000))
    dims = ("chain", "draw")
    return xr.DataTree.from_dict({
        "posterior": xr.Dataset({"theta": (dims, theta)}),
        "log_prior": xr.Dataset({"theta": (dims, stats.norm.logpdf(theta, prior_mean, prior_sd))}),
        "log_likelihood": xr.Dataset({"y": (dims, stats.norm.logpdf(Y, theta, se))}),
    })  # fmt: skip


def rows(trace) -> dict:
    draws = trace["posterior"]["theta"].expand_dims(quantity=["log_hr"], axis=-1)
    return prior_sensitivity.sensitivity(trace, draws).iloc[0].to_dict()


def test_a_flat_prior_leaves_the_answer_to_the_likelihood():
    row = rows(exact_trace(0.0, 100.0))
    assert row["psense_prior"] < 0.01
    assert row["psense_likelihood"] > prior_sensitivity.THRESHOLD
    assert row["psense_verdict"] == prior_sensitivity.LIKELIHOOD_DOMINATED


def test_a_skeptical_prior_makes_the_hr_prior_sensitive():
    row = rows(exact_trace(0.0, 0.6679))  # the skeptical set: 5% beyond a ratio of 3
    assert row["psense_prior"] > prior_sensitivity.THRESHOLD
    assert row["psense_verdict"] == prior_sensitivity.PRIOR_SENSITIVE


def test_a_prior_far_stronger_than_the_data_dominates():
    row = rows(exact_trace(Y, 0.05, se=5.0))
    assert row["psense_likelihood"] < prior_sensitivity.THRESHOLD < row["psense_prior"]
    assert row["psense_verdict"] == prior_sensitivity.PRIOR_DOMINATED


def test_prior_sensitivity_grows_with_the_priors_share_of_the_precision():
    scores = [rows(exact_trace(0.0, sd))["psense_prior"] for sd in (5.0, 1.0, 0.4)]
    assert scores[0] < scores[1] < scores[2]


def test_no_log_prior_means_no_rows_rather_than_a_guess():
    trace = exact_trace(0.0, 1.0)
    del trace["log_prior"]
    draws = trace["posterior"]["theta"].expand_dims(quantity=["log_hr"], axis=-1)
    assert prior_sensitivity.sensitivity(trace, draws).empty


@pytest.mark.parametrize(("prior", "likelihood", "expected"), [
    (0.01, 0.2, "likelihood-dominated"), (0.2, 0.2, "prior-sensitive"),
    (0.2, 0.01, "prior-sensitive, weak likelihood"), (np.nan, 0.2, "not available"),
])  # fmt: skip
def test_verdict_words(prior, likelihood, expected):
    assert prior_sensitivity.verdict(prior, likelihood) == expected
