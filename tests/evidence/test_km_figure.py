"""Reading and cleaning a digitised KM figure: what is fixed (and logged) and what is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from netlm_bayes.errors import InputError
from netlm_bayes.evidence import km_figure

RISK = pd.DataFrame({"time": [0, 10], "at_risk": [50, 20]})


def _figure(points, risk=RISK, **options):
    return km_figure.figure_from_tables(pd.DataFrame(points), risk, **options)


def test_digitiser_noise_is_cleaned_and_every_change_logged():
    points = {
        "time": [12.0, 3.0, 0.0, 6.0, 6.0, 9.0, -0.05],
        "survival": [0.40, 0.80, 1.004, 0.70, 0.62, 0.63, 1.0],
    }
    (curve,) = _figure(points).values()
    assert curve.time[0] == 0 and curve.survival[0] == 1
    assert np.all(np.diff(curve.time) > 0)
    assert np.all(np.diff(curve.survival) <= 0)
    # the drop clicked at its top and bottom (time 6) keeps the bottom; the reversal at 9
    # (0.63 after 0.62) is pooled to their mean
    assert curve.survival_at([6.0])[0] == pytest.approx(0.625)
    log = " | ".join(curve.cleaning)
    for change in ("sorted", "onto them", "non-increasing", "shared a time"):
        assert change in log
    assert curve.raw_points == 7


def test_a_start_is_added_when_the_first_click_is_after_zero():
    (curve,) = _figure({"time": [2.0, 11.0], "survival": [0.9, 0.5]}).values()
    assert list(curve.time[:2]) == [0.0, 2.0]
    assert "added the start (time 0, survival 1)" in curve.cleaning
    assert curve.median() == 11.0


def test_a_curve_that_never_reaches_half_has_no_median():
    (curve,) = _figure({"time": [0, 5, 11.0], "survival": [1, 0.8, 0.7]}).values()
    assert np.isnan(curve.median())


def test_percent_is_read_with_the_flag_and_refused_without_it():
    points = {"time": [0, 5, 11.0], "survival": [100, 80, 45]}
    (curve,) = _figure(points, percent=True).values()
    assert curve.survival[-1] == pytest.approx(0.45)
    with pytest.raises(InputError, match="looks like percent; give percent=True"):
        _figure(points)
    with pytest.raises(InputError, match="already holds proportions; leave out percent=True"):
        _figure({"time": [0, 11.0], "survival": [1, 0.4]}, percent=True)


def test_numbered_groups_are_ordered_so_the_lowest_is_the_reference():
    points = pd.DataFrame(
        {"time": [0, 11, 0, 11], "survival": [1, 0.4, 1, 0.6], "arm": ["1", "1", "0", "0"]}
    )
    risk = pd.DataFrame({"time": [0, 0], "at_risk": [30, 30], "arm": ["1", "0"]})
    assert list(km_figure.figure_from_tables(points, risk, "arm")) == ["0", "1"]


@pytest.mark.parametrize(
    ("points", "risk", "options", "message"),
    [
        ({"time": [0, 5, 11], "survival": [1, 1.4, 0.2]}, RISK, {},
         r"survival must lie in \[0, 1\]"),
        ({"time": [0, 11], "survival": [1, -0.3]}, RISK, {}, r"found -0.3 \(row 2\)"),
        ({"time": [0, 11], "survival": [1, 0.5]},
         pd.DataFrame({"time": [0, 5], "at_risk": [20, 25]}), {},
         "cannot increase, but goes from 20 at time 0 to 25 at time 5"),
        ({"time": [0, 11], "survival": [1, 0.5]},
         pd.DataFrame({"time": [0, 30], "at_risk": [20, 5]}), {},
         r"at-risk row\(s\) 5 at 30 lie beyond the curve's last point \(11\) with more than 10%"),
        ({"time": [0, 11], "survival": [1, 0.5], "arm": ["a", "a"]},
         pd.DataFrame({"time": [0], "at_risk": [20], "arm": ["b"]}), {"group_col": "arm"},
         "the groups differ; only in curve: 'a'; only in at-risk table: 'b'"),
        ({"time": [3.0], "survival": [0.9]}, RISK, {}, "1 curve point"),
        ({"time": [0, 11], "survival": [1, 0.5]},
         pd.DataFrame({"time": [2, 5], "at_risk": [20, 10]}), {}, "must start at time 0"),
        ({"time": [0, "ten"], "survival": [1, 0.5]}, RISK, {},
         "row 2 .*column time: 'ten' is not a number"),
        ({"t": [0, 11], "survival": [1, 0.5]}, RISK, {}, "missing column.* time"),
        ({"time": [0, None], "survival": [1, 0.5]}, RISK, {}, "row 2 .*column time: is empty"),
        ({"time": [0, 11], "survival": [1, 0.5]},
         pd.DataFrame({"time": [0, 5], "at_risk": [20, 7.5]}), {}, "whole numbers"),
    ],
    ids=["survival above 1", "survival below 0", "risk table increases",
         "at-risk beyond the curve", "groups differ", "one point", "risk not from 0",
         "not a number", "missing column", "empty cell", "fractional at risk"],
)  # fmt: skip
def test_bad_figures_are_refused_with_one_clear_message(points, risk, options, message):
    with pytest.raises(InputError, match=message):
        _figure(points, risk, **options)


def test_files_are_read_as_a_user_saves_them(tmp_path):
    (tmp_path / "curve.csv").write_text("time;survival\n0;1\n11;0,5\n")
    (tmp_path / "risk.csv").write_text("time,at_risk\n0,20\n")
    with pytest.raises(InputError, match="';'-delimited, with decimal commas"):
        km_figure.read_figure(tmp_path / "curve.csv", tmp_path / "risk.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
        km_figure.read_figure(tmp_path / "empty.csv", tmp_path / "risk.csv")


def test_zero_at_risk_after_a_curve_ends_is_dropped_as_figures_print_it():
    """A group whose curve reaches 0 (or stops) before the table's last time, with 0 at
    risk printed there: accepted, the row dropped and logged."""
    risk = pd.DataFrame({"time": [0, 10, 20, 30], "at_risk": [50, 20, 0, 0]})
    (curve,) = _figure({"time": [0.0, 5.0, 12.0], "survival": [1.0, 0.6, 0.0]}, risk).values()
    assert list(curve.risk_time) == [0, 10] and list(curve.at_risk) == [50, 20]
    assert any("0 at 20, 0 at 30 after the curve's last point (12): dropped" in n
               for n in curve.cleaning)  # fmt: skip


def test_a_few_still_at_risk_after_the_curve_extend_it_flat_and_many_are_refused():
    risk = pd.DataFrame({"time": [0, 10, 20], "at_risk": [50, 20, 3]})
    (curve,) = _figure({"time": [0.0, 5.0, 12.0], "survival": [1.0, 0.6, 0.4]}, risk).values()
    assert curve.time[-1] == 20 and curve.survival[-1] == 0.4  # flat to the last count
    assert list(curve.at_risk) == [50, 20, 3]
    assert any("taken as flat to 20" in note for note in curve.cleaning)
    many = pd.DataFrame({"time": [0, 10, 20], "at_risk": [50, 20, 12]})  # 24% of the group
    with pytest.raises(InputError, match="more than 10% of the group still at risk"):
        _figure({"time": [0.0, 5.0, 12.0], "survival": [1.0, 0.6, 0.4]}, many)
