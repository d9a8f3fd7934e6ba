"""Patient-level models, checked against things that do not share their code:

- parameter recovery on cohorts simulated from known values (n = 84 and n = 1000);
- under the nearly flat `minimal` prior, the lifelines / statsmodels MLE on the same data;
- a completely separated dataset, which has no finite MLE, still gives finite ORs;
- a compiled model refitted on new data really uses the new data.

Each model is compiled once per session and refitted through `pm.Data`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import statsmodels.api as sm
import xarray as xr
from lifelines import WeibullAFTFitter
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families import specs
from netlm_bayes.families.survival import model as survival
from netlm_bayes.families.survival.registry import family
from netlm_bayes.fitting import patient as patientfit
from netlm_bayes.fitting import prior_choice as priors
from netlm_bayes.fitting.patient_spec import read_data
from netlm_bayes.priors.coefficients import CoefficientPriors
from netlm_bayes.sampling import log_density
from netlm_bayes.sampling.sampler import load_profile

SEED = 20260101
COVARIATES = ["htb_gt25", "ki67_gt10", "pet_positive", "border_clear"]
TRUE_BETA = np.array([1.0, 0.5, -0.5, 0.0])


def _priors(spec, name: str, covariates=COVARIATES) -> CoefficientPriors:
    return priors.from_prior_set(specs.load_prior_sets(spec.prior_sets_path), name, covariates)


def _compiled(model_name: str) -> tuple:
    spec = specs.load_spec(model_name)
    data = read_data(spec)
    weakly = _priors(spec, "weakly-informative")
    model = patientfit.PatientModel(spec, data, weakly, load_profile("quick"))
    return spec, data, model


@pytest.fixture(scope="module")
def weibull():
    return _compiled("hpfs_weibull")


@pytest.fixture(scope="module")
def logit():
    return _compiled("response_logistic")


@pytest.fixture(scope="module")
def ordered():
    return _compiled("response_ordinal")


def _covariates(n: int, rng) -> np.ndarray:
    return rng.binomial(1, [0.4, 0.3, 0.3, 0.6], size=(n, 4)).astype(float)


def simulate_survival(n: int, seed: int) -> ModelData:
    """Weibull PH, k = 1.3, reference median 12 months; uniform censoring 6 to 40 months."""
    rng = np.random.default_rng(seed)
    X = _covariates(n, rng)
    params = {"log_median": 0.0, "log_shape": math.log(1.3)}
    times = family("weibull").sample_times(params, X @ TRUE_BETA, 12.0, rng)
    censor = rng.uniform(6, 40, n)
    return ModelData(
        source=Path(f"simulated-weibull-{n}"), sha256="", covariates=COVARIATES, X=X,
        synthetic=True, time=np.minimum(times, censor), event=(times <= censor).astype(int),
    )  # fmt: skip


def simulate_binary(n: int, seed: int, intercept: float = -1.0) -> ModelData:
    rng = np.random.default_rng(seed)
    X = _covariates(n, rng)
    y = rng.binomial(1, 1 / (1 + np.exp(-(intercept + X @ TRUE_BETA))))
    return ModelData(Path(f"simulated-logistic-{n}"), "", COVARIATES, X, True, y=y)


def simulate_ordinal(n: int, seed: int, cutpoints=(0.5, 2.0)) -> ModelData:
    rng = np.random.default_rng(seed)
    X = _covariates(n, rng)
    latent = X @ TRUE_BETA + rng.logistic(size=n)
    y = np.searchsorted(np.asarray(cutpoints), latent)
    return ModelData(Path(f"simulated-ordinal-{n}"), "", COVARIATES, X, True, y=y)


def _log_draws(fit, prefix: str) -> dict[str, np.ndarray]:
    return {
        c: np.log(fit.quantities.sel(quantity=f"{prefix}{c}").values.ravel()) for c in COVARIATES
    }


# One simulated cohort of 84 misses a given 95% interval 5% of the time, so a single
# dataset with five quantities fails a "truth inside every interval" check about one time in
# four even when the model is right. Recovery is therefore judged over REPLICATES cohorts:
# the count of misses must stay within what Binomial(intervals, 0.05) allows at 99.9%, and
# at n = 1000 the average posterior median must lie within 0.15 of the truth (log scale).
REPLICATES = 8


def _truths(prefix: str, extra: dict[str, float]) -> dict[str, float]:
    truths = {f"{prefix}{c}": math.exp(b) for c, b in zip(COVARIATES, TRUE_BETA, strict=True)}
    return {**truths, **extra}


def _check_recovery(fits: list, prefix: str, n: int, extra: dict[str, float]) -> None:
    truths = _truths(prefix, extra)
    misses, log_medians = [], {q: [] for q in truths}
    for fit in fits:
        assert fit.diagnostics.passed, fit.diagnostics.failures
        summary = fit.summary.set_index("quantity")
        for quantity, truth in truths.items():
            row = summary.loc[quantity]
            if not row.eti95_low <= truth <= row.eti95_high:
                misses.append((fit.data.source.name, quantity))
            log_medians[quantity].append(math.log(row["median"]))
    intervals = len(fits) * len(truths)
    allowed = int(stats.binom.ppf(0.999, intervals, 0.05))
    assert len(misses) <= allowed, (f"{len(misses)} of {intervals} missed", misses)
    if n >= 1000:
        for quantity, truth in truths.items():
            bias = np.mean(log_medians[quantity]) - math.log(truth)
            assert abs(bias) < 0.15, (quantity, bias)


def _fits(model, simulate, spec, n: int) -> list:
    weakly = _priors(spec, "weakly-informative")
    return [model.fit(simulate(n, seed=1000 * n + r), weakly, SEED) for r in range(REPLICATES)]


def _sizes():
    return [84, pytest.param(1000, marks=pytest.mark.slow)]


@pytest.mark.parametrize("n", _sizes())
def test_weibull_recovers_the_simulated_truth(weibull, n):
    spec, _, model = weibull
    _check_recovery(_fits(model, simulate_survival, spec, n), "hr_", n, {"shape": 1.3})


@pytest.mark.parametrize("n", _sizes())
def test_logistic_recovers_the_simulated_truth(logit, n):
    spec, _, model = logit
    _check_recovery(_fits(model, simulate_binary, spec, n), "or_", n, {})


@pytest.mark.parametrize("n", _sizes())
def test_ordinal_recovers_the_simulated_truth(ordered, n):
    spec, _, model = ordered
    _check_recovery(_fits(model, simulate_ordinal, spec, n), "or_", n, {})


def _within(draws: np.ndarray, mle: float, sds: float) -> bool:
    return abs(np.median(draws) - mle) < sds * np.std(draws)


def test_weibull_under_minimal_agrees_with_the_lifelines_mle(weibull):
    """lifelines' Weibull AFT on the same cohort, converted to PH: beta = -k * b."""
    spec, data, model = weibull
    fit = model.fit(data, _priors(spec, "minimal"), SEED)
    frame = pd.DataFrame(data.X, columns=COVARIATES).assign(T=data.time, E=data.event)
    mle = WeibullAFTFitter().fit(frame, "T", "E", formula=" + ".join(COVARIATES))
    k = math.exp(mle.params_["rho_"]["Intercept"])
    log_hr = -k * mle.params_["lambda_"][COVARIATES]
    draws = _log_draws(fit, "hr_")
    for covariate in COVARIATES:
        assert _within(draws[covariate], log_hr[covariate], 0.2), covariate
    shape = np.log(fit.quantities.sel(quantity="shape").values.ravel())
    assert _within(shape, math.log(k), 0.2)


