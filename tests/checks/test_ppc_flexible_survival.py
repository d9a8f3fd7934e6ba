"""The posterior predictive check of the flexible survival models. A cure model's
replicates, drawn from the mixture (a cured share that never has the event), reproduce data
from the model that made them and flag a cure model whose cure fraction leaves out what
drives it; an M-spline's, with and without an effect that changes over time, reproduce the
pseudo-cohort."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from tests.families.test_cure import simulated_cure

pytestmark = pytest.mark.slow  # four fits and their checks

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """x raises both the cure odds (logit pi = -0.5 + x) and, among the uncured, the
    hazard (HR 1.5): overall x looks protective, which only a cure fraction that depends on
    x reproduces."""
    path = tmp_path_factory.mktemp("ppc_cure") / "cure.csv"
    simulated_cure(300, seed=21).to_csv(path, index=False)
    return path


def _ppc(cohort, out, *cure_flags: str) -> pd.DataFrame:
    fit = runner.invoke(app, ["fit", "hpfs_weibull", "--data", str(cohort), "--time", "time",
                              "--event", "status", "--covariates", "x,age", "--time-unit",
                              "months", *cure_flags, "--out", str(out)])  # fmt: skip
    assert fit.exit_code == 0, fit.output
    result = runner.invoke(app, ["ppc", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "ppc" / "ppc_km-hpfs_weibull.png").is_file()
    return pd.read_csv(out / "ppc" / "ppc.csv").set_index("statistic")


def test_the_right_cure_model_reproduces_its_data(cohort, tmp_path):
    table = _ppc(cohort, tmp_path / "right", "--cure-covariates", "x")
    print(table[["observed", "replicate_median", "ppp_value"]])
    assert (table["ppp_value"] > 0.05).all(), table["ppp_value"]
    assert table["paper"].isna().all()  # another study's outcome: no paper value beside it


def test_a_cure_fraction_the_same_for_everyone_is_flagged(cohort, tmp_path):
    """Measured: the cohort's Cox HR for x is 0.65; such a model's replicates give 1.08
    (0.80 to 1.45), p 0.00."""
    table = _ppc(cohort, tmp_path / "wrong", "--cure")
    print(table[["observed", "replicate_median", "ppp_value"]])
    assert table.loc["hr_x", "ppp_value"] < 0.05


@pytest.mark.parametrize("flags", [(), ("--nonprop", "htb_gt25")])
def test_an_m_splines_replicates_reproduce_the_pseudo_cohort(tmp_path, flags):
    """Measured: p 0.50 to 0.97 without --nonprop, 0.52 to 0.95 with it."""
    out = tmp_path / "run"
    fit = runner.invoke(app, ["fit", "hpfs_weibull", "--likelihood", "mspline", *flags,
                              "--out", str(out)])  # fmt: skip
    assert fit.exit_code == 0, fit.output
    result = runner.invoke(app, ["ppc", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "ppc" / "ppc_km-hpfs_weibull.png").is_file()
    table = pd.read_csv(out / "ppc" / "ppc.csv").set_index("statistic")
    assert (table["ppp_value"] > 0.05).all(), table["ppp_value"]
    assert table.loc["km_median", "paper"] == pytest.approx(11.1)  # the paper's own quantity
