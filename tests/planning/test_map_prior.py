"""The MAP prior against exact answers.

Given tau, the normal model is conjugate: mu | y, tau is normal and so is the predictive
theta* | y, tau. Integrating over tau on a fine grid (over each stratum's tau with strata)
gives the MAP predictive's quantiles exactly; the sampled ones must match within their
Monte Carlo error. For rates the same holds with a 2-D grid over (mu, tau) and each study's
likelihood integrated over its theta by Gauss-Hermite quadrature. The code below is written
from the model's definition, independently of the package's PyMC model.
"""

from __future__ import annotations

import arviz_stats
import numpy as np
import pytest
from scipy import optimize, special, stats

from netlm_bayes.evidence.studies import Measurement, Studies
from netlm_bayes.planning import prior_worth
from netlm_bayes.planning.map_prior import map_prior
from netlm_bayes.priors.map_model import MU_PRIOR_SD
from netlm_bayes.priors.mixture import Component, MixturePrior

PROBS = (0.025, 0.5, 0.975)
EIGHT_SCHOOLS = (  # Rubin (1981)
    np.array([28.0, 8, -3, 7, -1, 1, 18, 12]),
    np.array([15.0, 10, 16, 11, 9, 11, 10, 18]),
)
# Placebo responders in 8 historical trials in ankylosing spondylitis, the data RBesT ships
# as `AS` (Baeten et al. 2013, Lancet 382:1705).
AS_N = np.array([107, 44, 51, 39, 139, 20, 78, 35])
AS_R = np.array([23, 12, 19, 9, 39, 6, 9, 10])


def _studies(y=None, se=None, r=None, n=None, strata=None) -> Studies:
    """Studies as if read from a file, for the quantity hr_htb_gt25 (normal) or orr."""
    k = len(y) if y is not None else len(r)
    strata = strata or ["all"] * k
    out = []
    for i in range(k):
        common = dict(study=f"s{i}", stratum=strata[i], citation="simulated", quote="simulated",
                      illustrative=False)  # fmt: skip
        if y is not None:
            out.append(Measurement(**common, quantity="hr_htb_gt25", estimate=float(np.exp(y[i])),
                                   y=float(y[i]), se=float(se[i]), se_from="SE"))  # fmt: skip
        else:
            out.append(Measurement(**common, quantity="orr", estimate=r[i] / n[i], r=int(r[i]),
                                   n=int(n[i]), units=float(n[i])))  # fmt: skip
    return Studies(path=__file__, title="test", measurements=tuple(out), unavailable={})


def _quantiles(cdf, lo, hi) -> np.ndarray:
    return np.array([optimize.brentq(lambda x, p=p: cdf(x) - p, lo, hi, xtol=1e-9) for p in PROBS])


def exact_normal(y, s, tau_scale, strata_index=None, new=0, grid_points=3000):
    """The predictive's quantiles: tau_g ~ HalfNormal(tau_scale), mu ~ N(0, MU_PRIOR_SD²)."""
    strata_index = np.zeros(len(y), int) if strata_index is None else np.asarray(strata_index)
    groups = strata_index.max() + 1
    points = grid_points if groups == 1 else 300
    edges = np.linspace(0, 8 * tau_scale, points + 1)
    grid = (edges[:-1] + edges[1:]) / 2  # midpoint rule
    taus = np.stack(np.meshgrid(*[grid] * groups, indexing="ij"), -1).reshape(-1, groups)
    log_w = stats.halfnorm.logpdf(taus, scale=tau_scale).sum(axis=1)
    var = s**2 + taus[:, strata_index] ** 2  # (grid, k)
    a = 1 / MU_PRIOR_SD["normal"] ** 2 + (1 / var).sum(axis=1)
    b = (y / var).sum(axis=1)
    m, v = b / a, 1 / a
    log_det = np.log(var).sum(axis=1) + np.log(MU_PRIOR_SD["normal"] ** 2 * a)
    quad = (y**2 / var).sum(axis=1) - b**2 / a
    log_w = log_w - 0.5 * (log_det + quad)
    w = np.exp(log_w - special.logsumexp(log_w))
    sd = np.sqrt(v + taus[:, new] ** 2)

    def cdf(x):
        return float(np.sum(w * special.ndtr((x - m) / sd)))

    span = 10 * sd.max() + np.abs(m).max()
    return _quantiles(cdf, -span, span)


