"""The sceptical limit (Matthews' Analysis of Credibility), against a conjugate-normal
computation and the paper's own numbers."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from netlm_bayes.evidence.credibility import credibility_table, sceptical_limit, sceptical_tau
from netlm_bayes.evidence.paper import load_paper

Z = stats.norm.isf(0.025)


@pytest.mark.parametrize(("y", "s"), [(1.4322, 0.6157), (-2.6736, 1.0380), (0.5, 0.2), (3.0, 1.5)])
def test_under_the_sceptical_prior_the_posterior_interval_just_reaches_no_effect(y, s):
    """Conjugate normal: prior N(0, tau^2) with tau = log SL / 1.96, estimate y with SE s;
    the posterior 95% limit nearer 0 is 0, and a prior a little narrower pulls it across."""
    low, high = math.exp(y - Z * s), math.exp(y + Z * s)
    limit = sceptical_limit(low, high)
    tau = abs(math.log(limit)) / Z
    assert tau == pytest.approx(sceptical_tau(y, s), rel=1e-12)

    def near_limit(prior_sd):
        mean = y * prior_sd**2 / (prior_sd**2 + s**2)
        sd = prior_sd * s / math.sqrt(prior_sd**2 + s**2)
        return mean - Z * sd if y > 0 else mean + Z * sd

    assert near_limit(tau) == pytest.approx(0.0, abs=1e-12)
    assert math.copysign(1, near_limit(0.99 * tau)) != math.copysign(1, y)  # crosses 1
    assert math.copysign(1, near_limit(1.01 * tau)) == math.copysign(1, y)  # excludes 1
    assert (limit > 1) == (y > 0)


def test_the_paper_htb_hazard_ratio_by_hand():
    """HR 4.188, implied 95% CI 1.253 to 14.00: (ln 14.00 - ln 1.253)^2 = 5.826,
    4 sqrt(ln 14.00 * ln 1.253) = 3.086, SL = exp(1.888) = 6.60."""
    assert sceptical_limit(1.253, 14.00) == pytest.approx(6.60, abs=0.005)


def test_a_protective_ratio_mirrors_a_harmful_one():
    assert sceptical_limit(1 / 14.0, 1 / 1.253) == pytest.approx(1 / sceptical_limit(1.253, 14.0))


@pytest.mark.parametrize(("low", "high"), [(0.8, 2.0), (1.0, 3.0), (2.0, 1.5), (-1.0, 2.0)])
def test_an_interval_that_includes_one_or_is_malformed_is_refused(low, high):
    with pytest.raises(ValueError):
        sceptical_limit(low, high)


def test_the_table_has_a_row_per_reported_ratio_and_brackets_the_rounding():
    table = credibility_table(load_paper())
    assert list(table["quantity"]) == ["hr_htb_gt25", "or_border_clear", "or_pet_positive",
                                       "or_ki67_gt10"]  # fmt: skip
    for row in table.itertuples():
        ends = sorted([row.sceptical_limit_at_p_low, row.sceptical_limit_at_p_high])
        assert ends[0] < row.sceptical_limit < ends[1]
        # a smaller p means a narrower CI and so a limit nearer 1: more credible
        assert abs(math.log(row.sceptical_limit_at_p_low)) < abs(
            math.log(row.sceptical_limit_at_p_high)
        )
    assert table["paper_source"].str.startswith("abstract:").all()
