r"""Fast posterior approximations for many cohorts at once: Laplace under a normal mixture.

For planning (hundreds of simulated cohorts per size) and for a prior's unit information,
NUTS is too slow; the posteriors here are near-normal on the log scale, so each mixture
component's posterior is replaced by a normal at its mode (Newton's method, analytic
gradients and Hessians, batched over cohorts) and the components are re-weighted by their
Laplace marginal likelihoods:

    w_k' ∝ w_k  p(y | θ̂_k) MVN(θ̂_k; μ_k, Σ_k) (2π)^{D/2} |H_k|^{-1/2}

The tests check it against NUTS fits of the same cohorts.

Parameters, on the log scale, in this order:
- weibull:  [β_1..β_p, log k, log m0], with m0 the median at x = 0 in the data's time
            unit: ℓ_i = d_i (log ln2 + log k - log t_i + z_i) - ln2 e^{z_i},
            z_i = k (log t_i - log m0) + x_i'β (`families.survival.weibull.laplace_terms`);
- logistic: [α, β_1..β_p]: ℓ_i = y_i z_i - log(1 + e^{z_i}), z_i = α + x_i'β.
An exported prior states m0 and α at its baseline pattern, so its callers pass covariates
relative to that pattern (`ExportedPrior.centred`), where x = 0 is the pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from netlm_bayes.families.survival import weibull
from netlm_bayes.priors.mixture import MixturePrior

NEWTON_STEPS = 60
HALVINGS = 30


@dataclass(frozen=True)
class Cohorts:
    """S cohorts of n patients each: X (S, n, p), and time/event (survival) or y (logistic)."""

    X: np.ndarray
    time: np.ndarray | None = None
    event: np.ndarray | None = None
    y: np.ndarray | None = None

    @property
    def family(self) -> str:
        return "weibull" if self.time is not None else "logistic"


def log_likelihood(cohorts: Cohorts, theta: np.ndarray, derivatives: bool = True):
    """Per-cohort log-likelihood (S,), with its gradient (S, D) and Hessian (S, D, D)."""
    if cohorts.family == "weibull":
        return weibull.laplace_terms(cohorts.X, cohorts.time, cohorts.event, theta, derivatives)
    return _logistic(cohorts, theta, derivatives)


def _logistic(c: Cohorts, theta: np.ndarray, derivatives: bool):
    J = np.concatenate([np.ones((*c.X.shape[:2], 1)), c.X], axis=2)
    z = np.einsum("snd,sd->sn", J, theta)
    value = (c.y * z - np.logaddexp(0.0, z)).sum(axis=1)
    if not derivatives:
        return value
    prob = special.expit(z)
    grad = np.einsum("snd,sn->sd", J, c.y - prob)
    hess = -np.einsum("snd,sn,sne->sde", J, prob * (1 - prob), J)
    return value, grad, hess


@dataclass(frozen=True)
class Laplace:
    """Per cohort: a normal mixture approximating the posterior."""

    weights: np.ndarray  # (S, K)
    modes: np.ndarray  # (S, K, D)
    covs: np.ndarray  # (S, K, D, D)
    converged: np.ndarray  # (S,) every component's Newton iteration converged

    def prob_above(self, index: int, threshold: float = 0.0) -> np.ndarray:
        """P(θ_index > threshold | y) per cohort."""
        sd = np.sqrt(self.covs[:, :, index, index])
        return (self.weights * special.ndtr((self.modes[:, :, index] - threshold) / sd)).sum(1)

    def mean(self) -> np.ndarray:
        return np.einsum("sk,skd->sd", self.weights, self.modes)


def posterior(cohorts: Cohorts, prior: MixturePrior) -> Laplace:
    """The Laplace approximation of each cohort's posterior under `prior` (same order as
    `parameter_names`)."""
    modes, covs, log_z, ok = [], [], [], []
    for component in prior.components:
        precision = np.linalg.inv(component.cov)
        mode, hess_post, log_lik, converged = _newton(cohorts, component.mean, precision)
        cov = np.linalg.inv(-hess_post)
        diff = mode - component.mean
        log_prior = (
            -0.5 * np.einsum("sd,de,se->s", diff, precision, diff)
            - 0.5 * np.linalg.slogdet(2 * np.pi * component.cov)[1]
        )
        D = len(component.mean)
        log_z.append(
            np.log(component.weight) + log_lik + log_prior + 0.5 * D * math.log(2 * math.pi)
            + 0.5 * np.linalg.slogdet(cov)[1]
        )  # fmt: skip
        modes.append(mode)
        covs.append(cov)
        ok.append(converged)
    log_z = np.stack(log_z, axis=1)
    weights = np.exp(log_z - special.logsumexp(log_z, axis=1, keepdims=True))
    return Laplace(weights, np.stack(modes, 1), np.stack(covs, 1), np.all(ok, axis=0))


def _newton(cohorts: Cohorts, mu: np.ndarray, precision: np.ndarray):
    """Maximise log p(y|θ) + log MVN(θ; mu, P^-1) per cohort: damped Newton, batched."""
    S = cohorts.X.shape[0]
    theta = np.tile(mu, (S, 1))

    def objective(t, derivatives=True):
        out = log_likelihood(cohorts, t, derivatives)
        lik = out[0] if derivatives else out
        diff = t - mu
        value = lik - 0.5 * np.einsum("sd,de,se->s", diff, precision, diff)
        if not derivatives:
            return value
        return value, out[1] - diff @ precision, out[2] - precision, lik

    value, grad, hess, lik = objective(theta)
    converged = np.zeros(S, dtype=bool)
    for _ in range(NEWTON_STEPS):
        step = np.linalg.solve(-hess, grad[..., None])[..., 0]
        # Where the Hessian is not negative definite (far from the mode), a gradient step.
        bad = ~np.all(np.isfinite(step), axis=1) | (np.einsum("sd,sd->s", step, grad) <= 0)
        step[bad] = grad[bad] * 1e-2
        size = np.ones(S)
        improved = np.zeros(S, dtype=bool)
        for _ in range(HALVINGS):
            candidate = theta + size[:, None] * step
            with np.errstate(over="ignore", invalid="ignore"):
                new_value = objective(candidate, derivatives=False)
            accept = ~improved & np.isfinite(new_value) & (new_value >= value - 1e-12)
            theta = np.where(accept[:, None], candidate, theta)
            improved |= accept
            if improved.all():
                break
            size = np.where(improved, size, size / 2)
        converged = np.abs(size[:, None] * step).max(axis=1) < 1e-7
        value, grad, hess, lik = objective(theta)
        if converged.all():
            break
    return theta, hess, lik, converged


def unit_information_cov(cohorts: Cohorts, theta: np.ndarray, units: float) -> np.ndarray:
    """The covariance that one unit (an event, or a patient) of this cohort's data carries:
    inverse of the observed information at `theta`, divided among `units`."""
    _, _, hess = log_likelihood(cohorts, np.atleast_2d(theta))
    information = -hess[0] / units
    return np.linalg.inv(information)
