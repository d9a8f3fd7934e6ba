r"""Draws approximated by a normal mixture: EM for each number of components, and the
number chosen by a penalised AIC, as RBesT's `automixfit` does:

    AIC_k = -2 log L + PENALTY * (3K - 1),

with PENALTY = 6 per free parameter instead of AIC's 2 (Collett, 2003, suggests 2 to 6; the
larger value favours fewer components, RBesT's default). `quantile_check` says how well the
chosen mixture reproduces the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

COMPONENTS = (1, 2, 3, 4)
PENALTY = 6.0
MAX_ITERATIONS = 1000
TOLERANCE = 1e-10
HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)
CHECK_PROBS = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)


@dataclass(frozen=True)
class NormalMixture:
    weights: np.ndarray
    means: np.ndarray
    sds: np.ndarray
    log_likelihood: float = np.nan

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)[:, None]
        terms = np.log(self.weights) + stats.norm.logpdf(x, self.means, self.sds)
        return special.logsumexp(terms, axis=1)

    def cdf(self, x: float) -> float:
        return float(np.sum(self.weights * special.ndtr((x - self.means) / self.sds)))

    def quantile(self, q: float) -> float:
        low = float((self.means - 12 * self.sds).min())
        high = float((self.means + 12 * self.sds).max())
        return float(optimize.brentq(lambda x: self.cdf(x) - q, low, high, xtol=1e-12))

    @property
    def parameters(self) -> int:
        return 3 * len(self.weights) - 1


def em(x: np.ndarray, k: int) -> NormalMixture:
    """Maximum-likelihood K-component normal mixture by EM, started from K equal slices
    of the sorted draws (deterministic: the same draws give the same mixture)."""
    x = np.sort(np.asarray(x, float))
    slices = np.array_split(x, k)
    weights = np.array([len(s) for s in slices], float) / len(x)
    means = np.array([s.mean() for s in slices])
    floor = 1e-6 * x.std() + 1e-12
    sds = np.array([max(s.std(), floor) for s in slices])
    previous = -np.inf
    column = x[:, None]
    for _ in range(MAX_ITERATIONS):
        # the normal log density written out: scipy's logpdf and logsumexp check their
        # arguments on every call, which was most of the time of the ~1000 iterations
        z = (column - means) / sds
        terms = (np.log(weights) - np.log(sds) - HALF_LOG_2PI) - 0.5 * z * z
        top = terms.max(axis=1, keepdims=True)
        r = np.exp(terms - top)
        row_sum = r.sum(axis=1, keepdims=True)
        log_likelihood = float((top + np.log(row_sum)).sum())
        r /= row_sum
        mass = r.sum(axis=0)
        weights = mass / len(x)
        means = (r * column).sum(axis=0) / mass
        sds = np.sqrt(np.maximum((r * (column - means) ** 2).sum(axis=0) / mass, floor**2))
        if log_likelihood - previous < TOLERANCE * abs(log_likelihood):
            break
        previous = log_likelihood
    mixture = NormalMixture(weights, means, sds)
    return NormalMixture(weights, means, sds, float(mixture.logpdf(x).sum()))


@dataclass(frozen=True)
class AutoMixture:
    mixture: NormalMixture
    criterion: pd.DataFrame  # per number of components: log L and penalised AIC

    @property
    def components(self) -> int:
        return len(self.mixture.weights)


def automix(x: np.ndarray, components=COMPONENTS, penalty: float = PENALTY) -> AutoMixture:
    fits = {k: em(x, k) for k in components}
    table = pd.DataFrame(
        [
            {
                "components": k,
                "log_likelihood": m.log_likelihood,
                "aic_penalised": -2 * m.log_likelihood + penalty * m.parameters,
            }
            for k, m in fits.items()
        ]
    )
    best = int(table.loc[table["aic_penalised"].idxmin(), "components"])
    return AutoMixture(fits[best], table.assign(chosen=table["components"] == best))


def quantile_check(x: np.ndarray, mixture: NormalMixture, probs=CHECK_PROBS) -> pd.DataFrame:
    """The draws' quantiles beside the mixture's, on the scale of the draws."""
    drawn = np.quantile(np.asarray(x, float), probs)
    fitted = np.array([mixture.quantile(p) for p in probs])
    return pd.DataFrame(
        {"probability": probs, "draws": drawn, "mixture": fitted, "difference": fitted - drawn}
    )
