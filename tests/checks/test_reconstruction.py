"""`reconstruct` validated as Guyot et al. validated theirs: real survival data shipped with
lifelines, its KM figure digitised by emulation (150 clicks per curve, off the corners, with
errors up to 0.005 in survival and 0.5% in time), rebuilt, and compared with the original
data, over 20 emulated digitisations per dataset."""

from __future__ import annotations

import numpy as np
import pytest

from netlm_bayes.checks import reconstruction

SEEDS = range(20)
POINTS = 150
REAL = reconstruction.public_datasets()[:3]  # gbsg2, lung, rossi: 114 to 299 events


@pytest.fixture(scope="module")
def sweep():
    return reconstruction.sweep(REAL, SEEDS, POINTS)


def _relative(a, b):
    return (np.asarray(a, float) / np.asarray(b, float) - 1).__abs__()


def test_the_kaplan_meier_curve_comes_back(sweep):
    groups, _ = sweep
    within = groups["km_max_diff_within_time_tolerance"]
    assert within.max() <= 0.03, groups.loc[within.idxmax()].to_dict()


def test_the_hazard_ratio_and_its_interval_come_back(sweep):
    _, ratios = sweep
    assert _relative(ratios["hr_reconstructed"], ratios["hr"]).max() <= 0.10
    assert _relative(ratios["ci95_low_reconstructed"], ratios["ci95_low"]).max() <= 0.15
    assert _relative(ratios["ci95_high_reconstructed"], ratios["ci95_high"]).max() <= 0.15


def test_the_event_count_comes_back(sweep):
    groups, _ = sweep
    assert _relative(groups["events_reconstructed"], groups["events"]).max() <= 0.05
    given = groups[groups["events_given"]]
    not_given = groups[~groups["events_given"]]
    # the reported total never makes the count worse
    gap_given = (given["events_reconstructed"] - given["events"]).abs().to_numpy()
    gap_not = (not_given["events_reconstructed"] - not_given["events"]).abs().to_numpy()
    assert (gap_given <= gap_not).all()


def test_a_curve_that_never_reaches_its_median_says_so(sweep):
    groups, _ = sweep
    rossi = groups[groups["dataset"].str.startswith("rossi")]
    assert rossi["median"].isna().all() and rossi["median_reconstructed"].isna().all()


def test_the_median_comes_back_in_most_digitisations(sweep):
    groups, _ = sweep
    reached = groups.dropna(subset=["median"])
    error = _relative(reached["median_reconstructed"], reached["median"])
    assert (error <= 0.05).mean() >= 0.95
    assert error.max() <= 0.10


@pytest.mark.xfail(
    strict=True,
    reason="gbsg2's no-hormone arm is flat at S = 0.5 (it falls 0.02 per 100 days), so a "
    "click error of 0.005 moves its median about 25 days: 1 of 20 digitisations misses "
    "5% (5.1%)",
)
def test_the_median_comes_back_in_every_digitisation(sweep):
    groups, _ = sweep
    reached = groups.dropna(subset=["median"])
    assert _relative(reached["median_reconstructed"], reached["median"]).max() <= 0.05


@pytest.mark.xfail(
    strict=True,
    reason="without a time tolerance, a large step displaced by the click's own time error "
    "(under 1% of the axis) differs by the step's height: up to 0.048 on gbsg2",
)
def test_the_kaplan_meier_curve_comes_back_point_for_point(sweep):
    groups, _ = sweep
    assert groups["km_max_abs_diff_at_risk_10+"].max() <= 0.03


@pytest.mark.xfail(
    strict=True,
    reason="Guyot's method meets a reported total only through the censoring after the last "
    "risk-table time; where that tail is short (gbsg2: 5 at risk), the count stays off by "
    "the 1 to 3 events lost earlier",
)
def test_the_event_count_is_exact_when_given(sweep):
    groups, _ = sweep
    given = groups[groups["events_given"]]
    assert (given["events_reconstructed"] == given["events"]).all()
