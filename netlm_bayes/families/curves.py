"""Survival curves, medians and restricted mean survival from posterior draws.

Curves are standardised (g-computation): for "htb_gt25=1" every patient of the cohort has
HTB set to 1 and the rest of their covariates kept, and the curve is the average of their
survival curves. So a group's curve is comparable to the Kaplan-Meier curve of that group,
and "cohort" is the cohort as observed. Patients with identical covariates are evaluated
once and weighted. A cohort with more than MAX_ROWS distinct covariate rows (continuous
covariates) is standardised over MAX_ROWS of them, drawn with a fixed seed in proportion to
their weight: a Monte Carlo average that keeps a 400-patient cohort's curves to seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from netlm_bayes.evidence.external_counts import latest_stop
from netlm_bayes.evidence.patient_data import ModelData
from netlm_bayes.families.survival.cure import CURE_BETA, CURE_LOGIT, cure_probability
from netlm_bayes.families.survival.mspline import COEFFICIENT_LOGITS, NONPROP_EFFECTS
from netlm_bayes.families.survival.ops import NUMPY
from netlm_bayes.families.survival.registry import FAMILIES, family

COHORT = "cohort"
CHUNK = 500  # draws evaluated at once; bounds memory for cohorts with many distinct rows
GAUSS_NODES = 32
NEWTON_STEPS = 60  # at most; typically 5-8 (bisection alone would need 36 for 4e-10)
NEWTON_TOLERANCE = 1e-10  # on log t
MAX_ROWS = 128
CURVE_DRAWS = 1000  # for pointwise bands of the curves, every k-th draw suffices


def curve_end(spec, data: ModelData) -> float:
    """How far curves are drawn: the follow-up, the RMST horizons and any external
    survivor counts (which inform the curve there)."""
    return max(
        float(data.observed_times.max()), *horizons(spec, data), latest_stop(spec.external_path)
    )


def horizons(spec, data: ModelData) -> list[float]:
    """RMST horizons in the data's time unit: the model file's or --horizons where given
    (they name their unit), else the quartiles of the data's observed times, to two
    significant figures: never a fixed number in an unknown unit."""
    if spec.rmst_horizons:
        return list(spec.rmst_horizons)
    quartiles = np.quantile(data.observed_times, [0.25, 0.5, 0.75])
    rounded = [float(f"{q:.2g}") for q in quartiles]
    return sorted(set(rounded))


def patterns(data: ModelData) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Covariate rows and weights for the cohort and for each level of every binary
    covariate and categorical column, standardised over the other covariates."""
    if data.n == 0:  # no patients (external counts alone): the one baseline pattern
        return {COHORT: (np.zeros((1, len(data.covariates))), np.ones(1))}
    found = {COHORT: _unique(data.X)}
    for levels in data.groupings().values():
        for label, values, _ in levels:
            rows = data.X.copy()
            chosen = ~np.isnan(values)
            rows[:, chosen] = values[chosen]
            found[label] = _unique(rows)
    return found


