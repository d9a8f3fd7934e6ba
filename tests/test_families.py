"""compare-families ranks by PSIS-LOO: on strongly Weibull data (shape 2.5) the Weibull
must beat the exponential clearly, and the run folder holds the LOO table. (The
`weibull_families` fixture, in conftest.py, is shared with the PPC tests.)"""

from __future__ import annotations

import pandas as pd
import pytest

from netlm_bayes import families
from netlm_bayes.errors import InputError


def test_weibull_data_rank_the_weibull_first_and_clearly(weibull_families):
    table = weibull_families.table.set_index("likelihood")
    assert table.loc["weibull", "rank"] == 1
    exponential = table.loc["exponential"]
    assert exponential.elpd_diff < -4 * exponential.dse, exponential.to_dict()
    assert table["diagnostics_passed"].all()


def test_the_run_folder_holds_the_loo_table_and_each_family(weibull_families):
    names = {p.name for p in weibull_families.run_dir.iterdir()}
    assert {"loo.csv", "loo.png", "manifest.json", "summary-weibull.csv"} <= names
    assert "posterior-exponential.nc" in names
    loo = pd.read_csv(weibull_families.run_dir / "loo.csv")
    assert {"elpd_loo", "se", "pareto_k_max", "patients_k_high", "stacking_weight"} <= set(loo)
    assert loo["stacking_weight"].sum() == pytest.approx(1.0)


def test_likelihood_lists_are_checked():
    assert len(families.parse_likelihoods(None)) == 5
    with pytest.raises(InputError, match="two or more"):
        families.parse_likelihoods("weibull,cox")
