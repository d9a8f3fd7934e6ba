"""export-prior from an M-spline run: its effects (log HRs under proportional hazards, the
same quantity as a Weibull's) carry forward, its baseline does not; a spline model takes a
prior's effects and refuses a Weibull baseline."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from netlm_bayes.cli.app import app
from netlm_bayes.priors import exported as exportedprior
from tests.planning.test_export import _fit, cohorts, exported_plain, run_a  # noqa: F401

pytestmark = pytest.mark.slow  # three fits on 150 patients, one of them a spline

runner = CliRunner()


@pytest.fixture(scope="module")
def spline_a(cohorts):  # noqa: F811
    folder, paths, _ = cohorts
    return _fit(folder, "spline_a", paths["a"], "--likelihood", "mspline")[0]


@pytest.fixture(scope="module")
def spline_prior(spline_a, cohorts):  # noqa: F811
    out = cohorts[0] / "spline_prior.json"
    result = runner.invoke(app, ["export-prior", str(spline_a), "--out", str(out), "--robust", "0"])
    assert result.exit_code == 0, result.output
    assert "an M-spline baseline is not carried" in " ".join(result.output.split())
    return out


def test_a_spline_run_exports_its_effects_alone(spline_prior, exported_plain):  # noqa: F811
    spline, weibull = exportedprior.read(spline_prior), exportedprior.read(exported_plain)
    assert spline.prior.names == ("a", "b") and spline.nuisance == []
    assert "not carried" in spline.construction["baseline"]
    # Both families are proportional hazards on the same cohort: one log HR, two estimates
    for name in ("a", "b"):
        theirs = weibull.prior.marginal([name])
        gap = spline.prior.marginal([name]).mean()[0] - theirs.mean()[0]
        sd = float(np.sqrt(theirs.cov()[0, 0]))
        # one event's information: Cox's partial likelihood beside the Weibull's full one
        # (under a Weibull truth Cox is nearly efficient for a binary covariate)
        unit_ratio = spline.unit_sd(name) / weibull.unit_sd(name)
        print(f"{name}: spline - Weibull log HR {gap:+.4f} ({gap / sd:+.3f} SD); "
              f"unit SD ratio {unit_ratio:.3f}")  # fmt: skip
        assert abs(gap) < 0.25 * sd, (name, gap, sd)
        assert 0.85 < unit_ratio < 1.25, unit_ratio


def test_the_effects_prior_fits_weibull_and_spline_models(spline_prior, cohorts):  # noqa: F811
    folder, paths, _ = cohorts
    for name, extra in (("w_b", ()), ("s_b", ("--likelihood", "mspline"))):
        out, _ = _fit(folder, name, paths["b"], "--prior", str(spline_prior), *extra,
                      profile="quick")  # fmt: skip
        manifest = json.loads((out / "manifest.json").read_text())
        assert "exported prior" in manifest["priors"]["source"]


def test_a_spline_model_refuses_a_weibull_baseline(exported_plain, cohorts):  # noqa: F811
    folder, paths, _ = cohorts
    args = ["fit", "hpfs_weibull", "--data", str(paths["b"]), "--time", "months", "--event",
            "progressed", "--covariates", "a,b", "--likelihood", "mspline", "--prior",
            str(exported_plain), "--out", str(folder / "refused")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "--no-baseline" in " ".join(result.output.split())
    assert not (folder / "refused").exists()


def test_effects_that_change_over_time_are_not_exported(spline_a, tmp_path):
    """The manifest decides (a fit with --nonprop records it there): spline_a's run folder
    with its spec saying that a's effect may change."""
    run = tmp_path / "nonprop_run"
    shutil.copytree(spline_a, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["spec"]["nonprop"] = ["a"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "p.json"
    result = runner.invoke(app, ["export-prior", str(run), "--out", str(out)])
    assert result.exit_code == 2
    assert "no single hazard ratio" in " ".join(result.output.split())
    assert not out.exists()