def exact_binomial(r, n, tau_scale, mu_grid=(-5.0, 3.0)):
    """The predictive's quantiles on the logit scale: a (mu, tau) grid, Gauss-Hermite over
    each study's theta."""
    mu_edges = np.linspace(*mu_grid, 301)
    mu = (mu_edges[:-1] + mu_edges[1:]) / 2
    tau_edges = np.linspace(0, 8 * tau_scale, 301)
    tau = (tau_edges[:-1] + tau_edges[1:]) / 2
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    M, T = np.meshgrid(mu, tau, indexing="ij")
    theta = M[..., None] + T[..., None] * nodes  # (mu, tau, node)
    log_lik = 0.0
    for ri, ni in zip(r, n, strict=True):
        per_node = stats.binom.logpmf(ri, ni, special.expit(theta))
        log_lik = log_lik + special.logsumexp(per_node, b=weights, axis=-1)
    log_w = (stats.norm.logpdf(M, 0, MU_PRIOR_SD["binomial"])
             + stats.halfnorm.logpdf(T, scale=tau_scale) + log_lik)  # fmt: skip
    w = np.exp(log_w - special.logsumexp(log_w)).ravel()
    m, sd = M.ravel(), T.ravel()

    def cdf(x):
        return float(np.sum(w * special.ndtr((x - m) / sd)))

    return _quantiles(cdf, -15, 15)


def _sampled(result):
    chains = result.trace["posterior"]["theta_new"].values
    quantiles = np.quantile(chains.ravel(), PROBS)
    mcse = np.array([arviz_stats.mcse(chains, method="quantile", prob=p) for p in PROBS])
    return quantiles, mcse


def _assert_within_mc_error(result, exact):
    assert result.passed, result.diagnostics.failures
    sampled, mcse = _sampled(result)
    # 4 Monte Carlo SEs: a chance miss of one of the three is about 2 in 10,000
    assert np.all(np.abs(sampled - exact) <= 4 * mcse), (sampled, exact, mcse)


def test_eight_schools_predictive_matches_exact_quadrature():
    y, s = EIGHT_SCHOOLS
    result = map_prior(_studies(y, s), "hr_htb_gt25", tau_prior="halfnormal:10", seed=1)
    _assert_within_mc_error(result, exact_normal(y, s, 10.0))


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_simulated_sets_match_exact_quadrature(k):
    rng = np.random.default_rng(k)
    se = rng.uniform(0.2, 0.8, k)
    y = 0.7 + rng.normal(0, 0.3, k) + rng.normal(0, se)
    result = map_prior(_studies(y, se), "hr_htb_gt25", tau_prior="halfnormal:0.5", seed=k)
    _assert_within_mc_error(result, exact_normal(y, se, 0.5))


@pytest.mark.slow
def test_strata_each_with_its_own_tau_match_exact_quadrature():
    rng = np.random.default_rng(7)
    strata = ["randomised"] * 3 + ["observational"] * 3
    se = rng.uniform(0.2, 0.5, 6)
    y = np.r_[0.5 + rng.normal(0, 0.05, 3), 0.9 + rng.normal(0, 0.4, 3)]
    studies = _studies(y, se, strata=strata)
    for new, index in (("randomised", 0), ("observational", 1)):
        result = map_prior(studies, "hr_htb_gt25", tau_prior="halfnormal:0.5", strata=True,
                           new_stratum=new, seed=3)  # fmt: skip
        assert result.draws["tau"].shape[1] == 2
        exact = exact_normal(y, se, 0.5, strata_index=[0, 0, 0, 1, 1, 1], new=index)
        _assert_within_mc_error(result, exact)


def test_ankylosing_spondylitis_binomial_matches_2d_quadrature():
    result = map_prior(_studies(r=AS_R, n=AS_N), "orr", tau_prior="halfnormal:1", seed=2)
    _assert_within_mc_error(result, exact_binomial(AS_R, AS_N, 1.0))


