"""compare-families ranks by PSIS-LOO: on strongly Weibull data (shape 2.5) the Weibull
must beat the exponential clearly, and the run folder holds the LOO table. (The
`weibull_families` fixture, in conftest.py, is shared with the PPC tests.)"""

from __future__ import annotations

import pandas as pd
import pytest

from netlm_bayes.checks import family_comparison as families
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
    every = families.parse_likelihoods(None)
    assert every == ["weibull", "exponential", "gompertz", "lognormal", "loglogistic", "mspline"]
    with pytest.raises(InputError, match="two or more"):
        families.parse_likelihoods("weibull,cox")


def test_a_failed_family_is_named_and_left_out_and_the_rest_still_rank(weibull_families):
    """A family that failed its diagnostics, and one whose PSIS-LOO cannot be computed (as
    for a chain stuck at its start: every draw's log-likelihood the same), are named with
    their reasons and left out; what remains ranks."""
    import copy
    import dataclasses

    fits = dict(weibull_families.fits)
    stuck = copy.deepcopy(fits["exponential"].trace)
    log_lik = stuck["log_likelihood"].to_dataset()
    stuck["log_likelihood"] = log_lik.map(lambda v: v * 0 + v.isel(chain=0, draw=0))
    fits["stuck"] = dataclasses.replace(fits["exponential"], trace=stuck)
    table, ranked = families.loo_table(fits, {"weibull": "diagnostics failed: rhat"})
    table = table.set_index("likelihood")
    assert table.loc["weibull", "left_out"] == "diagnostics failed: rhat"
    assert table.loc["stuck", "left_out"].startswith("PSIS-LOO failed")
    assert table.loc["exponential", "rank"] == 1 and table.loc["exponential", "left_out"] == ""
    assert ranked is None  # one family left: nothing to compare it with
