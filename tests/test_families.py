"""compare-families ranks by PSIS-LOO: on strongly Weibull data (shape 2.5) the Weibull
must beat the exponential clearly, and the run folder holds the LOO table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from netlm_bayes import families, survival
from netlm_bayes.errors import InputError
from netlm_bayes.patientfit import Overrides


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    folder = tmp_path_factory.mktemp("families")
    rng = np.random.default_rng(3)
    n = 200
    x = rng.binomial(1, 0.5, n)
    params = {"log_median": 0.0, "log_shape": math.log(2.5)}
    times = survival.sample_times("weibull", params, 0.8 * x, 10.0, rng)
    censor = rng.uniform(5, 30, n)
    frame = pd.DataFrame(
        {"t": np.minimum(times, censor), "e": (times <= censor).astype(int), "x": x}
    )
    frame.to_csv(folder / "weibull.csv", index=False)
    flags = Overrides(data=folder / "weibull.csv", time="t", event="e", covariates=["x"])
    return families.compare_families(
        flags=flags, likelihoods=["exponential", "weibull"], profile="quick", seed=4,
        out=folder / "run",
    )  # fmt: skip


def test_weibull_data_rank_the_weibull_first_and_clearly(comparison):
    table = comparison.table.set_index("likelihood")
    assert table.loc["weibull", "rank"] == 1
    exponential = table.loc["exponential"]
    assert exponential.elpd_diff < -4 * exponential.dse, exponential.to_dict()
    assert table["diagnostics_passed"].all()


def test_the_run_folder_holds_the_loo_table_and_each_family(comparison):
    names = {p.name for p in comparison.run_dir.iterdir()}
    assert {"loo.csv", "manifest.json", "summary-weibull.csv", "posterior-exponential.nc"} <= names
    loo = pd.read_csv(comparison.run_dir / "loo.csv")
    assert {"elpd_loo", "se", "pareto_k_max", "patients_k_high", "stacking_weight"} <= set(loo)
    assert loo["stacking_weight"].sum() == pytest.approx(1.0)


def test_likelihood_lists_are_checked():
    assert len(families.parse_likelihoods(None)) == 5
    with pytest.raises(InputError, match="two or more"):
        families.parse_likelihoods("weibull,cox")
