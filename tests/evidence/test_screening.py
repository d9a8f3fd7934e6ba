"""What a user's file can hold that parses yet breaks a fit, on public data as it comes:
True/False events (lifelines' glioma data as pandas writes it), a typo-sized value in the
heart transplant data (statsmodels), too few rows, and a hint that lists every column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import datasets

from netlm_bayes.errors import InputError
from netlm_bayes.evidence import screening
from netlm_bayes.evidence.patient_data import (
    Columns,
    data_warnings,
    frame_model_data,
    read_model_data,
)

GLIOMA = Columns(time="time", event="event", covariates=("age", "group"))
HEART = Columns(time="survival", event="censors", covariates=("age",))


@pytest.fixture
def heart() -> pd.DataFrame:
    return sm.datasets.heart.load_pandas().data


def test_true_false_events_are_read_as_1_and_0_from_a_file_and_a_bool_column(tmp_path):
    glioma = datasets.load_g3()
    assert glioma["event"].dtype == bool  # as lifelines ships it
    path = tmp_path / "glioma.csv"
    glioma.to_csv(path, index=False)  # written "True"/"False"
    from_file = read_model_data(path, GLIOMA)
    from_frame = frame_model_data(glioma, GLIOMA)
    assert from_file.event.tolist() == glioma["event"].astype(int).tolist()
    assert from_frame.event.tolist() == from_file.event.tolist()
    assert from_file.n == 17 and from_file.event.sum() == 6  # lifelines' g3: 17 rows, 6 events
    # any case, and as a two-level covariate
    shouted = glioma.assign(event=glioma["event"].map({True: "TRUE", False: "false"}),
                            treated=glioma["group"] == "RIT")  # fmt: skip
    data = frame_model_data(shouted, Columns(time="time", event="event", covariates=("treated",)))
    assert data.event.sum() == 6
    assert data.X[:, 0].tolist() == (glioma["group"] == "RIT").astype(float).tolist()


def test_yes_no_events_are_still_refused_with_the_rule(tmp_path):
    glioma = datasets.load_g3().assign(event=lambda f: f["event"].map({True: "yes", False: "no"}))
    with pytest.raises(InputError, match="coded yes and no; it must be 1 for an event"):
        frame_model_data(glioma, GLIOMA)


def test_a_typo_sized_value_is_refused_by_column_line_and_value(heart):
    heart.loc[5, "age"] = 1e12
    with pytest.raises(InputError) as caught:
        frame_model_data(heart, HEART)
    message = caught.value.message
    assert "column 'age': 1e+12 on line 7 lies more than 10 robust SDs" in message
    assert "the other rows run 19.7 to 64.5" in message
    assert caught.value.fields == ("allow_outliers",)


def test_an_accepted_or_milder_outlier_is_fitted_and_recorded(heart):
    heart.loc[5, "age"] = 1e12
    accepted = frame_model_data(heart, Columns(**{**HEART.__dict__, "allow_outliers": True}))
    assert accepted.X[5, 0] == 1e12
    assert any("fitted as given, as asked" in w for w in data_warnings(accepted))
    heart.loc[5, "age"] = 180.0  # far out (> 10 robust SDs), yet the column still varies
    milder = frame_model_data(heart, HEART)
    notes = [w for w in data_warnings(milder) if "robust SDs" in w]
    assert len(notes) == 1 and "180 on line 7" in notes[0] and "check it" in notes[0]


def test_real_spread_is_never_flagged():
    """Columns with long but real tails: lifelines' rossi (prio, counts mostly 0-3) and
    gbsg2 (pnodes up to 51, tsize up to 120), and the heart data's waiting times."""
    rossi, gbsg2 = datasets.load_rossi(), datasets.load_gbsg2()
    heart = sm.datasets.heart.load_pandas().data
    for frame, column in ((rossi, "prio"), (rossi, "age"), (gbsg2, "tsize"), (gbsg2, "age"),
                          (heart, "age")):  # fmt: skip
        assert not screening._far_values(frame[column].to_numpy(float)).any(), column
    # pnodes does have values beyond 10 robust SDs (median 3, MAD 2): warned, not refused
    flagged = screening._far_values(gbsg2["pnodes"].to_numpy(float))
    assert 0 < flagged.sum() < 20


def test_too_few_rows_and_events_are_refused_with_what_is_needed(heart):
    with pytest.raises(InputError, match=r"1 row; a model needs at least 5 rows"):
        frame_model_data(heart.head(1), Columns(time="survival", event="censors", covariates=()))
    with pytest.raises(InputError, match=r"4 rows; a model needs at least 5 rows"):
        frame_model_data(heart.head(4), HEART)
    few_events = heart.head(8).assign(censors=[1, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(InputError, match=r"1 event in 8 rows; a survival model needs at least 2"):
        frame_model_data(few_events, HEART)
    many = heart.head(7).assign(**{f"x{i}": np.arange(7.0) ** (i / 3) for i in range(1, 6)})
    columns = Columns(time="survival", event="censors", covariates=("age", "x1", "x2", "x3",
                                                                     "x4", "x5"))  # fmt: skip
    with pytest.raises(
        InputError, match=r"7 rows; this model has 8 parameters and needs at least 9"
    ):
        frame_model_data(many, columns)


def test_a_formula_typo_lists_every_column_of_the_file():
    glioma = datasets.load_g3()
    columns = Columns(time="time", event="event", covariates=(), formula="age + sexx + group")
    with pytest.raises(InputError) as caught:
        frame_model_data(glioma, columns)
    assert "the file's columns are: no., age, sex, histology, group, event, time" in str(
        caught.value
    )


def test_a_wide_file_lists_its_first_20_columns_and_how_many_more():
    wide = pd.DataFrame({f"c{i}": [1.0, 2.0] for i in range(30)})
    with pytest.raises(InputError) as caught:
        frame_model_data(wide, Columns(time="time", event="c1", covariates=()))
    text = str(caught.value)
    assert "the file's 30 columns are: c0, c1," in text and "c19, … (10 more)" in text
    assert "c20" not in text


def test_separated_covariates_are_named():
    X = np.array([[1, 0.5], [1, 0.1], [0, 0.3], [0, 0.2], [0, 0.9]])
    y = np.array([1, 1, 0, 1, 0])
    assert screening.separated(y, X, ["rich", "ttme"]) == [("rich", 1, 1, 2)]