def _unique(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = _unique_rows(rows)
    weights = counts / counts.sum()
    if len(unique) <= MAX_ROWS:
        return unique, weights
    chosen = np.random.default_rng(0).choice(len(unique), MAX_ROWS, replace=True, p=weights)
    return unique[chosen], np.full(MAX_ROWS, 1.0 / MAX_ROWS)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(rows, axis=0, return_counts=True)`, the same rows in the same order,
    about 4x faster (a lexicographic sort of the columns): 5 patterns of a 200,000-row
    cohort took 2 s through np.unique."""
    if rows.shape[1] == 0:  # no covariates: one pattern, every patient
        return rows[:1], np.array([len(rows)])
    ordered = rows[np.lexsort(rows.T[::-1])]
    first = np.ones(len(ordered), dtype=bool)
    first[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.flatnonzero(first)
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def parameter_draws(posterior: xr.Dataset) -> dict[str, np.ndarray]:
    """Every parameter's draws, chains stacked: scalars (S,), beta (S, p)."""
    # Every registered family's parameters, by their reference-group names. Chains are
    # stacked by reshaping (chain-major, as xarray's stack), which also works for a model
    # with no covariates, where `beta` has a dimension of length 0.
    names = {name for f in FAMILIES.values() for name in (f.baseline, *f.shape_priors)}
    names.add(CURE_LOGIT)
    draws = {n: posterior[n].values.reshape(-1) for n in sorted(names) if n in posterior}
    vectors = {n for f in FAMILIES.values() for n in f.vector_parameters}
    for name in vectors | {CURE_BETA, COEFFICIENT_LOGITS, NONPROP_EFFECTS}:
        if name in posterior:  # (chain, draw, *axes) -> (draws, *axes)
            values = posterior[name].values  # (-1 fails where an axis has length 0)
            draws[name] = values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])
    beta = posterior["beta"].transpose("chain", "draw", "covariate").values
    draws["beta"] = beta.reshape(beta.shape[0] * beta.shape[1], beta.shape[2])
    return draws


def _survival(likelihood, draws, rows, weights, times, t_ref, per_draw=False, slope=False):
    """Weighted mean survival over rows: (S, T) on a common grid of T times, or (S,) when
    `per_draw` gives each draw its own time. With `slope`, also dS/d(log t), per draw."""
    total = len(draws["beta"])
    out, slopes = [], []
    for start in range(0, total, CHUNK):
        part = slice(start, start + CHUNK)
        params = {k: v[part, None, None] for k, v in draws.items() if k != "beta"}
        params.update(by_row(likelihood, {k: v[part] for k, v in draws.items()}, rows))
        eta = (draws["beta"][part] @ rows.T)[:, :, None]  # (S, rows, 1)
        t = times[part, None, None] if per_draw else np.asarray(times)[None, None, :]
        # log 0 at t = 0, and expm1 overflow for a Gompertz far out: both give S = 1 or 0.
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_u = np.log(t / t_ref)
            log_h, log_s = family(likelihood).log_hazard_and_survival(NUMPY, log_u, eta, params)
            out.append(np.einsum("srt,r->st", np.exp(log_s), weights))
            if slope:  # dS/dlog u = -u h(u) S(u)
                slopes.append(-np.einsum("srt,r->st", np.exp(log_h + log_s + log_u), weights))
    result = np.concatenate(out)
    if slope:
        return result[:, 0], np.concatenate(slopes)[:, 0]
    return result[:, 0] if per_draw else result


def by_row(likelihood, draws: dict, rows: np.ndarray) -> dict:
    """The parameters that vary by covariate row (a cure logit), (S, rows, 1)."""
    return {k: v[:, :, None] for k, v in family(likelihood).at_rows({}, draws, rows).items()}


def cure_fraction(draws: dict, rows, weights) -> np.ndarray:
    """Per draw, the standardised cure fraction: the weighted mean of pi over rows."""
    logit = draws[CURE_LOGIT][:, None] + draws[CURE_BETA] @ rows.T
    return cure_probability(logit) @ weights


def survival_draws(likelihood, draws, rows, times, t_ref) -> np.ndarray:
    """Survival per draw (S, T) at `times`, averaged over `rows` with equal weights (one
    row: that patient's curve)."""
    weights = np.full(len(rows), 1.0 / len(rows))
    return _survival(likelihood, draws, rows, weights, times, t_ref)


def median_time(likelihood, draws, rows, weights, t_ref) -> np.ndarray:
    """Per draw, the time where the standardised curve crosses 0.5 (inf if it never does).

    Newton's method on log t, kept inside a bracket that every step narrows (a step that
    would leave it bisects instead): a few curve evaluations instead of bisection's 36.
    """
    total = len(draws["beta"])
    low = np.full(total, np.log(t_ref * 1e-6))
    high = np.full(total, np.log(t_ref * 1e6))
    never = _survival(likelihood, draws, rows, weights, np.exp(high), t_ref, True) > 0.5
    x = np.full(total, np.log(t_ref))
    for _ in range(NEWTON_STEPS):
        value, slope = _survival(likelihood, draws, rows, weights, np.exp(x), t_ref, True, True)
        above = value > 0.5
        low = np.where(above, x, low)
        high = np.where(above, high, x)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = x - (value - 0.5) / slope
        inside = np.isfinite(step) & (step >= low) & (step <= high)
        following = np.where(inside, step, (low + high) / 2)
        done = np.abs(following - x) < NEWTON_TOLERANCE
        x = following
        if np.all(done | never):
            break
    return np.where(never, np.inf, np.exp(x))


def rmst(likelihood, draws, rows, weights, horizon: float, t_ref) -> np.ndarray:
    """Restricted mean survival to `horizon`: the area under S(t) from 0 to horizon."""
    nodes, node_weights = np.polynomial.legendre.leggauss(GAUSS_NODES)
    times = (nodes + 1) * horizon / 2
    curve = _survival(likelihood, draws, rows, weights, times, t_ref)
    return curve @ node_weights * horizon / 2


def derived(posterior: xr.Dataset, likelihood: str, data: ModelData, horizons: list[float]):
    """Median survival and RMST per pattern, as draws shaped like the posterior."""
    draws = parameter_draws(posterior)
    t_ref = data.reference_time
    shape = (posterior.sizes["chain"], posterior.sizes["draw"])
    quantities = {}
    for label, (rows, weights) in patterns(data).items():
        suffix = "" if label == COHORT else f"[{label}]"
        values = median_time(likelihood, draws, rows, weights, t_ref)
        quantities[f"median_survival{suffix}"] = values.reshape(shape)
        # per level only where the cure fraction has covariates (else every row is one pi)
        by_level = label == COHORT or "cure_coefficients" in posterior
        if family(likelihood).cure and by_level:
            values = cure_fraction(draws, rows, weights)
            quantities[f"cure_fraction{suffix}"] = values.reshape(shape)
        for horizon in horizons:
            values = rmst(likelihood, draws, rows, weights, horizon, t_ref)
            quantities[f"rmst_{horizon:g}{suffix}"] = values.reshape(shape)
    return quantities


def curve_table(
    posterior: xr.Dataset, likelihood: str, data: ModelData, end: float, points=100
) -> pd.DataFrame:
    """Posterior median and 95% band of each standardised curve on a time grid."""
    draws = parameter_draws(posterior)
    step = max(1, len(draws["beta"]) // CURVE_DRAWS)
    draws = {name: values[::step] for name, values in draws.items()}
    t_ref = data.reference_time
    times = np.linspace(0.0, end, points)
    frames = []
    for label, (rows, weights) in patterns(data).items():
        curve = _survival(likelihood, draws, rows, weights, times, t_ref)
        low, median, high = np.quantile(curve, [0.025, 0.5, 0.975], axis=0)
        frames.append(
            pd.DataFrame(
                {
                    "pattern": label,
                    "time": times,
                    "median": median,
                    "eti95_low": low,
                    "eti95_high": high,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def hazard_ratio_table(
    posterior: xr.Dataset, likelihood, data: ModelData, covariates: list[str], end: float,
    points: int = 100,
) -> pd.DataFrame:  # fmt: skip
    """HR(t) of each covariate in `covariates` (posterior median and 95% band on a time
    grid): the hazard at x_j = 1 over the hazard at x_j = 0 for a 0/1 column (at its mean
    and its mean + 1 otherwise), every other covariate at the cohort's mean. With --nonprop
    this changes with t; for the others it is e^beta at every t."""
    draws = parameter_draws(posterior)
    step = max(1, len(draws["beta"]) // CURVE_DRAWS)
    draws = {name: values[::step] for name, values in draws.items()}
    t_ref = data.reference_time
    times = np.linspace(end / points, end, points)
    kind = family(likelihood)
    frames = []
    for name in covariates:
        rows = np.tile(data.covariate_mean, (2, 1))
        j = data.covariates.index(name)
        binary = np.isin(data.X[:, j], (0.0, 1.0)).all()
        rows[:, j] = (0.0, 1.0) if binary else (data.covariate_mean[j], data.covariate_mean[j] + 1)
        params = {k: v[:, None, None] for k, v in draws.items() if k != "beta"}
        params.update(by_row(kind, draws, rows))
        eta = (draws["beta"] @ rows.T)[:, :, None]
        log_h, _ = kind.log_hazard_and_survival(NUMPY, np.log(times / t_ref), eta, params)
        ratio = np.exp(log_h[:, 1] - log_h[:, 0])
        low, median, high = np.quantile(ratio, [0.025, 0.5, 0.975], axis=0)
        frames.append(pd.DataFrame({"covariate": name, "time": times, "median": median,
                                    "eti95_low": low, "eti95_high": high}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)
