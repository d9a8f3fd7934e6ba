r"""The meta-analytic-predictive (MAP) model: what a new study's parameter may be, given
several earlier studies of it (Neuenschwander et al., 2010; RBesT's `gMAP`).

For ratios and medians, on the log scale with each study's SE taken as known,

    y_i ~ N(theta_i, s_i^2),   theta_i = mu + tau_{g(i)} z_i,   z_i ~ N(0, 1);

for rates, r_i ~ Binomial(n_i, logistic(theta_i)). `tau_g` is the between-study SD of
stratum g (one for all studies unless strata are asked for, as RBesT's `tau.strata`), and
the MAP prior is the predictive theta* = mu + tau_new z*, z* ~ N(0, 1), for a new study in
the chosen stratum. The parametrisation is non-centred: with few studies and a small tau
the centred one has a funnel that NUTS cannot cross.

mu ~ N(0, MU_PRIOR_SD^2) is practically flat: next to what one study carries it adds
nothing, and keeps the posterior proper with a single study.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
from scipy import stats

from netlm_bayes.errors import InputError, option

# Between-study heterogeneity, as tau over the unit-information SD sigma (Neuenschwander et
# al., 2010, as RBesT documents it). A named tau prior is HalfNormal(scale = ratio * sigma).
HETEROGENEITY = {
    "small": 1 / 16,
    "moderate": 1 / 8,
    "substantial": 1 / 4,
    "large": 1 / 2,
    "very-large": 1.0,
}
# On the log (ratios, medians) or logit (rates) scale.
MU_PRIOR_SD = {"normal": 100.0, "binomial": 10.0}


@dataclass(frozen=True)
class TauPrior:
    """The prior of every stratum's tau: `family` with `params`, as the user wrote it."""

    family: str
    params: tuple[float, ...]
    text: str

    def __str__(self) -> str:
        names = {"halfnormal": "HalfNormal(scale={})", "halfcauchy": "HalfCauchy(scale={})",
                 "lognormal": "LogNormal(mu={}, sigma={})", "fixed": "fixed at {}"}  # fmt: skip
        described = names[self.family].format(*(f"{p:.4g}" for p in self.params))
        return described if self.text == described else f"{described} ({self.text})"

    def logpdf(self, tau: np.ndarray) -> np.ndarray:
        """Its log density at tau > 0 (for exact checks by quadrature)."""
        if self.family == "halfnormal":
            return stats.halfnorm.logpdf(tau, scale=self.params[0])
        if self.family == "halfcauchy":
            return stats.halfcauchy.logpdf(tau, scale=self.params[0])
        if self.family == "lognormal":
            return stats.lognorm.logpdf(tau, s=self.params[1], scale=np.exp(self.params[0]))
        raise ValueError("a fixed tau has no density")

    def variable(self, name: str, dims: str):
        if self.family == "halfnormal":
            return pm.HalfNormal(name, sigma=self.params[0], dims=dims)
        if self.family == "halfcauchy":
            return pm.HalfCauchy(name, beta=self.params[0], dims=dims)
        if self.family == "lognormal":
            return pm.LogNormal(name, mu=self.params[0], sigma=self.params[1], dims=dims)
        model = pm.modelcontext(None)
        size = len(model.coords[dims])
        return pm.Deterministic(name, pm.math.constant(np.full(size, self.params[0])), dims=dims)


def parse_tau_prior(text: str, unit_sd: float) -> TauPrior:
    """'moderate' (any name in HETEROGENEITY), 'halfnormal:S', 'halfcauchy:S',
    'lognormal:M,S' (of log tau) or 'fixed:T'."""
    text = text.strip()
    if text in HETEROGENEITY:
        return TauPrior("halfnormal", (HETEROGENEITY[text] * unit_sd,), text)
    family, _, args = text.partition(":")
    expected = {"halfnormal": 1, "halfcauchy": 1, "lognormal": 2, "fixed": 1}
    usage = (
        f"{option('tau_prior', text)}: give one of {', '.join(HETEROGENEITY)}, or halfnormal:S, "
        "halfcauchy:S, lognormal:M,S (of log tau) or fixed:T"
    )
    if family not in expected:
        raise InputError(usage)
    try:
        params = tuple(float(v) for v in args.split(",")) if args else ()
    except ValueError as exc:
        raise InputError(usage) from exc
    if len(params) != expected[family] or not all(np.isfinite(params)):
        raise InputError(usage)
    scale_ok = params[-1] > 0 if family != "fixed" else params[0] >= 0
    if not scale_ok:
        raise InputError(f"{option('tau_prior', text)}: its scale must be > 0 (a fixed tau >= 0)")
    return TauPrior(family, params, text)


@dataclass(frozen=True)
class MapData:
    """The studies as the model takes them: log-scale estimates and SEs (`normal`), or
    counts (`binomial`); each study's stratum, and the stratum a new study belongs to."""

    likelihood: str  # normal | binomial
    studies: tuple[str, ...]
    strata: tuple[str, ...]
    stratum_index: np.ndarray
    new_stratum: int
    y: np.ndarray | None = None
    se: np.ndarray | None = None
    r: np.ndarray | None = None
    n: np.ndarray | None = None


def build_model(data: MapData, tau_prior: TauPrior) -> pm.Model:
    coords = {"study": list(data.studies), "stratum": list(data.strata)}
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", 0.0, MU_PRIOR_SD[data.likelihood])
        tau = tau_prior.variable("tau", dims="stratum")
        z = pm.Normal("z", 0.0, 1.0, dims="study")
        theta = pm.Deterministic("theta", mu + tau[data.stratum_index] * z, dims="study")
        if data.likelihood == "normal":
            pm.Normal("y", theta, data.se, observed=data.y, dims="study")
        else:
            pm.Binomial("r", n=data.n, logit_p=theta, observed=data.r, dims="study")
        z_new = pm.Normal("z_new", 0.0, 1.0)
        pm.Deterministic("theta_new", mu + tau[data.new_stratum] * z_new)
    return model