def test_one_study_and_no_heterogeneity_give_the_plain_export():
    """k = 1 and tau -> 0: the MAP is the study's own estimate, N(y, s²)."""
    y, s = np.array([np.log(4.188)]), np.array([0.6157])
    result = map_prior(_studies(y, s), "hr_htb_gt25", tau_prior="halfnormal:0.001", seed=4)
    _assert_within_mc_error(result, stats.norm.ppf(PROBS, y[0], s[0]))
    # The exported mixture: the draws' Monte Carlo error plus the mixture's stated
    # approximation (0.05 on the log scale); a fixed 0.03 was under 2 MCSE at 2.5%.
    _, mcse = _sampled(result)
    prior = result.exported.prior
    for p, error in zip(PROBS, mcse, strict=True):
        exact = stats.norm.ppf(p, y[0], s[0])
        assert abs(prior.quantile("htb_gt25", p) - exact) <= 4 * error + 0.05


def test_mixture_reproduces_the_draws_quantiles_on_the_log_scale(bundled_hr_map):
    check = bundled_hr_map.approximation
    assert np.abs(check["difference"]).max() <= 0.05


def test_bundled_studies_give_a_passing_map_with_illustrative_flags(bundled_hr_map):
    result = bundled_hr_map
    assert result.passed
    assert result.illustrative == ["illustrative-A", "illustrative-B"]
    assert result.exported.provenance["illustrative_studies"] == result.illustrative
    assert "ILLUSTRATIVE" in result.warnings[0]
    table = result.table.set_index("row")
    # the MAP is wider than the mean's posterior: heterogeneity adds a new study's spread
    new, mean = table.loc["MAP: a new study (theta*)"], table.loc["mean (mu)"]
    assert new.ci95_high / new.ci95_low > mean.ci95_high / mean.ci95_low


@pytest.mark.slow  # make fit shows the same; the study report test checks it
def test_heterogeneity_costs_effective_sample_size():
    """The paper alone: the MAP prior under moderate heterogeneity is worth fewer events than
    carrying the paper's estimate over unchanged (the plain export, N(y, s²))."""
    y, s = np.array([np.log(4.188)]), np.array([0.6157])
    result = map_prior(_studies(y, s), "hr_htb_gt25", tau_prior="moderate", seed=5)
    plain = MixturePrior(("x",), (Component(1.0, y, np.array([[s[0] ** 2]])),))
    unit_var = result.unit_sd**2
    assert result.ess["ess_elir"].iloc[0] < prior_worth.ess_elir(plain, "x", unit_var)


def test_elir_is_predictively_consistent():
    """Neuenschwander et al. (2020): after n more units, the expected ELIR of the posterior
    is the prior's ELIR plus n (for a mixture too; the moment ESS has no such property)."""
    sigma, n = 2.0, 30
    prior = MixturePrior(("x",), (Component(0.7, np.array([1.0]), np.array([[0.09]])),
                                  Component(0.3, np.array([0.4]), np.array([[0.5]]))))  # fmt: skip
    rng = np.random.default_rng(0)
    theta = prior.sample(rng, 4000)[:, 0]
    estimates = theta + rng.normal(0, sigma / np.sqrt(n), theta.size)
    V = np.array([[sigma**2 / n]])
    posterior_elir = [
        prior_worth.ess_elir(prior.update(np.array([e]), V), "x", sigma**2) for e in estimates
    ]
    expected = prior_worth.ess_elir(prior, "x", sigma**2) + n
    assert np.mean(posterior_elir) == pytest.approx(expected, rel=0.03)


@pytest.fixture(scope="module")
def bundled_hr_map():
    from netlm_bayes import paths

    return map_prior(paths.DATA_DIR / "studies" / "tae_next_centre.toml", "hr_htb_gt25", seed=6)


def test_the_python_api_offers_it_and_the_prior_records_its_worth(bundled_hr_map):
    import netlm_bayes

    assert netlm_bayes.map_prior is map_prior
    worth = bundled_hr_map.exported.construction["ess"]
    assert worth["unit"] == "events"
    assert worth["elir"] == pytest.approx(bundled_hr_map.ess["ess_elir"].iloc[0], abs=0.01)
