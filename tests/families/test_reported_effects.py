"""The reported-effects model against analytic posteriors and the paper's own numbers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from netlm_bayes.evidence import paper as evidence
from netlm_bayes.families import reported_effects
from netlm_bayes.fitting import summaries as compare
from netlm_bayes.priors.distributions import Dirichlet
from netlm_bayes.sampling import gate
from netlm_bayes.sampling.sampler import Sampler, load_profile
from tests.conftest import SEED


def _posterior_moments(trace, variable, coord, dim):
    draws = trace["posterior"][variable].sel({dim: coord})
    values = draws.values.ravel()
    mcse = gate.arviz_stats.mcse(draws, method="mean").item()
    mcse_sd = gate.arviz_stats.mcse(draws, method="sd").item()
    return values.mean(), values.std(ddof=1), mcse, mcse_sd


@pytest.fixture(scope="module")
def fixed_se_traces(spec, paper, prior_sets):
    """The same model with s held at the printed-P value: the conjugate normal case."""
    fixed = spec.model_copy(update={"se": "fixed"})
    model = reported_effects.build_model(fixed, paper, prior_sets, prior_sets.default)
    runner = Sampler(model, load_profile("default"))
    return {
        name: runner.sample(reported_effects.prior_data(fixed, paper, prior_sets, name), SEED)
        for name in prior_sets.names
    }


@pytest.mark.parametrize(
    "prior_set", ["minimal", "weakly-informative", "skeptical", "enthusiastic", "pessimistic"]
)
def test_fixed_se_posterior_is_the_conjugate_normal(
    fixed_se_traces, spec, paper, prior_sets, prior_set
):
    data = reported_effects.prior_data(spec, paper, prior_sets, prior_set)
    trace = fixed_se_traces[prior_set]
    for j, name in enumerate(spec.effects):
        effect = paper.effect(name)
        y, s = effect.exact.log_estimate, effect.exact.se
        mu0, sigma0 = data["prior_mu"][j], data["prior_sigma"][j]
        post_var = 1 / (1 / sigma0**2 + 1 / s**2)
        post_mean = post_var * (mu0 / sigma0**2 + y / s**2)
        mean, sd, mcse_mean, mcse_sd = _posterior_moments(trace, "log_ratio", name, "effect")
        assert abs(mean - post_mean) < 4 * mcse_mean, (name, mean, post_mean)
        assert abs(sd - np.sqrt(post_var)) < 4 * mcse_sd, (name, sd, np.sqrt(post_var))


@pytest.mark.parametrize("prior_set", ["weakly-informative", "skeptical", "pessimistic"])
def test_response_rates_are_the_conjugate_dirichlet(traces, paper, prior_sets, prior_set):
    prior = prior_sets.get(prior_set).response_prior(["PR", "SD", "PD"])
    posterior = Dirichlet({c: a + paper.response.counts[c] for c, a in prior.alpha.items()})
    total = posterior.prior_patients
    for category, alpha in posterior.alpha.items():
        exact = stats.beta(alpha, total - alpha)
        mean, sd, mcse_mean, mcse_sd = _posterior_moments(
            traces[prior_set], "rates", category, "category"
        )
        assert abs(mean - exact.mean()) < 4 * mcse_mean, (category, mean, exact.mean())
        assert abs(sd - exact.std()) < 4 * mcse_sd, (category, sd, exact.std())


def test_orr_is_the_responders_rate(traces):
    posterior = traces["weakly-informative"]["posterior"]
    np.testing.assert_allclose(
        posterior["reported"].sel(quantity="orr"), posterior["rates"].sel(category="PR")
    )


def test_minimal_prior_gives_back_the_paper(traces, spec, paper):
    summary = compare.summarise(traces["minimal"], "reported", "quantity", spec.effects)
    medians = summary.set_index("quantity")["median"]
    for name in spec.effects:
        estimate = paper.effect(name).estimate
        assert medians[name] == pytest.approx(estimate, rel=0.03), name


def test_minimal_prior_direction_probability_is_one_minus_half_p(sampler, spec, paper, prior_sets):
    """Under a flat prior P(effect in the reported direction | y) = 1 - p/2, averaged over
    the printed P's rounding interval, whose midpoint is the printed P."""
    thorough = sampler.with_profile(load_profile("thorough"))
    trace = thorough.sample(reported_effects.prior_data(spec, paper, prior_sets, "minimal"), SEED)
    for name in spec.effects:
        effect = paper.effect(name)
        draws = trace["posterior"]["log_ratio"].sel(effect=name).values.ravel()
        wrong_direction = np.mean(np.sign(draws) != np.sign(effect.exact.log_estimate))
        expected = effect.p / 2
        ess = gate.arviz_stats.ess(
            trace["posterior"]["log_ratio"].sel(effect=name), method="tail"
        ).item()
        mc_error = np.sqrt(expected * (1 - expected) / ess)
        assert abs(wrong_direction - expected) < 4 * mc_error + 1e-4, (
            name,
            wrong_direction,
            expected,
        )


