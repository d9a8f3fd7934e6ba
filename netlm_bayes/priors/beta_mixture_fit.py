r"""Draws of a rate approximated by a mixture of Beta densities: the conjugate form a binary
design needs (`netlm-bayes oc --endpoint binary`), as RBesT's `automixfit` gives for a
`mixbeta`.

EM for each number of components K, started from K equal slices of the sorted draws with
each slice's moment-matched Beta; the M-step maximises each component's weighted Beta
log-likelihood, (a - 1) S1 + (b - 1) S2 - R log B(a, b) with S1 = sum r log x,
S2 = sum r log(1 - x), R = sum r, by Newton's method on (a, b). K is chosen by the
same penalised AIC as the normal mixtures (`mixture_fit.PENALTY` per free parameter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from netlm_bayes.priors.mixture_fit import CHECK_PROBS, COMPONENTS, PENALTY

MAX_ITERATIONS = 500
TOLERANCE = 1e-10
_EDGE = 1e-12  # a draw of exactly 0 or 1 has no log; far below any rate's resolution


@dataclass(frozen=True)
class BetaFit:
    weights: np.ndarray
    a: np.ndarray
    b: np.ndarray
    log_likelihood: float = np.nan

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)[:, None]
        return special.logsumexp(np.log(self.weights) + stats.beta.logpdf(x, self.a, self.b),
                                 axis=1)  # fmt: skip

    def cdf(self, x: float) -> float:
        return float(self.weights @ stats.beta.cdf(x, self.a, self.b))

    def quantile(self, q: float) -> float:
        return float(optimize.brentq(lambda x: self.cdf(x) - q, 0.0, 1.0, xtol=1e-14))

    @property
    def parameters(self) -> int:
        return 3 * len(self.weights) - 1

    @property
    def text(self) -> str:
        """As `oc --prior-control` takes it: 'beta:a,b' or 'beta:w1,a1,b1;w2,a2,b2'."""
        if len(self.weights) == 1:
            return f"beta:{self.a[0]:.6g},{self.b[0]:.6g}"
        parts = zip(self.weights, self.a, self.b, strict=True)
        return "beta:" + ";".join(f"{w:.6g},{a:.6g},{b:.6g}" for w, a, b in parts)


def _moments(x: np.ndarray) -> tuple[float, float]:
    mean, var = x.mean(), max(x.var(), 1e-10)
    common = max(mean * (1 - mean) / var - 1, 1e-3)
    return mean * common, (1 - mean) * common


def _m_step(s1: float, s2: float, mass: float, a: float, b: float) -> tuple[float, float]:
    """The weighted Beta MLE from (a, b): Newton's method on (a, b), where the objective is
    concave (log B is convex), each step halved until it stays positive and climbs."""

    def objective(x: np.ndarray) -> float:
        return (x[0] - 1) * s1 + (x[1] - 1) * s2 - mass * special.betaln(x[0], x[1])

    x = np.array([a, b], float)
    for _ in range(100):
        both = special.digamma(x.sum())
        gradient = np.array([s1 - mass * (special.digamma(x[0]) - both),
                             s2 - mass * (special.digamma(x[1]) - both)])  # fmt: skip
        tri = special.polygamma(1, [x[0], x[1], x.sum()])
        hessian = -mass * np.array([[tri[0] - tri[2], -tri[2]], [-tri[2], tri[1] - tri[2]]])
        step, start, t = np.linalg.solve(hessian, -gradient), objective(x), 1.0
        while t > 1e-12 and ((x + t * step <= 0).any() or objective(x + t * step) < start):
            t /= 2
        x = x + t * step
        if np.abs(t * step).max() < 1e-12 * x.max():
            break
    return float(x[0]), float(x[1])


def beta_em(x: np.ndarray, k: int) -> BetaFit:
    """The maximum-likelihood K-component Beta mixture of draws in (0, 1), by EM."""
    x = np.clip(np.sort(np.asarray(x, float)), _EDGE, 1 - _EDGE)
    slices = np.array_split(x, k)
    weights = np.array([len(s) for s in slices], float) / len(x)
    a, b = np.array([_moments(s) for s in slices]).T
    logs = np.log(x)[:, None], np.log1p(-x)[:, None]
    previous = -np.inf
    for _ in range(MAX_ITERATIONS):
        terms = (np.log(weights) + (a - 1) * logs[0] + (b - 1) * logs[1]
                 - special.betaln(a, b))  # fmt: skip
        total = special.logsumexp(terms, axis=1, keepdims=True)
        log_likelihood = float(total.sum())
        r = np.exp(terms - total)
        mass = r.sum(axis=0)
        weights = mass / len(x)
        fitted = [_m_step(float(r[:, j] @ logs[0][:, 0]), float(r[:, j] @ logs[1][:, 0]),
                          float(mass[j]), a[j], b[j]) for j in range(k)]  # fmt: skip
        a, b = np.array(fitted).T
        if log_likelihood - previous < TOLERANCE * abs(log_likelihood):
            break
        previous = log_likelihood
    fit = BetaFit(weights, a, b)
    return BetaFit(weights, a, b, float(fit.logpdf(x).sum()))


def auto_beta(x: np.ndarray, components=COMPONENTS, penalty: float = PENALTY) -> BetaFit:
    """The Beta mixture with the lowest penalised AIC over `components`."""
    fits = [beta_em(x, k) for k in components]
    return min(fits, key=lambda f: -2 * f.log_likelihood + penalty * f.parameters)


def beta_quantile_check(x: np.ndarray, fit: BetaFit, probs=CHECK_PROBS) -> pd.DataFrame:
    """The draws' quantiles beside the Beta mixture's, on the rate scale."""
    drawn = np.quantile(np.asarray(x, float), probs)
    fitted = np.array([fit.quantile(p) for p in probs])
    return pd.DataFrame({"probability": probs, "draws": drawn, "mixture": fitted,
                         "difference": fitted - drawn})  # fmt: skip
