"""Guyot's reconstruction on curves whose patients we know exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

from netlm_bayes import labels
from netlm_bayes.evidence import km_figure, km_reconstruction
from netlm_bayes.frequentist.km_accuracy import kaplan_meier


def _exact_figure(time, event, risk_times, group="all"):
    """The KM curve clicked exactly at every corner, and the true risk table."""
    fitted = kaplan_meier(time, event)
    curve = fitted.survival_function_
    points = pd.DataFrame({"time": curve.index, "survival": curve.iloc[:, 0].to_numpy()})
    risk = pd.DataFrame(
        {"time": risk_times, "at_risk": [(np.asarray(time) >= t).sum() for t in risk_times]}
    )
    return km_figure.figure_from_tables(points, risk)


def test_without_censoring_every_event_time_comes_back_exactly():
    rng = np.random.default_rng(3)
    time = np.round(rng.exponential(10, 40), 2)
    figure = _exact_figure(time, np.ones(40, int), [0, 5, 10, 20])
    ipd, _ = km_reconstruction.reconstruct(figure)
    assert np.array_equal(np.sort(ipd["time"].to_numpy()), np.sort(time))
    assert ipd["event"].sum() == 40
    assert (ipd["data_origin"] == labels.RECONSTRUCTED).all()
    assert list(ipd.columns) == ["patient_id", "time", "event", "data_origin"]


def test_with_censoring_the_risk_table_and_the_curve_are_met():
    rng = np.random.default_rng(4)
    true_time = rng.weibull(1.3, 200) * 20
    censor = rng.uniform(0, 40, 200)
    time, event = np.minimum(true_time, censor).round(3), (true_time <= censor).astype(int)
    risk_times = [0, 5, 10, 15, 20, 25]
    figure = _exact_figure(time, event, risk_times)
    _, groups = km_reconstruction.reconstruct(figure)
    rebuilt = groups[km_figure.ONE_GROUP]
    fit = rebuilt.at_risk_fit
    assert (fit["at_risk_printed"] == fit["at_risk_reconstructed"]).all()
    assert len(rebuilt.time) == 200
    grid = np.linspace(0, time.max(), 400)
    gap = (
        kaplan_meier(time, event).survival_function_at_times(grid).to_numpy()
        - kaplan_meier(rebuilt.time, rebuilt.event).survival_function_at_times(grid).to_numpy()
    )
    # exact corners: only the censoring times within an interval are guessed
    assert np.abs(gap).max() < 0.02
    assert abs(rebuilt.events - event.sum()) <= 2


def test_a_risk_table_with_only_two_times_still_rebuilds_the_curve():
    rng = np.random.default_rng(5)
    time = rng.exponential(10, 120).round(2)
    event = (rng.uniform(size=120) < 0.8).astype(int)
    figure = _exact_figure(time, event, [0, 10])
    _, groups = km_reconstruction.reconstruct(figure)
    rebuilt = groups[km_figure.ONE_GROUP]
    assert len(rebuilt.time) == 120
    assert rebuilt.at_risk_fit["at_risk_reconstructed"].tolist() == [120, (time >= 10).sum()]
    assert abs(rebuilt.events - event.sum()) / event.sum() < 0.05


def test_total_events_are_met_when_the_last_interval_can_take_them():
    rng = np.random.default_rng(6)
    time = rng.exponential(10, 150).round(2)
    event = (rng.uniform(size=150) < 0.7).astype(int)
    figure = _exact_figure(time, event, [0, 4])  # a long last interval
    curve = figure[km_figure.ONE_GROUP]
    without = km_reconstruction.reconstruct_group(curve)
    given = km_reconstruction.reconstruct_group(curve, int(event.sum()))
    assert given.events == event.sum()
    assert given.notes == []
    assert abs(without.events - event.sum()) >= abs(given.events - event.sum())


def test_a_total_that_cannot_be_met_is_said_not_hidden():
    time = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    figure = _exact_figure(time, np.ones(10, int), [0, 9])
    rebuilt = km_reconstruction.reconstruct_group(figure[km_figure.ONE_GROUP], 3)
    assert rebuilt.notes and "more than the 3 given" in rebuilt.notes[0]


def test_labelled_groups_get_a_column_each_after_the_reference():
    points = pd.DataFrame(
        {
            "time": [0, 5, 10, 0, 5, 10],
            "survival": [1, 0.8, 0.6, 1, 0.6, 0.3],
            "arm": ["placebo"] * 3 + ["drug A"] * 3,
        }
    )
    risk = pd.DataFrame({"time": [0, 0], "at_risk": [50, 50], "arm": ["placebo", "drug A"]})
    figure = km_figure.figure_from_tables(points, risk, "arm")
    ipd, _ = km_reconstruction.reconstruct(figure, group_col="arm")
    assert list(ipd.columns) == ["patient_id", "time", "event", "arm", "arm_drug_A", "data_origin"]
    assert ipd.groupby("arm")["arm_drug_A"].max().to_dict() == {"drug A": 1, "placebo": 0}
    assert ipd["patient_id"].is_unique and len(ipd) == 100
