"""Small, fast maximum-likelihood fits for the pseudo-cohort search: batched grouped logistic
regression, the Cox partial likelihood for untied times, and the Kaplan-Meier median.

The search evaluates hundreds of thousands of candidate cohorts, where lifelines and
statsmodels cost milliseconds each. These give the same estimates (tests compare them
with lifelines and statsmodels), and every cohort the search accepts is checked again with
`netlm_bayes.frequentist`, the code a user runs.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_SQRT2 = np.sqrt(2.0)


def two_sided_p(z: np.ndarray) -> np.ndarray:
    return special.erfc(np.abs(z) / _SQRT2)


def cox(
    time: np.ndarray, event: np.ndarray, X: np.ndarray, start: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """MLE of the Cox partial likelihood, assuming no tied event times: (beta, se, converged)."""
    order = np.argsort(-time, kind="stable")  # descending: cumulative sums give risk sets
    X, event = X[order], event[order].astype(bool)
    beta = np.zeros(X.shape[1]) if start is None else start.copy()
    info = np.eye(X.shape[1])
    for _ in range(50):
        risk = np.exp(np.clip(X @ beta, -30, 30))
        s0 = np.cumsum(risk)
        s1 = np.cumsum(risk[:, None] * X, axis=0)
        s2 = np.cumsum(risk[:, None, None] * X[:, :, None] * X[:, None, :], axis=0)
        mean = s1[event] / s0[event, None]
        gradient = (X[event] - mean).sum(axis=0)
        info = (s2[event] / s0[event, None, None] - mean[:, :, None] * mean[:, None, :]).sum(axis=0)
        try:
            step = np.linalg.solve(info, gradient)
        except np.linalg.LinAlgError:
            return beta, np.full_like(beta, np.inf), False
        step = np.clip(step, -2, 2)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            return beta, _se(info), True
    return beta, _se(info), False


def km_curve(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kaplan-Meier step function: (0 and every distinct time, survival just after it),
    as lifelines' `survival_function_` gives it, for drawing hundreds of replicate curves."""
    order = np.lexsort((~event.astype(bool), time))
    time, event = time[order], event[order].astype(bool)
    at_risk = len(time) - np.arange(len(time))
    survival = np.cumprod(np.where(event, 1 - 1 / at_risk, 1.0))
    last_of_tie = np.append(time[1:] != time[:-1], True)
    times, survival = time[last_of_tie], survival[last_of_tie]
    if times.size and times[0] == 0:  # lifelines starts at 0 too, with its events counted
        return times, survival
    return np.append(0.0, times), np.append(1.0, survival)


def km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Smallest time at which the Kaplan-Meier survival is <= 0.5 (inf if never)."""
    return km_quantile(time, event, 0.5)


def km_quantile(time: np.ndarray, event: np.ndarray, level: float) -> float:
    """Smallest time at which the Kaplan-Meier survival is <= level (inf if never)."""
    order = np.lexsort((~event.astype(bool), time))  # events before censorings at equal times
    time, event = time[order], event[order].astype(bool)
    at_risk = len(time) - np.arange(len(time))
    survival = np.cumprod(np.where(event, 1 - 1 / at_risk, 1.0))
    below = np.nonzero(event & (survival <= level + 1e-10))[0]  # S = level exactly counts
    return float(time[below[0]]) if below.size else float("inf")


def _se(info: np.ndarray) -> np.ndarray:
    try:
        return np.sqrt(np.clip(np.diag(np.linalg.inv(info)), 0, None))
    except np.linalg.LinAlgError:
        return np.full(info.shape[0], np.inf)


def grouped_logistic_batch(
    design: np.ndarray, n: np.ndarray, events: np.ndarray, start: np.ndarray, iterations: int = 12
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Many grouped logistic regressions at once, all on the same cell design.

    design: (cells, k) covariate patterns with an intercept column; n, events: (m, cells)
    patients and events per cell for m candidate tables; start: (m, k) or (k,).
    Returns beta (m, k), se (m, k) and a converged flag (m,).
    """
    m, k = n.shape[0], design.shape[1]
    beta = np.broadcast_to(start, (m, k)).copy()
    ridge = 1e-9 * np.eye(k)
    for _ in range(iterations):
        mu = special.expit(np.clip(beta @ design.T, -30, 30))
        weight = n * mu * (1 - mu)
        info = np.einsum("mc,ci,cj->mij", weight, design, design) + ridge
        gradient = (events - n * mu) @ design
        step = np.linalg.solve(info, gradient[..., None])[..., 0]
        beta += np.clip(step, -3, 3)
    mu = special.expit(np.clip(beta @ design.T, -30, 30))
    info = np.einsum("mc,ci,cj->mij", n * mu * (1 - mu), design, design) + ridge
    covariance = np.linalg.inv(info)
    se = np.sqrt(np.clip(np.diagonal(covariance, axis1=1, axis2=2), 0, None))
    gradient = (events - n * mu) @ design
    converged = (np.abs(gradient).max(axis=1) < 1e-6) & (np.abs(beta).max(axis=1) < 12)
    return beta, se, converged
