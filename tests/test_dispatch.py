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


@pytest.fixture(scope="module")
def family_tables(tmp_path_factory, cluster) -> dict[str, pd.DataFrame]:
    """compare-families in this process, on Dask and on local workers (a first run fills
    the compile caches)."""
    tmp_path = tmp_path_factory.mktemp("families")
    _families(tmp_path, "first")
    return {
        "alone": _families(tmp_path, "alone"),
        "dask": _families(tmp_path, "dask", dask_address=cluster),
        "workers": _families(tmp_path, "workers", workers=2),
    }


def test_compare_families_on_a_dask_cluster_and_on_local_workers(family_tables):
    """Fresh worker processes, Dask's or our own, load the compiled models from the caches
    and give the same numbers to the last digit."""
    assert set(family_tables["dask"]["likelihood"]) == {"exponential", "weibull", "lognormal"}
    pd.testing.assert_frame_equal(family_tables["dask"], family_tables["workers"], rtol=1e-9)


@pytest.mark.xfail(
    strict=False,
    reason="open bug (docs/outputs.md, 'Reproducibility'): a model compiled in this process "
    "can draw differently from the same model loaded from the compile cache. In the full "
    "slow suite (earlier tests having run in this process), the exponential "
    "ELPD was -174.035 here against -173.921 on workers (log-normal -175.356 / -175.298, "
    "Weibull equal); run alone, the three agree to the last digit",
)
def test_compare_families_in_this_process_matches_the_workers(family_tables):
    pd.testing.assert_frame_equal(family_tables["alone"], family_tables["workers"], rtol=1e-9)


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
