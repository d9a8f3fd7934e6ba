"""The searches that build a pseudo-cohort: response cells, then survival times, each
moved one patient at a time until the paper's own analysis gives back its numbers.

Every decision compares numbers rounded to `DECISION_DIGITS` significant digits
(`decisive`), so the same seed gives the same cohort whichever SIMD or BLAS code path
computed the fits."""

from __future__ import annotations

import math

import numpy as np

from netlm_bayes.evidence.cohort import COVARIATES
from netlm_bayes.frequentist import fastfit
from netlm_bayes.synthetic.assumptions import Assumptions
from netlm_bayes.synthetic.calibration import (
    HR_TOLERANCE,
    MEDIAN_DECIMALS,
    OR_TOLERANCE,
    Targets,
)

# Covariates the paper found not significant are kept within ratio 2.5 of no effect where
# the search can (a soft preference, not a target).
UNREPORTED_MAX_LOG_RATIO = math.log(2.5)

INITIAL_DRAWS = 400


# How far the search may move a covariate's share from its assumed prevalence: freely
# within the slack, at a cost up to twice it, never further.
PREVALENCE_SLACK = 0.04


# The search decides (which table is best, whether a move is accepted, whether a target is
# met) on values rounded to this many significant digits. Two CPUs' floating-point code
# paths (numpy's SIMD kernels, OpenBLAS's per-core kernels) differ in the last bits, and a
# decision that turned on them would send the search, and so the committed cohort, another
# way; ties that are exact in real arithmetic are then also broken the same way everywhere.
DECISION_DIGITS = 7


def decisive(values):
    """`values` rounded to DECISION_DIGITS significant digits (inf and 0 kept as they are)."""
    v = np.asarray(values, dtype=float)
    finite = np.isfinite(v) & (v != 0)
    safe = np.where(finite, np.abs(v), 1.0)
    scale = 10.0 ** (DECISION_DIGITS - 1 - np.floor(np.log10(safe)))
    rounded = np.where(finite, np.round(v * scale) / scale, v)
    return rounded if rounded.ndim else float(rounded)


def _band_distance(p: float, band: tuple[float, float]) -> float:
    """How far p is outside [low, high), on the log scale; 0 inside."""
    low, high = band
    if p < low:
        return math.log(low / max(p, 1e-300))
    if p >= high:
        return math.log(p / high) + 1e-3
    return 0.0


CELLS = np.array([[(cell >> j) & 1 for j in range(len(COVARIATES))] for cell in range(16)])


CELL_DESIGN = np.column_stack([np.ones(len(CELLS)), CELLS]).astype(float)


def _logistic_losses(beta, se, converged, n, targets: Targets, prevalence, total):
    """Loss of each candidate cell table (smaller is better) and whether it meets every target."""
    beta = decisive(beta)
    p = decisive(fastfit.two_sided_p(beta / np.where(se > 0, decisive(se), np.inf)))
    loss = np.zeros(len(beta))
    met = converged.copy()
    for j, covariate in enumerate(COVARIATES, start=1):
        if covariate in targets.logistic:
            log_or, (low, high) = targets.logistic[covariate]
            off = np.abs(beta[:, j] - log_or)
            band = np.where(
                p[:, j] < low,
                np.log(low / np.maximum(p[:, j], 1e-300)),
                np.where(p[:, j] >= high, np.log(p[:, j] / high) + 1e-3, 0.0),
            )
            loss += (off / 0.02) ** 2 + (band / 0.02) ** 2
            met &= (off <= math.log1p(OR_TOLERANCE) * 0.98) & (band == 0)
        else:
            short = np.log(0.06 / np.maximum(p[:, j], 1e-300))
            loss += np.where(p[:, j] < 0.06, (short / 0.05) ** 2 + 1, 0.0)
            # Unreported covariates: no significant effect, and preferably no large one.
            loss += (np.clip(np.abs(beta[:, j]) - UNREPORTED_MAX_LOG_RATIO, 0, None) / 0.1) ** 2
            met &= p[:, j] >= 0.05
    shares = (n @ CELLS) / total
    drift = np.abs(shares - prevalence)
    loss += (np.clip(drift - PREVALENCE_SLACK, 0, None) / 0.01).sum(axis=1) ** 2
    met &= (drift <= 2 * PREVALENCE_SLACK).all(axis=1)
    return np.where(converged, decisive(loss), np.inf), met


