r"""PSIS-LOO for cohorts too large to keep every draw's pointwise log-likelihood.

Magnusson, Riis Andersen, Jonasson and Vehtari (2019), "Bayesian leave-one-out
cross-validation for large data" (ICML, PMLR 97:4244-4253): the difference estimator under
simple random sampling without replacement. Every patient gets a cheap approximation,
the log density at the posterior mean of the parameters,

    pi_i = log p(y_i | theta_bar),

and m patients drawn at random get the exact PSIS-LOO value elpd_j (draws x m values, not
draws x n). Then, with e_j = elpd_j - pi_j,

    elpd = sum_i pi_i + (n / m) sum_j e_j
    var_subsampling = n^2 (1 - m / n) s_e^2 / m

and the spread of elpd_i over patients (the usual SE, sqrt(n var(elpd_i))) comes from the
same estimator applied to elpd_i^2. The same m patients serve every family, so a difference
between two families is estimated the same way from pi_i^A - pi_i^B. arviz-stats has
`loo_subsample`, but it reads the full pointwise group, which is what cannot be kept here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import arviz_stats
import numpy as np
import xarray as xr

from netlm_bayes.families import curves
from netlm_bayes.families.survival import model as survival
from netlm_bayes.families.survival.ops import NUMPY
from netlm_bayes.families.survival.registry import family
from netlm_bayes.fitting.patient import Fit

SUBSAMPLE = 2000  # patients with exact PSIS-LOO; the subsampling SE is reported beside it
SEED = 20260101


@dataclass(frozen=True)
class Estimate:
    """A population total estimated from a subsample: the total, the SE of the total that
    the patients' spread implies (as PSIS-LOO's own se), and the subsampling SE."""

    total: float
    se: float
    subsampling_se: float


@dataclass(frozen=True)
class SubsampledLoo:
    elpd: Estimate
    p: float
    elpd_i: np.ndarray  # exact, for the subsampled patients
    pareto_k: np.ndarray
    good_k: float
    approximation: np.ndarray  # pi_i for every patient
    indices: np.ndarray


def subsample_indices(n: int, m: int | None = None, seed: int = SEED) -> np.ndarray:
    """m patients (default SUBSAMPLE) drawn without replacement (all when m >= n), sorted."""
    m = SUBSAMPLE if m is None else m
    if m >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, m, replace=False))


def difference_estimate(approximation: np.ndarray, exact: np.ndarray, indices) -> Estimate:
    """Magnusson et al.'s difference estimator of sum_i x_i from x's approximation for
    every patient and its exact value on the subsample `indices`."""
    n, m = len(approximation), len(indices)
    error = exact - approximation[indices]
    total = approximation.sum() + n / m * error.sum()
    spread = np.var(error, ddof=1) if m > 1 else 0.0
    subsampling_var = n**2 * (1 - m / n) * spread / m
    squares = (approximation**2).sum() + n / m * (exact**2 - approximation[indices] ** 2).sum()
    population_var = max(squares / n - (total / n) ** 2, 0.0) * n / (n - 1)
    return Estimate(float(total), float(np.sqrt(n * population_var)),
                    float(np.sqrt(max(subsampling_var, 0.0))))  # fmt: skip


def pointwise_log_likelihood(fit: Fit, likelihood: str, indices, draws=None) -> np.ndarray:
    """log p(y_i | theta_s) for the patients `indices`: (S, len(indices)); or at one
    parameter point when `draws` gives it (each array with a leading axis of length 1)."""
    data = fit.data
    draws = curves.parameter_draws(fit.trace["posterior"].to_dataset()) if draws is None else draws
    kind = fit.kind if fit.kind is not None else family(likelihood)
    names = [kind.baseline if name == kind.centred else name for name in kind.parameters]
    params = {name: draws[name][:, None] for name in names}
    params = kind.at_rows(params, draws, data.X[indices])
    eta = draws["beta"] @ data.X[indices].T
    time, event = data.time[indices][None, :], data.event[indices][None, :].astype(float)
    t_ref = data.reference_time
    return survival.log_likelihood(kind, time, event, eta, params, t_ref, NUMPY)


def subsampled_loo(fit: Fit, likelihood: str, indices: np.ndarray) -> SubsampledLoo:
    """PSIS-LOO of one survival fit from the subsample `indices` (see the module)."""
    posterior = fit.trace["posterior"]
    draws = curves.parameter_draws(posterior.to_dataset())
    mean = {name: values.mean(axis=0, keepdims=True) for name, values in draws.items()}
    everyone = np.arange(fit.data.n)
    approximation = pointwise_log_likelihood(fit, likelihood, everyone, mean)[0]
    values = pointwise_log_likelihood(fit, likelihood, indices, draws)
    chains, per_chain = posterior.sizes["chain"], posterior.sizes["draw"]
    pointwise = xr.DataArray(
        values.reshape(chains, per_chain, len(indices)), dims=("chain", "draw", "patient")
    )
    tree = xr.DataTree.from_dict({
        "posterior": posterior.to_dataset(),
        "log_likelihood": xr.Dataset({"subsample": pointwise}),
    })  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # high k is reported by the caller
        exact = arviz_stats.loo(tree, pointwise=True)
    elpd_i = np.asarray(exact.elpd_i).ravel()
    lpd = _log_mean_exp(values)
    n, m = fit.data.n, len(indices)
    return SubsampledLoo(
        elpd=difference_estimate(approximation, elpd_i, indices),
        p=float(n / m * (lpd - elpd_i).sum()),
        elpd_i=elpd_i,
        pareto_k=np.asarray(exact.pareto_k).ravel(),
        good_k=float(exact.good_k),
        approximation=approximation,
        indices=indices,
    )


def difference(first: SubsampledLoo, second: SubsampledLoo) -> Estimate:
    """elpd(first) - elpd(second), from the same subsample."""
    return difference_estimate(
        first.approximation - second.approximation, first.elpd_i - second.elpd_i, first.indices
    )


def _log_mean_exp(values: np.ndarray) -> np.ndarray:
    top = values.max(axis=0)
    return top + np.log(np.mean(np.exp(values - top), axis=0))
