"""The package as users install it: an sdist and a wheel built from the repository, the wheel
installed into a fresh virtual environment outside the clone, and the tool used from a
folder that holds nothing of the repository: the CLI (`paper`, `fit` on a user's CSV,
`study` writing its run folder here) and the notebook API.

Slow (a wheel build, an install from uv's cache and a study run): CI runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lifelines.datasets import load_rossi

import netlm_bayes
from netlm_bayes.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow
UV = Path(sys.executable).parent / "uv"


def _run(args, cwd: Path, env: dict | None = None, timeout: int = 900) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, f"{args}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """An sdist, a wheel built from that sdist, and a venv outside the clone holding it."""
    if not UV.exists():
        pytest.skip("uv is installed by the Makefile; this test builds with it")
    root = tmp_path_factory.mktemp("install")
    dist = root / "dist"
    _run([UV, "build", "--python", sys.executable, "--out-dir", dist, PROJECT_ROOT], root)
    wheel = next(dist.glob("*.whl"))
    env_dir = root / "env"
    _run([UV, "venv", "--quiet", "--python", sys.executable, env_dir], root)
    python = env_dir / "bin" / "python"
    lock = PROJECT_ROOT / "requirements.lock"
    _run([UV, "pip", "install", "--quiet", "--python", python, "--compile-bytecode",
          "-r", lock, wheel], root)  # fmt: skip
    work = root / "elsewhere"
    work.mkdir()
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["UV_PYTHON_DOWNLOADS"] = "never"  # the interpreter is this one, never fetched
    return {"wheel": wheel, "python": python, "cli": env_dir / "bin" / "netlm-bayes",
            "work": work, "env": environment}  # fmt: skip


def test_the_wheel_carries_every_subpackage_and_the_files_the_tool_reads(installed):
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    source = {
        p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "netlm_bayes").rglob("*.py")
    }
    assert source <= set(names), f"missing from the wheel: {sorted(source - set(names))[:5]}"
    shared = {n.split("/data/share/netlm-bayes/", 1)[1] for n in names if "/data/share/" in n}
    for needed in ("models/hpfs_weibull.toml", "models/prior_sets.toml",
                   "inference/profiles.toml", "data/paper.toml", "data/pseudo_cohort.csv",
                   "data/assumptions.toml", "data/thresholds.toml"):  # fmt: skip
        assert needed in shared


def test_the_installed_cli_works_outside_the_clone(installed):
    cli, work, env = installed["cli"], installed["work"], installed["env"]
    assert not (work / "models").exists()
    version = _run([cli, "--version"], work, env)
    assert version.strip() == f"netlm-bayes {netlm_bayes.__version__}"
    assert "hr_htb_gt25" in _run([cli, "paper"], work, env)
    load_rossi().to_csv(work / "rossi.csv", index=False)  # a user's own CSV
    out = _run([cli, "fit", "hpfs_weibull", "--data", "rossi.csv", "--time", "week",
                "--event", "arrest", "--covariates", "fin,age,prio", "--time-unit", "weeks",
                "--profile", "quick", "--out", "rossi_run"], work, env)  # fmt: skip
    assert "hr_prio" in out
    assert (work / "rossi_run" / "summary.csv").is_file()


def test_the_installed_study_writes_its_run_folder_here(installed):
    cli, work, env = installed["cli"], installed["work"], installed["env"]
    _run([cli, "study", "--profile", "quick", "--out", "study_run", "--workers", "1"], work, env,
         timeout=1800)  # fmt: skip
    assert (work / "study_run" / "report.html").is_file()
    assert (work / "study_run" / "comparison.csv").is_file()


def test_the_installed_api_works_in_a_notebook_outside_the_clone(installed):
    script = """
import netlm_bayes, pandas as pd
from netlm_bayes import SurvivalModel, load_pseudo_cohort
assert "site-packages" in netlm_bayes.__file__, netlm_bayes.__file__
df = load_pseudo_cohort()
fitted = SurvivalModel("weibull", profile="quick", time_unit="months").fit(
    df, duration_col="hpfs_months", event_col="progressed", covariates=["htb_gt25"])
print(repr(fitted))
print(fitted.predict_median(pd.DataFrame({"htb_gt25": [0, 1]})).to_csv(index=False))
"""
    out = _run([installed["python"], "-c", script], installed["work"], installed["env"])
    assert "FittedModel: weibull survival" in out and "synthetic" in out
    assert "median_survival" in out and "months" in out


def test_uv_tool_install_gives_a_working_command(installed, tmp_path):
    env = {**installed["env"], "UV_TOOL_DIR": str(tmp_path / "tools"),
           "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}  # fmt: skip
    _run([UV, "tool", "install", "--quiet", "--python", sys.executable, "--compile-bytecode",
          installed["wheel"]],
         tmp_path, env)  # fmt: skip
    cli = tmp_path / "bin" / "netlm-bayes"
    assert _run([cli, "--version"], installed["work"], env).startswith("netlm-bayes")
    assert "hr_htb_gt25" in _run([cli, "paper"], installed["work"], env)