def _logit_mle(data: ModelData) -> np.ndarray:
    return sm.Logit(data.y, sm.add_constant(data.X)).fit(disp=0).params[1:]


def _ordinal_mle(data: ModelData) -> np.ndarray:
    return OrderedModel(data.y, data.X, distr="logit").fit(method="bfgs", disp=0).params[:4]


@pytest.mark.parametrize(
    ("compiled", "simulate", "mle"),
    [("logit", simulate_binary, _logit_mle), ("ordered", simulate_ordinal, _ordinal_mle)],
)
def test_response_models_under_minimal_agree_with_the_statsmodels_mle(
    request, compiled, simulate, mle
):
    spec, _, model = request.getfixturevalue(compiled)
    data = simulate(300, seed=3)
    fit = model.fit(data, _priors(spec, "minimal"), SEED)
    draws = _log_draws(fit, "or_")
    for covariate, value in zip(COVARIATES, mle(data), strict=True):
        assert _within(draws[covariate], value, 0.2), covariate


def test_completely_separated_data_give_finite_ors(logit):
    """No border_clear patient is a non-responder: the MLE diverges, the posterior does not."""
    spec, _, model = logit
    data = simulate_binary(84, seed=7)
    data.y = np.where(data.X[:, 3] == 1, 0, data.y)
    assert data.y[data.X[:, 3] == 1].sum() == 0 and data.y.sum() > 0
    fit = model.fit(data, _priors(spec, "weakly-informative"), SEED)
    assert fit.diagnostics.passed, fit.diagnostics.failures
    summary = fit.summary.set_index("quantity")
    assert np.isfinite(summary.loc[["or_border_clear"], ["eti95_low", "eti95_high"]].values).all()
    # Finite, and as separated as the data: the posterior sits well below 1.
    assert summary.loc["or_border_clear", "eti95_high"] < 1
    assert summary.loc["or_border_clear", "eti95_low"] > 1e-6


