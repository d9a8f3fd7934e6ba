"""The fitted object as a notebook user meets it: a short repr, every column on request,
predictions for new patients (against lifelines' and statsmodels' own predictions on the
same data), plots on a given Axes, a prior passed as the object `to_prior()` returns, and
refusals worded for Python."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import lifelines
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines import WeibullAFTFitter
from statsmodels.miscmodels.ordinal_model import OrderedModel
from typer.testing import CliRunner

from netlm_bayes import ExportedPrior, ResponseModel, SurvivalModel, load_pseudo_cohort
from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError

GBSG2 = pd.read_csv(Path(lifelines.__file__).parent / "datasets" / "gbsg2.csv")
FORMULA = "C(tgrade) + horTh + age"
NEW_PATIENTS = pd.DataFrame(
    {"tgrade": ["I", "III", "II"], "horTh": ["no", "yes", "yes"], "age": [45, 60, 72]},
    index=["a", "b", "c"],
)
TIMES = [365.0, 1095.0, 1825.0]


@pytest.fixture(scope="module")
def gbsg2_fit():
    """German Breast Cancer Study Group 2 as lifelines ships it: labels and days."""
    return SurvivalModel("weibull", prior_set="minimal", profile="quick", time_unit="days").fit(
        GBSG2, duration_col="time", event_col="cens", formula=FORMULA
    )


@pytest.fixture(scope="module")
def gbsg2_mle():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WeibullAFTFitter().fit(GBSG2, "time", "cens", formula=FORMULA)


def _gap_in_sds(median, low, high, reference) -> np.ndarray:
    """|posterior median - reference| in posterior SDs (read from the 95% interval)."""
    return np.abs(np.asarray(median) - reference) / ((np.asarray(high) - low) / 3.92)


def test_repr_says_model_data_priors_and_verdict_in_a_few_lines(gbsg2_fit):
    text = repr(gbsg2_fit)
    assert len(text.splitlines()) <= 8
    assert "weibull survival" in text and "686 patients, 299 events" in text
    assert "prior set minimal" in text and "passed" in text and "days" in text
    assert "DataTree" not in text and "array(" not in text
    shown = gbsg2_fit._repr_html_()  # what Jupyter displays
    assert "<table" in shown and "hr_tgrade[III]" in shown and "ess_tail" in shown


def test_print_summary_shows_every_column(gbsg2_fit, capsys):
    gbsg2_fit.print_summary()
    printed = capsys.readouterr().out
    assert "..." not in printed
    header = next(line for line in printed.splitlines() if line.strip().startswith("quantity"))
    for column in gbsg2_fit.summary.columns:
        assert column in header
    assert isinstance(gbsg2_fit.summary, pd.DataFrame)


def test_predict_survival_matches_lifelines_on_new_patients(gbsg2_fit, gbsg2_mle):
    """Under the nearly flat prior, the posterior median of S(t) for three new patients
    (labels coded as in the fit) lies within 0.3 posterior SDs of lifelines' MLE."""
    ours = gbsg2_fit.predict_survival(NEW_PATIENTS, TIMES)
    assert list(ours["row"].unique()) == ["a", "b", "c"]
    assert set(ours["time_unit"]) == {"days"} and set(ours["data_origin"]) == {"as supplied"}
    theirs = gbsg2_mle.predict_survival_function(NEW_PATIENTS, times=TIMES)
    for label in NEW_PATIENTS.index:
        rows = ours[ours["row"] == label]
        gaps = _gap_in_sds(rows["survival"], rows["eti95_low"], rows["eti95_high"],
                           theirs[label].to_numpy())  # fmt: skip
        assert (gaps < 0.3).all(), (label, gaps)
        assert (np.diff(rows["survival"]) < 0).all()


