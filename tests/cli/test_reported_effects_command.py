"""The command line, end to end, as a user runs it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from netlm_bayes import paths
from netlm_bayes.cli.app import app

runner = CliRunner()
EXPECTED_COLUMNS = [
    "quantity", "prior_set", "paper_estimate", "paper_ci95_low", "paper_ci95_high", "median",
    "eti95_low", "eti95_high", "hdi95_low", "hdi95_high", "prob_gt_1",
]  # fmt: skip
QUANTITIES = {
    "hr_htb_gt25", "or_border_clear", "or_pet_positive", "or_ki67_gt10",
    "orr", "sd_rate", "pd_rate",
}  # fmt: skip


def test_paper_prints_numbers_with_sources():
    result = runner.invoke(app, ["paper"])
    assert result.exit_code == 0, result.output
    for text in ("4.188", "0.069", "11.919", "6.469", "71", "84.5%", "11.1", "0.616", "1.25–14"):
        assert text in result.output, text
    assert "[hazard ratio (HR) =4.188, P=0.02]" in " ".join(result.output.split())
    assert "Literal wording" in result.output


def test_prior_sets_lists_all_five():
    result = runner.invoke(app, ["prior-sets"])
    assert result.exit_code == 0
    for name in ("minimal", "weakly-informative", "skeptical", "enthusiastic", "pessimistic"):
        assert name in result.output


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "reported"
    result = runner.invoke(
        app, ["fit", "reported_effects", "--profile", "quick", "--seed", "11", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_fit_writes_the_run_folder(quick_run):
    out, _ = quick_run
    expected = {"comparison.csv", "comparison.md", "diagnostics.csv", "forest.png", "manifest.json"}
    assert expected <= {p.name for p in out.iterdir()}
    assert len(list(out.glob("posterior-*.nc"))) == 5
    assert not list(out.parent.glob(".*partial*"))


def test_comparison_csv_has_the_promised_shape(quick_run):
    table = pd.read_csv(quick_run[0] / "comparison.csv")
    assert list(table.columns[: len(EXPECTED_COLUMNS)]) == EXPECTED_COLUMNS
    assert set(table["quantity"]) == QUANTITIES
    assert len(table) == len(QUANTITIES) * 5
    ratios = table["quantity"].str.match(r"^(hr|or)_")
    assert table.loc[ratios, "prob_gt_1"].notna().all()
    assert table.loc[~ratios, "prob_gt_1"].isna().all()
    assert table["source"].str.startswith("abstract:").all()
    assert (table["eti95_low"] < table["median"]).all() and (
        table["median"] < table["eti95_high"]
    ).all()


def test_fit_prints_the_table_and_prob_hr_above_2(quick_run):
    _, output = quick_run
    assert "re-read as posteriors" in output
    assert "P(HR > 2)" in output
    for name in ("minimal", "weakly-informative", "skeptical", "enthusiastic", "pessimistic"):
        assert name in output


def test_posterior_file_carries_provenance(quick_run):
    out, _ = quick_run
    tree = xr.open_datatree(out / "posterior-skeptical.nc", engine="h5netcdf")
    assert {"posterior", "log_likelihood", "constant_data", "sample_stats"} <= set(tree.children)
    for key in ("model_file", "evidence_sha256", "seed", "versions", "prior_set"):
        assert key in tree.attrs
    assert tree.attrs["prior_set"] == "skeptical"
    assert (
        tree.attrs["evidence_sha256"]
        == __import__("hashlib").sha256(paths.PAPER_FILE.read_bytes()).hexdigest()
    )


def test_manifest(quick_run):
    manifest = json.loads((quick_run[0] / "manifest.json").read_text())
    assert manifest["seed"] == 11
    assert manifest["profile"]["name"] == "quick"
    assert all(manifest["diagnostics_passed"].values())
    assert any(key.endswith("paper.toml") for key in manifest["inputs"])


def test_same_command_and_seed_give_the_same_table(quick_run, tmp_path):
    out = tmp_path / "again"
    result = runner.invoke(
        app, ["fit", "reported_effects", "--profile", "quick", "--seed", "11", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    first = (quick_run[0] / "comparison.csv").read_text()
    assert (out / "comparison.csv").read_text() == first


def test_malformed_paper_exits_with_one_clear_message(tmp_path):
    bad = tmp_path / "paper.toml"
    bad.write_text(paths.PAPER_FILE.read_text().replace("estimate = 6.469", "estimate = 0"))
    out = tmp_path / "run"
    result = runner.invoke(app, ["fit", "reported_effects", "--paper", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "or_ki67_gt10.estimate" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "nosuchmodel"], "unknown model"),
        (["fit", "reported_effects", "--prior-set", "optimistic"], "unknown prior set"),
        (["fit", "reported_effects", "--profile", "fastest"], "no profile 'fastest'"),
        (["fit", "reported_effects", "--sampler", "stan"], "choose nutpie or pymc"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message, tmp_path):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_freq_prints_the_paper_beside_the_pseudo_cohort(tmp_path):
    out = tmp_path / "freq"
    result = runner.invoke(app, ["freq", "--data", "data/pseudo_cohort.csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC: not patient data" in result.output
    for text in ("4.188", "0.069", "11.919", "6.469", "median HPFS", "PH test P"):
        assert text in result.output, text
    beside = pd.read_csv(out / "paper_beside_cohort.csv")
    assert beside["synthetic"].all()
    assert {"freq_km.csv", "freq_cox.csv", "freq_logistic.csv", "freq_response.csv"} <= {
        p.name for p in out.iterdir()
    }


def test_freq_on_a_broken_cohort_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,hpfs_months\nP1,3\n")
    out = tmp_path / "freq"
    result = runner.invoke(app, ["freq", "--data", str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert "missing required column" in result.output
    assert not out.exists()


@pytest.fixture(scope="module")
def selected_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "selected"
    args = ["fit", "reported_effects", "--profile", "quick", "--seed", "11", "--out", str(out),
            "--prior-set", "minimal,skeptical", "--significance-filter",
            "--thresholds", "1,2,4", "--benchmark", "orr=0.6"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_the_selection_adjusted_run_has_its_rows_thresholds_and_limits(selected_run):
    out, output = selected_run
    assert "if they were reported because they were significant" in " ".join(output.split())
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["quantity"]) == {"hr_htb_gt25", "or_border_clear", "or_pet_positive",
                                      "or_ki67_gt10"}  # fmt: skip
    assert {"prob_beyond_1", "prob_beyond_2", "prob_beyond_4"} <= set(table.columns)
    assert (table["prob_beyond_1"] >= table["prob_beyond_2"]).all()
    assert (table["prob_beyond_2"] >= table["prob_beyond_4"]).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["significance_filter"] == 0.05
    assert manifest["analysis"] == "reported effects, selection-adjusted"
    credibility = pd.read_csv(out / "credibility.csv")
    assert "sceptical_limit" in credibility.columns and len(credibility) == 4


def test_a_benchmark_is_labelled_as_given_by_the_user(quick_run, tmp_path):
    out = tmp_path / "bench"
    args = ["fit", "reported_effects", "--profile", "quick", "--prior-set", "minimal",
            "--benchmark", "orr=0.6", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    exceedance = pd.read_csv(out / "exceedance.csv")
    orr = exceedance[exceedance["quantity"] == "orr"]
    assert list(orr["event"]) == ["ORR > 0.6"]
    assert orr["source"].iloc[0] == "benchmark given by the user"
    assert orr["probability"].iloc[0] > 0.99  # 71/84 responded
    table = pd.read_csv(out / "comparison.csv")
    assert table.loc[table["quantity"] == "orr", "benchmark"].iloc[0] == 0.6
    # and no benchmark is shown unless one is given
    plain = pd.read_csv(quick_run[0] / "exceedance.csv")
    assert (plain["kind"] == "ratio").all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmark", "orr=1.5"], "a rate must lie in (0, 1)"),
        (["--benchmark", "hr_htb_gt25=0.5"], "not a rate"),
        (["--benchmark", "orr"], "give RATE=VALUE pairs"),
        (["--thresholds", "0.5,2"], "each must be >= 1, increasing"),
        (["--thresholds", "2,1"], "each must be >= 1, increasing"),
        (["--filter-level", "0.05"], "give --significance-filter too"),
        (["--significance-filter", "--filter-level", "0.01"], "not significant at that level"),
    ],
)
def test_bad_magnitude_and_filter_options_are_clear_errors(args, message, tmp_path):
    out = tmp_path / "x"
    result = runner.invoke(app, ["fit", "reported_effects", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_the_reported_effects_options_are_refused_for_a_patient_level_model(tmp_path):
    out = tmp_path / "x"
    args = [
        "fit",
        "hpfs_weibull",
        "--thresholds",
        "1,2",
        "--significance-filter",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert (
        "--significance-filter, --thresholds: only for the reported-effects model" in result.output
    )
    assert not out.exists()