def test_refitting_on_new_data_uses_the_new_data(weibull):
    """A compiled model reused across cohorts must not keep the old cohort's data."""
    spec, data, model = weibull
    first = model.fit(simulate_survival(1000, seed=11), _priors(spec, "weakly-informative"), SEED)
    second = model.fit(data, _priors(spec, "weakly-informative"), SEED)
    np.testing.assert_array_equal(second.trace["constant_data"]["X"].values, data.X)
    name = survival.observed_name(spec)
    np.testing.assert_array_equal(second.trace["constant_data"][name].values, data.event)
    np.testing.assert_array_equal(second.trace["observed_data"][name].values, data.time)
    assert second.trace["log_likelihood"][name].sizes["patient"] == data.n
    assert first.summary.loc[0, "median"] != second.summary.loc[0, "median"]


@pytest.mark.parametrize(
    ("fixture", "simulate"),
    [("weibull", simulate_survival), ("logit", simulate_binary), ("ordered", simulate_ordinal)],
)
def test_stored_log_likelihood_is_pymcs_for_each_new_cohort(request, fixture, simulate):
    """The log-likelihood compiled once and vectorised over draws against PyMC's own
    `compute_log_likelihood`, on a second cohort of another size (the compiled function
    must read the new pm.Data, not the first cohort's)."""
    spec, _, model = request.getfixturevalue(fixture)
    for n, seed in ((120, 5), (60, 6)):
        fit = model.fit(simulate(n, seed=seed), _priors(spec, "weakly-informative"), SEED)
        ours = fit.trace["log_likelihood"].to_dataset()
        bare = fit.trace.copy()
        del bare["log_likelihood"]
        expected = pm.compute_log_likelihood(
            bare, model=model.runner.model, extend_inferencedata=False, progressbar=False
        )
        expected = xr.Dataset(expected) if not isinstance(expected, xr.Dataset) else expected
        assert set(ours.data_vars) == set(expected.data_vars)
        for name in expected.data_vars:
            assert ours[name].dims == expected[name].dims
            assert ours[name].sizes["patient"] == n
            np.testing.assert_allclose(ours[name].values, expected[name].values, atol=1e-10)


# One family in the fast tests (the mechanism is shared); the other two run with the slow.
@pytest.mark.parametrize("fixture", ["weibull", pytest.param("logit", marks=pytest.mark.slow),
                                     pytest.param("ordered", marks=pytest.mark.slow)])  # fmt: skip
def test_stored_log_prior_is_pymcs_under_each_prior_set(request, fixture):
    """The log prior (for power-scaling sensitivity) against PyMC's own `compute_log_prior`,
    under two prior sets in turn: the compiled function must read each set's pm.Data."""
    spec, data, model = request.getfixturevalue(fixture)
    for prior_set in ("weakly-informative", "skeptical"):
        fit = model.fit(data, _priors(spec, prior_set), SEED)
        ours = fit.trace["log_prior"].to_dataset()
        bare = fit.trace.copy()
        del bare["log_prior"]
        expected = pm.stats.compute_log_prior(
            bare, model=model.runner.model, extend_inferencedata=False, progressbar=False
        )
        expected = xr.Dataset(expected) if not isinstance(expected, xr.Dataset) else expected
        assert set(ours.data_vars) == set(expected.data_vars)
        for name in expected.data_vars:
            np.testing.assert_allclose(
                ours[name].values, expected[name].values, rtol=1e-9, atol=1e-9
            )


def test_a_prior_file_is_used_and_then_replaced(weibull, tmp_path):
    """Priors are pm.Data: a tight prior from a file must move the posterior, and the next
    fit under another prior must not keep it (bambi #595: priors silently ignored)."""
    spec, data, model = weibull
    lines = ['scale = "log_hr"', 'source = "a test: HR 2 almost surely"']
    for covariate in COVARIATES:
        lines += [f"[coefficients.{covariate}]", 'family = "normal"', "mu = 0.6931", "sigma = 0.01"]
    (tmp_path / "prior.toml").write_text("\n".join(lines) + "\n")
    tight = priors.from_file(tmp_path / "prior.toml", spec, COVARIATES)
    held = model.fit(data, tight, SEED).summary.set_index("quantity")
    assert held.loc["hr_htb_gt25", "median"] == pytest.approx(2.0, rel=0.03)
    free = model.fit(data, _priors(spec, "weakly-informative"), SEED).summary.set_index("quantity")
    assert free.loc["hr_htb_gt25", "median"] > 3