def test_predict_median_matches_lifelines(gbsg2_fit, gbsg2_mle):
    ours = gbsg2_fit.predict_median(NEW_PATIENTS).set_index("row")
    theirs = gbsg2_mle.predict_median(NEW_PATIENTS)
    gaps = _gap_in_sds(ours["median_survival"], ours["eti95_low"], ours["eti95_high"],
                       theirs.to_numpy())  # fmt: skip
    assert (gaps < 0.3).all(), gaps
    assert (ours["eti95_low"] < ours["median_survival"]).all()


def test_new_rows_are_refused_when_the_fit_cannot_code_them(gbsg2_fit):
    unknown = NEW_PATIENTS.assign(tgrade=["I", "IV", "II"])
    with pytest.raises(
        InputError,
        match=r"level\(s\) 'IV' that the fitted cohort never had; its levels are 'II', 'I', 'III'",
    ):
        gbsg2_fit.predict_survival(unknown, TIMES)
    with pytest.raises(InputError, match="no column 'horTh'"):
        gbsg2_fit.predict_median(NEW_PATIENTS.drop(columns="horTh"))
    with pytest.raises(InputError, match="times"):
        gbsg2_fit.predict_survival(NEW_PATIENTS, [-1.0])
    with pytest.raises(InputError, match="predict_proba needs a response model"):
        gbsg2_fit.predict_proba(NEW_PATIENTS)


def test_plot_survival_draws_on_the_given_axes(gbsg2_fit):
    figure, (left, right) = plt.subplots(1, 2)
    assert gbsg2_fit.plot_survival(ax=left) is left
    assert gbsg2_fit.plot_survival(by="tgrade", ax=right) is right
    assert len(right.get_legend().get_texts()) == 6  # a band and a KM curve per grade
    assert "days" in right.get_xlabel()
    with pytest.raises(InputError, match="by='stage'"):
        gbsg2_fit.plot_survival(by="stage", ax=left)
    plt.close(figure)


def test_a_prior_object_from_to_prior_is_accepted_as_prior():
    cohort = load_pseudo_cohort()
    first = SurvivalModel("weibull", profile="quick", time_unit="months").fit(
        cohort, duration_col="hpfs_months", event_col="progressed", covariates=["htb_gt25"]
    )
    prior = first.to_prior()
    assert isinstance(prior, ExportedPrior)
    again = SurvivalModel("weibull", prior=prior, profile="quick", time_unit="months").fit(
        cohort, duration_col="hpfs_months", event_col="progressed", covariates=["htb_gt25"]
    )
    assert again.priors.exported is prior and "exported prior" in again.priors.label
    assert "SYNTHETIC" in again.priors.label  # the pseudo-cohort's prior says what it is


