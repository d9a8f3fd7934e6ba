"""Covariates as users write them: categorical columns and formulas, coded as stated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import datasets

from netlm_bayes.errors import InputError
from netlm_bayes.evidence.patient_data import Columns, data_warnings, frame_model_data

GBSG2 = datasets.load_gbsg2()


def _survival(table=GBSG2, covariates=(), formula=None, references=()):
    columns = Columns(tuple(covariates), time="time", event="cens", formula=formula,
                      references=tuple(references))  # fmt: skip
    return frame_model_data(table, columns)


def test_a_column_of_labels_is_coded_against_its_most_frequent_level():
    data = _survival(covariates=["tgrade", "horTh", "age"])
    assert data.covariates == ["tgrade[I]", "tgrade[III]", "horTh[yes]", "age"]
    assert list(data.coding.levels["tgrade"]) == ["II", "I", "III"]  # II: 444 of 686
    grade = GBSG2["tgrade"].to_numpy()
    assert np.array_equal(data.X[:, 0], grade == "I")
    assert np.array_equal(data.X[:, 1], grade == "III")
    assert np.array_equal(data.X[:, 3], GBSG2["age"])  # numbers as they are
    effect = data.coding.describe()["effects"]["tgrade[III]"]
    assert effect == {"columns": ["tgrade"], "term": "tgrade", "level": "III",
                      "reference": "II", "contrast": "treatment"}  # fmt: skip


def test_the_reference_level_can_be_named():
    data = _survival(covariates=["tgrade"], references=[("tgrade", "I")])
    assert data.covariates == ["tgrade[II]", "tgrade[III]"]
    assert data.coding.describe()["effects"]["tgrade[II]"]["reference"] == "I"


def test_numeric_covariates_alone_are_taken_exactly_as_before():
    data = _survival(covariates=["age", "tsize"])
    assert data.covariates == ["age", "tsize"] and not data.coding.levels
    assert data.coding.describe()["effects"]["age"] == {"columns": ["age"], "term": "age"}
    assert np.array_equal(data.X, GBSG2[["age", "tsize"]].to_numpy(float))


def test_a_formula_names_its_effects_by_its_terms():
    formula = "C(tgrade) + horTh + age + np.log(tsize) + center(age) + tsize:pnodes"
    data = _survival(formula=formula)
    assert data.covariates == [
        "tgrade[I]", "tgrade[III]", "horTh[yes]", "age", "np.log(tsize)", "center(age)",
        "tsize:pnodes",
    ]  # fmt: skip
    X = pd.DataFrame(data.X, columns=data.covariates)
    assert np.allclose(X["np.log(tsize)"], np.log(GBSG2["tsize"]))
    assert np.allclose(X["center(age)"], GBSG2["age"] - GBSG2["age"].mean())
    assert np.allclose(X["tsize:pnodes"], GBSG2["tsize"] * GBSG2["pnodes"])
    assert data.coding.describe()["effects"]["np.log(tsize)"]["term"] == "np.log(tsize)"


def test_c_makes_a_numeric_column_categorical():
    table = GBSG2.assign(grade=GBSG2["tgrade"].map({"I": 1, "II": 2, "III": 3}))
    data = _survival(table, formula="C(grade) + age")
    assert data.covariates == ["grade[1]", "grade[3]", "age"]


def test_a_categorical_columns_levels_give_one_curve_each_never_an_impossible_patient():
    data = _survival(covariates=["tgrade", "age"])
    levels = data.groupings()["tgrade"]
    assert [label for label, _, _ in levels] == ["tgrade=II", "tgrade=I", "tgrade=III"]
    for label, values, rows in levels:
        set_here = values[:2]
        assert set_here.sum() <= 1  # at most one grade indicator at a time
        assert rows.sum() == (GBSG2["tgrade"] == label.split("=")[1]).sum()
    assert np.isnan(levels[0][1][2])  # age stays as observed


def test_thin_levels_are_named_in_a_warning():
    table = GBSG2.copy()
    table.loc[0, "tgrade"] = "IV"
    table.loc[table["tgrade"] == "I", "cens"] = 0
    notes = " ".join(data_warnings(_survival(table, covariates=["tgrade"])))
    assert "level(s) 'IV' seen in one row only" in notes
    assert "no events in level 'I' of column 'tgrade'" in notes


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"formula": "age + nosuch"}, "names 'nosuch', which is not a column"),
        ({"formula": "age + (tsize"}, "does not parse"),
        ({"covariates": ["horTh"], "table": GBSG2.assign(horTh="yes")},
         "column 'horTh' has a single level ('yes')"),
        ({"covariates": ["tgrade"], "references": [("tgrade", "IV")]},
         "reference level 'IV' for column 'tgrade' (references=): no such level; it has 'I', 'II', 'III'"),
        ({"covariates": ["age"], "references": [("tgrade", "I")]},
         "reference level for tgrade (references=): not a categorical covariate"),
        ({"covariates": ["age"], "table": GBSG2.assign(age=GBSG2["age"].astype(str).where(
            GBSG2.index != 3, "old"))}, "row 4 (line 5), column age: 'old' is not a number"),
    ],
    ids=["missing column", "does not parse", "single level", "unknown reference",
         "reference for no categorical", "one label among numbers"],
)  # fmt: skip
def test_bad_formulas_and_codings_get_one_clear_message(options, message):
    with pytest.raises(InputError) as caught:
        _survival(**options)
    assert message in str(caught.value)


def test_a_column_name_with_a_space_is_coded_and_named_as_written():
    table = GBSG2.rename(columns={"tgrade": "tumour grade", "tsize": "tumour size"})
    for data in (
        _survival(table, covariates=["tumour grade", "tumour size"]),
        _survival(table, formula="C(`tumour grade`) + `tumour size`"),
    ):
        assert data.covariates == ["tumour grade[I]", "tumour grade[III]", "tumour size"]
        effects = data.coding.describe()["effects"]
        assert effects["tumour grade[III]"]["columns"] == ["tumour grade"]
        assert effects["tumour grade[III]"]["reference"] == "II"
        assert list(data.groupings()) == ["tumour grade"]
    # the recorded terms name the columns again as a formula (as `plan` rebuilds them)
    again = _survival(table, formula=" + ".join(e["term"] for e in effects.values()))
    assert again.covariates == data.covariates