def test_same_data_and_seed_give_an_identical_summary(logit):
    """Reproducibility: the same inputs and seed give the same numbers, to the last digit."""
    spec, data, model = logit
    weakly = _priors(spec, "weakly-informative")
    first = model.fit(data, weakly, 77).summary
    second = model.fit(data, weakly, 77).summary
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    third = model.fit(data, weakly, 78).summary
    assert not first["median"].equals(third["median"])


def test_replicate_intervals_are_the_summarys(weibull):
    """Replicates report `intervals` (cheap) where the main fit reports `summary` (full):
    both must give the same medians and 95% intervals."""
    spec, data, model = weibull
    fit = model.fit(data, _priors(spec, "weakly-informative"), SEED)
    full = fit.summary.set_index("quantity")[["median", "eti95_low", "eti95_high"]]
    quick = fit.intervals.set_index("quantity")
    assert list(quick.index) == list(full.index)
    finite = np.isfinite(full.to_numpy())
    np.testing.assert_allclose(quick.to_numpy()[finite], full.to_numpy()[finite], rtol=1e-12)
    assert (np.isfinite(quick.to_numpy()) == finite).all()


def test_a_cohort_too_large_for_the_pointwise_log_likelihood_keeps_each_draws_total(
    weibull, monkeypatch
):
    """Registry-sized cohorts: draws x patients beyond the budget are not kept (3.2 GB at
    n = 100,000) and the trace says so. Each draw's summed log-likelihood is kept instead,
    taken from the sampler's log density without touching the patients: it must equal the
    sum of the pointwise values, and prior sensitivity from it must equal the pointwise."""
    from netlm_bayes.checks.prior_sensitivity import sensitivity

    spec, data, model = weibull
    monkeypatch.setattr(log_density, "LOG_LIKELIHOOD_BUDGET", data.n * 100)
    fit = model.fit(data, _priors(spec, "weakly-informative"), SEED)
    assert "log_likelihood" not in fit.trace.children
    assert fit.trace.attrs["log_likelihood"].startswith("not stored")
    assert "LOO needs subsampling" in fit.trace.attrs["log_likelihood"]
    monkeypatch.undo()
    again = model.fit(data, _priors(spec, "weakly-informative"), SEED)
    assert again.trace.attrs["log_likelihood"] == "stored"
    pointwise = again.trace["log_likelihood"][survival.observed_name(spec)]
    assert pointwise.sizes["patient"] == data.n
    total = fit.trace["log_likelihood_total"]["total"]
    summed = pointwise.sum("patient")
    np.testing.assert_allclose(total.values, summed.values, rtol=1e-9, atol=1e-8)
    xr.testing.assert_allclose(fit.trace["log_prior"].to_dataset(),
                               again.trace["log_prior"].to_dataset())  # fmt: skip
    from_totals = sensitivity(fit.trace, fit.quantities)
    from_pointwise = sensitivity(again.trace, again.quantities)
    assert len(from_totals) == len(fit.quantities["quantity"])
    pd.testing.assert_frame_equal(from_totals, from_pointwise, rtol=1e-6)


def test_ordinal_category_log_probabilities_are_exact_and_never_underflow():
    """Against the logistic CDF difference computed with 50 significant digits (Python's
    decimal), including patients so far beyond every cutpoint that, in double precision,
    the plain difference of probabilities is 0 and its log -inf."""
    from decimal import Decimal, localcontext

    import pytensor.tensor as pt

    from netlm_bayes.families.ordinal import category_logp

    eta = np.array([0.3, -1.0, 2.0, 40.0, -40.0])
    cutpoints = np.array([-1.0, 0.5, 2.0])

    def logistic(x) -> Decimal:
        return 1 / (1 + (-Decimal(x)).exp())

    edges = [None, *cutpoints, None]  # None: minus infinity below, plus infinity above
    for category in range(4):
        ours = category_logp(
            pt.as_tensor(np.full(5, category)), pt.as_tensor(eta), pt.as_tensor(cutpoints)
        ).eval()
        with localcontext() as context:
            context.prec = 50
            upper = edges[category + 1]
            exact = [
                float(((Decimal(1) if upper is None else logistic(upper - e))
                       - (logistic(edges[category] - e) if category else Decimal(0))).ln())
                for e in eta
            ]  # fmt: skip
        np.testing.assert_allclose(ours, exact, rtol=1e-9, atol=1e-12)
