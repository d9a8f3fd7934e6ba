"""Posterior predictive checks: not extreme when the model is right, extreme when it is
wrong, censored like the cohort. (Their speed is measured in runs, not asserted here.)"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from netlm_bayes.checks import ppc
from netlm_bayes.cli.app import app
from netlm_bayes.errors import InputError
from netlm_bayes.paths import PROJECT_ROOT
from netlm_bayes.study import ppc as ppcrun


def _check(fit, likelihood: str, draws: int = 500) -> dict[str, float]:
    rng = np.random.default_rng(8)
    data = fit.data
    times, events, _ = ppc.survival_replicates(fit.trace, likelihood, data, draws, rng)
    check = ppc.Check(
        ppc.survival_statistics(times, events, data.X, data.covariates),
        {k: v[0] for k, v in ppc.survival_statistics(
            data.time[None], data.event[None], data.X, data.covariates).items()},
    )  # fmt: skip
    return check.table({}).set_index("statistic")["ppp_value"].to_dict()


def test_data_simulated_from_the_model_give_unremarkable_p_values(weibull_families):
    """The Weibull fitted to Weibull data reproduces the KM median, shape and HR."""
    p_values = _check(weibull_families.fits["weibull"], "weibull")
    assert min(p_values.values()) > 0.05, p_values


def test_an_exponential_fitted_to_strongly_weibull_data_is_flagged(weibull_families):
    """Shape 2.5: the KM curve drops late and fast. An exponential cannot reproduce its
    shape statistic (KM median / time to S = 0.75): about 1.4 in the data, 2.4 for k = 1."""
    p_values = _check(weibull_families.fits["exponential"], "exponential")
    assert p_values["km_spread"] < 0.01, p_values


def test_replicates_are_censored_as_the_cohort_was(weibull_families):
    data = weibull_families.fits["weibull"].data
    censor = ppc.censoring_times(data, np.random.default_rng(1), 200)
    censored = data.event == 0
    np.testing.assert_array_equal(censor[:, censored], np.tile(data.time[censored], (200, 1)))
    events = ~censored
    assert (censor[:, events] > data.time[events]).all()
    assert np.isfinite(censor[:, events]).mean() > 0.5


def test_two_sided_ppp():
    replicated = np.arange(100.0)
    assert ppc.two_sided_ppp(replicated, 50) == pytest.approx(1.0)
    assert ppc.two_sided_ppp(replicated, 2) == pytest.approx(0.06)
    assert ppc.two_sided_ppp(replicated, 1000) == 0.0


@pytest.fixture(scope="module")
def logistic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ppc") / "logistic"
    args = ["fit", "response_logistic", "--profile", "quick", "--seed", "3", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def test_ppc_command_writes_its_folder_beside_the_paper(logistic_run):
    result = CliRunner().invoke(app, ["ppc", str(logistic_run), "--draws", "200"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in (logistic_run / "ppc").iterdir()}
    assert {"ppc.csv", "ppc_draws.csv", "ppc.png", "manifest.json"} <= names
    import pandas as pd

    table = pd.read_csv(logistic_run / "ppc" / "ppc.csv").set_index("statistic")
    assert table.loc["or_border_clear", "paper"] == pytest.approx(0.069)
    assert "tumor border" in table.loc["or_border_clear", "paper_source"]
    assert table.loc["orr", "observed"] == pytest.approx(71 / 84)
    assert (table["data_origin"] == "synthetic: not patient data").all()


def test_ppc_refuses_a_run_whose_data_changed(logistic_run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(logistic_run, copy, ignore=shutil.ignore_patterns("ppc"))
    trace = xr.open_datatree(copy / "posterior.nc", engine="h5netcdf").load()
    trace.attrs["data_sha256"] = "0" * 64
    (copy / "posterior.nc").unlink()
    trace.to_netcdf(copy / "posterior.nc", engine="h5netcdf")
    with pytest.raises(InputError, match="data have changed"):
        ppcrun.run_ppc(copy, 50)
    assert not (copy / "ppc").exists()


def test_ppc_of_a_folder_without_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no patient-level run here"):
        ppcrun.parts(tmp_path)
    with pytest.raises(InputError, match="no such run folder"):
        ppcrun.parts(PROJECT_ROOT / "no-such-folder")


def test_ppc_reruns_into_another_folder_or_over_its_own_only_when_asked(logistic_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(logistic_run, run, ignore=shutil.ignore_patterns("ppc"))
    invoke = CliRunner().invoke
    assert invoke(app, ["ppc", str(run), "--draws", "50"]).exit_code == 0
    again = invoke(app, ["ppc", str(run), "--draws", "50"])
    message = " ".join(again.output.split())
    assert again.exit_code == 2
    assert "choose another --out, or give --overwrite to replace it" in message
    first = (run / "ppc" / "ppc.csv").read_text()
    replaced = invoke(app, ["ppc", str(run), "--draws", "60", "--seed", "9", "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert (run / "ppc" / "ppc.csv").read_text() != first  # 60 draws, another seed
    assert not list(run.glob(".ppc*"))  # neither the old folder nor a partial one is left
    elsewhere = invoke(app, ["ppc", str(run), "--draws", "50", "--out", str(tmp_path / "other")])
    assert elsewhere.exit_code == 0 and (tmp_path / "other" / "ppc.csv").is_file()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    refused = invoke(app, ["ppc", str(run), "--out", str(mine), "--overwrite"])
    assert refused.exit_code == 2
    assert "not a folder netlm-bayes wrote" in " ".join(refused.output.split())
    assert (mine / "notes.txt").read_text() == "keep"


def test_ppc_of_a_folder_of_runs_labels_each_by_its_folder(logistic_run, tmp_path):
    """Three runs of one model (the case that raised `zip() argument 2 is longer`): each
    row, each draw column and each panel belongs to its own run."""
    import pandas as pd

    folder = tmp_path / "runs"
    for name in ("centre-a", "centre-b", "centre-c"):
        shutil.copytree(logistic_run, folder / name, ignore=shutil.ignore_patterns("ppc"))
    result = ppcrun.run_ppc(folder, 40)
    table = pd.read_csv(folder / "ppc" / "ppc.csv")
    assert list(dict.fromkeys(table["model"])) == ["centre-a", "centre-b", "centre-c"]
    draws = pd.read_csv(folder / "ppc" / "ppc_draws.csv")
    assert draws.groupby("model").size().to_dict() == {f"centre-{c}": 40 for c in "abc"}
    assert len(result.table) == 3 * len(table[table["model"] == "centre-a"])