def test_latent_p_stays_in_the_rounding_interval(traces, spec, paper):
    posterior = traces["skeptical"]["posterior"]
    for name in spec.effects:
        low, high = paper.effect(name).exact.p_interval
        p = posterior["p_true"].sel(effect=name).values
        assert low <= p.min() and p.max() <= high
        effect = paper.effect(name)
        se_low, se_high = evidence.derive(effect.estimate, effect.p_printed).se_interval
        se = posterior["se"].sel(effect=name).values
        assert se_low - 1e-9 <= se.min() and se.max() <= se_high + 1e-9


def test_rounding_makes_the_posterior_wider_than_fixed_se(traces, fixed_se_traces):
    rounded = traces["minimal"]["posterior"]["log_ratio"].sel(effect="or_border_clear").std()
    fixed = fixed_se_traces["minimal"]["posterior"]["log_ratio"].sel(effect="or_border_clear").std()
    assert float(rounded) > float(fixed)


def test_skeptical_shrinks_towards_no_effect(traces, spec):
    minimal = compare.summarise(traces["minimal"], "reported", "quantity", spec.effects)
    skeptical = compare.summarise(traces["skeptical"], "reported", "quantity", spec.effects)
    for name in spec.effects:
        m = abs(np.log(minimal.set_index("quantity").loc[name, "median"]))
        s = abs(np.log(skeptical.set_index("quantity").loc[name, "median"]))
        assert s < m, name


@pytest.mark.parametrize(
    "prior_set", ["minimal", "weakly-informative", "skeptical", "enthusiastic", "pessimistic"]
)
def test_every_prior_set_passes_diagnostics(traces, thresholds, prior_set):
    diagnostics = gate.diagnose(traces[prior_set], thresholds)
    assert diagnostics.passed, diagnostics.failures
    assert diagnostics.table["rhat"].max() <= 1.01
    assert diagnostics.table["ess_bulk"].min() >= 400
    assert diagnostics.table["ess_tail"].min() >= 400
    assert diagnostics.divergences == 0


def test_posterior_carries_log_likelihood_and_constant_data(traces):
    trace = traces["weakly-informative"]
    assert {"log_likelihood", "constant_data", "observed_data"} <= set(trace.children)
    assert set(trace["log_likelihood"].data_vars) == {"log_estimate", "counts"}
    np.testing.assert_allclose(trace["constant_data"]["prior_sigma"].values, 2.5)


def test_same_seed_same_numbers(sampler, spec, paper, prior_sets):
    data = reported_effects.prior_data(spec, paper, prior_sets, "skeptical")
    quick = sampler.with_profile(load_profile("quick"))
    first = quick.sample(data, seed=7)["posterior"]["log_ratio"].values
    second = quick.sample(data, seed=7)["posterior"]["log_ratio"].values
    third = quick.sample(data, seed=8)["posterior"]["log_ratio"].values
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, third)


def test_pymc_nuts_fallback_agrees_with_nutpie(traces, spec, paper, prior_sets):
    model = reported_effects.build_model(spec, paper, prior_sets, "skeptical")
    fallback = Sampler(model, load_profile("quick"), sampler="pymc")
    trace = fallback.sample(reported_effects.prior_data(spec, paper, prior_sets, "skeptical"), SEED)
    assert trace.attrs["sampler"] == "pymc"
    assert "log_likelihood" in trace.children
    for name in spec.effects:
        a = trace["posterior"]["log_ratio"].sel(effect=name)
        b = traces["skeptical"]["posterior"]["log_ratio"].sel(effect=name)
        se = np.hypot(
            gate.arviz_stats.mcse(a, method="mean").item(),
            gate.arviz_stats.mcse(b, method="mean").item(),
        )
        assert abs(float(a.mean()) - float(b.mean())) < 4 * se, name