def test_predict_proba_matches_statsmodels_logit():
    rng = np.random.default_rng(11)
    n = 300
    table = pd.DataFrame(
        {"age": rng.normal(60, 10, n).round(), "stage": rng.choice(["A", "B", "C"], n)}
    )
    z = -3.0 + 0.05 * table["age"] + table["stage"].map({"A": 0.0, "B": 0.8, "C": -0.6})
    table["response"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    fitted = ResponseModel("logistic", prior_set="minimal", profile="quick").fit(
        table, "response", references={"stage": "A"}
    )
    new = pd.DataFrame({"age": [50, 70], "stage": ["B", "C"]})
    ours = fitted.predict_proba(new)
    mle = sm.Logit.from_formula("response ~ age + C(stage)", table).fit(disp=0)
    theirs = mle.predict(new).to_numpy()
    gaps = _gap_in_sds(ours["probability"], ours["eti95_low"], ours["eti95_high"], theirs)
    assert (gaps < 0.3).all(), gaps


def test_predict_proba_of_an_ordinal_model_matches_statsmodels():
    rng = np.random.default_rng(5)
    n = 400
    dose = rng.choice([0.0, 1.0, 2.0], n)
    latent = 0.9 * dose + rng.logistic(size=n)
    grade = np.digitize(latent, [0.5, 1.5, 2.5])
    table = pd.DataFrame({"dose": dose, "grade": grade})
    fitted = ResponseModel("ordinal", prior_set="minimal", profile="quick").fit(table, "grade")
    new = pd.DataFrame({"dose": [0.0, 2.0]})
    ours = fitted.predict_proba(new)
    assert np.allclose(ours.groupby("row")["probability"].sum(), 1.0, atol=0.02)
    mle = OrderedModel(table["grade"], table[["dose"]], distr="logit").fit(method="bfgs", disp=0)
    theirs = np.asarray(mle.predict(new[["dose"]]))  # (rows, categories)
    for k, category in enumerate(sorted(ours["outcome"].unique(), key=int)):
        rows = ours[ours["outcome"] == category]
        gaps = _gap_in_sds(rows["probability"], rows["eti95_low"], rows["eti95_high"], theirs[:, k])
        assert (gaps < 0.3).all(), (category, gaps)


def test_refusals_speak_python_to_the_api_and_flags_to_the_cli(tmp_path):
    table = load_pseudo_cohort()
    table.loc[3, "htb_gt25"] = np.nan
    with pytest.raises(InputError) as caught:
        SurvivalModel("weibull").fit(
            table, duration_col="hpfs_months", event_col="progressed", covariates=["htb_gt25"]
        )
    assert "drop_missing=True" in str(caught.value) and "--" not in str(caught.value)
    assert "drop_missing" in caught.value.fields
    path = tmp_path / "missing.csv"
    table.to_csv(path, index=False)
    result = CliRunner().invoke(app, [
        "fit", "hpfs_weibull", "--data", str(path), "--covariates", "htb_gt25",
    ])  # fmt: skip
    assert result.exit_code == 2 and "--drop-missing" in result.output
    assert "drop_missing=" not in result.output


def _message_strings(path: Path) -> list[str]:
    """String constants outside docstrings: what the code may put in a message."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    return [
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]  # fmt: skip


def test_no_module_outside_the_cli_writes_a_command_line_flag_into_a_message():
    """Options are named with `errors.option`, which each front door renders its own way;
    the report's prose (html_sections) is read by CLI users and may name a flag."""
    package = Path(__file__).resolve().parent.parent / "netlm_bayes"
    found = [
        f"{path.relative_to(package)}: {text!r}"
        for path in package.rglob("*.py")
        if "cli" not in path.parts and path.name != "html_sections.py"
        for text in _message_strings(path)
        if re.search(r"(?<![\w-])--[a-z][a-z-]+", text)
    ]
    assert not found, "\n".join(found)


def test_every_option_a_message_names_is_a_real_flag():
    """`errors.option` renders each name as a flag for the CLI; a name with no such flag
    (a keyword renamed, a CLI_NAMES entry missing) would send shell users to a flag that
    does not exist. `by` belongs to plot_survival alone."""
    import typer.main

    from netlm_bayes.errors import as_flag

    command = typer.main.get_command(app)
    flags = {opt for sub in command.commands.values() for param in sub.params for opt in param.opts}
    package = Path(__file__).resolve().parent.parent / "netlm_bayes"
    named = {
        node.args[0].value
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "option"
        and node.args and isinstance(node.args[0], ast.Constant)
    }  # fmt: skip
    assert len(named) > 30
    missing = sorted(n for n in named - {"by"} if as_flag(n) not in flags)
    assert not missing, f"named in messages, but no such flag: {missing}"


def test_a_refusal_keeps_its_cli_wording_across_processes():
    """Study parts and Dask tasks raise in another process; the CLI still renders flags."""
    import pickle

    from netlm_bayes.errors import option

    error = InputError(f"give {option('drop_missing', True)} or {option('sizes', '40,60')}")
    again = pickle.loads(pickle.dumps(error))
    assert again.for_cli() == "give --drop-missing or --n '40,60'"
    assert str(again) == "give drop_missing=True or sizes='40,60'"
