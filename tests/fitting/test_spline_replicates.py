"""Replicate cohorts through an M-spline model built on the first cohort: each is fitted on
that cohort's basis (its knots, in units of its t_ref), so their draws pool as one model's."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pymc as pm
import pytest

from netlm_bayes import paths
from netlm_bayes.families.survival import model as survival
from netlm_bayes.fitting.patient import PatientModel, with_knots
from netlm_bayes.fitting.patient_spec import Overrides, load, read_data
from netlm_bayes.fitting.prior_choice import choose_priors
from netlm_bayes.sampling.sampler import load_profile

REPLICATES = paths.PROJECT_ROOT / "data" / "pseudo_cohorts"


class _Captured(Exception):
    def __init__(self, values: dict):
        self.values = values


def test_a_replicate_through_the_built_model_is_the_model_built_on_it_with_those_knots(
    monkeypatch,
):
    """What `PatientModel.fit` hands the sampler for a replicate (its times, events and
    covariates, and the basis at the first cohort's t_ref), set into the compiled model,
    gives the log density of a model built on the replicate with the first cohort's knots
    and t_ref, at random points; and that t_ref is not the replicate's own (else this would
    test nothing)."""
    from netlm_bayes.fitting import patient

    spec = load("hpfs_weibull", Overrides(likelihood="mspline"))
    first = read_data(spec)
    spec = with_knots(spec, first)
    chosen = choose_priors(spec, first, None, None)
    compiled = PatientModel(spec, first, chosen, load_profile("quick"))
    replicate = read_data(spec, REPLICATES / "pseudo_cohort_02.csv")
    assert replicate.reference_time != pytest.approx(first.reference_time, rel=1e-3)

    def capture(runner, values, *args, **kwargs):
        raise _Captured(values)

    monkeypatch.setattr(patient.gate, "sample_gated", capture)
    with pytest.raises(_Captured) as captured:
        compiled.fit(replicate, chosen, seed=1)
    values = captured.value.values
    assert float(values["t_ref"]) == first.reference_time
    model = compiled.runner.model
    with model:
        pm.set_data({k: v for k, v in values.items() if k in model.named_vars},
                    coords={"patient": np.arange(replicate.n)})  # fmt: skip
    fresh = survival.build_model(
        spec, replace(replicate, fixed_reference_time=first.reference_time), chosen
    )
    ours, theirs = model.compile_logp(), fresh.compile_logp()
    rng = np.random.default_rng(4)
    for _ in range(3):
        point = {name: rng.normal(0, 0.5, np.shape(value))
                 for name, value in model.initial_point().items()}  # fmt: skip
        assert ours(point) == pytest.approx(theirs(point), rel=1e-10)


@pytest.mark.slow
def test_each_replicate_agrees_with_the_replicate_fitted_as_a_cohort_of_its_own(tmp_path):
    """`fit --likelihood mspline --replicates`: every replicate passes the gate, and each
    one's log HRs (fitted on the first cohort's basis) lie within 0.1 posterior SD of the
    same replicate fitted on its own (its own knots and t_ref), minimal priors. Cox's
    estimates are printed beside them: on 84 patients the posterior median of htb_gt25 sits
    0.24 SD from Cox's in both fits (a skewed likelihood, not the basis)."""
    from lifelines import CoxPHFitter

    from netlm_bayes.study import fit_patient

    folder = tmp_path / "replicates"
    folder.mkdir()
    for name in ("pseudo_cohort_02.csv", "pseudo_cohort_03.csv"):
        shutil.copy(REPLICATES / name, folder / name)
    flags = Overrides(likelihood="mspline")
    run = fit_patient.run("hpfs_weibull", flags, prior_set="minimal", out=tmp_path / "run",
                          replicates_dir=folder)  # fmt: skip
    assert run.passed and set(run.replicates) == {"pseudo_cohort_02", "pseudo_cohort_03"}
    assert (tmp_path / "run" / "replicates_pooled.csv").is_file()
    for name, fit in run.replicates.items():
        own_flags = replace(flags, data=folder / f"{name}.csv")
        alone = fit_patient.run("hpfs_weibull", own_flags, prior_set="minimal",
                                out=tmp_path / name).fit  # fmt: skip
        assert alone.diagnostics.passed
        frame = pd.read_csv(folder / f"{name}.csv")
        covariates = fit.data.covariates
        cox = CoxPHFitter().fit(frame[["hpfs_months", "progressed", *covariates]],
                                "hpfs_months", "progressed")  # fmt: skip
        for c in covariates:
            draws = fit.trace["posterior"]["beta"].sel(covariate=c).values.ravel()
            own = alone.trace["posterior"]["beta"].sel(covariate=c).values.ravel()
            gap = (np.median(draws) - np.median(own)) / own.std()
            print(f"{name} {c}: as a replicate {np.median(draws):+.4f}, alone "
                  f"{np.median(own):+.4f} ({gap:+.3f} SD), Cox {cox.params_[c]:+.4f}")  # fmt: skip
            assert abs(gap) < 0.1, (name, c, gap)


@pytest.mark.slow
def test_the_apis_refit_of_an_m_spline_keeps_the_first_fits_basis():
    """`refit` on another cohort: the refitted model reads its curves on the first fit's
    basis (its t_ref), and its curve is the refitted posterior's, not the first one's."""
    from netlm_bayes.api import SurvivalModel, load_pseudo_cohort

    columns = ["hpfs_months", "progressed", "htb_gt25", "ki67_gt10"]
    first = load_pseudo_cohort()[columns]
    fitted = SurvivalModel("mspline", time_unit="months", profile="quick", seed=2).fit(
        first, "hpfs_months", "progressed"
    )
    other = pd.read_csv(REPLICATES / "pseudo_cohort_02.csv")[columns]
    refitted = fitted.refit(other)
    assert refitted.passed
    assert refitted.data.reference_time == fitted.data.reference_time
    assert refitted.data.reference_time != pytest.approx(np.median(other.hpfs_months), rel=1e-3)
    curves = refitted.survival_curves()
    cohort = curves[curves.pattern == "cohort"]
    assert cohort["median"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert (np.diff(cohort["median"].to_numpy()) <= 1e-12).all()
    mine = fitted.survival_curves()
    assert not np.allclose(cohort["median"], mine[mine.pattern == "cohort"]["median"])
