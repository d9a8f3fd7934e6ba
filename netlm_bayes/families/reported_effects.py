r"""The reported-effects model: the paper's printed numbers are the data.

For each reported ratio j (a hazard or odds ratio) with printed log estimate y_j,

    theta_j  ~ Normal(mu_j, sigma_j)                       the prior set's log-effect prior
    p_j      ~ Uniform(p_low_j, p_high_j)                  the printed P's rounding interval
    s_j      = |y_j| / Phi^{-1}(1 - p_j / 2)               SE implied by a two-sided Wald P
    y_j      ~ Normal(theta_j, s_j)

With `se = "fixed"` in the spec, s_j is the SE from the printed P itself and the posterior
of theta_j is the conjugate normal one.

The selection-adjusted reading (`significance_filter=p_c`) conditions each estimate on
having been reported because it was significant at two-sided P < p_c (Ghosh, Zou and
Wright 2008; Zhong and Prentice 2008): with z_c = Phi^{-1}(1 - p_c / 2),

    f(y_j | theta_j, s_j) = phi((y_j - theta_j) / s_j) / s_j
                            / [Phi(theta_j / s_j - z_c) + Phi(-theta_j / s_j - z_c)],

the normal density truncated to |y / s| > z_c. The denominator is the probability that a
study with true effect theta_j reports it; it pulls the estimate towards no effect, most
when |y_j| / s_j is close to z_c, and not at all as |y_j| / s_j grows. For the response counts,

    rates    ~ Dirichlet(alpha)                            over PR, SD, PD
    counts   ~ Multinomial(n, rates)
    ORR      = sum of the responder categories' rates.

Prior parameters are `pm.Data`, so one compiled model serves every prior set.
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from netlm_bayes.evidence.paper import Paper
from netlm_bayes.families.specs import PriorSets, ReportedEffectsSpec

RATIO_PREFIXES = ("hr_", "or_")


def quantity_names(spec: ReportedEffectsSpec) -> list[str]:
    """What the model reports, in order: the ratios, ORR, then each non-response rate."""
    non_responders = [c for c in spec.response_categories if c not in spec.responders]
    return [*spec.effects, "orr", *(f"{c.lower()}_rate" for c in non_responders)]


def effect_covariates(spec: ReportedEffectsSpec, paper: Paper) -> list[str]:
    return [paper.effect(name).covariate for name in spec.effects]


def prior_data(
    spec: ReportedEffectsSpec, paper: Paper, prior_sets: PriorSets, prior_set: str
) -> dict[str, np.ndarray]:
    """The values of the model's prior `pm.Data` under one named prior set."""
    chosen = prior_sets.get(prior_set)
    effect_priors = [
        chosen.effect_prior(prior_sets.hypothesis(covariate))
        for covariate in effect_covariates(spec, paper)
    ]
    response_prior = chosen.response_prior(spec.response_categories)
    return {
        "prior_mu": np.array([prior.mu for prior in effect_priors]),
        "prior_sigma": np.array([prior.sigma for prior in effect_priors]),
        "prior_alpha": np.array([response_prior.alpha[c] for c in spec.response_categories]),
    }


def selected_normal_logp(value, mu, sigma, z_crit):
    """log f(y | theta, s) of a normal estimate reported only when |y / s| > z_crit."""
    standard = pm.Normal.dist(0.0, 1.0)
    reported = pt.logaddexp(
        pm.logcdf(standard, mu / sigma - z_crit), pm.logcdf(standard, -mu / sigma - z_crit)
    )
    return pm.logp(pm.Normal.dist(mu, sigma), value) - reported


def build_model(
    spec: ReportedEffectsSpec,
    paper: Paper,
    prior_sets: PriorSets,
    prior_set: str,
    significance_filter: float | None = None,
) -> pm.Model:
    """`significance_filter`: the two-sided P below which the effects are taken to have been
    reported (the selection-adjusted reading); None for the plain reading."""
    effects = [paper.effect(name) for name in spec.effects]
    log_estimate = np.array([effect.exact.log_estimate for effect in effects])
    counts = np.array([paper.response.counts[c] for c in spec.response_categories])
    responder_mask = np.array([c in spec.responders for c in spec.response_categories])
    initial = prior_data(spec, paper, prior_sets, prior_set)
    coords = {
        "effect": spec.effects,
        "category": spec.response_categories,
        "quantity": quantity_names(spec),
    }
    with pm.Model(coords=coords) as model:
        prior_mu = pm.Data("prior_mu", initial["prior_mu"], dims="effect")
        prior_sigma = pm.Data("prior_sigma", initial["prior_sigma"], dims="effect")
        prior_alpha = pm.Data("prior_alpha", initial["prior_alpha"], dims="category")

        log_ratio = pm.Normal("log_ratio", prior_mu, prior_sigma, dims="effect")
        if spec.se == "rounded-p":
            p_low = np.array([effect.exact.p_interval[0] for effect in effects])
            p_high = np.array([effect.exact.p_interval[1] for effect in effects])
            p_true = pm.Uniform("p_true", p_low, p_high, dims="effect")
            z = pt.sqrt(2.0) * pt.erfcinv(p_true)  # Phi^-1(1 - p/2)
            se = pm.Deterministic("se", np.abs(log_estimate) / z, dims="effect")
        else:
            se = np.array([effect.exact.se for effect in effects])
        # Observed values are `pm.Data` too, so simulation-based calibration can swap them.
        observed = pm.Data("observed_log_estimate", log_estimate, dims="effect")
        if significance_filter is None:
            pm.Normal("log_estimate", log_ratio, se, observed=observed, dims="effect")
        else:
            z_crit = float(stats.norm.isf(significance_filter / 2))
            pm.CustomDist(
                "log_estimate", log_ratio, se, z_crit, logp=selected_normal_logp,
                observed=observed, dims="effect",
            )  # fmt: skip

        rates = pm.Dirichlet("rates", prior_alpha, dims="category")
        observed_counts = pm.Data("observed_counts", counts, dims="category")
        pm.Multinomial(
            "counts", n=int(counts.sum()), p=rates, observed=observed_counts, dims="category"
        )

        orr = rates[responder_mask].sum()
        pm.Deterministic(
            "reported",
            pt.concatenate([pt.exp(log_ratio), orr[None], rates[~responder_mask]]),
            dims="quantity",
        )
    return model


def is_ratio(quantity: str) -> bool:
    return quantity.startswith(RATIO_PREFIXES)
