"""The selection-adjusted (significance-filter) reading of the paper's effects, checked against
exact quadrature of the same posterior, and by the properties a conditional likelihood must
have.

The quadrature is written here from the density itself (Ghosh, Zou and Wright 2008):

    p(theta, p | y) ∝ Normal(theta; m, t) · Uniform(p; p_lo, p_hi)
                      · phi((y - theta) / s) / s / [Phi(theta/s - z_c) + Phi(-theta/s - z_c)],
    s = |y| / Phi^-1(1 - p/2),

on a fine theta grid, with Gauss-Legendre nodes over the printed P's rounding interval
(one node, s fixed, for the fixed-SE spec). Sampler results must agree within 4 Monte
Carlo standard errors of each quantile.
"""

from __future__ import annotations

import itertools

import arviz_stats
import numpy as np
import pytest
from scipy import stats

from netlm_bayes.evidence.paper import load_paper
from netlm_bayes.families import specs
from netlm_bayes.fitting.reported import reread_paper

Z_CRIT = stats.norm.isf(0.025)
PROBS = (0.025, 0.5, 0.975)


def exact_posterior(y, prior_mu, prior_sd, p_interval=None, se=None, z_crit=Z_CRIT, grid=None):
    """(theta grid, posterior density of theta) by quadrature; `se` fixes s, otherwise p is
    uniform over `p_interval`."""
    if se is not None:
        ses, weights = np.array([se]), np.array([1.0])
    else:
        nodes, weights = np.polynomial.legendre.leggauss(64)
        low, high = p_interval
        ps = low + (high - low) * (nodes + 1) / 2
        ses = abs(y) / stats.norm.isf(ps / 2)
    if grid is None:
        width = 14 * max(ses.max(), 0.01) + abs(y)
        centre = y if prior_sd > 10 * ses.max() else 0.5 * (y + prior_mu)
        grid = np.linspace(centre - width, centre + width, 40_001)
    theta = grid[:, None]
    log_density = (
        stats.norm.logpdf(theta, prior_mu, prior_sd)
        + stats.norm.logpdf(y, theta, ses)
        - np.logaddexp(stats.norm.logcdf(theta / ses - z_crit),
                       stats.norm.logcdf(-theta / ses - z_crit))
    )  # fmt: skip
    log_density -= log_density.max()
    density = (np.exp(log_density) * weights).sum(axis=1)
    return grid, density / np.trapezoid(density, grid)


