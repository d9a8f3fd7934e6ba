"""`netlm-bayes reconstruct`, end to end: from digitised CSVs (emulated from lifelines' lung
data) to a cohort that `fit`, `ppc` and `export-prior` take as it is, marked as rebuilt."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import datasets
from typer.testing import CliRunner

from netlm_bayes import labels, runs
from netlm_bayes.cli.app import app
from netlm_bayes.evidence.patient_data import Columns, read_model_data
from netlm_bayes.paths import PROJECT_ROOT
from netlm_bayes.synthetic.digitisation import digitise_groups

runner = CliRunner()


def _digitised(folder, frame, time, event, group, every):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve, risk = digitise_groups(frame, time, event, group, every, points=120, seed=1)
    curve.to_csv(folder / "curve.csv", index=False)
    risk.to_csv(folder / "at_risk.csv", index=False)
    return folder / "curve.csv", folder / "at_risk.csv"


def _reconstruct(curve, risk, out, *extra):
    args = ["reconstruct", "--curve", str(curve), "--at-risk", str(risk), "--out", str(out)]
    return runner.invoke(app, [*args, *extra])


@pytest.fixture(scope="module")
def lung(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lung")
    frame = datasets.load_lung()
    curve, risk = _digitised(folder, frame, "time", "status", "sex", 200)
    out = folder / "lung_ipd.csv"
    result = _reconstruct(curve, risk, out, "--group-col", "sex", "--time-unit", "days")
    assert result.exit_code == 0, result.output
    return folder, out, result.output, frame


def test_the_cohort_and_its_sidecars_are_written(lung):
    folder, out, output, frame = lung
    assert {p.name for p in folder.iterdir()} >= {
        "lung_ipd.csv", "lung_ipd.json", "lung_ipd.accuracy.csv", "lung_ipd.hazard_ratios.csv",
        "lung_ipd.png",
    }  # fmt: skip
    ipd = pd.read_csv(out)
    assert list(ipd.columns) == ["patient_id", "time", "event", "sex", "data_origin"]
    assert len(ipd) == len(frame)
    assert (ipd["data_origin"] == labels.RECONSTRUCTED).all()
    assert "RECONSTRUCTED" in output and "Cox HR, 2 vs 1" in output
    assert "Paper" not in output  # no paper quantity is about lung cancer by sex


def test_the_manifest_records_inputs_cleaning_and_accuracy(lung):
    folder, out, _, _ = lung
    manifest = json.loads(out.with_suffix(".json").read_text())
    hashes = {name.rsplit("/", 1)[-1]: value for name, value in manifest["inputs"].items()}
    assert hashes["curve.csv"] == runs.sha256(folder / "curve.csv")
    assert manifest["data_origin"] == labels.RECONSTRUCTED and manifest["time_unit"] == "days"
    assert "sorted 120 points" in manifest["groups"]["1"]["cleaning"][0]
    accuracy = pd.read_csv(folder / "lung_ipd.accuracy.csv")
    assert accuracy["km_max_abs_diff"].max() < 0.03
    assert (accuracy["risk_times_matched"] == accuracy["risk_times"]).all()


def test_the_cohort_is_a_valid_model_input_marked_as_rebuilt(lung):
    _, out, _, _ = lung
    data = read_model_data(out, Columns(("sex",), time="time", event="event"))
    assert data.reconstructed and not data.synthetic
    assert data.origin == labels.RECONSTRUCTED


def test_the_papers_hr_stands_beside_a_grouping_coded_as_the_papers(tmp_path):
    # The bundled (synthetic) pseudo-cohort, digitised by HTB: a grouping the paper reports.
    frame = pd.read_csv(PROJECT_ROOT / "data" / "pseudo_cohort.csv")
    curve, risk = _digitised(tmp_path, frame, "hpfs_months", "progressed", "htb_gt25", 6)
    result = _reconstruct(curve, risk, tmp_path / "htb.csv", "--group-col", "htb_gt25",
                          "--time-unit", "months")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Paper (hr_htb_gt25): HR 4.188" in result.output
    assert "univariable, so not adjusted" in " ".join(result.output.split())
    assert "source: abstract" in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--events", "100"], "--events gives 1 number(s) for 2 group(s)"),
        (["--events", "100,500"], "--events 500 for group '2': must lie between 0 and the 90"),
        (["--events", "100,many"], "whole numbers, one per group"),
    ],
)
def test_bad_event_totals_are_refused(lung, tmp_path, extra, message):
    folder, _, _, _ = lung
    args = ["--group-col", "sex", *extra]
    result = _reconstruct(folder / "curve.csv", folder / "at_risk.csv", tmp_path / "x.csv", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())


def test_an_earlier_cohort_is_never_overwritten_silently(lung):
    folder, out, _, _ = lung
    before = out.read_bytes()
    result = _reconstruct(folder / "curve.csv", folder / "at_risk.csv", out, "--group-col", "sex")
    assert result.exit_code == 2 and "give --overwrite" in result.output
    assert out.read_bytes() == before


def test_files_and_flags_a_user_gets_wrong_are_named(lung, tmp_path):
    folder, _, _, _ = lung
    result = _reconstruct(folder / "curve.csv", folder / "at_risk.csv", tmp_path / "x.csv")
    assert result.exit_code == 2
    assert "name their column with --group-col" in " ".join(result.output.split())
    result = _reconstruct(folder / "curve.csv", tmp_path / "missing.csv", tmp_path / "x.csv")
    assert result.exit_code == 2 and "missing.csv: no such file" in " ".join(result.output.split())
    result = _reconstruct(folder / "curve.csv", folder / "at_risk.csv", tmp_path / "x.txt")
    assert result.exit_code == 2
    assert "give a .csv file name" in " ".join(result.output.split())


def test_fit_ppc_and_export_prior_take_the_cohort_as_it_is(lung, tmp_path):
    _, out, _, _ = lung
    run = tmp_path / "run"
    fit = ["fit", "hpfs_weibull", "--data", str(out), "--time", "time", "--event", "event",
           "--covariates", "sex", "--time-unit", "days", "--profile", "quick", "--seed", "3",
           "--out", str(run)]  # fmt: skip
    result = runner.invoke(app, fit)
    assert result.exit_code == 0, result.output
    assert "RECONSTRUCTED" in result.output
    summary = pd.read_csv(run / "summary.csv")
    assert (summary["data_origin"] == labels.RECONSTRUCTED).all()
    result = runner.invoke(app, ["ppc", str(run), "--draws", "40"])
    assert result.exit_code == 0, result.output
    assert (pd.read_csv(run / "ppc" / "ppc.csv")["data_origin"] == labels.RECONSTRUCTED).all()
    prior = tmp_path / "prior.json"
    result = runner.invoke(app, ["export-prior", str(run), "--out", str(prior)])
    assert result.exit_code == 0, result.output
    assert json.loads(prior.read_text())["provenance"]["data_origin"] == labels.RECONSTRUCTED
    result = runner.invoke(app, ["prior-info", str(prior)])
    assert "RECONSTRUCTED source" in result.output


def test_a_single_curve_fits_with_no_covariates_as_lifelines_does(tmp_path):
    """One curve, no groups: `--covariates none` fits the baseline alone; under `minimal`
    its shape and median agree with lifelines' Weibull MLE on the same rebuilt patients."""
    from lifelines import WeibullFitter

    from netlm_bayes.synthetic.digitisation import digitise

    lung = datasets.load_lung()
    curve, risk = digitise(lung["time"], lung["status"], [0, 200, 400, 600, 800], 120)
    curve.to_csv(tmp_path / "curve.csv", index=False)
    risk.to_csv(tmp_path / "at_risk.csv", index=False)
    ipd_path = tmp_path / "one.csv"
    result = _reconstruct(tmp_path / "curve.csv", tmp_path / "at_risk.csv", ipd_path,
                          "--time-unit", "days", "--events", str(lung["status"].sum()))  # fmt: skip
    assert result.exit_code == 0, result.output
    ipd = pd.read_csv(ipd_path)
    assert list(ipd.columns) == ["patient_id", "time", "event", "data_origin"]
    assert ipd["event"].sum() == lung["status"].sum()
    run = tmp_path / "run"
    fit = ["fit", "hpfs_weibull", "--data", str(ipd_path), "--time", "time", "--event", "event",
           "--covariates", "none", "--time-unit", "days", "--prior-set", "minimal",
           "--profile", "quick", "--seed", "4", "--strict", "--out", str(run)]  # fmt: skip
    result = runner.invoke(app, fit)
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(run / "summary.csv").set_index("quantity")
    mle = WeibullFitter().fit(ipd["time"], ipd["event"])
    mle_median = mle.lambda_ * np.log(2) ** (1 / mle.rho_)
    for quantity, reference in (("shape", mle.rho_), ("median_survival", mle_median)):
        row = summary.loc[quantity]
        sd = (np.log(row["eti95_high"]) - np.log(row["eti95_low"])) / 3.92
        assert abs(np.log(row["median"]) - np.log(reference)) < 0.15 * sd, (quantity, reference)
    result = runner.invoke(app, ["ppc", str(run), "--draws", "40"])
    assert result.exit_code == 0, result.output
    ppc = pd.read_csv(run / "ppc" / "ppc.csv")
    assert set(ppc["statistic"]) == {"km_median", "km_spread"}
    assert ppc["paper"].isna().all()  # lung cancer in days is not the paper's HPFS
    result = runner.invoke(app, ["export-prior", str(run), "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 2 and "no effect (HR or OR) to carry forward" in " ".join(
        result.output.split()
    )
