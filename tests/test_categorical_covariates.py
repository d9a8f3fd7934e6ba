"""Categorical covariates and formulas on real data as it comes, against lifelines' and
statsmodels' own formula fits; and the coding carried by an exported prior."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import lifelines
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from lifelines import WeibullAFTFitter, datasets
from typer.testing import CliRunner

from netlm_bayes import ResponseModel
from netlm_bayes.cli.app import app

runner = CliRunner()
GBSG2_CSV = Path(lifelines.__file__).parent / "datasets" / "gbsg2.csv"
FORMULA = "C(tgrade) + horTh + age + tsize + pnodes"


def _sd_gap(row: pd.Series, reference: float) -> float:
    """|posterior median - reference| in posterior SDs, on the log scale."""
    sd = (np.log(row["eti95_high"]) - np.log(row["eti95_low"])) / 3.92
    return abs(np.log(row["median"]) - reference) / sd


@pytest.fixture(scope="module")
def gbsg2_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gbsg2") / "run"
    args = ["fit", "hpfs_weibull", "--data", str(GBSG2_CSV), "--time", "time", "--event",
            "cens", "--formula", FORMULA, "--reference", "tgrade=I,horTh=no", "--time-unit",
            "days", "--prior-set", "minimal", "--strict", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_weibull_hrs_per_grade_match_lifelines_formula_fit(gbsg2_run):
    out, output = gbsg2_run
    assert "hr_tgrade[II]" in output and "hr_tgrade[III]" in output
    summary = pd.read_csv(out / "summary.csv").set_index("quantity")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mle = WeibullAFTFitter().fit(
            pd.read_csv(GBSG2_CSV), "time", "cens", formula=FORMULA
        )  # the same file, the same formula; formulaic's reference: I and no
    coef = mle.params_["lambda_"]
    shape = np.exp(mle.params_["rho_"]["Intercept"])
    names = {"C(tgrade)[T.II]": "tgrade[II]", "C(tgrade)[T.III]": "tgrade[III]",
             "horTh[T.yes]": "horTh[yes]", "age": "age", "tsize": "tsize",
             "pnodes": "pnodes"}  # fmt: skip
    for theirs, ours in names.items():
        log_hr = -coef[theirs] * shape  # AFT to PH
        assert _sd_gap(summary.loc[f"hr_{ours}"], log_hr) < 0.15, ours


def test_the_coding_is_recorded_in_the_manifest_and_the_posterior(gbsg2_run):
    out, _ = gbsg2_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["coding"]["formula"] == FORMULA
    assert manifest["coding"]["levels"]["tgrade"] == ["I", "II", "III"]
    grade = manifest["coding"]["effects"]["tgrade[III]"]
    assert grade["reference"] == "I" and grade["contrast"] == "treatment"


def test_logistic_ors_with_label_columns_match_statsmodels_formula_fit():
    dd = datasets.load_dd()  # democracy and dictatorship: labels as they come
    formula = "regime + un_continent_name + start_year"
    fitted = ResponseModel("logistic", prior_set="minimal", profile="quick").fit(
        dd, "observed", formula=formula,
        references={"regime": "Civilian Dict", "un_continent_name": "Africa"},
    )  # fmt: skip
    assert fitted.passed
    summary = fitted.summary.set_index("quantity")
    mle = smf.logit(f"observed ~ {formula}", dd).fit(disp=0).params  # sorted first level
    for name, value in mle.drop("Intercept").items():
        ours = name.replace("[T.", "[")
        assert _sd_gap(summary.loc[f"or_{ours}"], value) < 0.15, ours


@pytest.fixture(scope="module")
def exported(gbsg2_run, tmp_path_factory):
    out, _ = gbsg2_run
    prior = tmp_path_factory.mktemp("prior") / "gbsg2.json"
    result = runner.invoke(app, ["export-prior", str(out), "--out", str(prior)])
    assert result.exit_code == 0, result.output
    return prior


@pytest.mark.parametrize(
    ("formula", "references", "table", "message"),
    [
        (FORMULA, "tgrade=II,horTh=no", None,
         "the prior codes 'tgrade' against reference level 'I', this cohort against 'II'"),
        ("C(tgrade) + horTh + age + np.log(tsize) + pnodes", "tgrade=I,horTh=no", None,
         "a transform that differs"),
        (FORMULA, "tgrade=II,horTh=no", lambda f: f[f["tgrade"] != "I"],
         "level 'I' of 'tgrade' is not in this cohort"),
    ],
    ids=["another reference", "another transform", "a missing level"],
)  # fmt: skip
def test_a_prior_refuses_a_cohort_coded_otherwise(exported, tmp_path, formula, references,
                                                  table, message):  # fmt: skip
    data = GBSG2_CSV
    if table is not None:
        data = tmp_path / "cohort.csv"
        table(pd.read_csv(GBSG2_CSV)).to_csv(data, index=False)
    args = ["fit", "hpfs_weibull", "--data", str(data), "--time", "time", "--event", "cens",
            "--formula", formula, "--reference", references, "--time-unit", "days",
            "--prior", str(exported), "--out", str(tmp_path / "run")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "run").exists()


def test_a_prior_is_taken_by_a_cohort_coded_the_same(exported, tmp_path):
    args = ["fit", "hpfs_weibull", "--data", str(GBSG2_CSV), "--time", "time", "--event",
            "cens", "--formula", FORMULA, "--reference", "tgrade=I,horTh=no", "--time-unit",
            "days", "--prior", str(exported), "--profile", "quick", "--out",
            str(tmp_path / "run")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "hr_tgrade[II]" in result.output


def test_formula_and_covariates_together_are_refused(tmp_path):
    args = ["fit", "hpfs_weibull", "--data", str(GBSG2_CSV), "--time", "time", "--event",
            "cens", "--formula", "age", "--covariates", "age"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "give one" in result.output
    result = runner.invoke(app, [*args[:-4], "--covariates", "age", "--reference", "tgrade"])
    assert result.exit_code == 2 and "COLUMN=LEVEL" in result.output
