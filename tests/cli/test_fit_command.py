"""`netlm-bayes fit MODEL --data ...` for patient-level models, end to end, and the one
clear error each bad flag gets (before anything is compiled or written)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.paths import PROJECT_ROOT

runner = CliRunner()
COHORT = PROJECT_ROOT / "data" / "pseudo_cohort.csv"
SUMMARY_COLUMNS = [
    "quantity", "median", "eti95_low", "eti95_high", "hdi95_low", "hdi95_high", "prob_gt_1",
    "rhat", "ess_bulk", "ess_tail",
]  # fmt: skip


@pytest.fixture(scope="module")
def weibull_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "weibull"
    args = ["fit", "hpfs_weibull", "--data", str(COHORT), "--profile", "quick", "--seed", "5"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_run_folder_holds_the_promised_files(weibull_run):
    out, output = weibull_run
    names = {p.name for p in out.iterdir()}
    assert {"posterior.nc", "summary.csv", "diagnostics.csv", "manifest.json"} <= names
    assert {"survival_curves.csv", "survival.png"} <= names
    assert "SYNTHETIC" in output and "hr_htb_gt25" in output


def test_summary_csv_has_the_contracted_columns_and_rows(weibull_run):
    summary = pd.read_csv(weibull_run[0] / "summary.csv")
    assert list(summary.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    assert (summary["data_origin"] == "synthetic: not patient data").all()
    rows = set(summary["quantity"])
    for covariate in ("htb_gt25", "ki67_gt10", "pet_positive", "border_clear"):
        assert f"hr_{covariate}" in rows
    assert {"shape", "median_survival", "rmst_12", "rmst_24"} <= rows
    assert {"median_survival[htb_gt25=0]", "median_survival[htb_gt25=1]"} <= rows
    hr = summary.set_index("quantity").loc["hr_htb_gt25"]
    assert hr.eti95_low < hr["median"] < hr.eti95_high
    assert 0 <= hr.prob_gt_1 <= 1 and hr.rhat < 1.01 and hr.ess_bulk > 400


def test_posterior_carries_event_status_log_likelihood_and_provenance(weibull_run):
    trace = xr.open_datatree(weibull_run[0] / "posterior.nc", engine="h5netcdf")
    cohort = pd.read_csv(COHORT)
    np.testing.assert_array_equal(
        trace["constant_data"]["hpfs_months"].values, cohort["progressed"].to_numpy()
    )
    np.testing.assert_allclose(trace["observed_data"]["hpfs_months"].values, cohort["hpfs_months"])
    assert trace["log_likelihood"]["hpfs_months"].sizes["patient"] == len(cohort)
    for key in ("model_sha256", "data_sha256", "seed", "versions", "data_origin"):
        assert key in trace.attrs, key


def test_manifest_records_inputs_seed_versions_and_command(weibull_run):
    manifest = json.loads((weibull_run[0] / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["synthetic"] is True
    assert any(path.endswith("pseudo_cohort.csv") for path in manifest["inputs"])
    assert "pymc" in manifest["versions"] and "fit hpfs_weibull" in manifest["command"]
    assert manifest["priors"]["source"] == "prior set weakly-informative"


def _fails_clearly(args: list[str], *expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())  # rich wraps long messages
    for text in expected:
        assert text in output, (text, output)
    assert "Traceback" not in result.output


@pytest.fixture
def cohort_copy(tmp_path) -> Path:
    frame = pd.read_csv(COHORT)
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    return tmp_path / "cohort.csv"


def test_unknown_column_is_named_with_its_flag(tmp_path):
    _fails_clearly(
        ["fit", "hpfs_weibull", "--covariates", "htb_gt25,age", "--out", str(tmp_path / "r")],
        "no column 'age' (--covariates)",
        "the file's columns are",
    )
    assert not (tmp_path / "r").exists()


def test_an_event_that_is_not_0_or_1_is_named_by_row(cohort_copy):
    frame = pd.read_csv(cohort_copy)
    frame.loc[4, "progressed"] = 2
    frame.to_csv(cohort_copy, index=False)
    _fails_clearly(
        ["fit", "hpfs_weibull", "--data", str(cohort_copy)],
        "row 5 (line 6), column progressed",
        "must be 0 or 1",
    )


def test_a_time_that_is_not_positive_is_named_by_row(cohort_copy):
    frame = pd.read_csv(cohort_copy)
    frame.loc[9, "hpfs_months"] = 0
    frame.loc[10, "hpfs_months"] = -3
    frame.to_csv(cohort_copy, index=False)
    _fails_clearly(
        ["fit", "hpfs_weibull", "--data", str(cohort_copy)],
        "row 10 (line 11), column hpfs_months",
        "row 11 (line 12)",
        "must be > 0",
    )


def test_a_non_binary_outcome_column_is_refused(cohort_copy):
    _fails_clearly(
        ["fit", "response_logistic", "--data", str(cohort_copy), "--outcome", "hpfs_months"],
        "column hpfs_months",
        "must be 0 or 1",
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fit", "hpfs_weibull", "--outcome", "response"], "--outcome applies to response models"),
        (["fit", "response_logistic", "--time", "hpfs_months"], "--time apply to survival"),
        (["fit", "hpfs_weibull", "--covariates", " , "], "--covariates is empty"),
        (["fit", "hpfs_weibull", "--likelihood", "gamma"], "likelihood"),
        (["fit", "hpfs_weibull", "--prior-set", "optimistic"], "unknown prior set 'optimistic'"),
        (["fit", "hpfs_weibull", "--sampler", "stan"], "choose nutpie or pymc"),
        (["fit", "hpfs_weibull", "--profile", "fast"], "no profile 'fast'"),
        (["fit", "no_such_model"], "unknown model 'no_such_model'"),
        (["fit", "reported_effects", "--data", "x.csv"], "not used by the reported-effects"),
        (["fit", "hpfs_weibull", "--data", "missing.csv"], "no such cohort file"),
        (["fit", "hpfs_weibull", "--replicates", "nowhere"], "no replicate cohort CSV"),
        (["compare-families", "--likelihoods", "weibull"], "two or more"),
        (["compare-families", "response_logistic"], "compares survival families"),
    ],
)
def test_bad_flags_get_one_clear_message(args, expected):
    _fails_clearly(args, expected)


def test_a_constant_covariate_is_refused(cohort_copy):
    frame = pd.read_csv(cohort_copy).assign(htb_gt25=1)
    frame.to_csv(cohort_copy, index=False)
    _fails_clearly(
        ["fit", "hpfs_weibull", "--data", str(cohort_copy)],
        "covariate 'htb_gt25' is 1 in every row",
    )


def test_a_cohort_with_no_events_is_refused(cohort_copy):
    pd.read_csv(cohort_copy).assign(progressed=0).to_csv(cohort_copy, index=False)
    _fails_clearly(["fit", "hpfs_weibull", "--data", str(cohort_copy)], "has no events")


def _prior_file(folder: Path, scale: str) -> Path:
    prior = folder / "prior.toml"
    prior.write_text(
        f'scale = "{scale}"\nsource = "a test"\n'
        '[coefficients.htb_gt25]\nfamily = "normal"\nmu = 1.0\nsigma = 0.5\n'
    )
    return prior


def test_prior_file_on_the_wrong_scale_is_refused(tmp_path):
    _fails_clearly(
        [
            "fit",
            "hpfs_weibull",
            "--covariates",
            "htb_gt25",
            "--prior",
            str(_prior_file(tmp_path, "log_or")),
        ],
        "scale = 'log_or'",
        "'log_hr'",
    )


def test_prior_file_missing_a_covariate_is_refused(tmp_path):
    prior = _prior_file(tmp_path, "log_hr")
    _fails_clearly(
        ["fit", "hpfs_weibull", "--covariates", "htb_gt25,ki67_gt10", "--prior", str(prior)],
        "no [coefficients.<name>] prior for ki67_gt10",
    )


@pytest.mark.slow
def test_the_same_command_and_seed_give_an_identical_summary_csv(tmp_path):
    """Two separate processes, each compiling its own model: byte-identical summary.csv."""
    import subprocess
    import sys

    outputs = []
    for name in ("first", "second"):
        out = tmp_path / name
        command = [sys.executable, "-m", "netlm_bayes.cli", "fit", "hpfs_weibull", "--profile",
                   "quick", "--seed", "31", "--out", str(out)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, cwd=PROJECT_ROOT)
        outputs.append((out / "summary.csv").read_bytes())
    assert outputs[0] == outputs[1]


def test_the_advice_never_repeats_the_profile_that_just_failed():
    from netlm_bayes.cli.app import advice

    assert "--profile thorough" in advice("default")
    assert "--profile thorough did not help" in advice("thorough")
    assert "try --profile thorough" not in advice("thorough")


def test_drop_missing_leaves_out_incomplete_rows_and_counts_them(tmp_path):
    """A cohort with two empty cells in used columns (and one in a column no model uses)."""
    from netlm_bayes.errors import InputError
    from netlm_bayes.evidence.patient_data import Columns, data_warnings, read_model_data

    frame = pd.read_csv(COHORT, dtype=str, keep_default_na=False)
    frame.loc[3, "ki67_gt10"] = ""
    frame.loc[3, "hpfs_months"] = ""
    frame.loc[10, "pet_positive"] = ""
    frame.loc[20, "enrolled"] = ""  # not used: no reason to drop the patient
    path = tmp_path / "gaps.csv"
    frame.to_csv(path, index=False)
    columns = Columns(("ki67_gt10", "pet_positive"), time="hpfs_months", event="progressed")
    with pytest.raises(
        InputError, match=r"2 of 84 rows have a missing value.*drop_missing=True"
    ) as caught:
        read_model_data(path, columns)
    assert "give --drop-missing to leave those rows out" in caught.value.for_cli()
    data = read_model_data(path, dataclasses.replace(columns, drop_missing=True))
    assert data.n == 82
    assert data.dropped == {"rows": 2, "by_column": {"hpfs_months": 1, "ki67_gt10": 1,
                                                     "pet_positive": 1}}  # fmt: skip
    assert "left out 2 rows" in data_warnings(data)[0]


def test_the_conflict_report_reconciles_a_flag_with_a_high_informative_weight():
    import io

    from rich.console import Console

    from netlm_bayes.fitting.patient import Conflict
    from netlm_bayes.report.patient import _print_conflict

    table = pd.DataFrame(
        [{"parameter": "a", "prior_mean": 1.0, "prior_sd": 0.2, "cohort_estimate": -0.2,
          "cohort_se": 0.3, "box_p": 0.01},
         {"parameter": "all effects jointly", "box_p": 0.2}]
    )  # fmt: skip

    def printed(weight: float) -> str:
        buffer = io.StringIO()
        run = type("Run", (), {"conflict": Conflict(table, weight, 0.8)})()
        _print_conflict(run, Console(file=buffer, width=200))
        return " ".join(buffer.getvalue().split())

    assert "CONFLICT" in printed(0.95) and "The two can disagree" in printed(0.95)
    assert "The two can disagree" not in printed(0.05)  # flag and weight agree
