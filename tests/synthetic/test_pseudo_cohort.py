"""The committed pseudo-cohorts give back every number in the abstract, checked with the
frequentist code a user runs, and `synth` reproduces them byte for byte."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from netlm_bayes import paths
from netlm_bayes.evidence import cohort
from netlm_bayes.evidence import paper as evidence
from netlm_bayes.frequentist import analysis as frequentist
from netlm_bayes.synthetic import pseudo_cohort as synth

DATA = paths.DATA_DIR
MAIN = DATA / "pseudo_cohort.csv"
REPLICATES = sorted((DATA / "pseudo_cohorts").glob("pseudo_cohort_*.csv"))


def assert_reproduces_the_paper(path: Path, paper: evidence.Paper) -> None:
    data = cohort.read_cohort(path)
    result = frequentist.analyse(data)
    counts = result.response.set_index("covariate")["count"]
    assert {c: counts[c] for c in ("PR", "SD", "PD")} == {"PR": 71, "SD": 9, "PD": 4}
    assert len(data) == 84
    assert round(result.value("km", None, "overall", "median_months"), 1) == 11.1
    hr = result.value("cox", "multivariable", "htb_gt25", "hr")
    assert abs(hr / 4.188 - 1) <= 0.02, hr
    assert round(result.value("cox", "multivariable", "htb_gt25", "p"), 2) == 0.02
    for covariate in ("ki67_gt10", "pet_positive", "border_clear"):
        assert result.value("cox", "multivariable", covariate, "p") >= 0.05, covariate
    for covariate, target, decimals in (
        ("border_clear", (0.069, 0.01), 2), ("pet_positive", (11.919, 0.003), 3),
        ("ki67_gt10", (6.469, 0.018), 3),
    ):  # fmt: skip
        odds_ratio = result.value("logistic", "multivariable", covariate, "or")
        p = result.value("logistic", "multivariable", covariate, "p")
        assert abs(odds_ratio / target[0] - 1) <= 0.05, (covariate, odds_ratio)
        # Round half up, as the paper printed it: P=0.01 covers 0.005 <= p < 0.015.
        assert math.floor(p * 10**decimals + 0.5) / 10**decimals == pytest.approx(target[1]), (
            covariate,
            p,
        )
    assert result.value("logistic", "multivariable", "htb_gt25", "p") >= 0.05


def test_committed_pseudo_cohort_reproduces_every_reported_number(paper):
    assert_reproduces_the_paper(MAIN, paper)


def test_twenty_committed_replicates_each_reproduce_the_paper(paper):
    assert len(REPLICATES) == 20
    for path in REPLICATES:
        assert_reproduces_the_paper(path, paper)


def test_replicates_are_distinct():
    contents = {path.read_bytes() for path in [MAIN, *REPLICATES]}
    assert len(contents) == 21


def test_every_file_says_it_is_synthetic():
    for path in [MAIN, *REPLICATES]:
        data = cohort.read_cohort(path)
        assert (data["data_origin"] == "synthetic: not patient data").all()
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["marker"] == "synthetic: not patient data"
        assert sidecar["targets_met"] is True
        assert {"prevalence", "accrual", "follow_up", "survival", "response"} <= set(
            sidecar["assumptions"]
        )
    readme = (DATA / "README.md").read_text()
    assert "synthetic: not patient data" in readme


REGENERATE = """
import sys
from pathlib import Path
from netlm_bayes import paths
from netlm_bayes.evidence import paper as evidence
from netlm_bayes.synthetic import pseudo_cohort as synth
seed, out = int(sys.argv[1]), Path(sys.argv[2])
assumptions = synth.load_assumptions()
result = synth.make_cohort(evidence.load_paper(paths.PAPER_FILE), seed, assumptions)
synth.write_cohort(result, out, seed, assumptions)
"""


def _simd_levels() -> list[str]:
    """numpy's dispatched SIMD levels this CPU has, best first: each run below switches off
    one more, as a CPU without them would run numpy's exp, log and sums."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    return [level for level in reversed(__cpu_dispatch__) if __cpu_features__.get(level)]


def test_same_seed_reproduces_the_committed_file_byte_for_byte_on_other_code_paths(tmp_path):
    """The search decides on values rounded well above the last bits (`synth.decisive`), so
    regenerating the committed cohort gives it back byte for byte whichever SIMD code paths
    numpy takes: here its best one, and with each dispatched level switched off in turn
    (NPY_DISABLE_CPU_FEATURES), as on an older or another vendor's CPU."""
    import os
    import subprocess
    import sys

    seed = json.loads(MAIN.with_suffix(".json").read_text())["seed"]
    levels = _simd_levels()
    disabled = [" ".join(levels[: i + 1]) for i in range(len(levels))]
    for i, features in enumerate(["", *disabled]):
        out = tmp_path / f"again-{i}.csv"
        env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": features}
        subprocess.run([sys.executable, "-c", REGENERATE, str(seed), str(out)], env=env, check=True)
        assert out.read_bytes() == MAIN.read_bytes(), f"NPY_DISABLE_CPU_FEATURES={features!r}"
        again = json.loads(out.with_suffix(".json").read_text())
        assert again == json.loads(MAIN.with_suffix(".json").read_text()), features


def test_pd_patients_progressed_by_first_assessment():
    data = cohort.read_cohort(MAIN)
    pd_rows = data[data["response"] == "PD"]
    assert (pd_rows["progressed"] == 1).all()
    assert (pd_rows["hpfs_months"] <= 3.0).all()


def test_follow_up_never_passes_the_data_cutoff():
    data = cohort.read_cohort(MAIN)
    cutoff = synth.load_assumptions().follow_up["data_cutoff"]
    import pandas as pd

    available = (
        pd.Timestamp(cutoff) - pd.to_datetime(data["enrolled"])
    ).dt.days / synth.DAYS_PER_MONTH
    assert (data["hpfs_months"] <= available + 0.01).all()


def test_an_unreached_target_is_reported_honestly(tmp_path, paper):
    """With almost no search budget the targets are missed: the cohort is still written,
    flagged targets_met = false, with the achieved values beside the targets."""
    assumptions = synth.load_assumptions()
    result = synth.make_cohort(paper, seed=11, assumptions=assumptions, budget=1, max_attempts=1)
    assert not result.targets_met
    synth.write_cohort(result, tmp_path / "rough.csv", 11, assumptions)
    sidecar = json.loads((tmp_path / "rough.json").read_text())
    assert sidecar["targets_met"] is False
    assert result.missed
    assert all("achieved" in sidecar["achieved"][k] for k in result.missed)