def quantiles(grid, density, probs=PROBS):
    cdf = np.concatenate([[0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
    return np.interp(probs, cdf / cdf[-1], grid)


def plain_posterior_median(y, s, prior_sd):
    """The conjugate normal posterior median (no selection), prior centred on 0."""
    return y * prior_sd**2 / (prior_sd**2 + s**2)


# --- properties of the conditional likelihood (no sampling) ---------------------------------


def test_the_adjustment_vanishes_far_beyond_the_critical_value():
    """At z = 6 the selection probability is 1 to within 1e-5 near the estimate: the median
    moves by less than 1% of itself."""
    y, s = 6.0, 1.0
    grid, density = exact_posterior(y, 0.0, 100.0, se=s)
    adjusted = quantiles(grid, density, [0.5])[0]
    assert abs(adjusted - plain_posterior_median(y, s, 100.0)) < 0.01 * y


def test_the_adjustment_grows_as_z_approaches_the_critical_value():
    """The closer the estimate to the significance line, the more is selection: the shrinkage
    of the median (as a share of y) decreases steadily in z."""
    shrinkage = []
    for z in (2.0, 2.2, 2.5, 3.0, 4.0, 5.0):
        grid, density = exact_posterior(z, 0.0, 2.5, se=1.0)
        median = quantiles(grid, density, [0.5])[0]
        shrinkage.append(1 - median / plain_posterior_median(z, 1.0, 2.5))
    assert all(a > b for a, b in itertools.pairwise(shrinkage)), shrinkage
    assert shrinkage[0] > 0.3  # just past the line, a third or more of the estimate goes


@pytest.mark.parametrize("z", [1.97, 2.1, 2.33, 2.6, 3.0])
@pytest.mark.parametrize("prior_sd", [0.5, 1.0, 2.5, 100.0])
@pytest.mark.parametrize("sign", [1, -1])
def test_the_median_never_crosses_the_sign_of_y_under_a_symmetric_prior(z, prior_sd, sign):
    grid, density = exact_posterior(sign * z, 0.0, prior_sd, se=1.0)
    median = quantiles(grid, density, [0.5])[0]
    assert np.sign(median) == sign
    assert abs(median) < z  # and it is shrunk, never inflated


def test_the_models_log_density_is_the_truncated_normal():
    """The model's own logp (PyMC graph) equals the density written here, and integrates to
    1 over the region |y / s| > z_c."""
    import pymc as pm

    from netlm_bayes.families.reported_effects import selected_normal_logp

    theta, s = 0.7, 0.5
    ys = np.concatenate([np.linspace(-8, -Z_CRIT * s, 20_000), np.linspace(Z_CRIT * s, 8, 20_000)])
    logp = pm.draw(selected_normal_logp(ys, theta, s, Z_CRIT))
    expected = stats.norm.logpdf(ys, theta, s) - np.logaddexp(
        stats.norm.logsf(Z_CRIT - theta / s), stats.norm.logcdf(-Z_CRIT - theta / s)
    )
    # PyMC's and SciPy's normal log-CDFs differ by about 1e-8 in the tails; a modelling
    # error (a missing term, the wrong tail) would differ by 1e-2 or more.
    np.testing.assert_allclose(logp, expected, rtol=0, atol=1e-6)
    half = len(ys) // 2
    mass = np.trapezoid(np.exp(logp[:half]), ys[:half]) + np.trapezoid(
        np.exp(logp[half:]), ys[half:]
    )
    assert mass == pytest.approx(1.0, abs=1e-4)


# --- the sampler against quadrature ------------------------------------------------------------


def _agrees(trace, effect, grid, density):
    """Each quantile of log_ratio within 4 MCSE of the exact one; returns both for the note."""
    draws = trace["posterior"]["log_ratio"].sel(effect=effect)
    exact = quantiles(grid, density)
    rows = []
    for prob, expected in zip(PROBS, exact, strict=True):
        sampled = float(draws.quantile(prob))
        mcse = float(arviz_stats.mcse(draws, method="quantile", prob=prob))
        assert abs(sampled - expected) < 4 * mcse, (effect, prob, sampled, expected, mcse)
        rows.append((prob, sampled, expected, mcse))
    return rows


@pytest.fixture(scope="module")
def fixed_se_spec(tmp_path_factory):
    """The bundled spec with se = "fixed": one SE per effect, from the printed P itself."""
    source = specs.load_spec("reported_effects").path
    folder = tmp_path_factory.mktemp("spec")
    text = source.read_text().replace('se = "rounded-p"', 'se = "fixed"')
    text = text.replace(
        'prior_sets = "prior_sets.toml"', f'prior_sets = "{source.parent / "prior_sets.toml"}"'
    )
    path = folder / "reported_effects_fixed.toml"
    path.write_text(text)
    return path


def _every_effect_agrees(result, prior_set: str, fixed_se: bool) -> None:
    """Each effect's sampled posterior against quadrature under the same prior: s fixed at
    the printed P's value, or p uniform over its rounding interval."""
    assert result.passed
    paper = load_paper()
    prior_sets = specs.load_prior_sets()
    for effect in result.spec.effects:
        reported = paper.effect(effect).exact
        covariate = paper.effect(effect).covariate
        prior = prior_sets.get(prior_set).effect_prior(prior_sets.hypothesis(covariate))
        grid, density = (
            exact_posterior(reported.log_estimate, prior.mu, prior.sigma, se=reported.se)
            if fixed_se
            else exact_posterior(reported.log_estimate, prior.mu, prior.sigma, reported.p_interval)
        )
        _agrees(result.posteriors[prior_set], effect, grid, density)


@pytest.mark.parametrize("prior_set", ["minimal", "skeptical"])
def test_fixed_se_posterior_matches_quadrature(fixed_se_spec, prior_set):
    """Flat-ish (minimal, SD 100) and normal (skeptical) priors, quick profile."""
    result = reread_paper(str(fixed_se_spec), prior_set, "quick", seed=5, significance_filter=True)
    _every_effect_agrees(result, prior_set, fixed_se=True)


@pytest.mark.slow
@pytest.mark.parametrize("prior_set", ["minimal", "skeptical"])
def test_the_bundled_model_matches_quadrature_over_the_rounded_p(prior_set):
    """The model as `make fit` runs it (latent p over the printed P's rounding interval),
    default profile."""
    result = reread_paper("reported_effects", prior_set, "default", significance_filter=True)
    _every_effect_agrees(result, prior_set, fixed_se=False)


def test_a_filter_above_which_an_effect_was_not_significant_is_refused():
    from netlm_bayes.errors import InputError

    with pytest.raises(InputError, match=r"P < 0.01: hr_htb_gt25 \(P=0.02\)") as refused:
        reread_paper(prior_set="minimal", profile="quick", significance_filter=0.01)
    # P=0.01 stands for 0.005 to 0.015, which is not wholly below 0.01; P=0.003 is
    assert "or_border_clear (P=0.01)" in str(refused.value)
    assert "or_pet_positive" not in str(refused.value)
