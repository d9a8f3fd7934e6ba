"""The study's parts and compare-families go through the same runner as `plan` and SBC:
local worker processes or a Dask cluster give the numbers a single process gives."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from netlm_bayes import paths
from netlm_bayes.fitting.patient_spec import Overrides
from netlm_bayes.study import compare_families as family_run
from netlm_bayes.study import reanalysis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


def _families(tmp_path, name: str, **where) -> pd.DataFrame:
    flags = Overrides(data=paths.DATA_DIR / "pseudo_cohort.csv")
    result = family_run.compare_families(
        flags=flags, likelihoods=["exponential", "weibull", "lognormal"], profile="quick",
        seed=5, out=tmp_path / name, **where,
    )  # fmt: skip
    return result.table.drop(columns=["data_origin"])


def test_compare_families_on_a_dask_cluster_and_on_local_workers(tmp_path, cluster):
    """The same numbers in this process, on Dask and on local workers, each loading the
    compiled models from the caches. A model's very first compile on a machine can draw
    differently from every later load (docs/outputs.md, "Reproducibility": seen here as
    ELPDs 0.04 apart when this process compiled the exponential and log-normal models
    first and the workers loaded them), so a first run fills the caches."""
    _families(tmp_path, "first")
    alone = _families(tmp_path, "alone")
    on_dask = _families(tmp_path, "dask", dask_address=cluster)
    on_workers = _families(tmp_path, "workers", workers=2)
    assert set(alone["likelihood"]) == {"exponential", "weibull", "lognormal"}
    pd.testing.assert_frame_equal(on_dask, alone, rtol=1e-9)
    pd.testing.assert_frame_equal(on_workers, alone, rtol=1e-9)


def test_the_study_on_a_dask_cluster_matches_one_process(tmp_path, cluster):
    replicates = tmp_path / "replicates"
    replicates.mkdir()
    for path in sorted(paths.PSEUDO_COHORTS_DIR.glob("*.csv"))[:2]:
        shutil.copy(path, replicates / path.name)
    alone = reanalysis.run_study("quick", 3, tmp_path / "alone", replicates, workers=1)
    on_dask = reanalysis.run_study("quick", 3, tmp_path / "dask", replicates, dask_address=cluster)
    assert on_dask.passed == alone.passed
    assert len(alone.comparison) > 40
    pd.testing.assert_frame_equal(on_dask.comparison, alone.comparison, rtol=1e-9)
    for name in reanalysis.PATIENT_MODELS:
        assert len(on_dask.patient_runs[name].replicates) == 2