def _neighbours(n, events):
    """Every table one patient away: move a responder or a non-responder to another cell."""
    responders = n - events
    moves = []
    for source_counts, moves_events in ((responders, False), (events, True)):
        for a in np.flatnonzero(source_counts > 0):
            for b in range(len(n)):
                if a != b:
                    moves.append((a, b, moves_events))
    new_n = np.repeat(n[None], len(moves), axis=0)
    new_e = np.repeat(events[None], len(moves), axis=0)
    for row, (a, b, moves_events) in enumerate(moves):
        new_n[row, a] -= 1
        new_n[row, b] += 1
        if moves_events:
            new_e[row, a] -= 1
            new_e[row, b] += 1
    return new_n, new_e


def search_response(rng, assumptions: Assumptions, targets: Targets, budget: int):
    """Iterated local search over the 16-cell table of covariate patterns and non-responders.

    The logistic likelihood depends on patients only through how many fall in each covariate
    pattern and how many of those are non-responders, so the search moves one patient at a
    time between patterns, trying every such move at once and taking the best.
    """
    total = assumptions.n_patients
    non_responders = targets.counts["SD"] + targets.counts["PD"]
    prevalence = np.array([assumptions.prevalence_of(c) for c in COVARIATES])
    covariates = (rng.random((total, len(COVARIATES))) < prevalence).astype(int)
    log_or = np.array([targets.logistic.get(c, (0.0, None))[0] for c in COVARIATES])
    score = covariates @ log_or + rng.gumbel(size=total)
    outcome = np.zeros(total, dtype=int)
    outcome[np.argsort(-score)[:non_responders]] = 1
    index = covariates @ (1 << np.arange(len(COVARIATES)))
    n = np.bincount(index, minlength=16)
    events = np.bincount(index, weights=outcome, minlength=16).astype(int)
    start = np.concatenate([[math.log(non_responders / (total - non_responders))], log_or * 0.5])
    beta, se, ok = fastfit.grouped_logistic_batch(CELL_DESIGN, n[None], events[None], start)
    loss, met = _logistic_losses(beta, se, ok, n[None], targets, prevalence, total)
    current = (n, events, beta[0], loss[0], bool(met[0]))
    best = current
    for _ in range(budget):
        if best[4]:
            break
        n, events, beta0 = current[0], current[1], current[2]
        new_n, new_e = _neighbours(n, events)
        beta, se, ok = fastfit.grouped_logistic_batch(CELL_DESIGN, new_n, new_e, beta0)
        loss, met = _logistic_losses(beta, se, ok, new_n, targets, prevalence, total)
        # Prefer a table that meets every target; otherwise the lowest loss.
        pick = int(np.argmin(np.where(met, loss - 1e12, loss)))
        if loss[pick] < current[3] or met[pick]:
            current = (new_n[pick], new_e[pick], beta[pick], loss[pick], bool(met[pick]))
        else:
            # A local minimum: kick the table with a few random moves and descend again.
            for _ in range(3):
                random_move = rng.integers(len(new_n))
                n, events = new_n[random_move], new_e[random_move]
                new_n, new_e = _neighbours(n, events)
            kicked = fastfit.grouped_logistic_batch(CELL_DESIGN, n[None], events[None], beta0)
            kicked_loss, kicked_met = _logistic_losses(*kicked, n[None], targets, prevalence, total)
            kicked_beta = kicked[0][0] if kicked[2][0] else beta0
            current = (n, events, kicked_beta, kicked_loss[0], bool(kicked_met[0]))
        if current[3] < best[3] or current[4]:
            best = current
    n, events = best[0], best[1]
    rows = np.repeat(np.arange(16), n)
    covariates = CELLS[rows]
    outcome = np.zeros(total, dtype=int)
    for cell in range(16):
        members = np.flatnonzero(rows == cell)
        outcome[members[: events[cell]]] = 1
    order = rng.permutation(total)
    return covariates[order], outcome[order], best[4]


