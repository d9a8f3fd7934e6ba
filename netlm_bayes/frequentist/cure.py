r"""The frequentist references for `fit --cure`: maximum likelihood for the Weibull mixture
cure model, and a check of whether follow-up shows a plateau at all (`followup_plateau`).

The MLE is what
`fit --cure` is checked against (no other Python package fits it; R's flexsurvcure and
smcure are R packages).

    S(t | x, z) = pi + (1 - pi) exp(-(t / lam)^k e^{x' beta}),   logit pi = c + z' gamma

Written out here from Farewell (1982), independently of the family code the Bayesian
model uses, so the two check each other. Parameters are unconstrained: theta = [beta,
log k, log lam, c, gamma]; the log-likelihood's gradient is analytic, its Hessian (for the
standard errors) central differences of the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

GRADIENT_TOLERANCE = 1e-3  # on the summed log-likelihood's largest partial derivative


@dataclass(frozen=True)
class CureMLE:
    """The estimates, their standard errors (inverse observed information) and the
    maximised log-likelihood, named as the Bayesian model names them."""

    names: list[str]
    estimate: np.ndarray
    se: np.ndarray
    log_likelihood: float
    converged: bool
    cov: np.ndarray | None = None  # the inverse observed information

    def __getitem__(self, name: str) -> tuple[float, float]:
        i = self.names.index(name)
        return float(self.estimate[i]), float(self.se[i])


def _split(theta, p, q):
    beta, log_k, log_lam = theta[:p], theta[p], theta[p + 1]
    return beta, log_k, log_lam, theta[p + 2], theta[p + 3 : p + 3 + q]


def log_likelihood(theta, time, event, X, Z) -> tuple[float, np.ndarray]:
    """The summed log-likelihood and its gradient in theta."""
    p, q = X.shape[1], Z.shape[1]
    beta, log_k, log_lam, c, gamma = _split(theta, p, q)
    k = np.exp(log_k)
    a = np.log(time) - log_lam
    cum = np.exp(k * a + X @ beta)  # H_u
    logit = c + Z @ gamma
    log_pi, log_1mpi = -np.logaddexp(0, -logit), -np.logaddexp(0, logit)
    pi = np.exp(log_pi)
    log_su = -cum
    # events: log(1 - pi) + log h_u + log S_u; censored: log(pi + (1 - pi) S_u)
    log_hu = log_k - np.log(time) + k * a + X @ beta
    log_pop = np.logaddexp(log_pi, log_1mpi + log_su)
    value = np.where(event == 1, log_1mpi + log_hu + log_su, log_pop)
    # d/d(linear predictors) of each term: w = share of the uncured in a censored S
    w = np.exp(log_1mpi + log_su - log_pop)
    d_cum = np.where(event == 1, 1.0 - cum, -w * cum)  # d / d(k a + x'beta)
    d_logit = np.where(event == 1, -pi, np.exp(log_pi - log_pop) - pi)  # pi / P - pi
    grad = np.concatenate([
        X.T @ d_cum,
        [np.sum(np.where(event == 1, 1.0, 0.0) + d_cum * k * a)],
        [np.sum(-d_cum * k)],
        [d_logit.sum()],
        Z.T @ d_logit,
    ])  # fmt: skip
    return float(value.sum()), grad


def fit_weibull_cure(time, event, X, Z, names_x=(), names_z=()) -> CureMLE:
    """The MLE by BFGS from a constant-hazard start, with standard errors."""
    time, event = np.asarray(time, float), np.asarray(event, int)
    X = np.asarray(X, float).reshape(len(time), -1)
    Z = np.asarray(Z, float).reshape(len(time), -1)
    if np.any(time <= 0):
        raise ValueError("times must be positive")
    p, q = X.shape[1], Z.shape[1]
    start = np.zeros(p + 3 + q)
    start[p + 1] = np.log(np.mean(time))

    def negative(theta):
        value, grad = log_likelihood(theta, time, event, X, Z)
        return -value, -grad

    result = optimize.minimize(negative, start, jac=True, method="BFGS",
                               options={"gtol": 1e-8, "maxiter": 2000})  # fmt: skip
    hessian = _hessian(lambda th: negative(th)[1], result.x)
    cov = np.linalg.inv((hessian + hessian.T) / 2)
    names = [*(f"beta[{n}]" for n in names_x or range(p)), "log_shape", "log_scale",
             "cure_logit", *(f"cure_coefficients[{n}]" for n in names_z or range(q))]  # fmt: skip
    # BFGS often stops on "precision loss" at the optimum: judge by the gradient itself
    converged = bool(np.max(np.abs(result.jac), initial=0.0) < GRADIENT_TOLERANCE)
    return CureMLE(names, result.x, np.sqrt(np.diag(cov)), -float(result.fun), converged, cov)


def _hessian(gradient, theta, step=1e-5):
    columns = []
    for j in range(len(theta)):
        shift = np.zeros_like(theta)
        shift[j] = step * max(1.0, abs(theta[j]))
        columns.append((gradient(theta + shift) - gradient(theta - shift)) / (2 * shift[j]))
    return np.array(columns).T


def cure_fraction(mle: CureMLE, z=None) -> float:
    """pi at cure covariates z (None: all 0)."""
    c = mle["cure_logit"][0]
    gamma = np.array([mle.estimate[i] for i, n in enumerate(mle.names)
                      if n.startswith("cure_coefficients")])  # fmt: skip
    z = np.zeros(len(gamma)) if z is None else np.asarray(z, float)
    return float(special.expit(c + z @ gamma))


# The follow-up check: the tail is the last TAIL_SHARE of the follow-up time; a plateau is
# shown when the tail has at least TAIL_AT_RISK patients at risk and far fewer events than
# the cohort's average event rate gives (Poisson P(this few or fewer) below PLATEAU_P).
TAIL_SHARE = 1 / 3
TAIL_AT_RISK = 10
PLATEAU_P = 0.05


@dataclass(frozen=True)
class Plateau:
    """Whether follow-up shows a plateau: the question a cure fraction rests on.

    A cure fraction is seen in data as a Kaplan-Meier curve that levels off while many
    patients are still followed. So: over the tail of follow-up (after `tail_start`, the
    last third of the time to the longest follow-up), `observed` events among the
    `at_risk` patients followed into it, against `expected`, the events the tail's person-
    time would give at the cohort's average event rate. `p` is the Poisson probability of
    so few or fewer. A small p with patients at risk says the hazard has fallen away late
    in follow-up, as a plateau would; otherwise the data cannot tell cured patients from
    uncured ones not yet seen to fail, and a cure fraction rests on the uncured family's
    shape and the prior. (A falling hazard with no cure looks the same: this says whether
    the data show a plateau, not that there is cure.)"""

    tail_start: float
    longest: float
    at_risk: int
    observed: int
    expected: float

    @property
    def p(self) -> float:
        from scipy import stats

        return float(stats.poisson.cdf(self.observed, self.expected))

    @property
    def shown(self) -> bool:
        return self.at_risk >= TAIL_AT_RISK and self.p < PLATEAU_P


def followup_plateau(time, event) -> Plateau:
    time, event = np.asarray(time, float), np.asarray(event, int)
    if not event.any():
        raise ValueError("no events: there is no curve to look for a plateau in")
    longest = float(time.max())
    start = (1 - TAIL_SHARE) * longest
    rate = event.sum() / time.sum()
    in_tail = time > start
    expected = float(rate * (time[in_tail] - start).sum())
    observed = int((event[in_tail] == 1).sum())
    return Plateau(start, longest, int(in_tail.sum()), observed, expected)
