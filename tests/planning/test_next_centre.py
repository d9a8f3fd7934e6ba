"""The next-centre priors: with one study tau is not learned, and the closed-form predictive
variance s^2 + 2 E[tau^2] agrees with the sampled MAP prior."""

from __future__ import annotations

import numpy as np
import pytest

from netlm_bayes import paths
from netlm_bayes.planning import next_centre as centres
from netlm_bayes.planning.map_prior import map_prior


@pytest.fixture(scope="module")
def paper_alone():
    return map_prior(paths.PAPER_ALONE_STUDIES, "hr_htb_gt25", "moderate", seed=3)


def test_one_study_cannot_teach_tau(paper_alone):
    assert not centres.tau_is_learned(paper_alone)
    tau = paper_alone.draws["tau"].ravel()
    # its posterior is its prior, HalfNormal(0.25): mean 0.25 * sqrt(2 / pi) = 0.1995
    assert np.mean(tau) == pytest.approx(0.25 * np.sqrt(2 / np.pi), rel=0.05)


def test_the_closed_form_predictive_variance_matches_the_sampled_map(paper_alone):
    """Var(theta*) = s^2 + 2 E[tau^2] against the variance of the sampled theta_new, within
    four standard errors of a variance estimate (from the draws' fourth moment and ESS)."""
    sweep = centres.ess_by_tau(paper_alone).set_index("heterogeneity")
    closed = sweep.loc["moderate", "predictive_sd_log"] ** 2
    draws = paper_alone.draws["theta_new"].ravel()
    centred = draws - draws.mean()
    variance = np.mean(centred**2)
    ess = float(paper_alone.diagnostics.frame()["ess_bulk"].min())
    se = np.sqrt((np.mean(centred**4) - variance**2) / ess)
    assert abs(variance - closed) < 4 * se, (variance, closed, se)


def test_worth_falls_as_the_assumed_heterogeneity_grows(paper_alone):
    sweep = centres.ess_by_tau(paper_alone)
    assert list(sweep["heterogeneity"]) == ["small", "moderate", "substantial", "large",
                                            "very-large"]  # fmt: skip
    assert (np.diff(sweep["ess_moment"]) < 0).all()
    (m,) = paper_alone.measurements
    full = paper_alone.unit_sd**2 / m.se**2
    assert (sweep["ess_moment"] < full).all()


def test_the_table_has_full_borrowing_the_map_and_its_robust_version(paper_alone):
    table = centres.next_centre(paper_alone, robust=0.2)
    assert [p.split(":")[0] for p in table["prior"]] == [
        "full borrowing", "MAP for a next centre", "robust MAP"]  # fmt: skip
    full, mapped, robust = table.itertuples()
    assert full.ess_elir > mapped.ess_elir > robust.ess_elir > 0
    assert robust.ci95_low < mapped.ci95_low and robust.ci95_high > mapped.ci95_high
    assert not table["tau_learned"].any()
    assert len(centres.next_centre(paper_alone, robust=0.0)) == 2


def test_the_robust_row_is_worth_what_the_robust_prior_file_is_worth():
    """The table's robust MAP (built here) against map_prior(robust=0.2)'s exported prior
    (built by ExportedPrior.robustify): the same ESS, two constructions."""
    robust = map_prior(paths.PAPER_ALONE_STUDIES, "hr_htb_gt25", "moderate", robust=0.2, seed=3)
    row = centres.next_centre(robust, robust=0.2).iloc[2]
    ess = robust.ess.iloc[0]
    assert row.ess_elir == pytest.approx(ess.ess_elir, rel=1e-6)
    assert row.ess_moment == pytest.approx(ess.ess_moment, rel=1e-6)


def test_the_example_design_without_borrowing_has_its_closed_form_type_one_error(tmp_path):
    """The report's example design (data/next_centre_design.toml) on the robust MAP prior.
    Without borrowing (one event's information, N(0, 2^2)) the type-I error has a closed
    form, Phi(-z_0.95 sqrt(1 + 1/d)) with d events; borrowing a prior that expects HR > 1
    inflates it, and the robust mixture sits between."""
    import pandas as pd
    from scipy import stats

    from netlm_bayes.study.map_prior import write_map
    from netlm_bayes.study.reanalysis import next_centre_design

    robust = map_prior(paths.PAPER_ALONE_STUDIES, "hr_htb_gt25", "moderate", robust=0.2, seed=3)
    prior_file = tmp_path / "hr_htb_gt25.json"
    write_map(robust, prior_file)
    folder = next_centre_design(prior_file, tmp_path / "oc")
    table = pd.read_csv(folder / "borrowing.csv")
    null = table[table["treatment"] == 0].set_index("borrowed_prior")["p_success"]
    _, settings = centres.example_design(prior_file)
    events = settings["events"]
    closed_form = stats.norm.cdf(-stats.norm.ppf(0.95) * np.sqrt(1 + 1 / events))
    assert null["unit information"] == pytest.approx(closed_form, abs=1e-9)
    assert null["as given"] > null["robust, weight 0.5"] > null["unit information"]
    assert {"oc.png", "borrowing.png", "critical_values.csv", "manifest.json"} <= {
        p.name for p in folder.iterdir()}  # fmt: skip