def _survival_loss(time, event, covariates, targets: Targets, start):
    beta, se, converged = fastfit.cox(time, event, covariates, start)
    if not converged or not np.all(np.isfinite(se)):
        return math.inf, beta, False
    rounded = decisive(beta)
    p = decisive(fastfit.two_sided_p(rounded / decisive(se)))
    j = COVARIATES.index(targets.cox_covariate)
    off = abs(rounded[j] - targets.cox_log_hr)
    band_off = _band_distance(p[j], targets.cox_p)
    loss = (off / 0.01) ** 2 + (band_off / 0.01) ** 2
    met = off <= math.log1p(HR_TOLERANCE) * 0.98 and band_off == 0
    for k in range(len(COVARIATES)):
        if k != j:
            loss += (max(0.0, abs(rounded[k]) - UNREPORTED_MAX_LOG_RATIO) / 0.1) ** 2
            if p[k] < 0.06:
                loss += (math.log(0.06 / p[k]) / 0.05) ** 2 + 1
            met &= p[k] >= 0.05
    median = fastfit.km_median(time, event)
    median_off = abs(median - targets.median_months)
    loss += (max(0.0, median_off - 0.03) / 0.02) ** 2
    met &= round(median, MEDIAN_DECIMALS) == targets.median_months
    return decisive(loss), beta, met


def search_survival(rng, assumptions, targets, covariates, is_pd, follow_up, budget):
    n = len(covariates)
    X = covariates.astype(float)
    shape = float(assumptions.survival["weibull_shape"])
    pd_limit = float(assumptions.response["pd_progressed_by_months"])
    j = COVARIATES.index(targets.cox_covariate)

    def draw_latent():
        # Weibull PH draws around the assumed shape and the target HR; the spread gives the
        # search starting points with different numbers of events per group. This is the
        # Weibull family's inverse transform written in scale form; it stays as written
        # because the committed pseudo-cohorts are byte-reproducible from this arithmetic,
        # and the algebraically equal `families.survival` form rounds differently.
        k = shape * math.exp(rng.normal(0, 0.3))
        log_hr = targets.cox_log_hr + rng.normal(0, 0.5)
        linear = X[:, j] * log_hr
        scale = targets.median_months / (math.log(2) * math.exp(-np.median(linear))) ** (1 / k)
        scale *= math.exp(rng.normal(0, 0.2))
        latent = scale * (rng.exponential(size=n) * np.exp(-linear)) ** (1 / k)
        latent[is_pd] = rng.uniform(0.5, pd_limit, size=is_pd.sum())
        return latent

    def observe(latent_times):
        event = (latent_times < follow_up) | is_pd
        time = np.round(np.where(event, latent_times, follow_up), 2)
        return np.maximum(time, 0.01), event.astype(int)

    # Start from the best of many draws from the assumed Weibull model.
    best_start = None
    for _ in range(INITIAL_DRAWS):
        candidate = draw_latent()
        start_loss = _survival_loss(*observe(candidate), X, targets, None)[0]
        if best_start is None or start_loss < best_start[0]:
            best_start = (start_loss, candidate)
    latent = best_start[1]
    time, event = observe(latent)
    loss, beta, met = _survival_loss(time, event, X, targets, None)
    temperature = 5.0
    cooling = (0.01 / temperature) ** (1 / max(budget, 1))
    for _ in range(budget):
        if met:
            break
        proposal = latent.copy()
        i = rng.integers(n)
        kind = rng.random()
        if is_pd[i]:
            proposal[i] = rng.uniform(0.5, pd_limit)
        elif kind < 0.25:
            # Swap two patients' latent times: moves events between covariate groups while
            # keeping the set of times (and so roughly the KM curve).
            k = rng.integers(n)
            if is_pd[k]:
                continue
            proposal[i], proposal[k] = proposal[k], proposal[i]
        elif kind < 0.4:
            # Flip the status: an event becomes censored at the cut-off, or vice versa.
            is_event = proposal[i] < follow_up[i]
            proposal[i] = follow_up[i] + 1.0 if is_event else rng.uniform(0.05, 1.0) * follow_up[i]
        elif kind < 0.7:
            proposal[i] *= math.exp(rng.normal(0, 0.4))
        else:
            proposal[i] = rng.uniform(0.1, 1.5) * targets.median_months
        new_time, new_event = observe(proposal)
        tied = new_event[i] and np.sum((new_time == new_time[i]) & (new_event == 1)) > 1
        if tied:
            continue
        new_loss, new_beta, new_met = _survival_loss(new_time, new_event, X, targets, beta)
        if new_loss <= loss or rng.random() < math.exp(-(new_loss - loss) / temperature):
            latent, time, event, loss, beta, met = (
                proposal,
                new_time,
                new_event,
                new_loss,
                new_beta,
                new_met,
            )
        temperature *= cooling
    return time, event, met
